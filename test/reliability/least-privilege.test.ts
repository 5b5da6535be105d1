import { randomBytes } from 'node:crypto';
import { GetSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startRotationFixture, versionsOf, type RotationFixture, type TestEngine } from '../support/rotation-fixture';
import { rotor } from '../cli/cli-kit';

/*
 * Least privilege, proved against real throwaway servers: for each engine and
 * strategy, the database users hold exactly what docs/configuration.md
 * ("Database privileges each strategy needs") lists, and the real rotation
 * handler rotates while `rotor doctor` passes its privilege check. With one
 * privilege less, doctor fails the check with the fix, and the rotation fails
 * in setSecret with a permission error, leaving database and secret as they
 * were (except the AWSPENDING version createSecret made).
 *
 * The SQL below is the SQL of the docs; change both together.
 */

const pw = () => `Lp-${randomBytes(12).toString('hex')}`;
let seq = 0;
const uniq = (p: string) => `lp_${p}_${++seq}`;

interface Check { id: string; status: string; detail: string; fix?: string }

/**
 * Privilege statements per engine, exactly as documented; `{app}`, `{master}`, `{db}`, `{pw}` are
 * filled in by the test. `less` variants lack one documented privilege.
 */
const SQL = {
  postgres: {
    app: ['CREATE ROLE {app} LOGIN PASSWORD {pw}'],
    master: ['CREATE ROLE {master} LOGIN CREATEROLE PASSWORD {pw}'],
    locked: ['CREATE ROLE {app} NOLOGIN PASSWORD {pw}'],
    less: {
      'no CREATEROLE': ['CREATE ROLE {master} LOGIN PASSWORD {pw}'],
      // CREATEROLE may not alter a REPLICATION (SUPERUSER, BYPASSRLS) role: the documented master, an app user it cannot rotate.
      'an app user with REPLICATION': ['CREATE ROLE {master} LOGIN CREATEROLE PASSWORD {pw}'],
    } as Record<string, string[]>,
  },
  mariadb: {
    app: ["CREATE USER {app}@'%' IDENTIFIED BY {pw}", "GRANT SELECT, INSERT ON {db}.* TO {app}@'%'"],
    master: [
      "CREATE USER {master}@'%' IDENTIFIED BY {pw}",
      "GRANT CREATE USER ON *.* TO {master}@'%' WITH GRANT OPTION",
      "GRANT SELECT, UPDATE ON mysql.* TO {master}@'%'",
      "GRANT SELECT, INSERT ON {db}.* TO {master}@'%'",
    ],
    locked: ["CREATE USER {app}@'%' IDENTIFIED BY {pw} ACCOUNT LOCK", "GRANT SELECT, INSERT ON {db}.* TO {app}@'%'"],
    less: {
      'no GRANT OPTION': [
        "CREATE USER {master}@'%' IDENTIFIED BY {pw}",
        "GRANT CREATE USER ON *.* TO {master}@'%'",
        "GRANT SELECT, UPDATE ON mysql.* TO {master}@'%'",
        "GRANT SELECT, INSERT ON {db}.* TO {master}@'%'",
      ],
      'no UPDATE on mysql.*': [
        "CREATE USER {master}@'%' IDENTIFIED BY {pw}",
        "GRANT CREATE USER ON *.* TO {master}@'%' WITH GRANT OPTION",
        "GRANT SELECT ON mysql.* TO {master}@'%'",
        "GRANT SELECT, INSERT ON {db}.* TO {master}@'%'",
      ],
      'no INSERT on the database': [
        "CREATE USER {master}@'%' IDENTIFIED BY {pw}",
        "GRANT CREATE USER ON *.* TO {master}@'%' WITH GRANT OPTION",
        "GRANT SELECT, UPDATE ON mysql.* TO {master}@'%'",
        "GRANT SELECT ON {db}.* TO {master}@'%'",
      ],
    } as Record<string, string[]>,
  },
};

describe.each<TestEngine>(['postgres', 'mariadb'])('%s: least privilege', (engine) => {
  let f: RotationFixture;
  let singleFn: string;
  let altFn: string;
  let cliEnv: Record<string, string>;
  const secrets: string[] = [];

  beforeAll(async () => {
    f = await startRotationFixture({ engine, tls: true });
    singleFn = f.registerHandler('lp-single');
    altFn = f.registerHandler('lp-alternating', { ROTOR_STRATEGY: 'alternating-users' });
    cliEnv = { AWS_ENDPOINT_URL_SECRETS_MANAGER: f.local.endpoint, AWS_REGION: f.local.region, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
  }, 60_000);
  afterAll(async () => {
    await f?.stop();
  });

  /** Runs the documented statements as the server's superuser; identifiers and the password quoted by hand (test-made names only). */
  async function run(statements: readonly string[], names: { app?: string; master?: string; password: string }) {
    const q = engine === 'postgres' ? '"' : '`';
    for (const s of statements) {
      const sql = s
        .replace(/\{app\}/g, `${q}${names.app}${q}`)
        .replace(/\{master\}/g, `${q}${names.master}${q}`)
        .replace(/\{db\}/g, `${q}${f.pg.database}${q}`)
        .replace(/\{pw\}/g, `'${names.password}'`);
      await f.pg.query(sql);
    }
  }

  async function user(kind: 'app' | 'locked', name = uniq(kind)) {
    const password = pw();
    secrets.push(password);
    await run(SQL[engine][kind], { app: name, password });
    return { name, password };
  }

  /** A master user made by the documented statements (or a `less` variant) and its secret. */
  async function master(less?: string) {
    const name = uniq(less ? 'weak' : 'master');
    const password = pw();
    secrets.push(password);
    await run(less ? SQL[engine].less[less] : SQL[engine].master, { master: name, password });
    return { name, password, arn: await f.createSecret(f.secretFor(name, password)) };
  }

  /** RotationEnabled without rotating (RotateImmediately=false runs testSecret on AWSCURRENT only). */
  async function configure(arn: string, fn: string) {
    await f.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false }));
    return f.local.waitForRotation(arn, { timeoutMs: 30_000 });
  }

  async function doctor(arn: string) {
    const r = await rotor(['doctor', arn, '--json', '--timeout', '3000', '--ca-file', f.pg.caFile!], cliEnv);
    for (const s of secrets) expect(r.stdout + r.stderr).not.toContain(s);
    const out = JSON.parse(r.stdout) as { ok: boolean; strategy: string; checks: Check[] };
    return { code: r.code, out, check: (id: string) => out.checks.find((c) => c.id === id)!, failed: out.checks.filter((c) => c.status === 'fail').map((c) => c.id) };
  }

  /** What "unchanged" means: the stored password of each user (as the superuser sees it) and whether a user exists. */
  async function storedPassword(name: string): Promise<string | undefined> {
    if (engine === 'postgres') {
      const r = await f.pg.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
      return r.rows[0]?.rolpassword ?? undefined;
    }
    const r = await f.pg.query("SELECT authentication_string AS a FROM mysql.user WHERE User = ? AND Host = '%'", [name]);
    return r.rows[0] ? String(r.rows[0].a) : undefined;
  }
  const exists = async (name: string) => {
    if (engine === 'postgres') return ((await f.pg.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount ?? 0) > 0;
    return (await f.pg.query('SELECT 1 FROM mysql.user WHERE User = ?', [name])).rows.length > 0;
  };

  /** A failed rotation left everything as it was, except the AWSPENDING version createSecret made. */
  async function expectUnchanged(arn: string, before: Awaited<ReturnType<typeof snapshot>>) {
    const after = await snapshot(arn, before.users);
    expect(after.value).toEqual(before.value);
    expect(after.passwords).toEqual(before.passwords);
    expect(after.exists).toEqual(before.exists);
    const added = after.versions.filter((v) => !before.versions.some((b) => b.id === v.id));
    expect(added).toEqual([{ id: expect.any(String), stages: ['AWSPENDING'] }]);
    // createSecret moves AWSPENDING off the version a finished rotation left it on (with AWSCURRENT).
    const withoutPending = (vs: typeof before.versions) => vs.map((v) => ({ ...v, stages: v.stages.filter((x) => x !== 'AWSPENDING') }));
    expect(withoutPending(after.versions.filter((v) => v !== added[0]))).toEqual(withoutPending(before.versions));
    const current = JSON.parse(before.value);
    expect(await f.canLogin(current.username, current.password).catch(() => false)).toBe(!before.locked);
  }
  async function snapshot(arn: string, users: string[], locked = false) {
    const value = (await f.sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!;
    return {
      users, locked, value,
      versions: await versionsOf(f.sm, arn),
      passwords: await Promise.all(users.map(storedPassword)),
      exists: await Promise.all(users.map(exists)),
    };
  }

  test('single-user: a plain user with only its application grants rotates; doctor ok', async () => {
    const app = await user('app');
    const arn = await f.createSecret(f.secretFor(app.name, app.password));
    for (let i = 0; i < 2; i++) {
      const o = await f.rotate(arn, singleFn);
      expect([o.eventName, o.errorMessage]).toEqual(['RotationSucceeded', undefined]);
    }
    const cur = await f.current(arn);
    expect(cur.password).not.toBe(app.password);
    expect(await f.canLogin(app.name, cur.password)).toBe(true);
    expect(await f.canLogin(app.name, app.password)).toBe(false);

    const d = await doctor(arn);
    expect(d.out.strategy).toBe('single-user');
    expect(d.check('privilege').status).toBe('ok');
    expect(d.failed).toEqual([]);
    expect(d.code).toBe(0);
  });

  test('alternating-users: a master with exactly the documented privileges rotates both ways; doctor ok', async () => {
    const m = await master();
    const app = await user('app');
    const arn = await f.createSecret(f.secretFor(app.name, app.password, { masterarn: m.arn }));
    // clone created; base re-passworded; clone re-passworded and re-synced.
    for (const expected of [`${app.name}_clone`, app.name, `${app.name}_clone`]) {
      const o = await f.rotate(arn, altFn);
      expect([o.eventName, o.errorMessage]).toEqual(['RotationSucceeded', undefined]);
      const cur = await f.current(arn);
      expect(cur.username).toBe(expected);
      expect(await f.canLogin(cur.username, cur.password)).toBe(true);
    }
    if (engine === 'mariadb') {
      const grants = async (u: string) => (await f.pg.query('SHOW GRANTS FOR ?@?', [u, '%'])).rows
        .map((r) => String(Object.values(r)[0]).replace(/`[^`]*`@`%`/, 'U').replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '')).sort();
      expect(await grants(`${app.name}_clone`)).toEqual(await grants(app.name));
    }

    const d = await doctor(arn);
    expect(d.out.strategy).toBe('alternating-users');
    expect(d.check('privilege').status).toBe('ok');
    expect(d.failed).toEqual([]);
    expect(d.code).toBe(0);
  });

  /** Known defects of the rotation function (reported, not fixed here: lambda/ is another engineer's). */
  const observed: { barredCategory?: string; cloneLeftBehind?: boolean } = {};

  test(`alternating-users, a master with one privilege less (${Object.keys(SQL[engine].less).join('; ')}): doctor fails the privilege check with the fix, which works`, async () => {
    const cases = await Promise.all(Object.keys(SQL[engine].less).map(async (less) => {
      const m = await master(less);
      const app = await user('app');
      if (less === 'an app user with REPLICATION') await f.pg.query(`ALTER ROLE ${app.name} REPLICATION`);
      const arn = await f.createSecret(f.secretFor(app.name, app.password, { masterarn: m.arn }));
      expect((await configure(arn, altFn)).eventName).toBe('TestRotationSucceeded');
      const fix = {
        'an app user with REPLICATION': `ALTER ROLE ${app.name} NOREPLICATION;`,
        'no CREATEROLE': `ALTER ROLE ${m.name} CREATEROLE;`,
        'no GRANT OPTION': `GRANT CREATE USER ON *.* TO '${m.name}'@'%' WITH GRANT OPTION;`,
        'no UPDATE on mysql.*': `GRANT UPDATE ON mysql.* TO '${m.name}'@'%';`,
        'no INSERT on the database': `GRANT INSERT ON \`${f.pg.database}\`.* TO '${m.name}'@'%';`,
      }[less]!;
      return { less, arn, fix };
    }));
    const first = await Promise.all(cases.map((c) => doctor(c.arn)));
    cases.forEach((c, i) => {
      const d = first[i];
      expect([c.less, d.failed, d.code]).toEqual([c.less, ['privilege'], 1]);
      expect([c.less, d.check('privilege').fix]).toEqual([c.less, expect.stringContaining(c.fix)]);
    });
    // Run as printed, each fix makes the check pass.
    for (const c of cases) await f.pg.query(c.fix);
    const again = await Promise.all(cases.map((c) => doctor(c.arn)));
    cases.forEach((c, i) => expect([c.less, again[i].check('privilege').status, again[i].code]).toEqual([c.less, 'ok', 0]));
  });

  test('alternating-users, master with one privilege less: setSecret fails [permission]; database and secret unchanged', async () => {
    const less = engine === 'postgres' ? 'no CREATEROLE' : 'no GRANT OPTION';
    const m = await master(less);
    const app = await user('app');
    const arn = await f.createSecret(f.secretFor(app.name, app.password, { masterarn: m.arn }));
    const clone = `${app.name}_clone`;
    const before = await snapshot(arn, [app.name, m.name]);
    expect(await exists(clone)).toBe(false);

    const o = await f.rotate(arn, altFn);
    expect(o.eventName).toBe('RotationFailed');
    expect(o.step).toBe('setSecret');
    expect(o.errorMessage).toMatch(/^setSecret: \[permission\] /);
    await expectUnchanged(arn, before);
    observed.cloneLeftBehind = await exists(clone);
  });

  // Was a defect on MariaDB: syncAccount created the clone before its grants and a failing GRANT left it behind.
  test('alternating-users, failed setSecret: no half-made clone is left behind', () => {
    expect(observed.cloneLeftBehind).toBe(false);
  });

  if (engine === 'mariadb') {
    test('alternating-users, master without UPDATE on mysql.*: the first rotation works, re-passwording the existing user fails [permission]', async () => {
      const m = await master('no UPDATE on mysql.*');
      const app = await user('app');
      const arn = await f.createSecret(f.secretFor(app.name, app.password, { masterarn: m.arn }));
      expect((await f.rotate(arn, altFn)).eventName).toBe('RotationSucceeded'); // clone created: CREATE USER suffices
      const before = await snapshot(arn, [app.name, `${app.name}_clone`, m.name]);
      const o = await f.rotate(arn, altFn); // SET PASSWORD FOR the base user
      expect(o.eventName).toBe('RotationFailed');
      expect(o.errorMessage).toMatch(/^setSecret: \[permission\] .*could not change the password of "lp_app_\d+"@"%".*\(code 1044\)/);
      await expectUnchanged(arn, before);
    });
  }

  test('single-user, a user that may not log in (PostgreSQL NOLOGIN, MariaDB ACCOUNT LOCK): doctor fails with the fix; setSecret fails; nothing changed', async () => {
    const app = await user('locked');
    const arn = await f.createSecret(f.secretFor(app.name, app.password));
    expect((await configure(arn, singleFn)).eventName).toBe('TestRotationFailed');
    const d = await doctor(arn);
    expect(d.failed).toEqual(['login', 'privilege']);
    const fix = engine === 'postgres' ? `ALTER ROLE ${app.name} LOGIN;` : `ALTER USER '${app.name}'@'%' ACCOUNT UNLOCK;`;
    expect(d.check('privilege').fix).toContain(fix);
    expect(d.check('login').fix).toContain(fix);
    expect(d.code).toBe(1);

    const before = await snapshot(arn, [app.name], true);
    const o = await f.rotate(arn, singleFn);
    expect(o.eventName).toBe('RotationFailed');
    expect(o.step).toBe('setSecret');
    await expectUnchanged(arn, before);
    observed.barredCategory = /^setSecret: \[(\w+)\]/.exec(o.errorMessage ?? '')?.[1];
  });

  // Was a defect: PostgreSQL 28000 "not permitted to log in" was [authentication], MariaDB 4151 (locked) [configuration].
  test('single-user, a user that may not log in: the failure is categorised [permission]', () => {
    expect(observed.barredCategory).toBe('permission');
  });
});
