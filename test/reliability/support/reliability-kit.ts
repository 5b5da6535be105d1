import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig, type LocalSecretsManagerOptions, type RotationEvent, type RotationLifecycleEvent } from '../../../local';
import { createRotationHandler } from '../../../lambda/rotation/handler';
import { silentLogger, startRotationFixture, type RotationFixture, type TestEngine } from '../../support/rotation-fixture';

/** The bundled rotation function, as `npm run build` writes it (the artifact Lambda runs). */
export const ROTATION_BUNDLE = path.resolve(__dirname, '../../../dist/rotation/index.js');

export type Step = RotationEvent['Step'];
/** Called around each step of an in-process rotation function; may wait (hold a step) or act on the database. */
export type StepHook = (event: RotationEvent, phase: 'before' | 'after') => Promise<void> | void;

/**
 * One database server (PostgreSQL or MariaDB, TLS, password auth) and a local
 * Secrets Manager endpoint of our own (retry policy chosen per suite), with
 * the rotation function registered in-process (optionally wrapped by a hook)
 * or as the bundled artifact in a child process.
 *
 * The rotation fixture is used for its database server and its role/login
 * helpers; its own endpoint stays idle.
 */
export interface ReliabilityBed {
  engine: TestEngine;
  f: RotationFixture;
  local: LocalSecretsManager;
  /** The test's client: no SDK retries unless a test builds its own. */
  sm: SecretsManagerClient;
  /** The function's client for in-process handlers: SDK retries as in the deployed function (maxAttempts 5). */
  fnSm: SecretsManagerClient;
  /** Environment every registered function gets (the test CA). */
  baseEnv: Record<string, string>;
  registerInProcess(name: string, opts?: { env?: Record<string, string>; hook?: StepHook }): string;
  registerBundle(name: string, opts?: { env?: Record<string, string>; timeoutMs?: number }): string;
  /** A login role with a random password and its secret. */
  roleWithSecret(prefix: string, opts?: { tags?: Tag[] }): Promise<{ name: string; password: string; arn: string }>;
  /** RotateSecret (30-day rule) and the end of that rotation. */
  rotate(arn: string, lambdaArn: string, token?: string): Promise<RotationLifecycleEvent>;
  current(arn: string): Promise<Record<string, any>>;
  canLogin(user: string, password: string): Promise<boolean>;
  stop(): Promise<void>;
}

let seq = 0;
export const uniq = (p: string): string => `${p}_${process.pid}_${++seq}`;

export async function startBed(opts: { engine: TestEngine; rotation?: LocalSecretsManagerOptions['rotation'] }): Promise<ReliabilityBed> {
  const f = await startRotationFixture({ engine: opts.engine, tls: true });
  const local = await LocalSecretsManager.start({ port: 0, rotation: opts.rotation ?? { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 200 } });
  const sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  const fnSm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 5 });
  const baseEnv = { ROTOR_TLS_CA_FILE: f.pg.caFile! };

  const bed: ReliabilityBed = {
    engine: opts.engine, f, local, sm, fnSm, baseEnv,
    registerInProcess(name, o = {}) {
      const arn = local.lambdaArn(name);
      const real = createRotationHandler({ secretsManager: fnSm, env: { ...baseEnv, ...o.env }, logger: silentLogger() });
      local.registerRotationFunction(arn, {
        kind: 'in-process',
        handler: async (event, context) => {
          await o.hook?.(event, 'before');
          await real(event, context as never);
          await o.hook?.(event, 'after');
        },
      });
      return arn;
    },
    registerBundle(name, o = {}) {
      if (!fs.existsSync(ROTATION_BUNDLE)) throw new Error(`${ROTATION_BUNDLE} is missing: run npm run build first`);
      const arn = local.lambdaArn(name);
      local.registerRotationFunction(arn, {
        kind: 'child-process', bundlePath: ROTATION_BUNDLE, timeoutMs: o.timeoutMs,
        env: { ...baseEnv, POWERTOOLS_LOG_LEVEL: 'WARN', ...o.env },
      });
      return arn;
    },
    async roleWithSecret(prefix, o = {}) {
      const name = uniq(prefix);
      const password = await f.createRole(name);
      const out = await sm.send(new CreateSecretCommand({ Name: `reliability/${name}`, SecretString: JSON.stringify(f.secretFor(name, password)), Tags: o.tags }));
      return { name, password, arn: out.ARN! };
    },
    async rotate(arn, lambdaArn, token = randomUUID()) {
      const r = await sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: token, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
      return local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 60_000 });
    },
    async current(arn) {
      return JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!);
    },
    canLogin: (user, password) => f.canLogin(user, password),
    async stop() {
      await local.idle().catch(() => undefined);
      sm.destroy();
      fnSm.destroy();
      await local.stop();
      await f.stop();
    },
  };
  return bed;
}

export interface ProbedVersion {
  versionId: string;
  stages: string[];
  /** undefined: the version has no value (a rotation's placeholder). */
  logsIn?: boolean;
}

/** Every labelled version of the secret, and whether its password logs in as `user` (the database must be up). */
export async function probeVersions(bed: ReliabilityBed, arn: string, user: string): Promise<ProbedVersion[]> {
  const out = await bed.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }));
  const probed: ProbedVersion[] = [];
  for (const v of out.Versions ?? []) {
    const stages = [...(v.VersionStages ?? [])].sort();
    if (stages.length === 0) continue;
    let password: string | undefined;
    try {
      password = JSON.parse((await bed.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v.VersionId }))).SecretString!).password;
    } catch (e) {
      if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    }
    probed.push({ versionId: v.VersionId!, stages, logsIn: password === undefined ? undefined : await bed.canLogin(user, password) });
  }
  return probed;
}

/** Labels after a finished rotation: exactly one AWSCURRENT, at most one AWSPREVIOUS, AWSPENDING gone or on AWSCURRENT's version. */
export async function consistentLabels(bed: ReliabilityBed, arn: string): Promise<{ current: string; previous?: string; problems: string[] }> {
  const out = await bed.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }));
  const on = (label: string) => (out.Versions ?? []).filter((v) => v.VersionStages?.includes(label)).map((v) => v.VersionId!);
  const current = on('AWSCURRENT');
  const previous = on('AWSPREVIOUS');
  const pending = on('AWSPENDING');
  const problems: string[] = [];
  if (current.length !== 1) problems.push(`AWSCURRENT on ${current.length} versions`);
  if (previous.length > 1) problems.push(`AWSPREVIOUS on ${previous.length} versions`);
  if (pending.length > 1 || (pending.length === 1 && pending[0] !== current[0])) problems.push(`AWSPENDING on ${pending.join(',')} (AWSCURRENT ${current.join(',')})`);
  return { current: current[0], previous: previous[0], problems };
}

/** A step held until released; `reached` resolves when the function got there. */
export class Gate {
  private open!: () => void;
  private arrived!: () => void;
  readonly opened = new Promise<void>((r) => (this.open = r));
  readonly reached = new Promise<void>((r) => (this.arrived = r));
  async pass(): Promise<void> {
    this.arrived();
    await this.opened;
  }
  release(): void {
    this.open();
  }
}

export interface FaultCount {
  /** Requests that reached fault injection (every well-formed, signed request). */
  requests: number;
  /** Injected errors by name. */
  byError: Record<string, number>;
  readonly injected: number;
}

/**
 * Counts the errors the endpoint's fault injection answers with. The local
 * endpoint keeps no counter of its own, so its injector's `apply` (which runs
 * once per request, before the operation) is wrapped.
 */
export function countFaults(local: LocalSecretsManager): FaultCount & { stop(): void } {
  const injector = local.faults as unknown as { apply(op: string): Promise<void> };
  const original = injector.apply;
  const count = {
    requests: 0,
    byError: {} as Record<string, number>,
    get injected() {
      return Object.values(this.byError).reduce((a, b) => a + b, 0);
    },
    stop() {
      injector.apply = original;
    },
  };
  injector.apply = async function (this: unknown, op: string) {
    count.requests++;
    try {
      await original.call(injector, op);
    } catch (e) {
      const name = (e as Error).name;
      count.byError[name] = (count.byError[name] ?? 0) + 1;
      throw e;
    }
  };
  return count;
}

/** Lifecycle events of a secret, by name. */
export function eventsNamed(bed: ReliabilityBed, arn: string, name: RotationLifecycleEvent['eventName']): RotationLifecycleEvent[] {
  return bed.local.events({ secretId: arn }).filter((e) => e.eventName === name);
}

/** Runs `fn` over `items` with at most `n` at once. */
export async function inBatches<T, R>(items: T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  }));
  return out;
}
