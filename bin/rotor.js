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

/** True when `<dir>/rotor.js` exists and no source listed in `<dir>/inputs.json` changed after it was built. */
function compiledIsCurrent(dir, env = process.env) {
  if (env.ROTOR_FROM_SOURCE === '1' || !fs.existsSync(path.join(dir, 'rotor.js'))) return false;
  let stamp;
  try {
    stamp = JSON.parse(fs.readFileSync(path.join(dir, 'inputs.json'), 'utf8'));
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

if (require.main === module) {
  const dist = path.join(root, 'dist', 'cli');
  if (compiledIsCurrent(dist)) {
    require(path.join(dist, 'rotor.js'));
  } else {
    require('tsx/cjs');
    require('./rotor.ts');
  }
} else {
  module.exports = { compiledIsCurrent };
}
