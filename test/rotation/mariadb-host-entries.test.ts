import { startRotationFixture, type RotationFixture } from '../support/rotation-fixture';

/**
 * MariaDB single-user with several host entries of one user ('app'@'%' and 'app'@'10.%'): the
 * own-account SET PASSWORD changes only the entry the login matched, and the other keeps the old
 * password. Refused when the user can see its entries; otherwise a documented residual (threat
 * model, "What an independent attack found").
 */
let f: RotationFixture;
let seq = 0;
const uniq = (p: string) => `${p}_${++seq}`;

beforeAll(async () => {
  f = await startRotationFixture({ engine: 'mariadb', tls: true });
}, 60_000);
afterAll(async () => {
  await f?.stop();
});

/** `name`@'%' (the entry the rotation logs in through), optionally `name`@'10.%' with a password of its own. */
async function user(opts: { otherEntry: boolean; seesMysqlUser: boolean }) {
  const name = uniq('hosts');
  const password = await f.createRole(name);
  if (opts.otherEntry) await f.pg.query("CREATE USER ?@'10.%' IDENTIFIED BY ?", [name, `${password}-10`]);
  if (opts.seesMysqlUser) await f.pg.query("GRANT SELECT ON mysql.user TO ?@'%'", [name]);
  const arn = await f.createSecret(f.secretFor(name, password));
  return { name, password, arn };
}
const hashes = async (name: string) => (await f.pg.query('SELECT Host AS host, authentication_string AS hash FROM mysql.user WHERE User = ? ORDER BY Host', [name])).rows;

test('a user that can see a second host entry: refused [configuration] naming both accounts, before any change', async () => {
  const { name, password, arn } = await user({ otherEntry: true, seesMysqlUser: true });
  const before = await hashes(name);
  expect(before.map((r) => r.host)).toEqual(['%', '10.%']);

  const outcome = await f.rotate(arn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(new RegExp(`^setSecret: \\[configuration\\] .*the user has 2 accounts \\("${name}"@"%", "${name}"@"10\\.%"\\); only "${name}"@"%", the one this login matched, would get the new password.*\\(code SEVERAL_HOST_ENTRIES\\)`));
  expect(outcome.errorMessage).toContain(`DROP USER '${name}'@'10.%';`);
  expect(outcome.errorMessage).toMatch(/alternating-users/);
  expect(await hashes(name)).toEqual(before);
  expect(await f.canLogin(name, password)).toBe(true);
});

test('one host entry (and the right to see mysql.user): rotates', async () => {
  const { name, password, arn } = await user({ otherEntry: false, seesMysqlUser: true });
  expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
  expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);
  expect(await f.canLogin(name, password)).toBe(false);
});

test('residual: a user that cannot see its entries (no SELECT on mysql.user) rotates its own entry only; the other keeps its old password', async () => {
  const { name, arn } = await user({ otherEntry: true, seesMysqlUser: false });
  const before = await hashes(name);
  expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
  const after = await hashes(name);
  expect(after.find((r) => r.host === '%')!.hash).not.toBe(before.find((r) => r.host === '%')!.hash);
  expect(after.find((r) => r.host === '10.%')!.hash).toBe(before.find((r) => r.host === '10.%')!.hash);
});

test('a user that can read mysql.global_priv but not mysql.user (MariaDB 10.4+): the second host entry is seen there; refused [configuration] before any change', async () => {
  const { name, password, arn } = await user({ otherEntry: true, seesMysqlUser: false });
  await f.pg.query("GRANT SELECT ON mysql.global_priv TO ?@'%'", [name]);
  const before = await hashes(name);

  const outcome = await f.rotate(arn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(new RegExp(`^setSecret: \\[configuration\\] .*the user has 2 accounts \\("${name}"@"%", "${name}"@"10\\.%"\\).*\\(code SEVERAL_HOST_ENTRIES\\)`));
  expect(await hashes(name)).toEqual(before);
  expect(await f.canLogin(name, password)).toBe(true);
});

test('a user with column-level SELECT on mysql.user only (error 1143 is a missing privilege) and SELECT on mysql.global_priv: refused [configuration] before any change', async () => {
  const { name, password, arn } = await user({ otherEntry: true, seesMysqlUser: false });
  await f.pg.query("GRANT SELECT (User) ON mysql.user TO ?@'%'", [name]);
  await f.pg.query("GRANT SELECT ON mysql.global_priv TO ?@'%'", [name]);
  const before = await hashes(name);

  const outcome = await f.rotate(arn);
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.errorMessage).toMatch(/\(code SEVERAL_HOST_ENTRIES\)/);
  expect(await hashes(name)).toEqual(before);
  expect(await f.canLogin(name, password)).toBe(true);
});
