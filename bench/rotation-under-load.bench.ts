import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client as PgClient, Pool as PgPool, type PoolClient } from 'pg';
import * as mysql from 'mysql2/promise';
import { LocalSecretsManager, localClientConfig } from '../local';
import { startDemoServer, type DemoServer } from '../local/demo-servers';
import { SecretCache, createMysqlConnection, createMysqlPool, createPgClient, createPgPool } from '../client';
import { round } from './stats';

/**
 * Applications through rotations: 8 workers open connections continuously
 * (a pool with a short idle time and max lifetime, plus fresh connects) and
 * run a query each time, while 50 rotations run back to back; for every
 * engine x strategy and three clients:
 *   naive-once      reads the secret once at start (what an app without rotation support does),
 *   naive-ttl-5min  re-reads it when the value is older than 5 minutes,
 *   rotor-client    rotor/client (SecretCache + pg/mysql2 helpers).
 * Counts failed operations and the Secrets Manager calls each client's
 * process made per rotation. The rotation function is the bundle in
 * dist/rotation, run in a child process as Lambda would.
 */
const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/rotation/index.js');
const ROTATIONS = Number(process.env.ROTOR_BENCH_ROTATIONS ?? 50);
// ROTOR_BENCH_CLIENTS=rotor-client, ROTOR_BENCH_ENGINES=postgres, ROTOR_BENCH_STRATEGIES=single-user
// (comma-separated) run only those clients, engines, strategies.
const only = (name: string, value: string) => !process.env[name] || process.env[name]!.split(',').includes(value);
const WORKERS = 8;
const CLIENTS = ['naive-once', 'naive-ttl-5min', 'rotor-client'] as const;
type ClientKind = (typeof CLIENTS)[number];
type Strategy = 'single-user' | 'alternating-users';
const pw = () => randomBytes(16).toString('hex');

interface DbCredential {
  host: string;
  port: number;
  username: string;
  password: string;
  dbname: string;
}

/** What a worker does: one operation over the pool, one over a fresh connection. */
interface App {
  poolOp(): Promise<void>;
  freshOp(): Promise<void>;
  end(): Promise<void>;
}

/** A Secrets Manager client that counts what it sends, per operation. */
function countingClient(local: LocalSecretsManager): { sm: SecretsManagerClient; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  sm.middlewareStack.add((next, context) => async (args) => {
    const op = String(context.commandName).replace(/Command$/, '');
    calls[op] = (calls[op] ?? 0) + 1;
    return next(args);
  }, { step: 'initialize' });
  return { sm, calls };
}

const LIFETIME_MS = 1000;
const IDLE_MS = 100;

/** A naive read of the secret: GetSecretValue, AWSCURRENT; `maxAgeMs` 0 = once. */
function naiveSource(sm: SecretsManagerClient, secretId: string, maxAgeMs: number | undefined) {
  let value: DbCredential | undefined;
  let readAt = 0;
  return async (): Promise<DbCredential> => {
    if (!value || (maxAgeMs !== undefined && Date.now() - readAt > maxAgeMs)) {
      const v = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString!);
      value = { host: v.host, port: v.port, username: v.username, password: v.password, dbname: v.dbname };
      readAt = Date.now();
    }
    return value;
  };
}

async function pgApp(kind: ClientKind, sm: SecretsManagerClient, secretId: string, ca: string): Promise<App> {
  const ssl = { ca, rejectUnauthorized: true };
  const poolBase = { max: 4, idleTimeoutMillis: IDLE_MS, maxLifetimeSeconds: LIFETIME_MS / 1000, ssl };
  let pool: PgPool;
  let fresh: () => Promise<PgClient>;
  if (kind === 'rotor-client') {
    const cache = new SecretCache({ client: sm });
    const opts = { cache, secretId, ca, applicationName: 'bench' };
    pool = createPgPool(opts, poolBase);
    fresh = async () => {
      const c = createPgClient(opts);
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
  } else {
    const read = naiveSource(sm, secretId, kind === 'naive-once' ? undefined : 5 * 60_000);
    const first = await read();
    // The pool's user is fixed when it is made; its password is read (from the naive cache) per connection.
    pool = new PgPool({ ...poolBase, host: first.host, port: first.port, database: first.dbname, user: first.username, password: async () => (await read()).password });
    fresh = async () => {
      const v = await read();
      const c = new PgClient({ host: v.host, port: v.port, database: v.dbname, user: v.username, password: v.password, ssl });
      c.on('error', () => undefined);
      await c.connect();
      return c;
    };
  }
  pool.on('error', () => undefined);
  return {
    async poolOp() {
      await pool.query('SELECT 1');
    },
    async freshOp() {
      const c = await fresh();
      try {
        await c.query('SELECT 1');
      } finally {
        await c.end();
      }
    },
    end: () => pool.end(),
  };
}

async function mysqlApp(kind: ClientKind, sm: SecretsManagerClient, secretId: string, ca: string): Promise<App> {
  const ssl = { ca, rejectUnauthorized: true };
  const poolBase = { connectionLimit: 4, maxIdle: 0, idleTimeout: IDLE_MS };
  let pool: mysql.Pool;
  let fresh: () => Promise<mysql.Connection>;
  if (kind === 'rotor-client') {
    const cache = new SecretCache({ client: sm });
    const opts = { cache, secretId, ca, applicationName: 'bench' };
    pool = await createMysqlPool(opts, poolBase);
    fresh = () => createMysqlConnection(opts);
  } else {
    const read = naiveSource(sm, secretId, kind === 'naive-once' ? undefined : 5 * 60_000);
    const first = await read();
    pool = mysql.createPool({ ...poolBase, host: first.host, port: first.port, database: first.dbname, user: first.username, password: first.password, ssl });
    fresh = async () => {
      const v = await read();
      return mysql.createConnection({ host: v.host, port: v.port, database: v.dbname, user: v.username, password: v.password, ssl });
    };
  }
  // mysql2 pools have no maximum lifetime: connections older than LIFETIME_MS are destroyed instead of released.
  const born = new WeakMap<object, number>();
  return {
    async poolOp() {
      const c = await pool.getConnection();
      if (!born.has(c.connection)) born.set(c.connection, Date.now());
      try {
        await c.query('SELECT 1');
      } finally {
        if (Date.now() - born.get(c.connection)! > LIFETIME_MS) c.destroy();
        else c.release();
      }
    },
    async freshOp() {
      const c = await fresh();
      c.on('error', () => undefined);
      try {
        await c.query('SELECT 1');
      } finally {
        await c.end();
      }
    },
    end: () => pool.end(),
  };
}

interface ScenarioResult {
  operations: number;
  failedOperations: number;
  failuresByCode: Record<string, number>;
  rotations: number;
  rotationFailures: number;
  secretsManagerCalls: Record<string, number>;
  secretsManagerCallsPerRotation: number;
  seconds: number;
  /** 1-minute load average at the start and end (the machine is shared; handshakes slow down with it). */
  loadAverage: [number, number];
}

async function scenario(local: LocalSecretsManager, db: DemoServer, strategy: Strategy, kind: ClientKind, fnArn: string, masterArn: string | undefined): Promise<ScenarioResult> {
  const admin = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const user = `load_${db.engine === 'postgres' ? 'pg' : 'my'}_${strategy === 'single-user' ? 'su' : 'au'}_${kind.replace(/[^a-z]/g, '')}`;
  const password = pw();
  await db.createUser(user, password);
  const secret = await admin.send(new CreateSecretCommand({
    Name: `bench/load/${user}`,
    SecretString: JSON.stringify({ engine: db.engine, host: db.host, port: db.port, dbname: db.dbname, username: user, password, ...(masterArn ? { masterarn: masterArn } : {}) }),
  }));
  const arn = secret.ARN!;
  const ca = readFileSync(db.caFile, 'utf8');
  const { sm, calls } = countingClient(local);
  const app = db.engine === 'postgres' ? await pgApp(kind, sm, arn, ca) : await mysqlApp(kind, sm, arn, ca);

  let operations = 0;
  let failed = 0;
  const failuresByCode: Record<string, number> = {};
  let stop = false;
  let warm!: () => void;
  const warmed = new Promise<void>((r) => (warm = r));
  let warmWorkers = 0;
  const worker = async (i: number) => {
    let first = true;
    for (let k = 0; !stop; k++) {
      try {
        await ((k + i) % 2 === 0 ? app.poolOp() : app.freshOp());
      } catch (e) {
        failed++;
        const code = String((e as { code?: unknown }).code ?? (e as { name?: unknown }).name ?? 'Error');
        failuresByCode[code] = (failuresByCode[code] ?? 0) + 1;
      }
      operations++;
      if (first) {
        first = false;
        if (++warmWorkers === WORKERS) warm();
      }
    }
  };
  const workers = Array.from({ length: WORKERS }, (_, i) => worker(i));
  await warmed;
  // Count from here: the start-up read is not part of "per rotation".
  const before = { ...calls };
  const opsBefore = operations;
  const failedBefore = failed;
  const t0 = Date.now();
  const load0 = os.loadavg()[0];
  let rotationFailures = 0;
  for (let i = 0; i < ROTATIONS; i++) {
    const r = await admin.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fnArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const outcome = await local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 120_000 });
    if (outcome.eventName !== 'RotationSucceeded') rotationFailures++;
  }
  // A tail after the last rotation, so that its effect is met by every worker.
  const tailFrom = operations;
  while (operations - tailFrom < WORKERS * 4) await new Promise((r) => setTimeout(r, 20));
  stop = true;
  await Promise.all(workers);
  const seconds = (Date.now() - t0) / 1000;
  await app.end().catch(() => undefined);
  sm.destroy();
  admin.destroy();
  const during: Record<string, number> = {};
  for (const [op, n] of Object.entries(calls)) if (n - (before[op] ?? 0) > 0) during[op] = n - (before[op] ?? 0);
  const total = Object.values(during).reduce((a, b) => a + b, 0);
  return {
    operations: operations - opsBefore,
    failedOperations: failed - failedBefore,
    failuresByCode,
    rotations: ROTATIONS,
    rotationFailures,
    secretsManagerCalls: during,
    secretsManagerCallsPerRotation: round(total / ROTATIONS),
    seconds: round(seconds, 1),
    loadAverage: [round(load0, 1), round(os.loadavg()[0], 1)],
  };
}

export async function run(): Promise<Record<string, unknown>> {
  const local = await LocalSecretsManager.start({ port: 0 });
  const admin = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const results: Record<string, Record<string, Record<string, ScenarioResult>>> = {};
  const table: Array<{ engine: string; strategy: string; client: string; operations: number; failed: number; smCallsPerRotation: number; msPerRotation: number }> = [];
  try {
    for (const engine of (['postgres', 'mariadb'] as const).filter((e) => only('ROTOR_BENCH_ENGINES', e))) {
      const db = await startDemoServer(engine);
      try {
        const masterArn = (await admin.send(new CreateSecretCommand({
          Name: `bench/load/master-${engine}`,
          SecretString: JSON.stringify({ engine, host: db.host, port: db.port, dbname: db.dbname, username: db.admin.username, password: db.admin.password }),
        }))).ARN!;
        for (const strategy of (['single-user', 'alternating-users'] as const).filter((st) => only('ROTOR_BENCH_STRATEGIES', st))) {
          const fnArn = local.lambdaArn(`bench-load-${engine}-${strategy}`);
          local.registerRotationFunction(fnArn, {
            kind: 'child-process',
            bundlePath: BUNDLE,
            env: { ROTOR_TLS_CA_FILE: db.caFile, ROTOR_STRATEGY: strategy, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
          });
          for (const kind of CLIENTS.filter((k) => only('ROTOR_BENCH_CLIENTS', k))) {
            const r = await scenario(local, db, strategy, kind, fnArn, strategy === 'alternating-users' ? masterArn : undefined);
            ((results[engine] ??= {})[strategy] ??= {})[kind] = r;
            table.push({ engine, strategy, client: kind, operations: r.operations, failed: r.failedOperations, smCallsPerRotation: r.secretsManagerCallsPerRotation, msPerRotation: round((r.seconds * 1000) / r.rotations, 0) });
            process.stdout.write(`  ${engine} ${strategy} ${kind}: ${r.failedOperations} failed of ${r.operations}, ${r.secretsManagerCallsPerRotation} SM calls/rotation, ${r.rotationFailures} rotation failures, ${r.seconds}s, load ${r.loadAverage.join('->')}\n`);
          }
        }
      } finally {
        await db.stop();
      }
    }
  } finally {
    admin.destroy();
    await local.stop();
  }
  return {
    workers: WORKERS,
    rotationsPerCombination: ROTATIONS,
    pool: { max: 4, idleMs: IDLE_MS, maxLifetimeMs: LIFETIME_MS },
    targets: { rotorClientFailedOperations: 0, secretsManagerCallsPerRotationPerProcess: 2 },
    table,
    results,
  };
}
