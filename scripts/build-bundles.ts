import { build, type Plugin } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { BUNDLE_OPTIONS, BUNDLE_TARGET, LAMBDA_ENTRIES, ROOT } from './bundle-options';
import { compilePackage } from './build-package';
import { buildRotationBundle } from './build-rotation';

/** The operator CLI's compiled entry, loaded by bin/rotor.js. */
const CLI_ENTRY = path.join(ROOT, 'bin/rotor.ts');
const CLI_OUT = path.join(ROOT, 'dist', 'cli', 'rotor.js');
// Beside it, inputs.json: which sources went into it and when (bin/rotor.js runs the sources instead when one is newer).

/**
 * Our modules find files next to themselves with __dirname (the rotation bundle for `rotor demo`,
 * the Lambda child runtime for `rotor local`). Bundled into dist/cli/, __dirname would be
 * dist/cli, so each use is rewritten to the module's own folder, relative to the bundle.
 */
const keepDirname: Plugin = {
  name: 'rotor-dirname',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${path.sep}node_modules${path.sep}`)) return undefined;
      const text = readFileSync(args.path, 'utf8');
      if (!/\b__dirname\b/.test(text)) return { contents: text, loader: 'ts' };
      const rel = path.relative(b.initialOptions.outfile ? path.dirname(b.initialOptions.outfile) : path.dirname(CLI_OUT), path.dirname(args.path)).split(path.sep).join('/');
      return { contents: text.replace(/\b__dirname\b/g, `require("node:path").join(__dirname, ${JSON.stringify(rel)})`), loader: 'ts' };
    });
  },
};

/**
 * The CLI: our TypeScript compiled and bundled into one CommonJS file, with node_modules left
 * external (resolved at run time as usual, and loaded only by the commands that need them), so
 * `rotor --help` reads one small file and compiles nothing. Not minified: stack traces stay readable.
 */
export async function buildCli(outfile = CLI_OUT, quiet = false): Promise<void> {
  const builtAt = Date.now();
  const result = await build({
    entryPoints: [CLI_ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: BUNDLE_TARGET,
    packages: 'external',
    sourcemap: true,
    legalComments: 'none',
    banner: { js: '#!/usr/bin/env node' },
    plugins: [keepDirname],
    metafile: true,
    logLevel: 'warning',
  });
  const inputs = Object.keys(result.metafile.inputs)
    .map((p) => path.relative(ROOT, path.resolve(process.cwd(), p)).split(path.sep).join('/'))
    .filter((p) => !p.startsWith('node_modules/') && !p.startsWith('..'));
  writeFileSync(path.join(path.dirname(outfile), 'inputs.json'), `${JSON.stringify({ builtAt, inputs }, null, 1)}\n`);
  const bytes = result.metafile.outputs[path.relative(process.cwd(), outfile)]?.bytes ?? 0;
  if (!quiet) console.log(`built ${path.relative(ROOT, outfile)} (${bytes} bytes, ${inputs.length} sources)`);
}

/**
 * Builds dist/<name>/index.js for every Lambda entry (the rotation function's with its side files,
 * scripts/build-rotation.ts), the CLI, and the package's compiled library and client (dist/lib, dist/client).
 */
async function main(): Promise<void> {
  for (const [name, entry] of Object.entries(LAMBDA_ENTRIES)) {
    if (name === 'rotation') {
      const { files, indexBytes } = await buildRotationBundle(path.join(ROOT, 'dist', name));
      console.log(`built dist/${name}/index.js (${indexBytes} bytes; with ${files.filter((f) => f !== 'index.js' && f.endsWith('.js')).join(', ')})`);
      continue;
    }
    const outfile = path.join(ROOT, 'dist', name, 'index.js');
    const result = await build({ ...BUNDLE_OPTIONS, entryPoints: [entry], outfile, metafile: true });
    const bytes = result.metafile.outputs[path.relative(process.cwd(), outfile)]?.bytes ?? 0;
    console.log(`built ${path.relative(ROOT, outfile)} (${bytes} bytes)`);
  }
  await buildCli();
  compilePackage();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
