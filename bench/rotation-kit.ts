import { randomBytes } from 'node:crypto';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { localClientConfig, type LocalSecretsManager } from '../local';
import type { DemoServer } from '../local/demo-servers';

/**
 * What the rotation benchmarks (rotation.bench.ts, rotation-latency.bench.ts) set up alike: a
 * child-process rotation function (the bundle, as Lambda runs it), a user with its secret (and,
 * for alternating users, the master secret), one rotation to completion, and the floor the
 * rotation is compared with.
 */
export type BenchStrategy = 'single-user' | 'alternating-users';

export const STRATEGIES: readonly BenchStrategy[] = ['single-user', 'alternating-users'];

export const newPassword = (): string => randomBytes(16).toString('hex');

/** The function's environment in every rotation benchmark: the demo server's CA, warnings only, no EMF output. */
export function benchFunctionEnv(db: DemoServer, strategy: BenchStrategy): Record<string, string> {
  return { ROTOR_TLS_CA_FILE: db.caFile, ROTOR_STRATEGY: strategy, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' };
}

export interface RotationRig {
  /** `<engine>_<su|au>[_<label>]`, unique per engine, strategy and label. */
  tag: string;
  lambdaArn: string;
  secretArn: string;
  sm: SecretsManagerClient;
  /** RotateSecret, then waits for RotationSucceeded (throws on anything else). */
  rotate(): Promise<void>;
  /**
   * The SQL floor: one login, the password change, one login with the new password, on the
   * same server with TLS verify-full. Single-user logs in as the user itself; alternating
   * users as the master, changing the other user.
   */
  floor(): Promise<void>;
}

export interface RigOptions {
  /** Prefix of the function, secret and user names (e.g. `bench`, `latency`). */
  name: string;
  bundlePath: string;
  /** Distinguishes rigs of one engine and strategy (e.g. two bundles compared). */
  label?: string;
}

export async function rotationRig(local: LocalSecretsManager, db: DemoServer, strategy: BenchStrategy, opts: RigOptions): Promise<RotationRig> {
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const tag = `${db.engine}_${strategy === 'single-user' ? 'su' : 'au'}${opts.label ? `_${opts.label}` : ''}`;
  const short = opts.name.slice(0, 3);
  const lambdaArn = local.lambdaArn(`${opts.name}-${tag}`);
  const base = { engine: db.engine, host: db.host, port: db.port, dbname: db.dbname };
  const rotUser = `${short}_${tag}`;
  const rotPassword = newPassword();
  await db.createUser(rotUser, rotPassword);
  let masterarn: string | undefined;
  if (strategy === 'alternating-users') {
    masterarn = (await sm.send(new CreateSecretCommand({ Name: `${opts.name}/master-${tag}`, SecretString: JSON.stringify({ ...base, username: db.admin.username, password: db.admin.password }) }))).ARN;
  }
  // As the CDK deploys it: an alternating-users function is told its (one) master secret.
  const env = { ...benchFunctionEnv(db, strategy), ...(masterarn ? { ROTOR_MASTER_SECRET_ARNS: masterarn } : {}) };
  local.registerRotationFunction(lambdaArn, { kind: 'child-process', bundlePath: opts.bundlePath, env });
  const secret = await sm.send(new CreateSecretCommand({
    Name: `${opts.name}/${tag}`,
    SecretString: JSON.stringify({ ...base, username: rotUser, password: rotPassword, ...(masterarn ? { masterarn } : {}) }),
  }));
  const secretArn = secret.ARN!;
  const rotate = async () => {
    const r = await sm.send(new RotateSecretCommand({ SecretId: secretArn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const outcome = await local.waitForRotation(secretArn, { versionId: r.VersionId, timeoutMs: 60_000 });
    if (outcome.eventName !== 'RotationSucceeded') throw new Error(`${tag} rotation ${outcome.eventName}: ${outcome.errorMessage}`);
  };
  const floorUser = `${short}fl_${tag}`;
  let floorPassword = newPassword();
  await db.createUser(floorUser, floorPassword);
  const floor = async () => {
    const next = newPassword();
    const as = strategy === 'single-user' ? { user: floorUser, password: floorPassword } : { user: db.admin.username, password: db.admin.password };
    await db.changePasswordAndLogin(as, floorUser, next);
    floorPassword = next;
  };
  return { tag, lambdaArn, secretArn, sm, rotate, floor };
}
