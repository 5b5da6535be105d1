import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { LocalSecretsManager, localClientConfig, type RotationLifecycleEvent } from '../../local';
import { Logger } from '@aws-lambda-powertools/logger';
import { createRotationHandler } from '../../lambda/rotation/handler';

/**
 * Handlers in tests log at DEBUG, so that the leak audit (test/support/leak-audit) scans every
 * line they can write; the lines are captured, and printed only with ROTOR_TEST_LOGS=1.
 */
export const silentLogger = () => new Logger({ serviceName: 'rotor-rotation', logLevel: 'DEBUG' });
import { startPostgres, canLogin } from './postgres-server';
import { startMariadb, canLoginMariadb } from './mariadb-server';

/** What the rotation tests need of a throwaway database server, whichever engine. */
export interface TestDatabaseServer {
  host: string;
  port: number;
  database: string;
  caFile?: string;
  superuser: { username: string; password: string };
  query(sql: string, params?: unknown[]): Promise<{ rows: any[]; rowCount?: number | null }>;
  stop(): Promise<void>;
}

export type TestEngine = 'postgres' | 'mariadb';

export interface RotationFixture {
  engine: TestEngine;
  /** The database server (named `pg` for the PostgreSQL suites' sake; MariaDB when engine is mariadb). */
  pg: TestDatabaseServer;
  local: LocalSecretsManager;
  sm: SecretsManagerClient;
  /** Lambda ARN of the in-process rotation handler (default settings + the test CA). */
  lambdaArn: string;
  /** Registers another in-process handler with extra environment; returns its ARN. */
  registerHandler(name: string, env?: Record<string, string>): string;
  /**
   * Registers a handler that runs every step three times in a row and records
   * `state()` after each run, to prove re-runs end in the same state.
   */
  registerRerunningHandler(name: string, state: () => Promise<string>, env?: Record<string, string>): { arn: string; runs: Array<{ step: string; states: string[] }> };
  /** Creates a login role with a password (identifier escaped by the driver). */
  createRole(name: string, password?: string): Promise<string>;
  /** Creates a secret for the role; returns its ARN. */
  createSecret(fields: Record<string, unknown>): Promise<string>;
  secretFor(user: string, password: string, extra?: Record<string, unknown>): Record<string, unknown>;
  rotate(secretArn: string, lambdaArn?: string): Promise<RotationLifecycleEvent>;
  current(secretArn: string): Promise<Record<string, any>>;
  labels(secretArn: string): Promise<Record<string, string[]>>;
  canLogin(user: string, password: string): Promise<boolean>;
  stop(): Promise<void>;
}

/** A TLS database with password auth, the local Secrets Manager, and the rotation handler in-process. */
export async function startRotationFixture(opts: { tls?: boolean; engine?: TestEngine } = {}): Promise<RotationFixture> {
  const tls = opts.tls ?? true;
  const engine = opts.engine ?? 'postgres';
  const pg: TestDatabaseServer = engine === 'postgres' ? await startPostgres({ tls }) : await startMariadb({ tls });
  const local = await LocalSecretsManager.start({ port: 0, rotation: { maxAttempts: 2, initialBackoffMs: 20, maxBackoffMs: 50 } });
  const sm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  const baseEnv: Record<string, string> = tls ? { ROTOR_TLS_CA_FILE: pg.caFile! } : { ROTOR_TLS_MODE: 'disable' };

  const registerHandler = (name: string, env: Record<string, string> = {}) => {
    const arn = local.lambdaArn(name);
    const handler = createRotationHandler({ secretsManager: sm, env: { ...baseEnv, ...env }, logger: silentLogger() });
    local.registerRotationFunction(arn, { kind: 'in-process', handler: (event, context) => handler(event, context as never) });
    return arn;
  };
  const lambdaArn = registerHandler('rotor-rotation-test');

  const registerRerunningHandler = (name: string, state: () => Promise<string>, env: Record<string, string> = {}) => {
    const arn = local.lambdaArn(name);
    const real = createRotationHandler({ secretsManager: sm, env: { ...baseEnv, ...env }, logger: silentLogger() });
    const runs: Array<{ step: string; states: string[] }> = [];
    local.registerRotationFunction(arn, {
      kind: 'in-process',
      handler: async (event, context) => {
        const states: string[] = [];
        for (let i = 0; i < 3; i++) {
          await real(event, context as never);
          states.push(await state());
        }
        runs.push({ step: (event as { Step: string }).Step, states });
      },
    });
    return { arn, runs };
  };

  const fixture: RotationFixture = {
    engine, pg, local, sm, lambdaArn, registerHandler, registerRerunningHandler,
    async createRole(name, password = randomBytes(12).toString('hex')) {
      if (engine === 'mariadb') {
        await pg.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
        await pg.query(`GRANT SELECT ON ${'`'}${pg.database.replace(/`/g, '``')}${'`'}.* TO ?@?`, [name, '%']);
        return password;
      }
      const c = new Client({ host: pg.host, port: pg.port, user: pg.superuser.username, password: pg.superuser.password, database: pg.database, ssl: tls ? { ca: require('node:fs').readFileSync(pg.caFile!, 'utf8'), servername: 'localhost' } : false });
      await c.connect();
      try {
        await c.query(`CREATE ROLE ${c.escapeIdentifier(name)} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
      } finally {
        await c.end();
      }
      return password;
    },
    secretFor(user, password, extra = {}) {
      return { engine, host: 'localhost', port: pg.port, username: user, password, dbname: pg.database, ...extra };
    },
    async createSecret(fields) {
      const out = await sm.send(new CreateSecretCommand({ Name: `test/${randomUUID()}`, SecretString: JSON.stringify(fields) }));
      return out.ARN!;
    },
    async rotate(secretArn, arn = lambdaArn) {
      const r = await sm.send(new RotateSecretCommand({ SecretId: secretArn, RotationLambdaARN: arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
      return local.waitForRotation(secretArn, { versionId: r.VersionId, timeoutMs: 45_000 });
    },
    async current(secretArn) {
      return JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!);
    },
    async labels(secretArn) {
      return (await sm.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages ?? {};
    },
    canLogin(user, password) {
      if (engine === 'mariadb') {
        return canLoginMariadb({ ...pg, host: 'localhost' } as never, user, password, { ssl: tls ? 'verify-full' : 'disable' });
      }
      return canLogin({ host: 'localhost', port: pg.port, database: pg.database, caFile: pg.caFile }, user, password, { ssl: tls ? 'verify-full' : 'disable' });
    },
    async stop() {
      await local.stop();
      await pg.stop();
    },
  };
  return fixture;
}

/** All versions with their labels and value, for before/after comparisons. */
export async function versionsOf(sm: SecretsManagerClient, secretArn: string) {
  const out = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretArn, IncludeDeprecated: true }));
  return (out.Versions ?? []).map((v) => ({ id: v.VersionId, stages: [...(v.VersionStages ?? [])].sort() })).sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** Runs `fn` in a PostgreSQL session of `user` on the fixture's server (TLS verified with its CA; the fixture's database unless named), then logs out. */
export async function asPgUser(f: RotationFixture, user: string, password: string, fn: (c: Client) => Promise<void>, database = f.pg.database): Promise<void> {
  const c = new Client({ host: 'localhost', port: f.pg.port, user, password, database, ssl: { ca: readFileSync(f.pg.caFile!, 'utf8') } });
  await c.connect();
  try {
    await fn(c);
  } finally {
    await c.end();
  }
}
