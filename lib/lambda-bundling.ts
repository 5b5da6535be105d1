import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Architecture, Code, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { BUNDLE_OPTIONS, BUNDLE_TARGET, LAMBDA_ENTRIES, ROOT } from '../scripts/bundle-options';

/** The two rotor functions, named as their bundles are (dist/<name>/index.js). */
export type RotorFunctionName = 'rotation' | 'trigger';

/**
 * The prebuilt bundle directory of a function: dist/<name>/ beside the compiled
 * library (dist/lib/) in the installed package, or the `npm run build` output
 * (dist/<name>/) in a source checkout.
 */
export function prebuiltBundleDir(name: RotorFunctionName): string | undefined {
  for (const dir of [path.join(__dirname, '..', name), path.join(__dirname, '..', 'dist', name)]) {
    if (existsSync(path.join(dir, 'index.js'))) return dir;
  }
  return undefined;
}

/**
 * The entry of a function: its TypeScript source in a source checkout, else
 * (installed package, no sources) the shipped bundle's index.js, which
 * NodejsFunction can bundle again when given as an `entry`.
 */
function entryOf(name: RotorFunctionName): string {
  const source = LAMBDA_ENTRIES[name];
  if (existsSync(source)) return source;
  const dir = prebuiltBundleDir(name);
  return dir ? path.join(dir, 'index.js') : source;
}

/** Entry files of the two functions, as the build script bundles them. */
export const ROTATION_ENTRY = entryOf('rotation');
export const TRIGGER_ENTRY = entryOf('trigger');

/** The code-related NodejsFunction props of a rotor function (see `rotorFunctionCode`). */
export interface RotorFunctionCode {
  readonly entry?: string;
  readonly code?: Code;
  readonly handler: string;
  readonly bundling?: BundlingOptions;
}

/**
 * Where a rotor function's code comes from:
 * - `entry` given: that file, bundled by esbuild at synth (one file);
 * - source checkout (lambda/<name>/index.ts present): built at synth exactly as
 *   `npm run build` builds it (tested = deployed): the rotation function by
 *   scripts/build-rotation.ts (index.js and its side files), the trigger by
 *   NodejsFunction with the same esbuild settings;
 * - installed package (no TypeScript sources): the prebuilt bundle folder shipped
 *   in dist/<name>/, as `Code.fromAsset`; needs neither esbuild nor Docker.
 */
export function rotorFunctionCode(name: RotorFunctionName, entry?: string): RotorFunctionCode {
  if (entry === undefined && name === 'rotation' && existsSync(LAMBDA_ENTRIES.rotation)) {
    return { code: checkoutRotationCode(), handler: 'index.handler' };
  }
  if (entry !== undefined || existsSync(LAMBDA_ENTRIES[name])) {
    return { entry: entry ?? LAMBDA_ENTRIES[name], handler: 'handler', bundling: rotorBundling() };
  }
  const dir = prebuiltBundleDir(name);
  if (!dir) {
    throw new Error(`rotor: neither the ${name} function's source (${LAMBDA_ENTRIES[name]}) nor its prebuilt bundle (dist/${name}/index.js) exists; run \`npm run build\`.`);
  }
  return { code: Code.fromAsset(dir), handler: 'index.handler' };
}

/**
 * The rotation function from a source checkout: scripts/build-rotation.ts run at synth into the
 * asset folder (a child process: esbuild runs plugins only in its asynchronous API, and CDK
 * bundling is synchronous). Local only; the Docker image is never used.
 */
function checkoutRotationCode(): Code {
  const script = path.join(ROOT, 'scripts', 'build-rotation.ts');
  return Code.fromAsset(path.dirname(LAMBDA_ENTRIES.rotation), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:24'),
      local: {
        tryBundle(outputDir: string): boolean {
          let tsx: string;
          try {
            tsx = require.resolve('tsx/cjs', { paths: [ROOT] });
          } catch {
            throw new Error(`rotor: building the rotation function from a source checkout (${ROOT}) needs its devDependencies (tsx, esbuild): run \`npm ci\` there, or deploy from the installed package, which ships the built function.`);
          }
          const r = spawnSync(process.execPath, ['--require', tsx, script, outputDir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
          if (r.status !== 0) {
            throw new Error(`rotor: building the rotation function (${path.relative(ROOT, script)}) failed${r.error ? `: ${r.error.message}` : ''}\n${r.stderr ?? ''}`);
          }
          return true;
        },
      },
    },
  });
}

/** Runtime and architecture of every rotor function. */
export const ROTOR_RUNTIME = Runtime.NODEJS_24_X;
export const ROTOR_ARCHITECTURE = Architecture.ARM_64;

/** CloudWatch metric namespace both functions emit to (Powertools EMF). */
export const METRICS_NAMESPACE = 'Rotor';

/** The tag that marks a secret as rotated by one rotor deployment. */
export const MANAGED_BY_TAG = 'rotor:managed-by';

/** The tag the rotation function records the last rotated target in (host, port, user, database). */
export const ROTATED_TARGET_TAG = 'rotor:rotated-target';

/**
 * NodejsFunction bundling from the esbuild settings `npm run build` uses, so the
 * tested bundle is the deployed bundle. Always local esbuild, never Docker.
 */
export function rotorBundling(): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.CJS,
    target: BUNDLE_TARGET,
    minify: BUNDLE_OPTIONS.minify,
    sourceMap: BUNDLE_OPTIONS.sourcemap,
    externalModules: BUNDLE_OPTIONS.external,
    mainFields: BUNDLE_OPTIONS.mainFields,
    esbuildArgs: Object.fromEntries(Object.entries(BUNDLE_OPTIONS.supported).map(([k, v]) => [`--supported:${k}`, String(v)])),
  };
}

