import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { fakeContext } from '../support/lambda-context';
import { silentLogger } from '../support/rotation-fixture';
import { asPgUser, startRotationFixture, versionsOf, type RotationFixture } from '../support/rotation-fixture';
import { rotationFailure } from '../support/rotation-error';

const ENV = { ROTOR_STRATEGY: 'alternating-users' };
let f: RotationFixture;
let arnAlt: string;
let masterArn: string;
const MASTER = 'app_master';
let masterPassword: string;
let seq = 0;
const uniq = (p: string) => `${p}_${++seq}`;

beforeAll(async () => {
  f = await startRotationFixture({ tls: true });
  arnAlt = f.registerHandler('rotor-alternating', ENV);
  // A master like RDS's: CREATEROLE, not a superuser.
  masterPassword = await f.createRole(MASTER);
  await f.pg.query(`ALTER ROLE ${MASTER} CREATEROLE`);
  masterArn = await f.createSecret(f.secretFor(MASTER, masterPassword));
});
afterAll(async () => {
  await f?.stop();
});

const as = (user: string, password: string, fn: (c: Client) => Promise<void>) => asPgUser(f, user, password, fn);

/** A base user created by the master, owning a table; its secret names the master. */
async function baseUser(name = uniq('alt')) {
  const password = randomBytes(12).toString('hex');
  await as(MASTER, masterPassword, async (c) => {
    await c.query(`CREATE ROLE ${c.escapeIdentifier(name)} LOGIN PASSWORD ${c.escapeLiteral(password)}`);
  });
  await f.pg.query(`GRANT CREATE ON SCHEMA public TO ${name}`);
  await as(name, password, (c) => c.query(`CREATE TABLE ${c.escapeIdentifier(`${name}_t`)} (x int)`).then(() => undefined));
  const arn = await f.createSecret(f.secretFor(name, password, { masterarn: masterArn }));
  return { name, password, arn };
}

describe('alternating users on PostgreSQL', () => {
  test('alternates name <-> name_clone; the previous credential keeps working', async () => {
    const { name, password, arn } = await baseUser();
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded');
    const first = await f.current(arn);
    expect(first.username).toBe(`${name}_clone`);
    expect(first.masterarn).toBe(masterArn);
    expect(await f.canLogin(first.username, first.password)).toBe(true);
    // The base user was not touched: applications holding it keep working.
    expect(await f.canLogin(name, password)).toBe(true);

    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded');
    const second = await f.current(arn);
    expect(second.username).toBe(name);
    expect(second.password).not.toBe(password);
    expect(await f.canLogin(name, second.password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(false);
    expect(await f.canLogin(first.username, first.password)).toBe(true);
  });

  test('the clone reads what the base user owns, and what it creates is owned by the base user', async () => {
    const { name, password, arn } = await baseUser();
    await f.rotate(arn, arnAlt);
    const clone = await f.current(arn);
    await as(clone.username, clone.password, async (c) => {
      await c.query(`SELECT * FROM ${c.escapeIdentifier(`${name}_t`)}`);
      await c.query(`CREATE TABLE ${c.escapeIdentifier(`${name}_by_clone`)} (y int)`);
      await c.query(`INSERT INTO ${c.escapeIdentifier(`${name}_by_clone`)} VALUES (1)`);
    });
    const owner = await f.pg.query('SELECT tableowner FROM pg_tables WHERE tablename = $1', [`${name}_by_clone`]);
    expect(owner.rows[0].tableowner).toBe(name);
    await as(name, password, async (c) => {
      const r = await c.query(`SELECT y FROM ${c.escapeIdentifier(`${name}_by_clone`)}`);
      expect(r.rows).toEqual([{ y: 1 }]);
    });
  });

  test('grant sync: granted to the base user appears on the clone, revoked disappears, direct grants on the clone are removed', async () => {
    const { name, arn } = await baseUser();
    const other = `${name}_other`;
    await f.pg.query(`CREATE TABLE ${other} (z int)`);
    await f.pg.query(`CREATE TABLE ${other}_2 (z int)`);
    await f.rotate(arn, arnAlt); // current: clone
    const clone = await f.current(arn);
    const canRead = async (table: string) => {
      let ok = true;
      await as(clone.username, clone.password, (c) => c.query(`SELECT * FROM ${table}`).then(() => undefined, () => { ok = false; }));
      return ok;
    };
    expect(await canRead(other)).toBe(false);
    await f.pg.query(`GRANT SELECT ON ${other} TO ${name}`);
    expect(await canRead(other)).toBe(true);
    await f.pg.query(`REVOKE SELECT ON ${other} FROM ${name}`);
    expect(await canRead(other)).toBe(false);

    // A direct grant to the clone, and a membership the base user lacks, are removed at the next sync of the clone.
    // (granted by the master, as on RDS where nobody is a superuser; the master must be able to act as both users)
    await f.pg.query(`ALTER TABLE ${other}_2 OWNER TO ${MASTER}`);
    await as(MASTER, masterPassword, (c) => c.query(`GRANT SELECT ON ${other}_2 TO ${clone.username}`).then(() => undefined));
    await f.pg.query(`CREATE ROLE ${name}_extra_role`);
    await f.pg.query(`GRANT ${name}_extra_role TO ${clone.username}`);
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded'); // current: base
    await f.pg.query(`GRANT ${name}, ${clone.username} TO ${MASTER}`);
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded'); // current: clone again, re-synced
    const again = await f.current(arn);
    expect(again.username).toBe(clone.username);
    const grants = await f.pg.query("SELECT has_table_privilege($1, $2, 'SELECT') AS direct", [again.username, `${other}_2`]);
    expect(grants.rows[0].direct).toBe(false);
    const members = await f.pg.query('SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1', [again.username]);
    expect(members.rows.map((r) => r.rolname)).toEqual([name]);
  });

  test('a grant on the clone that the master cannot revoke fails setSecret with a permission error; nothing changed', async () => {
    const { name, arn } = await baseUser();
    await f.rotate(arn, arnAlt);
    const clone = await f.current(arn);
    await f.rotate(arn, arnAlt); // current: base; next sync targets the clone
    await f.pg.query(`GRANT ${name}, ${clone.username} TO ${MASTER}`);
    await f.pg.query(`CREATE TABLE ${name}_su (z int)`);
    await f.pg.query(`GRANT SELECT ON ${name}_su TO ${clone.username}`); // granted by a superuser
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/\[permission\] the alternate user .* holds grants that the master cannot revoke/);
    // The transaction rolled back: the clone's old password still works.
    expect(await f.canLogin(clone.username, clone.password)).toBe(true);
  });

  test('every step re-run twice ends in the same state', async () => {
    const { name, arn } = await baseUser();
    const state = async () => {
      const pending = await f.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })).then((o) => JSON.parse(o.SecretString!), () => undefined);
      const cur = await f.current(arn);
      return JSON.stringify({
        versions: await versionsOf(f.sm, arn), pending: pending?.username,
        current: await f.canLogin(cur.username, cur.password),
        pendingLogsIn: pending ? await f.canLogin(pending.username, pending.password) : null,
        memberships: (await f.pg.query('SELECT count(*)::int AS n FROM pg_auth_members m JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1', [`${name}_clone`])).rows[0].n,
      });
    };
    for (let i = 0; i < 2; i++) {
      const { arn: rerun, runs } = f.registerRerunningHandler(uniq('alt-rerun'), state, ENV);
      expect((await f.rotate(arn, rerun)).eventName).toBe('RotationSucceeded');
      for (const r of runs) {
        expect(r.states[1]).toBe(r.states[0]);
        expect(r.states[2]).toBe(r.states[0]);
      }
    }
  });

  test('refused, database unchanged: master on another host', async () => {
    const { name, password, arn } = await baseUser();
    const badMaster = await f.createSecret({ ...f.secretFor(MASTER, masterPassword), host: '127.0.0.1' });
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, password, { masterarn: badMaster })) }));
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/\[conflict\] the master secret points at 127\.0\.0\.1/);
    expect((await f.pg.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${name}_clone`])).rowCount).toBe(0);
  });

  test('refused: alternate name over 63 bytes', async () => {
    const name = `n${'x'.repeat(57)}`; // 58 + "_clone" = 64 bytes
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password, { masterarn: masterArn }));
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[configuration\] the alternate user name would be 64 long; postgres allows at most 63/);
  });

  test('refused: master cannot log in; current user must log in first', async () => {
    const { name, password, arn } = await baseUser();
    const wrongMaster = await f.createSecret(f.secretFor(MASTER, 'not-the-master-password'));
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, password, { masterarn: wrongMaster })) }));
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/\[authentication\]/);
    expect((await f.pg.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${name}_clone`])).rowCount).toBe(0);

    const lost = await baseUser();
    await f.sm.send(new PutSecretValueCommand({ SecretId: lost.arn, SecretString: JSON.stringify(f.secretFor(lost.name, 'wrong-current-pw', { masterarn: masterArn })) }));
    const o2 = await f.rotate(lost.arn, arnAlt);
    expect(o2.errorMessage).toMatch(/\[authentication\] AWSCURRENT \(.*\) does not log in/);
    expect((await f.pg.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${lost.name}_clone`])).rowCount).toBe(0);
  });

  test('refused: pending user is not the alternate', async () => {
    const { name, password, arn } = await baseUser();
    const token = randomUUID();
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, VersionStages: ['AWSPENDING'], SecretString: JSON.stringify(f.secretFor(MASTER, 'x-new-password', { masterarn: masterArn })) }));
    const handler = createRotationHandler({ secretsManager: f.sm, env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ...ENV }, logger: silentLogger() });
    for (const step of ['createSecret', 'setSecret', 'testSecret']) {
      const e = await rotationFailure(handler({ Step: step, SecretId: arn, ClientRequestToken: token }, fakeContext()));
      expect(e.category).toBe('conflict');
      expect(e.message).toMatch(/not the alternate of the AWSCURRENT user/);
    }
    expect(await f.canLogin(MASTER, masterPassword)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(true);
  });

  test('a secret without masterarn: configuration error', async () => {
    const name = uniq('nomaster');
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password));
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.errorMessage).toMatch(/\[configuration\] the secret has no "masterarn"/);
  });
});

describe('the master session\'s warm-up (DatabaseSession.warm, run on the early master login)', () => {
  test('while a catalog it opens is locked (VACUUM FULL, REINDEX), it ends at its own limit, not the session\'s, and leaves the session\'s limit as it was', async () => {
    const { PostgresEngine } = require('../../lambda/rotation/engines/postgres') as typeof import('../../lambda/rotation/engines/postgres');
    const { parseDatabaseSecret } = require('../../lambda/core/database-secret') as typeof import('../../lambda/core/database-secret');
    const master = parseDatabaseSecret(JSON.stringify(f.secretFor(MASTER, masterPassword)), 'AWSCURRENT');
    // A limit the test would not outlive: a warm-up held to it fails the test by its timeout.
    // (Its lock_timeout too: the engine sets both to the statement limit.)
    const session = await new PostgresEngine().connect(master, { tlsMode: 'verify-full', caFile: f.pg.caFile, connectTimeoutMs: 5000, statementTimeoutMs: 600_000 });
    const client = (session as unknown as { client: Client }).client;
    const locker = new Client({ host: 'localhost', port: f.pg.port, user: f.pg.superuser.username, password: f.pg.superuser.password, database: f.pg.database, ssl: { ca: readFileSync(f.pg.caFile!, 'utf8') } });
    await locker.connect();
    const limit = async () => (await client.query("SELECT current_setting('statement_timeout') AS s")).rows[0].s;
    await session.warm!();
    expect(await limit()).toBe('10min');
    try {
      await locker.query('BEGIN');
      await locker.query('LOCK TABLE pg_auth_members IN ACCESS EXCLUSIVE MODE');
      // What ended the warm-up: its lock limit (55P03), which holds on every version (a statement
      // limit set inside the message does not apply to the rest of it before PostgreSQL 13).
      const query = client.query.bind(client) as (...a: unknown[]) => Promise<unknown>;
      let ended: unknown;
      (client as unknown as { query: (...a: unknown[]) => Promise<unknown> }).query = (...a) => query(...a).catch((e: unknown) => {
        ended = e;
        throw e;
      });
      await session.warm!();
      (client as unknown as { query: unknown }).query = query;
      expect((ended as { code?: string } | undefined)?.code).toBe('55P03');
      expect(await limit()).toBe('10min');
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end();
    }
    try {
      // Usable afterwards: the step's statements run as they would have.
      await session.probe();
    } finally {
      await session.close();
    }
  });
});
