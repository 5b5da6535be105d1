import { build } from 'esbuild';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import * as path from 'node:path';
import { BUNDLE_OPTIONS, LAMBDA_ENTRIES, ROTATION_SIDE_MODULES, sideModules } from './bundle-options';

/**
 * The rotation function's bundle as it ships and deploys: `index.js` with the packages a secret
 * may never need (ROTATION_SIDE_MODULES: mysql2, pg, the RDS client) in files of their own beside
 * it, each with its source map. Used by `npm run build` (dist/rotation/) and by the CDK's
 * source-checkout path (lib/lambda-bundling.ts, through the command line below), so what the
 * tests run is what is deployed. Whatever else was in `outDir` from an earlier build is removed.
 */
export async function buildRotationBundle(outDir: string): Promise<{ files: string[]; indexBytes: number }> {
  mkdirSync(outDir, { recursive: true });
  const ours = new Set(['index.js', ...Object.values(ROTATION_SIDE_MODULES)].flatMap((f) => [f, `${f}.map`]));
  for (const f of readdirSync(outDir)) if (ours.has(f)) rmSync(path.join(outDir, f));
  const outfile = path.join(outDir, 'index.js');
  const result = await build({ ...BUNDLE_OPTIONS, entryPoints: [LAMBDA_ENTRIES.rotation], outfile, plugins: [sideModules()], metafile: true, logLevel: 'warning' });
  const indexBytes = Object.entries(result.metafile.outputs).find(([p]) => path.resolve(p) === outfile)?.[1].bytes ?? 0;
  return { files: readdirSync(outDir).filter((f) => ours.has(f)).sort(), indexBytes };
}

// `tsx scripts/build-rotation.ts <outDir>` (lib/lambda-bundling.ts runs it at synth).
if (require.main === module) {
  const outDir = process.argv[2];
  if (!outDir) {
    console.error('usage: build-rotation <output folder>');
    process.exit(2);
  }
  buildRotationBundle(path.resolve(outDir)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
