#!/usr/bin/env node
// The `rotor` command: runs the TypeScript CLI through tsx, so no build step is needed.
require('tsx/cjs');
require('./rotor.ts');
