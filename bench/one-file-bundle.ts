import { build } from 'esbuild';
import * as path from 'node:path';
import { BUNDLE_OPTIONS, LAMBDA_ENTRIES, ROOT } from '../scripts/bundle-options';

/**
 * The rotation function as one self-contained file (the same settings without the side files of
 * scripts/build-rotation.ts: mysql2, pg and the RDS client inside index.js, as shipped before),
 * built into .tmp/bench-one-file/ for the cold-start bench to measure beside the shipped bundle.
 * Returns the index.js path.
 */
export async function buildOneFileRotationBundle(outDir = path.join(ROOT, '.tmp/bench-one-file')): Promise<string> {
  const outfile = path.join(outDir, 'index.js');
  await build({ ...BUNDLE_OPTIONS, entryPoints: [LAMBDA_ENTRIES.rotation], outfile, logLevel: 'warning' });
  return outfile;
}
