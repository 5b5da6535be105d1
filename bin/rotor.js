#!/usr/bin/env node
'use strict';
// The `rotor` command. It runs the compiled CLI, dist/cli/rotor.js (built by `npm run build`
// from bin/rotor.ts): plain JavaScript, no TypeScript compilation at start. It runs the
// TypeScript sources through tsx instead (a slower start, same behaviour) when there is no
// build (a fresh source checkout), when a source the build was made from changed since
// (dist/cli/inputs.json lists them), or when ROTOR_FROM_SOURCE=1.
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'cli', 'rotor.js');

function compiledIsCurrent() {
  if (process.env.ROTOR_FROM_SOURCE === '1' || !fs.existsSync(compiled)) return false;
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(root, 'dist', 'cli', 'inputs.json'), 'utf8'));
  } catch {
    return true; // a build without its stamp: nothing to compare against
  }
  for (const file of stamp.inputs) {
    let mtime;
    try {
      mtime = fs.statSync(path.join(root, file)).mtimeMs;
    } catch {
      continue; // sources not shipped: the build is all there is
    }
    if (mtime > stamp.builtAt) return false;
  }
  return true;
}

if (compiledIsCurrent()) {
  require(compiled);
} else {
  require('tsx/cjs');
  require('./rotor.ts');
}
