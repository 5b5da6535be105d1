import { build } from 'esbuild';
import * as path from 'node:path';
import { BUNDLE_OPTIONS, LAMBDA_ENTRIES, ROOT } from './bundle-options';

/** Builds dist/<name>/index.js for every Lambda entry. */
async function main(): Promise<void> {
  for (const [name, entry] of Object.entries(LAMBDA_ENTRIES)) {
    const outfile = path.join(ROOT, 'dist', name, 'index.js');
    const result = await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile, metafile: true });
    const bytes = result.metafile.outputs[path.relative(process.cwd(), outfile)]?.bytes ?? 0;
    console.log(`built ${path.relative(ROOT, outfile)} (${bytes} bytes)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
