import { readFileSync } from 'node:fs';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { localClientConfig } from '../../local';
import { createRotationHandler } from '../../lambda/rotation/handler';
import {
  SecretCache, connectWithRotation, createPgClient, isPgAuthFailure, latePassword, parseDatabaseCredential,
  AWSCURRENT, AWSPENDING, type Attempt, type RotationAwareOptions,
} from '../../client';
import { silentLogger, startRotationFixture, type RotationFixture } from '../support/rotation-fixture';

/**
 * Races between single-user rotations and connections, each one replayed in
 * a fixed order: a real PostgreSQL server, the real rotation handler run one
 * step at a time by the local Secrets Manager endpoint, the real pg driver.
 * Each test fails without the fix it names (see docs/applications.md, "Races").
 */

let f: RotationFixture;
let ca: string;
let cacheSm: SecretsManagerClient;
let calls: string[];
let seq = 0;

beforeAll(async () => {
  f = await startRotationFixture({ engine: 'postgres', tls: true });
  ca = readFileSync(f.pg.caFile!, 'utf8');
  cacheSm = new SecretsManagerClient({ ...localClientConfig(f.local.endpoint, f.local.region), maxAttempts: 1 });
  cacheSm.middlewareStack.add((next, context) => async (args) => {
    calls.push(String(context.commandName).replace(/Command$/, ''));
    return next(args);
  }, { step: 'initialize' });
});
afterAll(async () => {
  cacheSm?.destroy();
  await f?.stop();
});
beforeEach(() => {
  calls = [];
});

async function userWithSecret() {
  const name = `race_${++seq}`;
  const password = await f.createRole(name);
  const arn = await f.createSecret(f.secretFor(name, password));
  return { name, password, arn };
}

const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/**
 * A single-user rotation function that runs a step only when the test lets it:
 * `through(step)` lets the steps up to `step` run and resolves when it has.
 */
function stepper(name: string) {
  const real = createRotationHandler({ secretsManager: f.sm, env: { ROTOR_TLS_CA_FILE: f.pg.caFile! }, logger: silentLogger() });
  let allowed = -1;
  let completed = -1;
  const waiting: Array<() => void> = [];
  const arn = f.local.lambdaArn(name);
  f.local.registerRotationFunction(arn, {
    kind: 'in-process',
    handler: async (event, context) => {
      const i = STEPS.indexOf((event as { Step: string }).Step);
      while (i > allowed) await new Promise<void>((r) => waiting.push(r));
      const out = await real(event as never, context as never);
      completed = i;
      for (const w of waiting.splice(0)) w();
      return out;
    },
  });
  return {
    arn,
    async through(step: string) {
      allowed = STEPS.indexOf(step);
      for (const w of waiting.splice(0)) w();
      while (completed < allowed) await new Promise<void>((r) => waiting.push(r));
    },
  };
}

async function startRotation(arn: string, fnArn: string): Promise<string> {
  const r = await f.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fnArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
  return r.VersionId!;
}

async function sessionUser(c: Client): Promise<string> {
  return (await c.query('SELECT session_user AS u')).rows[0].u;
}

/** A pg connect for connectWithRotation that, like the helper, asks latePassword when the server asks; `after` runs once logged in. */
function pgConnect(opts: RotationAwareOptions, after?: () => Promise<void>) {
  return async (a: Attempt): Promise<Client> => {
    const c = new Client({
      host: 'localhost', port: f.pg.port, database: f.pg.database, user: a.credential.username,
      password: async () => latePassword(opts, a), ssl: { ca, rejectUnauthorized: true },
    });
    c.on('error', () => undefined);
    try {
      await c.connect();
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    await after?.();
    return c;
  };
}

test('a login recorded after a refusal of the same version, but sent before it, is old news: later connects keep to the version that works', async () => {
  const { name, arn } = await userWithSecret();
  const retries: string[] = [];
  const cache = new SecretCache({ client: cacheSm });
  const opts: RotationAwareOptions = { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) };
  const v1 = (await cache.getVersion(arn))!;

  // A: logs in with AWSCURRENT now; its answer reaches the application late (a busy event loop, a slow TLS stack).
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let loggedIn!: () => void;
  const aIn = new Promise<void>((r) => (loggedIn = r));
  const a = connectWithRotation(opts, pgConnect(opts, async () => {
    loggedIn();
    await held;
  }), isPgAuthFailure);
  await aIn;

  // setSecret: the database has the AWSPENDING password; AWSCURRENT is refused from now on.
  const st = stepper(`race-stale-login-${seq}`);
  const token = await startRotation(arn, st.arn);
  await st.through('setSecret');

  // B is refused with AWSCURRENT and logs in with AWSPENDING.
  const b = createPgClient(opts);
  b.on('error', () => undefined);
  await b.connect();
  expect(await sessionUser(b)).toBe(name);
  expect(retries).toEqual([AWSPENDING]);

  // A's login is recorded now, after B's refusal: it must not make AWSCURRENT usable again.
  release();
  const ca1 = await a;
  expect(cache.isRefused(arn, v1.versionId)).toBe(true);

  const c = createPgClient(opts);
  c.on('error', () => undefined);
  await c.connect();
  expect(await sessionUser(c)).toBe(name);
  expect(retries).toEqual([AWSPENDING]);

  await st.through('finishSecret');
  expect((await f.local.waitForRotation(arn, { versionId: token, timeoutMs: 45_000 })).eventName).toBe('RotationSucceeded');
  await Promise.all([ca1.end(), b.end(), c.end()]);
});

test('the refresh after AWSCURRENT was refused reads AWSPENDING too: a connection that waits for it sends the password the database has', async () => {
  const { name, arn } = await userWithSecret();
  const cache = new SecretCache({ client: cacheSm });
  const opts: RotationAwareOptions = { cache, secretId: arn, ca };
  const v1 = (await cache.getVersion(arn))!;

  const st = stepper(`race-gap-${seq}`);
  const token = await startRotation(arn, st.arn);
  await st.through('setSecret');

  // One connection is refused with AWSCURRENT and asks for a refresh.
  const refused = await pgConnect(opts)({ stage: AWSCURRENT, versionId: v1.versionId, credential: parseDatabaseCredential(v1.secretString, arn) }).catch((e: unknown) => e);
  expect(isPgAuthFailure(refused)).toBe(true);
  const since = cache.mark();
  cache.markRefused(arn, v1.versionId);
  const refresh = cache.revalidate(arn, since);
  // Another connection's server asks for the password while that refresh is in flight: the pg helper waits for it (settled), then chooses.
  const other: Attempt = { stage: AWSCURRENT, versionId: v1.versionId, credential: parseDatabaseCredential(v1.secretString, arn) };
  const sent = (async () => {
    await cache.settled(arn);
    return latePassword(opts, other);
  })();
  await refresh;
  expect(other.stage).toBe(AWSCURRENT);
  expect(await f.canLogin(name, await sent)).toBe(true);
  expect(other.stage).toBe(AWSPENDING);
  expect(calls).toEqual(['GetSecretValue', 'DescribeSecret', 'GetSecretValue']);

  await st.through('finishSecret');
  expect((await f.local.waitForRotation(arn, { versionId: token, timeoutMs: 45_000 })).eventName).toBe('RotationSucceeded');
});

test('AWSPENDING read while RotateSecret has put it on a version without a value yet: no error, and the next refusal still refreshes', async () => {
  const { name, arn } = await userWithSecret();
  const retries: string[] = [];
  // A long back-off: an error taken for a failed refresh would hold every refresh back for the rest of the test.
  const cache = new SecretCache({ client: cacheSm, errorBackoffMs: 600_000 });
  const opts: RotationAwareOptions = { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) };
  await cache.getVersion(arn);

  // RotateSecret has returned; createSecret has not run: AWSPENDING is on a version without a value.
  const st = stepper(`race-empty-${seq}`);
  const token = await startRotation(arn, st.arn);
  expect((await f.labels(arn))[token]).toEqual([AWSPENDING]);
  await cache.revalidate(arn, cache.mark());
  expect(await cache.getVersion(arn, AWSPENDING)).toBeUndefined();
  expect(calls.slice(-2)).toEqual(['DescribeSecret', 'GetSecretValue']);

  // That rotation and the next one finish: the cached AWSCURRENT is two passwords old.
  await st.through('finishSecret');
  expect((await f.local.waitForRotation(arn, { versionId: token, timeoutMs: 45_000 })).eventName).toBe('RotationSucceeded');
  expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');

  // Refused once; the refresh (not held back) names the new AWSCURRENT, which logs in.
  calls = [];
  const c = createPgClient(opts);
  c.on('error', () => undefined);
  await c.connect();
  expect(await sessionUser(c)).toBe(name);
  expect(retries).toEqual([AWSCURRENT]);
  expect(calls).toEqual(['DescribeSecret', 'GetSecretValue']);
  await c.end();
});

test('SCRAM: the password is chosen again when the server\'s challenge arrives; a refusal learned in that round trip is not sent', async () => {
  const { name, arn } = await userWithSecret();
  const retries: string[] = [];
  const cache = new SecretCache({ client: cacheSm });
  const opts: RotationAwareOptions = { cache, secretId: arn, ca, onAuthRetry: (i) => retries.push(i.stage) };
  await cache.getVersion(arn);

  const st = stepper(`race-scram-${seq}`);
  const token = await startRotation(arn, st.arn);
  await st.through('setSecret');

  // A's driver has asked for the password (AWSCURRENT: nothing refused yet); the server's SCRAM challenge is held back.
  const Connection = require('pg/lib/connection') as { prototype: { emit(ev: string, ...args: unknown[]): boolean } };
  const emit = Connection.prototype.emit;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let caught!: () => void;
  const held = new Promise<void>((r) => (caught = r));
  let hold = true;
  Connection.prototype.emit = function (this: unknown, ev: string, ...args: unknown[]) {
    if (ev === 'authenticationSASLContinue' && hold) {
      hold = false;
      caught();
      void gate.then(() => emit.call(this, ev, ...args));
      return true;
    }
    return emit.call(this, ev, ...args);
  };
  try {
    const a = createPgClient(opts);
    a.on('error', () => undefined);
    const aConnected = a.connect();
    await held;

    // Meanwhile B is refused with AWSCURRENT and logs in with AWSPENDING.
    const b = createPgClient(opts);
    b.on('error', () => undefined);
    await b.connect();
    expect(retries).toEqual([AWSPENDING]);

    // A's challenge arrives: it answers with AWSPENDING, not the AWSCURRENT password it was given a round trip ago.
    release();
    await aConnected;
    expect(await sessionUser(a)).toBe(name);
    expect(retries).toEqual([AWSPENDING]);
    await Promise.all([a.end(), b.end()]);
  } finally {
    Connection.prototype.emit = emit;
    release();
  }
  await st.through('finishSecret');
  expect((await f.local.waitForRotation(arn, { versionId: token, timeoutMs: 45_000 })).eventName).toBe('RotationSucceeded');
});
