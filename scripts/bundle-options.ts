import * as path from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * esbuild settings for the Lambda bundles, shared by `npm run build` and the
 * CDK stack's NodejsFunction so that what is tested is what is deployed.
 */
export const ROOT = path.resolve(__dirname, '..');

export const LAMBDA_ENTRIES = {
  rotation: path.join(ROOT, 'lambda/rotation/index.ts'),
  trigger: path.join(ROOT, 'lambda/trigger/index.ts'),
} as const;

export const BUNDLE_TARGET = 'node20';

/**
 * Bundled whole (AWS SDK included, pinned by our lock file rather than the
 * runtime's copy); `pg-native` is an optional native add-on `pg` never loads
 * unless asked.
 */
export const EXTERNAL_MODULES = ['pg-native'];

/**
 * Packages the rotation function loads only when a secret needs them, and the file each goes to
 * in a split build (sideModules below): `pg` from a PostgreSQL secret's first login, `mysql2`
 * from a MySQL/MariaDB secret's, the RDS client for rds-master and RDS-managed master secrets.
 * Node reads and compiles a bundle whole when it loads it, lazily required parts included, and
 * these are about 1.3 MB of the 1.8 MB rotation bundle.
 */
export const ROTATION_SIDE_MODULES: Readonly<Record<string, string>> = {
  'mysql2/promise': 'mysql2.js',
  pg: 'pg.js',
  '@aws-sdk/client-rds': 'client-rds.js',
};

/**
 * esbuild plugin that splits the rotation bundle: a require or import of a package in `modules`
 * becomes `require(<the bundle's folder>/<file>)`, evaluated where the source evaluates it (a
 * lazy require stays lazy), and each package so used is bundled into that file (same settings)
 * when the build ends. The folder then holds index.js and those files, all of which must ship
 * together: scripts/build-rotation.ts builds it so for `npm run build`, the package (package.json
 * `files`) and the CDK (lib/lambda-bundling.ts). A build without the plugin stays one
 * self-contained file (the invariant tests' mutant bundles are).
 */
export function sideModules(modules: Readonly<Record<string, string>> = ROTATION_SIDE_MODULES): Plugin {
  const names = Object.keys(modules);
  const filter = new RegExp(`^(${names.map((n) => n.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
  return {
    name: 'rotor-side-modules',
    setup(b) {
      const outfile = b.initialOptions.outfile;
      if (!outfile) throw new Error('rotor-side-modules: the build needs an outfile (the side files go beside it)');
      const used = new Set<string>();
      b.onStart(() => used.clear());
      b.onResolve({ filter }, (args) => {
        used.add(args.path);
        return { path: args.path, namespace: 'rotor-side-module' };
      });
      b.onLoad({ filter: /.*/, namespace: 'rotor-side-module' }, (args) => ({
        // A require of a computed path is left to Node; __dirname is the bundle's folder.
        contents: `const load = require; module.exports = load(require("node:path").join(__dirname, ${JSON.stringify(modules[args.path])}));`,
        loader: 'js',
      }));
      b.onEnd(async (result) => {
        if (result.errors.length > 0 || used.size === 0) return;
        const { plugins: _plugins, entryPoints: _entries, outfile: _outfile, metafile: _metafile, ...rest } = b.initialOptions;
        await b.esbuild.build({
          ...rest,
          entryPoints: Object.fromEntries([...used].map((n) => [modules[n].replace(/\.js$/, ''), n])),
          outdir: path.dirname(path.resolve(b.initialOptions.absWorkingDir ?? process.cwd(), outfile)),
          absWorkingDir: ROOT,
          logLevel: 'warning',
        });
      });
    },
  };
}

/**
 * `import()` compiled to `require()`. The bundles are CommonJS and everything they import is
 * bundled or a Node built-in, so an `import()` left in them (the SDK's HTTP handler and its
 * instance-metadata client do `await import("node:http")`; Powertools, `import("node:async_hooks")`)
 * only loads a built-in, but the first one a process runs starts Node's ES-module loader: on
 * Node 24 (the Lambda runtime) about 60 ms on our 2-core machine, against under 10 ms for the
 * same `require` (bench/cold-start.bench.ts measures the function's cold start).
 */
export const NO_DYNAMIC_IMPORT = { 'dynamic-import': false } as const;

export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node' as const,
  format: 'cjs' as const,
  target: BUNDLE_TARGET,
  minify: true,
  sourcemap: true,
  legalComments: 'none' as const,
  external: EXTERNAL_MODULES,
  // Powertools and the SDK ship ESM entry points; prefer them for tree shaking.
  mainFields: ['module', 'main'],
  supported: NO_DYNAMIC_IMPORT,
};
