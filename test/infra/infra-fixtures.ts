import { App, type Stack } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { parseRotorConfig } from '../../lib/rotor-config';
import { RotorStack } from '../../lib/rotor-stack';

export const ACCOUNT = '111122223333';
export const REGION = 'eu-central-1';
export const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-app-AbCdEf`;
export const MASTER_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-master-GhIjKl`;
export const RDS_MASTER_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:billing-master-MnOpQr`;
export const KEY_ARN = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0b0e6f4e-1c2d-4e5f-8a9b-0c1d2e3f4a5b`;
export const INSTANCE_ARN = `arn:aws:rds:${REGION}:${ACCOUNT}:db:billing`;

/** A config that exercises every part: network, three strategies, a customer key, group schedule, alerts, e-mail. */
export const FULL_CONFIG = {
  deploymentId: 'rotor-prod',
  account: ACCOUNT,
  region: REGION,
  network: { vpcId: 'vpc-0123456789abcdef0', availabilityZones: [`${REGION}a`, `${REGION}b`], subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'] },
  rotations: [
    {
      name: 'orders-app',
      secretArn: SECRET_ARN,
      kmsKeyArn: KEY_ARN,
      engine: 'postgres',
      strategy: 'alternating-users',
      masterSecretArn: MASTER_ARN,
      databaseSecurityGroupId: 'sg-0123456789abcdef0',
      schedule: { expression: 'cron(0 4 ? * SUN *)', windowHours: 3 },
    },
    {
      name: 'orders-ro',
      secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`,
      engine: 'mysql',
      databaseSecurityGroupId: 'sg-0fedcba9876543210',
      schedule: { hours: 12, windowHours: 2 },
    },
    {
      name: 'billing-master',
      secretArn: RDS_MASTER_SECRET_ARN,
      engine: 'postgres',
      strategy: 'rds-master',
      dbInstanceArn: INSTANCE_ARN,
      schedule: { days: 30 },
    },
  ],
  groupSchedules: [
    { name: 'prod-weekly', cron: 'cron(0 3 ? * SUN *)', timeZone: 'Europe/Berlin', flexibleWindowMinutes: 60, tagFilters: [{ key: 'env', values: ['prod'] }], reason: 'weekly' },
  ],
  monitoring: { alarmEmail: 'ops@example.com' },
};

/** An App that skips asset bundling (fast); `cdk synth` and the app test bundle for real. */
export function fastApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-path-metadata': true } });
}

export function fullStack(config: unknown = FULL_CONFIG): RotorStack {
  const app = fastApp();
  const parsed = parseRotorConfig(config, 'test');
  return new RotorStack(app, 'Rotor', { config: parsed, env: { account: parsed.account ?? ACCOUNT, region: parsed.region ?? REGION } });
}

/** Unacknowledged cdk-nag AwsSolutions violations of a synthesized stack, as "rule: path" lines. */
export function nagViolations(stack: Stack): string[] {
  const report = new AwsSolutionsChecks().validateScope(stack);
  return report.violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName}: ${r.constructPath} (${v.description})`));
}
