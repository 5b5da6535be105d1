import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './bundle-options';

/**
 * Output folders of tsconfig.build.json: the construct library (dist/lib), the client
 * (dist/client), and bundle-options.js (dist/scripts), which the compiled
 * lib/lambda-bundling.js loads. Removed before each compile so a deleted source
 * leaves no stale .js/.d.ts behind to be packed.
 */
export const PACKAGE_OUTPUTS = ['dist/lib', 'dist/client', 'dist/scripts'];

/**
 * Compiles the published TypeScript (lib/index.ts, client/index.ts, client/pg.ts,
 * client/mysql.ts and what they import) to CommonJS + .d.ts with tsconfig.build.json.
 */
export function compilePackage(quiet = false): void {
  for (const dir of PACKAGE_OUTPUTS) rmSync(path.join(ROOT, dir), { recursive: true, force: true });
  const tsc = require.resolve('typescript/bin/tsc');
  const result = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error(`tsc -p tsconfig.build.json failed (exit ${result.status ?? result.signal})`);
  if (!quiet) console.log(`built ${PACKAGE_OUTPUTS.join(', ')} (construct library and client: JavaScript + .d.ts)`);
}

if (require.main === module) {
  try {
    compilePackage();
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
