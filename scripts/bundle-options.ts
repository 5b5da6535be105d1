import * as path from 'node:path';

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
};
