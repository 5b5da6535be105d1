#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import * as path from 'node:path';
import { loadRotorConfig } from '../lib/rotor-config-file';
import { RotorConfigError } from '../lib/rotor-config';
import { RotorStack } from '../lib/rotor-stack';

const app = new App();
try {
  // `-c rotorConfig=path/to/file.json` picks another file.
  const { config } = loadRotorConfig(path.resolve(__dirname, '..'), app.node.tryGetContext('rotorConfig'));
  new RotorStack(app, config.stackName ?? 'Rotor', {
    config,
    env: { account: config.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: config.region ?? process.env.CDK_DEFAULT_REGION },
    description: `rotor: database credential rotation (${config.deploymentId})`,
  });
} catch (e) {
  if (e instanceof RotorConfigError) {
    console.error(e.message);
    process.exit(1);
  }
  throw e;
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
