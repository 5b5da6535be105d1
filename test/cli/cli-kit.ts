import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../../local';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { silentLogger } from '../support/rotation-fixture';
import { recordOutput, recordPassword } from '../support/leak-audit/state';

export const ROOT = path.resolve(__dirname, '../..');
export const MANAGED = { Key: 'rotor:managed-by', Value: 'cli-test' };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/rotor.js ...` in a child process, as an operator runs it. */
export function rotor(args: string[], env: Record<string, string> = {}, timeoutMs = 40_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/rotor.js'), ...args], {
      cwd: ROOT, timeout: timeoutMs,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1', ...env },
    }, (err, stdout, stderr) => {
      recordOutput('cli', stdout);
      recordOutput('cli', stderr);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

export interface CliStack {
  local: LocalSecretsManager;
  sm: SecretsManagerClient;
  /** The SDK's standard variables pointing the CLI at the local endpoint. */
  env: Record<string, string>;
  /** Shifts the endpoint's clock (dates it records); 0 = now. */
  setClockOffset(ms: number): void;
  realFn: string;
  failingFn: string;
  hangingFn: string;
  /** Creates a managed secret with this value and tags; returns its ARN. */
  createSecret(name: string, value: Record<string, unknown>, tags?: Array<{ Key: string; Value: string }>): Promise<string>;
  /** Configures rotation without rotating (RotateImmediately=false: only a test of AWSCURRENT). */
  configure(arn: string, fn: string, days?: number): Promise<void>;
  /** RotateSecret now and wait for the end. */
  rotateNow(arn: string, fn: string, days?: number): Promise<string>;
  stop(): Promise<void>;
}

/** The local endpoint with a movable clock and three rotation functions: the real handler, one that always fails, one that never ends. */
export async function startCliStack(handlerEnv: Record<string, string>): Promise<CliStack> {
  let offset = 0;
  const local = await LocalSecretsManager.start({
    port: 0, clock: () => new Date(Date.now() + offset),
    rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20, stepTimeoutMs: 120_000 },
  });
  const sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  const realFn = local.lambdaArn('rotor-rotation');
  const real = createRotationHandler({ secretsManager: sm, env: handlerEnv, logger: silentLogger() });
  local.registerRotationFunction(realFn, { kind: 'in-process', handler: (e, c) => real(e, c as never) });
  const failingFn = local.lambdaArn('rotor-failing');
  local.registerRotationFunction(failingFn, {
    kind: 'in-process',
    handler: async (e) => {
      if ((e as { Step: string }).Step === 'testSecret' && !(e as { RotationToken?: string }).RotationToken) return;
      throw new Error('injected failure: setSecret cannot reach the database');
    },
  });
  const hangingFn = local.lambdaArn('rotor-hanging');
  let release: () => void = () => undefined;
  const hang = new Promise<void>((r) => (release = r));
  local.registerRotationFunction(hangingFn, { kind: 'in-process', handler: async () => hang });

  const stack: CliStack = {
    local, sm, realFn, failingFn, hangingFn,
    env: { AWS_ENDPOINT_URL_SECRETS_MANAGER: local.endpoint, AWS_REGION: local.region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' },
    setClockOffset(ms) {
      offset = ms;
    },
    async createSecret(name, value, tags = [MANAGED]) {
      const out = await sm.send(new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(value), Tags: tags }));
      return out.ARN!;
    },
    async configure(arn, fn, days = 30) {
      await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: days }, RotateImmediately: false }));
      await local.waitForRotation(arn, { timeoutMs: 30_000 });
    },
    async rotateNow(arn, fn, days = 30) {
      const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: days } }));
      const end = await local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 30_000 });
      return end.eventName;
    },
    async stop() {
      release();
      await local.stop();
      sm.destroy();
    },
  };
  return stack;
}

export const password = () => {
  const p = randomBytes(12).toString('hex');
  recordPassword(p, 'test-helper');
  return p;
};
