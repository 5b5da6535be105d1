import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { LocalSecretsManager, localClientConfig, type RotationEvent } from '../../local';
import { mapWithConcurrency } from '../../lambda/trigger/rate-limiter';

export const DEPLOYMENT = 'rotor-test';
export const MANAGED = { Key: 'rotor:managed-by', Value: DEPLOYMENT };
export const TRIVIAL_FUNCTION = 'rotor-trivial-rotation';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fixture(name: string): any {
  return JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'events', `${name}.json`), 'utf8'));
}

/** Quiet Powertools logger and metrics for tests (set `TRIGGER_TEST_LOGS=1` to see them). */
export function quietDeps(): { logger: Logger; metrics: Metrics } {
  const logger = new Logger({ serviceName: 'rotor-trigger-test', logLevel: process.env.TRIGGER_TEST_LOGS ? 'DEBUG' : 'SILENT' });
  const metrics = new Metrics({ namespace: 'Rotor', serviceName: 'rotor-trigger-test' });
  if (!process.env.TRIGGER_TEST_LOGS) jestSafeSilence(metrics);
  return { logger, metrics };
}

/**
 * quietDeps() whose metrics are on and write their EMF lines into `lines` (test/support/jest-env.ts
 * turns EMF output off for the suite; tests that check the metrics need it on).
 */
export function depsWithMetrics(): { deps: { logger: Logger; metrics: Metrics }; lines: string[] } {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  const deps = quietDeps();
  if (saved !== undefined) process.env.POWERTOOLS_METRICS_DISABLED = saved;
  const lines: string[] = [];
  (deps.metrics as unknown as { console: { log: (s: string) => void } }).console = { log: (s: string) => lines.push(s) };
  return { deps, lines };
}

function jestSafeSilence(metrics: Metrics): void {
  // EMF lines go to stdout through Powertools' own Console; tests that check them replace this.
  (metrics as unknown as { console: { log: (...a: unknown[]) => void } }).console = { log: () => undefined };
}

/**
 * A rotation function with no database: createSecret stores a new value as
 * AWSPENDING, finishSecret moves AWSCURRENT. The trigger only calls
 * RotateSecret, so this is all its tests need behind it.
 */
export function trivialRotation(sm: SecretsManagerClient) {
  return async (event: RotationEvent): Promise<void> => {
    const { Step, SecretId, ClientRequestToken: token, RotationToken } = event;
    if (Step === 'createSecret') {
      try {
        await sm.send(new GetSecretValueCommand({ SecretId, VersionId: token, VersionStage: 'AWSPENDING' }));
        return;
      } catch (e) {
        if ((e as Error).name !== 'ResourceNotFoundException') throw e;
      }
      const current = await sm.send(new GetSecretValueCommand({ SecretId, VersionStage: 'AWSCURRENT' }));
      const value = { ...JSON.parse(current.SecretString ?? '{}'), password: `p-${token}` };
      await sm.send(new PutSecretValueCommand({
        SecretId, ClientRequestToken: token, SecretString: JSON.stringify(value), VersionStages: ['AWSPENDING'], RotationToken,
      }));
    } else if (Step === 'finishSecret') {
      const d = await sm.send(new DescribeSecretCommand({ SecretId }));
      const versions = d.VersionIdsToStages ?? {};
      const current = Object.keys(versions).find((v) => versions[v].includes('AWSCURRENT'));
      if (current === token) return;
      await sm.send(new UpdateSecretVersionStageCommand({ SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: token, RemoveFromVersionId: current }));
    }
  };
}

export interface TriggerLocal {
  local: LocalSecretsManager;
  /** No SDK retries: the trigger's own limiter and backoff must cope. */
  sm: SecretsManagerClient;
  lambdaArn: string;
}

export async function startTriggerLocal(): Promise<TriggerLocal> {
  const local = await LocalSecretsManager.start({ port: 0, rotation: { maxAttempts: 2, initialBackoffMs: 50 } });
  const sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  // The rotation function has its own client, with SDK retries, as a Lambda would.
  const fnClient = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 5 });
  const lambdaArn = local.lambdaArn(TRIVIAL_FUNCTION);
  local.registerRotationFunction(lambdaArn, { kind: 'in-process', handler: trivialRotation(fnClient) });
  return { local, sm, lambdaArn };
}

export interface SeedOptions {
  tags?: { Key: string; Value: string }[];
  /** Turn rotation on (RotateSecret with RotateImmediately=false: a test rotation only). @default true */
  rotation?: boolean;
  value?: Record<string, unknown>;
}

let counter = 0;

/** Creates `count` secrets; returns their ARNs. Rotation is configured (not run) unless `rotation: false`. */
export async function seed(t: TriggerLocal, prefix: string, count: number, opts: SeedOptions = {}): Promise<string[]> {
  const run = `${prefix}/${Date.now().toString(36)}-${(counter++).toString(36)}`;
  const arns = await mapWithConcurrency(Array.from({ length: count }, (_, i) => i), 16, async (i) => {
    const value = opts.value ?? { engine: 'postgres', host: 'localhost', port: 5432, username: `user${i}`, password: `initial-${i}` };
    const out = await t.sm.send(new CreateSecretCommand({
      Name: `${run}/${i}`, SecretString: JSON.stringify(value), Tags: opts.tags ?? [MANAGED],
    }));
    if (opts.rotation !== false) {
      await t.sm.send(new RotateSecretCommand({
        SecretId: out.ARN, RotationLambdaARN: t.lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false,
      }));
    }
    return out.ARN!;
  });
  await t.local.idle();
  return arns;
}

/** Real rotations (not test rotations) of a secret that succeeded, by version. */
export function succeededRotations(t: TriggerLocal, arn: string): string[] {
  return t.local.events({ secretId: arn }).filter((e) => e.eventName === 'RotationSucceeded').map((e) => e.versionId);
}

export function startedRotations(t: TriggerLocal, arn: string): Set<string> {
  return new Set(t.local.events({ secretId: arn }).filter((e) => e.eventName === 'RotationStarted').map((e) => e.versionId));
}

export function env(extra: Record<string, string> = {}): Record<string, string> {
  return { ROTOR_DEPLOYMENT_ID: DEPLOYMENT, ...extra };
}
