import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { BUNDLE_OPTIONS, BUNDLE_TARGET, LAMBDA_ENTRIES } from '../scripts/bundle-options';

/**
 * The deployable unit. For now: the rotation function, bundled locally with
 * the same esbuild settings as `npm run build`. Schedules, alert rules,
 * alarms and the dashboard arrive with the CDK issue.
 */
export class RotorStack extends Stack {
  readonly rotationFunction: NodejsFunction;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.rotationFunction = new NodejsFunction(this, 'RotationFunction', {
      entry: LAMBDA_ENTRIES.rotation,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      timeout: Duration.seconds(30),
      memorySize: 256,
      description: 'rotor: rotates database credentials for Secrets Manager',
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        target: BUNDLE_TARGET,
        minify: BUNDLE_OPTIONS.minify,
        sourceMap: BUNDLE_OPTIONS.sourcemap,
        externalModules: BUNDLE_OPTIONS.external,
        mainFields: BUNDLE_OPTIONS.mainFields,
      },
      environment: {
        POWERTOOLS_SERVICE_NAME: 'rotor-rotation',
        NODE_OPTIONS: '--enable-source-maps',
      },
    });
  }
}
