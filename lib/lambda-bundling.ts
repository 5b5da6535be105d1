import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { BUNDLE_OPTIONS, BUNDLE_TARGET, LAMBDA_ENTRIES } from '../scripts/bundle-options';

/** Entry files of the two functions, as the build script bundles them. */
export const ROTATION_ENTRY = LAMBDA_ENTRIES.rotation;
export const TRIGGER_ENTRY = LAMBDA_ENTRIES.trigger;

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
  };
}

