import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { startRotationFixture, versionsOf, type RotationFixture } from '../support/rotation-fixture';

let f: RotationFixture;
let seq = 0;
const uniq = (p: string) => `${p}_${++seq}`;

beforeAll(async () => {
  f = await startRotationFixture({ engine: 'mariadb', tls: true });
});
afterAll(async () => {
  await f?.stop();
});

async function userWithSecret(name = uniq('app'), extra: Record<string, unknown> = {}) {
  const password = await f.createRole(name);
  const arn = await f.createSecret(f.secretFor(name, password, extra));
  return { name, password, arn };
}

describe('single-user rotation on MariaDB', () => {
  test('in-process handler: new password logs in over TLS, old is refused; default policy avoids /@"\'\\', async () => {
    const { name, password, arn } = await userWithSecret();
    for (let i = 0; i < 3; i++) expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
    const current = await f.current(arn);
    expect(current.engine).toBe('mariadb');
    expect(current.password).not.toMatch(/[/@"'\\]/);
    expect(await f.canLogin(name, current.password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(false);
  });

  test('the bundled artifact in a child process', async () => {
    const bundle = path.resolve(__dirname, '../../dist/rotation/index.js');
    const arnBundle = f.local.lambdaArn(uniq('bundle'));
    f.local.registerRotationFunction(arnBundle, { kind: 'child-process', bundlePath: bundle, env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, POWERTOOLS_LOG_LEVEL: 'WARN' } });
    const { name, arn } = await userWithSecret();
    expect((await f.rotate(arn, arnBundle)).eventName).toBe('RotationSucceeded');
    expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);
  });

  test('every step re-run twice ends in the same state', async () => {
    const { name, arn } = await userWithSecret();
    const state = async () => {
      const pending = await f.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })).then((o) => JSON.parse(o.SecretString!).password as string, () => undefined);
      const cur = (await f.current(arn)).password as string;
      return JSON.stringify({ versions: await versionsOf(f.sm, arn), pending, cur: await f.canLogin(name, cur), pend: pending ? await f.canLogin(name, pending) : null });
    };
    const { arn: rerun, runs } = f.registerRerunningHandler(uniq('rerun'), state);
    expect((await f.rotate(arn, rerun)).eventName).toBe('RotationSucceeded');
    expect(runs.map((r) => r.step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    for (const r of runs) {
      expect(r.states[1]).toBe(r.states[0]);
      expect(r.states[2]).toBe(r.states[0]);
    }
  });

  test('falls back to AWSPREVIOUS; none valid -> authentication error, nothing changed', async () => {
    const { name, password, arn } = await userWithSecret();
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, 'wrong-password-1')) }));
    expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
    expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);

    const lost = uniq('lost');
    const real = await f.createRole(lost);
    const lostArn = await f.createSecret(f.secretFor(lost, 'nope-1'));
    await f.sm.send(new PutSecretValueCommand({ SecretId: lostArn, SecretString: JSON.stringify(f.secretFor(lost, 'nope-2')) }));
    const outcome = await f.rotate(lostArn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/\[authentication\]/);
    expect(await f.canLogin(lost, real)).toBe(true);
    expect(password).not.toBe(real);
  });

  test('user names with quotes, spaces, semicolons, unicode rotate', async () => {
    for (const base of [`o'brien`, 'app user', 'a;DROP USER rotor_admin;--', 'nutzer_äöü']) {
      const { name, password, arn } = await userWithSecret(`${base}_${++seq}`);
      expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
      expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);
      expect(await f.canLogin(name, password)).toBe(false);
    }
    expect(await f.canLogin(f.pg.superuser.username, f.pg.superuser.password)).toBe(true);
  });

  test('a user that REQUIRE SSL keeps working after rotation', async () => {
    const { name, arn } = await userWithSecret();
    await f.pg.query('ALTER USER ?@? REQUIRE SSL', [name, '%']);
    expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
    expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);
  });

  test('pending pointing at another port is refused; password unchanged', async () => {
    const { name, password, arn } = await userWithSecret();
    const other = randomBytes(8).toString('hex');
    const token = require('node:crypto').randomUUID();
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, VersionStages: ['AWSPENDING'], SecretString: JSON.stringify({ ...f.secretFor(name, other), port: 3306 }) }));
    const handler = require('../../lambda/rotation/handler').createRotationHandler({ secretsManager: f.sm, env: { ROTOR_TLS_CA_FILE: f.pg.caFile! }, logger: require('../support/rotation-fixture').silentLogger() });
    await expect(handler({ Step: 'setSecret', SecretId: arn, ClientRequestToken: token }, require('../support/lambda-context').fakeContext())).rejects.toThrow(/\[conflict\].*differs from AWSCURRENT in port/);
    expect(await f.canLogin(name, password)).toBe(true);
  });
});

describe('alternating users on MariaDB', () => {
  const ENV = { ROTOR_STRATEGY: 'alternating-users' };
  let arnAlt: string;
  let masterArn: string;
  beforeAll(async () => {
    arnAlt = f.registerHandler('rotor-alternating-mariadb', ENV);
    masterArn = await f.createSecret(f.secretFor(f.pg.superuser.username, f.pg.superuser.password));
  });

  const grantsOf = async (user: string) =>
    (await f.pg.query('SHOW GRANTS FOR ?@?', [user, '%'])).rows.map((r) => String(Object.values(r)[0]).replace(/`[^`]*`@`%`/, 'U').replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '')).sort();

  test('alternates, keeps the previous user working, and keeps grants equal (added and revoked) and REQUIRE SSL', async () => {
    const { name, password, arn } = await userWithSecret(uniq('alt'), {});
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, password, { masterarn: masterArn })) }));
    await f.pg.query('ALTER USER ?@? REQUIRE SSL', [name, '%']);
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded');
    const clone = await f.current(arn);
    expect(clone.username).toBe(`${name}_clone`);
    expect(await f.canLogin(clone.username, clone.password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(true);
    expect(await grantsOf(clone.username)).toEqual(await grantsOf(name));
    const req = await f.pg.query('SELECT ssl_type FROM mysql.user WHERE User = ?', [clone.username]);
    expect(String(req.rows[0].ssl_type)).toBe('ANY');

    // The current user is the source of truth: grants change on it while it is current...
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded'); // base current
    await f.pg.query(`GRANT INSERT ON \`${f.pg.database}\`.* TO ?@?`, [name, '%']);
    await f.pg.query(`REVOKE SELECT ON \`${f.pg.database}\`.* FROM ?@?`, [name, '%']);
    // ...and the next rotation makes the clone equal: INSERT added, SELECT revoked.
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded'); // clone re-synced
    expect((await f.current(arn)).username).toBe(`${name}_clone`);
    expect(await grantsOf(`${name}_clone`)).toEqual(await grantsOf(name));
    expect((await grantsOf(`${name}_clone`)).join(' ')).toMatch(/INSERT/);
    expect((await grantsOf(`${name}_clone`)).join(' ')).not.toMatch(/SELECT/);
  });

  test('refused: master on another port; alternate name over 80 characters', async () => {
    const { name, password, arn } = await userWithSecret();
    const otherMaster = await f.createSecret({ ...f.secretFor(f.pg.superuser.username, f.pg.superuser.password), port: 3306 });
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, password, { masterarn: otherMaster })) }));
    const o = await f.rotate(arn, arnAlt);
    expect(o.errorMessage).toMatch(/\[conflict\] the master secret points at localhost:3306/);
    expect((await f.pg.query('SELECT 1 FROM mysql.user WHERE User = ?', [`${name}_clone`])).rows).toHaveLength(0);

    const long = `u${'x'.repeat(75)}`; // 76 + "_clone" = 82
    const longPw = await f.createRole(long);
    const longArn = await f.createSecret(f.secretFor(long, longPw, { masterarn: masterArn }));
    const o2 = await f.rotate(longArn, arnAlt);
    expect(o2.step).toBe('createSecret');
    expect(o2.errorMessage).toMatch(/mariadb allows at most 80/);
  });
});
