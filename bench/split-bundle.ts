import { build } from 'esbuild';
import * as path from 'node:path';
import { BUNDLE_OPTIONS, LAMBDA_ENTRIES, ROOT, sideModules } from '../scripts/bundle-options';

/**
 * The rotation bundle split as scripts/bundle-options.ts proposes (sideModules: mysql2, pg and
 * the RDS client in files of their own beside index.js), built into .tmp/bench-split/ for the
 * benchmarks to measure beside the shipped single-file bundle. Returns the index.js path.
 */
export async function buildSplitRotationBundle(outDir = path.join(ROOT, '.tmp/bench-split')): Promise<string> {
  const outfile = path.join(outDir, 'index.js');
  await build({ ...BUNDLE_OPTIONS, entryPoints: [LAMBDA_ENTRIES.rotation], outfile, plugins: [sideModules()], logLevel: 'warning' });
  return outfile;
}
