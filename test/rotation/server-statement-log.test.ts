import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import mysql from 'mysql2/promise';
import { Client } from 'pg';
import { parseDatabaseSecret } from '../../lambda/core/database-secret';
import { engineFor } from '../../lambda/rotation/engines';
import { mysqlNativePasswordHash } from '../../lambda/rotation/engines/mysql/password-hash';
import { auditState } from '../support/leak-audit/state';
import { passwordForms, scanTexts } from '../support/leak-audit/scanner';
import { scanServerLogFile } from '../support/leak-audit/server-logs';
import { startMariadb } from '../support/mariadb-server';
import { startPostgres } from '../support/postgres-server';
import { startRotationFixture, type RotationFixture, type TestEngine } from '../support/rotation-fixture';

/**
 * The database servers of the tests log every statement they receive (PostgreSQL log_statement=all,
 * MariaDB's general log). These tests read those logs: after real rotations (both engines, both
 * strategies) neither the old nor the new password is in them, while the hash the function sent
 * instead is (so the log is on); and a password planted in a statement is found there by the leak
 * audit, which reads every server's log when the server is removed.
 */

type LogKind = 'postgres-log' | 'mariadb-general';

/** The statement log of a fixture's server. */
function statementLog(f: RotationFixture): { kind: LogKind; path: string } {
  const server = f.pg as unknown as { logFile: string; generalLogFile?: string };
  return f.engine === 'postgres' ? { kind: 'postgres-log', path: server.logFile } : { kind: 'mariadb-general', path: server.generalLogFile! };
}

/** Neither password, in any spelling, anywhere in the raw log; and the audit's own scan of it is clean. */
function expectNoPassword(f: RotationFixture, passwords: string[]): string {
  const { kind, path } = statementLog(f);
  const raw = fs.readFileSync(path, 'utf8');
  for (const p of passwords) {
    for (const { needle } of passwordForms(p)) expect(raw.includes(needle)).toBe(false);
  }
  const scan = scanTexts([{ source: kind, text: scanServerLogFile(kind, raw).text }], passwords);
  expect(scan.leaks).toEqual([]);
  return raw;
}

/** Lines of the function's own sessions that set `user`'s password as a hash. */
function hashStatements(f: RotationFixture, raw: string, user: string, password: string): string[] {
  if (f.engine === 'mariadb') {
    // The hash is computable (mysql_native_password has no salt): SET PASSWORD [FOR 'user'@'%'] = '<hash>'
    // (the own account's has no name) or CREATE USER ... IDENTIFIED BY PASSWORD '<hash>'.
    const hash = mysqlNativePasswordHash(password);
    return raw.split('\n').filter((l) => /\d Query\t(?:SET PASSWORD|CREATE USER)/.test(l) && l.includes(`'${hash}'`)
      && (l.includes(`'${user}'`) || /\d Query\tSET PASSWORD = '/.test(l)));
  }
  // A SCRAM verifier has a random salt: its shape, in a line of an application_name=rotor-rotation session.
  return raw.split('\n').filter((l) => /\{app=rotor-rotation user=[^}]*\} LOG: {2}statement: (?:ALTER|CREATE) ROLE /.test(l)
    && l.includes(`"${user}"`) && /PASSWORD 'SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+'/.test(l));
}

const fixtures: Partial<Record<TestEngine, RotationFixture>> = {};
let seq = 0;
const uniq = (p: string) => `${p}_${process.pid % 10000}_${++seq}`;

beforeAll(async () => {
  [fixtures.postgres, fixtures.mariadb] = await Promise.all([
    startRotationFixture({ engine: 'postgres', tls: true }),
    startRotationFixture({ engine: 'mariadb', tls: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([fixtures.postgres?.stop(), fixtures.mariadb?.stop()]);
});

/**
 * A login user through the harness's own (unlogged) session, so that the log holds no fixture
 * statement with the old password: whatever password the log holds, the function sent.
 */
async function quietUser(f: RotationFixture, name: string, opts: { createRole?: boolean } = {}): Promise<string> {
  const password = randomBytes(12).toString('hex');
  if (f.engine === 'postgres') {
    await f.pg.query(`CREATE ROLE ${name} LOGIN ${opts.createRole ? 'CREATEROLE' : ''} PASSWORD '${password}'`);
  } else {
    await f.pg.query('CREATE USER ?@? IDENTIFIED BY ?', [name, '%', password]);
    await f.pg.query(`GRANT SELECT ON \`${f.pg.database}\`.* TO ?@?`, [name, '%']);
  }
  return password;
}

describe.each(['postgres', 'mariadb'] as const)('%s: the server\'s statement log after rotations', (engine) => {
  test('single user: neither the old nor the new password is in the log; the hash the function sent is', async () => {
    const f = fixtures[engine]!;
    const name = uniq('slog');
    const old = await quietUser(f, name);
    const arn = await f.createSecret(f.secretFor(name, old));
    expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
    const next = (await f.current(arn)).password as string;
    expect(next).not.toBe(old);
    expect(await f.canLogin(name, next)).toBe(true);

    const raw = expectNoPassword(f, [old, next]);
    expect(hashStatements(f, raw, name, next)).toHaveLength(1);
  });

  test('alternating users: no password of the user, its clone or the master is in the log; the hashes are', async () => {
    const f = fixtures[engine]!;
    const arnAlt = f.registerHandler(uniq('rotor-alternating-log'), { ROTOR_STRATEGY: 'alternating-users' });
    // PostgreSQL: a master like RDS's (CREATEROLE); MariaDB: the server's admin. Both through unlogged sessions.
    const master = engine === 'postgres' ? uniq('slog_master') : f.pg.superuser.username;
    const masterPassword = engine === 'postgres' ? await quietUser(f, master, { createRole: true }) : f.pg.superuser.password;
    const masterArn = await f.createSecret(f.secretFor(master, masterPassword));
    const name = uniq('salt');
    const old = await quietUser(f, name);
    const arn = await f.createSecret(f.secretFor(name, old, { masterarn: masterArn }));

    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded'); // creates name_clone
    const clone = await f.current(arn);
    expect(clone.username).toBe(`${name}_clone`);
    expect((await f.rotate(arn, arnAlt)).eventName).toBe('RotationSucceeded'); // back to name
    const base = await f.current(arn);
    expect(base.username).toBe(name);
    expect(await f.canLogin(name, base.password)).toBe(true);
    expect(await f.canLogin(clone.username, clone.password)).toBe(true);

    const raw = expectNoPassword(f, [old, clone.password, base.password, masterPassword]);
    expect(hashStatements(f, raw, clone.username, clone.password)).toHaveLength(1);
    expect(hashStatements(f, raw, name, base.password)).toHaveLength(1);
  });
});

/**
 * What the leak audit received from servers stopped during this test, by source, and a way to
 * take the planted text back out (this file's own audit must not fail on a planted password the
 * test put there on purpose).
 */
function serverLogTexts(): { texts: string[]; remove(): void } {
  const state = auditState();
  if (!state) throw new Error('the leak-audit environment is not active');
  const found: Array<{ list: string[]; text: string }> = [];
  for (const [source, list] of state.texts) {
    if (source.startsWith('server-log:')) for (const text of list) found.push({ list, text });
  }
  return {
    texts: found.map((x) => x.text),
    remove() {
      for (const { list, text } of found) list.splice(list.indexOf(text), 1);
    },
  };
}

describe('planted passwords in statements are found in the server logs by the leak audit', () => {
  test('PostgreSQL: a SELECT of a test session and a plaintext ALTER ROLE of the function\'s session are found; a fixture\'s CREATE ROLE is not scanned', async () => {
    const state = auditState()!;
    const before = serverLogTexts().texts.length;
    const fixturesBefore = state.serverLogs!.fixtureStatements;
    // Random, and never shown to the audit: only this test's own scan searches for them.
    const [selected, viaFunction, fixture] = [0, 1, 2].map(() => `planted-${randomBytes(9).toString('hex')}`);
    const pg = await startPostgres();
    try {
      const c = new Client({ host: pg.host, port: pg.port, user: pg.superuser.username, password: pg.superuser.password, database: pg.database });
      await c.connect();
      try {
        await c.query(`SELECT '${selected}' AS x`);
        await c.query(`CREATE ROLE planted_fixture LOGIN PASSWORD '${fixture}'`);
      } finally {
        await c.end();
      }
      // The bug the audit is there for: the function's own session sending a password in plain text.
      const secret = parseDatabaseSecret(JSON.stringify({ engine: 'postgres', host: pg.host, port: pg.port, username: pg.superuser.username, password: pg.superuser.password, dbname: pg.database }), 'AWSCURRENT');
      const session = await engineFor('postgres').connect(secret, { tlsMode: 'disable', connectTimeoutMs: 5000, statementTimeoutMs: 5000 });
      try {
        await (session as unknown as { run(what: string, sql: string): Promise<unknown> }).run('plant', `ALTER ROLE planted_fixture PASSWORD '${viaFunction}'`);
      } finally {
        await session.close();
      }
      // The log is the raw truth: all three are there.
      const raw = fs.readFileSync(pg.logFile, 'utf8');
      for (const p of [selected, viaFunction, fixture]) expect(raw).toContain(p);
      expect(raw).toMatch(/\{app=rotor-rotation user=rotor_admin\} LOG: {2}statement: ALTER ROLE planted_fixture PASSWORD '/);
    } finally {
      await pg.stop(); // hands the log to the audit, then removes it
    }
    const got = serverLogTexts();
    try {
      const mine = got.texts.slice(before);
      expect(mine.length).toBeGreaterThan(0);
      const scan = scanTexts(mine.map((text) => ({ source: 'server-log:postgres-log', text })), [selected, viaFunction, fixture]);
      const previews = scan.leaks.filter((l) => l.form === 'exact').map((l) => l.preview);
      expect(previews.some((p) => p.includes("SELECT '[REDACTED]' AS x"))).toBe(true);
      expect(previews.some((p) => p.includes("} LOG:  statement: ALTER ROLE planted_fixture PASSWORD '[REDACTED]'"))).toBe(true);
      expect(mine.join('')).not.toContain(fixture);
      expect(state.serverLogs!.fixtureStatements).toBe(fixturesBefore + 1);
      for (const l of scan.leaks) expect(l.preview).not.toMatch(/planted-[0-9a-f]{18}/);
    } finally {
      got.remove();
    }
  });

  test('MariaDB: a SELECT of a test session and a plaintext SET PASSWORD of the function\'s session are found; a fixture\'s CREATE USER is not scanned', async () => {
    const state = auditState()!;
    const before = serverLogTexts().texts.length;
    const fixturesBefore = state.serverLogs!.fixtureStatements;
    const [selected, viaFunction, fixture] = [0, 1, 2].map(() => `planted-${randomBytes(9).toString('hex')}`);
    const db = await startMariadb();
    try {
      const c = await mysql.createConnection({ host: db.host, port: db.port, user: db.superuser.username, password: db.superuser.password, database: db.database });
      try {
        await c.query('SELECT ? AS x', [selected]);
        await c.query('CREATE USER ?@? IDENTIFIED BY ?', ['planted_fixture', '%', fixture]);
      } finally {
        await c.end();
      }
      const secret = parseDatabaseSecret(JSON.stringify({ engine: 'mariadb', host: db.host, port: db.port, username: db.superuser.username, password: db.superuser.password, dbname: db.database }), 'AWSCURRENT');
      const session = await engineFor('mariadb').connect(secret, { tlsMode: 'disable', connectTimeoutMs: 5000, statementTimeoutMs: 5000 });
      try {
        await (session as unknown as { run(what: string, sql: string, values: unknown[]): Promise<unknown> })
          .run('plant', 'SET PASSWORD FOR ?@? = PASSWORD(?)', ['planted_fixture', '%', viaFunction]);
      } finally {
        await session.close();
      }
      const raw = fs.readFileSync(db.generalLogFile, 'utf8');
      for (const p of [selected, viaFunction, fixture]) expect(raw).toContain(p);
    } finally {
      await db.stop();
    }
    const got = serverLogTexts();
    try {
      const mine = got.texts.slice(before);
      const scan = scanTexts(mine.map((text) => ({ source: 'server-log:mariadb-general', text })), [selected, viaFunction, fixture]);
      const exact = scan.leaks.filter((l) => l.form === 'exact');
      expect(exact.some((l) => l.preview.includes("Query\tSELECT '[REDACTED]' AS x"))).toBe(true);
      expect(exact.some((l) => l.preview.includes("Query\tSET PASSWORD FOR 'planted_fixture'@'%' = PASSWORD('[REDACTED]')"))).toBe(true);
      expect(mine.join('')).not.toContain(fixture);
      expect(state.serverLogs!.fixtureStatements).toBe(fixturesBefore + 1);
    } finally {
      got.remove();
    }
  });

  test('the audit tracks the file\'s running servers until they are removed (then, or at the end of the file, it reads their logs)', () => {
    const servers = [...auditState()!.servers!];
    // The two fixtures of this file are still running; the servers stopped above are no longer tracked.
    expect(servers.map((s) => s.tag).sort()).toEqual(['mariadb-server', 'postgres-server']);
    expect(servers.flatMap((s) => s.logFiles().map((l) => l.kind)).sort()).toEqual(['mariadb-error', 'mariadb-general', 'postgres-log']);
  });
});
