import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { localClientConfig } from '../../local';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { SecretCache, createMysqlConnection, createMysqlPool, createPgClient, createPgPool, AWSCURRENT, AWSPENDING, type RotationAwareOptions } from '../../client';
import { silentLogger, startRotationFixture, type RotationFixture, type TestEngine } from '../support/rotation-fixture';

/**
 * The rotation-aware pg and mysql2 helpers against real PostgreSQL and
 * MariaDB servers, with real rotations (the rotation handler in-process,
 * invoked by the local Secrets Manager endpoint).
 */

type Strategy = 'single-user' | 'alternating-users';

/** One application's view: pooled and fresh connections through rotor/client; each op returns the session user. */
interface App {
  poolOp(): Promise<string>;
  poolQuery(): Promise<string>;
  freshOp(): Promise<string>;
  /** Connections the pool holds (to see that refused ones are not kept). */
  poolSize(): number;
  end(): Promise<void>;
}

async function appFor(engine: TestEngine, opts: RotationAwareOptions): Promise<App> {
  if (engine === 'postgres') {
    const pool = createPgPool(opts, { max: 4 });
    pool.on('error', () => undefined);
    const user = (rows: Array<{ u: string }>) => rows[0].u;
    return {
      async poolOp() {
        const c = await pool.connect();
        try {
          return user((await c.query('SELECT session_user AS u')).rows);
        } finally {
          c.release(true); // destroyed: the next op opens a new connection
        }
      },
      async poolQuery() {
        return user((await pool.query('SELECT session_user AS u')).rows);
      },
      async freshOp() {
        const c = createPgClient(opts);
        c.on('error', () => undefined);
        await c.connect();
        try {
          return user((await c.query('SELECT session_user AS u')).rows);
        } finally {
          await c.end();
        }
      },
      poolSize: () => pool.totalCount,
      end: () => pool.end(),
    };
  }
  const pool = await createMysqlPool(opts, { connectionLimit: 4 });
  const user = (rows: unknown) => String((rows as Array<{ u: string }>)[0].u).replace(/@.*$/, '');
  return {
    async poolOp() {
      const c = await pool.getConnection();
      try {
        const [rows] = await c.query('SELECT CURRENT_USER() AS u');
        return user(rows);
      } finally {
        c.destroy(); // the next op opens a new connection
      }
    },
    async poolQuery() {
      const [rows] = await pool.query('SELECT CURRENT_USER() AS u');
      return user(rows);
    },
    async freshOp() {
      const c = await createMysqlConnection(opts);
      try {
        const [rows] = await c.query('SELECT CURRENT_USER() AS u');
        return user(rows);
      } finally {
        await c.end();
      }
    },
    poolSize: () => (pool as unknown as { pool: { _allConnections: { length: number } } }).pool._allConnections.length,
    end: () => pool.end(),
  };
}

class Clock {
  t = 1_000_000;
  now = () => this.t;
}

describe.each(['postgres', 'mariadb'] as const)('%s', (engine) => {
  let f: RotationFixture;
  let ca: string;
  let masterArn: string;
  let arnSingle: string;
  let arnAlternating: string;
  let cacheSm: SecretsManagerClient;
  let seq = 0;

  beforeAll(async () => {
    f = await startRotationFixture({ engine, tls: true });
    ca = readFileSync(f.pg.caFile!, 'utf8');
    arnSingle = f.registerHandler(`client-su-${engine}`);
    arnAlternating = f.registerHandler(`client-au-${engine}`, { ROTOR_STRATEGY: 'alternating-users' });
    masterArn = await f.createSecret(f.secretFor(f.pg.superuser.username, f.pg.superuser.password));
    cacheSm = new SecretsManagerClient({ ...localClientConfig(f.local.endpoint, f.local.region), maxAttempts: 1 });
  });
  afterAll(async () => {
    cacheSm?.destroy();
    await f?.stop();
  });

  async function userWithSecret(strategy: Strategy) {
    const name = `cl_${strategy === 'single-user' ? 'su' : 'au'}_${++seq}`;
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password, strategy === 'alternating-users' ? { masterarn: masterArn } : {}));
    return { name, password, arn };
  }

  async function rotate(arn: string, fn: string) {
    const outcome = await f.rotate(arn, fn);
    expect(outcome.eventName).toBe('RotationSucceeded');
  }

  /** A rotation function that stops before testSecret (setSecret done: the single-user window) until `open()`. */
  function heldFunction(name: string, env: Record<string, string> = {}) {
    const real = createRotationHandler({ secretsManager: f.sm, env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ...env }, logger: silentLogger() });
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let reached!: () => void;
    const inWindow = new Promise<void>((r) => (reached = r));
    const arn = f.local.lambdaArn(name);
    f.local.registerRotationFunction(arn, {
      kind: 'in-process',
      handler: async (event, context) => {
        if ((event as { Step: string }).Step === 'testSecret') {
          reached();
          await gate;
        }
        return real(event as never, context as never);
      },
    });
    return { arn, inWindow, open };
  }

  test('single-user: in the window between setSecret and finishSecret the pool and fresh connects retry with AWSPENDING; afterwards AWSCURRENT', async () => {
    const { name, password, arn } = await userWithSecret('single-user');
    const retries: string[] = [];
    const cache = new SecretCache({ client: cacheSm });
    const app = await appFor(engine, { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) });
    try {
      expect(await app.poolOp()).toBe(name);

      const held = heldFunction(`client-held-${engine}-${seq}`);
      const r = await f.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: held.arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
      await held.inWindow;
      // The window is real: the password AWSCURRENT holds is refused now.
      expect(await f.canLogin(name, password)).toBe(false);
      expect(await app.poolOp()).toBe(name);
      expect(retries).toEqual([AWSPENDING]);
      expect(await app.freshOp()).toBe(name);
      expect(await app.poolQuery()).toBe(name);
      // The version that logged in is used first from now on: no more refused attempts.
      expect(retries).toEqual([AWSPENDING]);

      held.open();
      expect((await f.local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 45_000 })).eventName).toBe('RotationSucceeded');
      expect(await app.poolOp()).toBe(name);
      expect(retries).toEqual([AWSPENDING]);

      // A whole rotation while the cache holds the old value: one refusal, then AWSCURRENT.
      await rotate(arn, arnSingle);
      expect(await app.freshOp()).toBe(name);
      expect(await app.poolOp()).toBe(name);
      expect(retries).toEqual([AWSPENDING, AWSCURRENT]);
    } finally {
      await app.end();
    }
  });

  test('alternating-users: the user changes with the cache; a refused user is replaced by AWSCURRENT\'s', async () => {
    const { name, arn } = await userWithSecret('alternating-users');
    const clone = `${name}_clone`;
    const retries: string[] = [];
    const clock = new Clock();
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000, now: clock.now });
    const app = await appFor(engine, { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) });
    try {
      expect(await app.poolOp()).toBe(name);
      // Rotation 1 changes the clone: the cached user keeps working.
      await rotate(arn, arnAlternating);
      expect(await app.poolOp()).toBe(name);
      // After the TTL the cache has the new AWSCURRENT: the clone, with no refusal.
      clock.t += 60_001;
      expect(await app.poolOp()).toBe(clone);
      expect(await app.freshOp()).toBe(clone);
      expect(retries).toEqual([]);
      // Rotations 2 and 3: the second changes the cached user (the clone) again; the cache still holds it.
      await rotate(arn, arnAlternating);
      await rotate(arn, arnAlternating);
      expect(await app.poolOp()).toBe(clone);
      expect(retries).toEqual([AWSCURRENT]);
      expect(await app.freshOp()).toBe(clone);
      expect(await app.poolQuery()).toBe(clone);
      expect(retries).toEqual([AWSCURRENT]);
    } finally {
      await app.end();
    }
  });

  test.each(['single-user', 'alternating-users'] as const)('%s: rotations while a pool is in use - no failed operation', async (strategy) => {
    const { name, arn } = await userWithSecret(strategy);
    const retries: string[] = [];
    const cache = new SecretCache({ client: cacheSm });
    const app = await appFor(engine, { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) });
    let stop = false;
    let ops = 0;
    const failures: string[] = [];
    let opDone: () => void = () => undefined;
    const worker = async (i: number) => {
      while (!stop) {
        try {
          const u = await (i % 3 === 0 ? app.freshOp() : i % 3 === 1 ? app.poolOp() : app.poolQuery());
          if (u !== name && u !== `${name}_clone`) failures.push(`unexpected user ${u}`);
          ops++;
          opDone();
        } catch (e) {
          failures.push(`${(e as { code?: string }).code ?? ''} ${(e as Error).message}`);
        }
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    try {
      for (let i = 0; i < 4; i++) {
        await rotate(arn, strategy === 'single-user' ? arnSingle : arnAlternating);
        // At least one operation after each rotation, so that each rotation is met by the application.
        await new Promise<void>((r) => (opDone = r));
      }
    } finally {
      stop = true;
      await Promise.all(workers);
      await app.end();
    }
    expect(failures).toEqual([]);
    expect(ops).toBeGreaterThan(0);
    // Every rotation of single-user, and every second one of alternating-users, changes the cached password.
    expect(retries.length).toBeGreaterThan(0);
  });

  test('never loops: when no stored version logs in, the driver\'s error comes back after at most two retries, and the pool keeps no connection', async () => {
    const name = `cl_bad_${++seq}`;
    await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, randomBytes(8).toString('hex')));
    const retries: string[] = [];
    const cache = new SecretCache({ client: cacheSm });
    const app = await appFor(engine, { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) });
    try {
      const err = (await app.poolOp().catch((e: unknown) => e)) as { code?: string; errno?: number };
      expect(engine === 'postgres' ? err.code : err.errno).toBe(engine === 'postgres' ? '28P01' : 1045);
      expect(retries.length).toBeLessThanOrEqual(2);
      expect(app.poolSize()).toBe(0);
      const fresh = (await app.freshOp().catch((e: unknown) => e)) as { code?: string; errno?: number };
      expect(engine === 'postgres' ? fresh.code : fresh.errno).toBe(engine === 'postgres' ? '28P01' : 1045);
    } finally {
      await app.end();
    }
  });
});
