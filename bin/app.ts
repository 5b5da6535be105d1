#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { RotorStack } from '../lib/rotor-stack';

const app = new App();
new RotorStack(app, 'Rotor', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
