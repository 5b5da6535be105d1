import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { asPgUser, startRotationFixture, type RotationFixture } from '../support/rotation-fixture';

/**
 * Alternating users on PostgreSQL with a `<user>_clone` role that someone else made in advance
 * (threat model, "What an independent attack found"): the rotation gives the clone the base
 * user's attributes and takes away memberships in it that the base user does not have, or, where
 * the master cannot (a CREATEROLE master, as on RDS, and a clone with REPLICATION), refuses before
 * it changes anything. A clone that owns objects (any database) or holds grants in another database
 * is refused: its objects are never handed to the base user.
 */
const ENV = { ROTOR_STRATEGY: 'alternating-users' };
let f: RotationFixture;
let altFn: string;
let createroleMaster: { name: string; password: string; arn: string };
let superMaster: string;
let seq = 0;
const uniq = (p: string) => `${p}_${++seq}`;

beforeAll(async () => {
  f = await startRotationFixture({ tls: true });
  altFn = f.registerHandler('rotor-alternating', ENV);
  const name = 'reset_master';
  const password = await f.createRole(name);
  await f.pg.query(`ALTER ROLE ${name} CREATEROLE`);
  createroleMaster = { name, password, arn: await f.createSecret(f.secretFor(name, password)) };
  superMaster = await f.createSecret(f.secretFor(f.pg.superuser.username, f.pg.superuser.password));
}, 60_000);
afterAll(async () => {
  await f?.stop();
});

const as = (user: string, password: string, fn: (c: Client) => Promise<void>) => asPgUser(f, user, password, fn);

/** A base user made by the CREATEROLE master, and its secret naming `masterArn`. */
async function baseUser(masterArn: string) {
  const name = uniq('reset');
  const password = randomBytes(12).toString('hex');
  await as(createroleMaster.name, createroleMaster.password, (c) => c.query(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`).then(() => undefined));
  return { name, clone: `${name}_clone`, arn: await f.createSecret(f.secretFor(name, password, { masterarn: masterArn })) };
}

const attributes = async (role: string) => (await f.pg.query(
  `SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit, COALESCE(rolvaliduntil::text, 'infinity') AS validuntil
     FROM pg_roles WHERE rolname = $1`, [role])).rows[0];
const membersOf = async (role: string) => (await f.pg.query(
  'SELECT u.rolname, m.admin_option AS admin FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 ORDER BY 1',
  [role])).rows;
const settingsOf = async (role: string) => (await f.pg.query(
  'SELECT d.datname, s.setconfig FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase WHERE r.rolname = $1 ORDER BY 1 NULLS FIRST',
  [role])).rows;
const storedPassword = async (role: string) => (await f.pg.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [role])).rows[0]?.rolpassword as string | undefined;

test('CREATEROLE master: a clone made in advance with CREATEDB, CREATEROLE, a connection limit, an expiry, settings and members of its own gets the base user\'s attributes and no settings but role; only members the base user also has stay', async () => {
  const { name, clone, arn } = await baseUser(createroleMaster.arn);
  await f.pg.query(`ALTER ROLE ${name} CONNECTION LIMIT 7`);
  // The attacker's preparation: the clone with more rights than the base user, and a way in for themselves.
  await f.pg.query(`CREATE ROLE ${clone} LOGIN CREATEDB CREATEROLE CONNECTION LIMIT 99 VALID UNTIL '2001-01-01' PASSWORD 'attacker-knows-it'`);
  const mallory = uniq('mallory');
  const ops = uniq('ops');
  await f.pg.query(`CREATE ROLE ${mallory} LOGIN`);
  await f.pg.query(`CREATE ROLE ${ops}`);
  await f.pg.query(`GRANT ${clone} TO ${mallory} WITH ADMIN OPTION`);
  // A member of both (e.g. an operators' group): membership in the clone gives it nothing more; it stays, without ADMIN OPTION.
  await f.pg.query(`GRANT ${name} TO ${ops}`);
  await f.pg.query(`GRANT ${clone} TO ${ops} WITH ADMIN OPTION`);
  // Settings that every session of the application as the clone would get (a search_path of theirs).
  await f.pg.query(`ALTER ROLE ${clone} SET search_path = ${mallory}, public`);
  await f.pg.query(`ALTER ROLE ${clone} IN DATABASE ${f.pg.database} SET statement_timeout = 1`);

  const outcome = await f.rotate(arn, altFn);
  expect([outcome.eventName, outcome.errorMessage]).toEqual(['RotationSucceeded', undefined]);
  expect((await f.current(arn)).username).toBe(clone);

  const { validuntil: baseUntil, ...baseAttrs } = await attributes(name);
  const { validuntil: cloneUntil, ...cloneAttrs } = await attributes(clone);
  expect(cloneAttrs).toEqual({ ...baseAttrs });
  expect(cloneAttrs).toMatchObject({ rolcreatedb: false, rolcreaterole: false, rolconnlimit: 7 });
  expect([baseUntil, cloneUntil]).toEqual(['infinity', 'infinity']);
  expect(await membersOf(clone)).toEqual([{ rolname: ops, admin: false }]);
  expect(await settingsOf(clone)).toEqual([{ datname: null, setconfig: [`role=${name}`] }]);
  expect(await f.canLogin(clone, 'attacker-knows-it')).toBe(false);
});

test('CREATEROLE master: a clone made in advance with REPLICATION (which only a superuser may alter) is refused [permission] with the fix; nothing changed', async () => {
  const { clone, arn } = await baseUser(createroleMaster.arn);
  await f.pg.query(`CREATE ROLE ${clone} LOGIN REPLICATION PASSWORD 'attacker-knows-it'`);
  const before = { password: await storedPassword(clone), attrs: await attributes(clone), members: await membersOf(clone) };

  const outcome = await f.rotate(arn, altFn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(new RegExp(`^setSecret: \\[permission\\] PostgreSQL: the master reset_master cannot make ${clone} a copy of .*${clone} has REPLICATION.*\\(code SuperuserOnlyAttributes\\)`));
  expect(outcome.errorMessage).toContain(`ALTER ROLE ${clone} NOREPLICATION;`);
  expect(outcome.errorMessage).toContain(`DROP ROLE ${clone};`);
  expect({ password: await storedPassword(clone), attrs: await attributes(clone), members: await membersOf(clone) }).toEqual(before);
});

test('superuser master: a clone made in advance with SUPERUSER, BYPASSRLS and REPLICATION loses them', async () => {
  const { name, clone, arn } = await baseUser(superMaster);
  await f.pg.query(`CREATE ROLE ${clone} LOGIN SUPERUSER BYPASSRLS REPLICATION PASSWORD 'attacker-knows-it'`);

  const outcome = await f.rotate(arn, altFn);
  expect([outcome.eventName, outcome.errorMessage]).toEqual(['RotationSucceeded', undefined]);
  expect(await attributes(clone)).toEqual(await attributes(name));
  expect(await attributes(clone)).toMatchObject({ rolsuper: false, rolbypassrls: false, rolreplication: false });
});

/** Objects the role owns in the fixture's database (class and name), for before/after comparisons. */
const ownedBy = async (role: string) => (await f.pg.query(
  `SELECT 'function' AS kind, p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.proowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
   UNION ALL SELECT 'relation', c.oid::regclass::text FROM pg_class c WHERE c.relowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
   UNION ALL SELECT 'schema', n.nspname FROM pg_namespace n WHERE n.nspowner = (SELECT oid FROM pg_roles WHERE rolname = $1)
   ORDER BY 1, 2`, [role])).rows;

test('superuser master: a clone made in advance that owns a SECURITY DEFINER function in another user\'s schema is refused [permission]; the function stays the clone\'s, the base user\'s objects are unchanged', async () => {
  const { name, clone, arn } = await baseUser(superMaster);
  const mallory = uniq('mallory');
  await f.pg.query(`CREATE ROLE ${mallory} LOGIN`);
  await f.pg.query(`CREATE SCHEMA ${mallory} AUTHORIZATION ${mallory}`);
  await f.pg.query(`CREATE TABLE ${name}_data (secret text)`);
  await f.pg.query(`ALTER TABLE ${name}_data OWNER TO ${name}`);
  // The attacker's preparation: a clone with a function that would run as its owner.
  await f.pg.query(`CREATE ROLE ${clone} LOGIN PASSWORD 'attacker-knows-it'`);
  await f.pg.query(`GRANT CREATE, USAGE ON SCHEMA ${mallory} TO ${clone}`);
  await f.pg.query(`CREATE FUNCTION ${mallory}.peek() RETURNS SETOF text LANGUAGE sql SECURITY DEFINER AS 'SELECT secret FROM public.${name}_data'`);
  await f.pg.query(`ALTER FUNCTION ${mallory}.peek() OWNER TO ${clone}`);
  const before = { base: await ownedBy(name), clone: await ownedBy(clone), password: await storedPassword(clone), members: await membersOf(clone) };
  expect(before.clone).toEqual([{ kind: 'function', name: `${mallory}.peek()` }]);

  const outcome = await f.rotate(arn, altFn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(new RegExp(`^setSecret: \\[permission\\] PostgreSQL: the alternate user ${clone} owns objects of its own \\(in ${f.pg.database}\\).*\\(code CloneOwnsObjects\\)`));
  expect(outcome.errorMessage).toContain(`DROP OWNED BY ${clone}`);
  expect({ base: await ownedBy(name), clone: await ownedBy(clone), password: await storedPassword(clone), members: await membersOf(clone) }).toEqual(before);
});

test('superuser master: a clone made in advance that owns an object in another database is refused [permission], naming that database; nothing changed', async () => {
  const { clone, arn } = await baseUser(superMaster);
  const otherDb = uniq('otherdb');
  await f.pg.query(`CREATE ROLE ${clone} LOGIN PASSWORD 'attacker-knows-it'`);
  await f.pg.query(`CREATE DATABASE ${otherDb}`);
  await asPgUser(f, f.pg.superuser.username, f.pg.superuser.password, async (c) => {
    await c.query(`CREATE TABLE planted (x int)`);
    await c.query(`ALTER TABLE planted OWNER TO ${clone}`);
  }, otherDb);
  const before = { password: await storedPassword(clone), attrs: await attributes(clone), members: await membersOf(clone), settings: await settingsOf(clone) };

  const outcome = await f.rotate(arn, altFn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(new RegExp(`^setSecret: \\[permission\\] PostgreSQL: the alternate user ${clone} owns objects of its own \\(in ${otherDb}\\).*\\(code CloneOwnsObjects\\)`));
  expect({ password: await storedPassword(clone), attrs: await attributes(clone), members: await membersOf(clone), settings: await settingsOf(clone) }).toEqual(before);
});

test('superuser master: a clone made in advance that holds a grant in another database (which this session cannot revoke) is refused [permission], naming that database', async () => {
  const { clone, arn } = await baseUser(superMaster);
  const otherDb = uniq('grantdb');
  await f.pg.query(`CREATE ROLE ${clone} LOGIN PASSWORD 'attacker-knows-it'`);
  await f.pg.query(`CREATE DATABASE ${otherDb}`);
  await asPgUser(f, f.pg.superuser.username, f.pg.superuser.password, async (c) => {
    await c.query('CREATE TABLE payroll (x int)');
    await c.query(`GRANT SELECT ON payroll TO ${clone}`);
  }, otherDb);
  const before = await storedPassword(clone);

  const outcome = await f.rotate(arn, altFn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(new RegExp(`^setSecret: \\[permission\\] PostgreSQL: the alternate user ${clone} holds grants of its own \\(in ${otherDb}\\).*\\(code CloneOwnsObjects\\)`));
  expect(await storedPassword(clone)).toBe(before);
});
