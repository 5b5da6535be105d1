import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { grantKey, grantStatement, MysqlEngine, parseGrantLine } from '../../lambda/rotation/engines/mysql';
import { mysqlNativePasswordHash } from '../../lambda/rotation/engines/mysql/password-hash';
import type { ConnectionSettings, DatabaseSession } from '../../lambda/rotation/engines/engine';
import { parseDatabaseSecret, type DatabaseSecret } from '../../lambda/core/database-secret';
import { canLoginMariadb, startMariadb, type MariadbServer } from '../support/mariadb-server';
import { rotationFailure } from '../support/rotation-error';

/**
 * Alternating users on MariaDB (the MySQL-family engine's syncAlternateUser). One TLS server for the
 * file; its superuser plays the master. MySQL 8 / 5.7 shapes are covered by the parser tests only.
 */
const engine = new MysqlEngine();
let server: MariadbServer;

beforeAll(async () => {
  server = await startMariadb({ tls: true });
});
afterAll(async () => {
  await server?.stop();
});

const settings = (): ConnectionSettings => ({ tlsMode: 'verify-full', caFile: server.caFile, connectTimeoutMs: 2000, statementTimeoutMs: 5000 });

function secretAs(username: string, password: string): DatabaseSecret {
  return parseDatabaseSecret(JSON.stringify({
    engine: 'mariadb', host: '127.0.0.1', port: server.port, username, password, dbname: server.database,
  }), 'AWSCURRENT');
}
const masterSecret = () => secretAs(server.superuser.username, server.superuser.password);

async function withSession<T>(secret: DatabaseSecret, fn: (s: DatabaseSession) => Promise<T>): Promise<T> {
  const s = await engine.connect(secret, settings());
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

const sync = (target: string, source: string, password: string, as: DatabaseSecret = masterSecret()) =>
  withSession(as, (admin) => admin.syncAlternateUser({ target, source, baseUser: source, password }));

const q = (sql: string, params?: unknown[]) => server.query(sql, params);

let seq = 0;
const unique = (prefix: string) => `${prefix}_${process.pid % 10000}_${++seq}`;
let pwSeq = 0;
const newPassword = () => `Pw-${++pwSeq}-${Math.random().toString(36).slice(2)}-x`;

/** The server's own quoting of a grantee in SHOW GRANTS. */
const quotedGrantee = (user: string, host: string) => `\`${user.replace(/`/g, '``')}\`@\`${host.replace(/`/g, '``')}\``;

/** SHOW GRANTS without the grantee and the password hash, sorted: equal lists mean equal privileges. */
async function normalizedGrants(user: string, host: string): Promise<string[]> {
  const rows = (await q('SHOW GRANTS FOR ?@?', [user, host])).rows;
  const grantee = quotedGrantee(user, host);
  return rows.map((r) => {
    const line = String(Object.values(r)[0]);
    expect(line.split(grantee).length).toBe(2); // the grantee appears exactly once (names chosen so)
    return line.replace(grantee, '<grantee>').replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '');
  }).sort();
}

async function hostsOf(user: string): Promise<string[]> {
  return (await q('SELECT Host AS h FROM mysql.user WHERE User = ? ORDER BY Host', [user])).rows.map((r) => String(r.h));
}

/** A source user on the given hosts with a password and USAGE on appdb (canLoginMariadb opens appdb), through placeholders. */
async function createSource(name: string, password: string, hosts = ['%']): Promise<void> {
  for (const host of hosts) {
    await q('CREATE USER ?@? IDENTIFIED BY ?', [name, host, password]);
    await q('GRANT SHOW VIEW ON appdb.* TO ?@?', [name, host]);
  }
}

async function expectSameAsSource(target: string, source: string, hosts = ['%']): Promise<void> {
  expect(await hostsOf(target)).toEqual(await hostsOf(source));
  for (const host of hosts) {
    expect(await normalizedGrants(target, host)).toEqual(await normalizedGrants(source, host));
  }
}

describe('MysqlEngine: user name limits', () => {
  test('maxUsernameLength by engine name; usernameLength counts characters, not bytes', () => {
    expect(engine.maxUsernameLength('mariadb')).toBe(80);
    expect(engine.maxUsernameLength('mysql')).toBe(32);
    expect(engine.maxUsernameLength('aurora-mysql')).toBe(32);
    expect(engine.usernameLength('abc')).toBe(3);
    expect(engine.usernameLength('ü日本')).toBe(3);
    expect(engine.usernameLength('😀x')).toBe(2); // one code point outside the BMP, two UTF-16 units
  });

  test('a target over 80 characters fails with a configuration error before any SQL; 80 unicode characters work', async () => {
    const source = unique('len_src');
    await createSource(source, 'src-Pw-1');
    const tooLong = 'a'.repeat(81);
    const e = await rotationFailure(sync(tooLong, source, 'long-secret-Pw-1'));
    expect(e.category).toBe('configuration');
    expect(e.code).toBe('USERNAME_TOO_LONG');
    expect(e.message).toMatch(/81 characters long; MariaDB allows at most 80/);
    expect(e.message).not.toContain('long-secret-Pw-1');
    expect(await hostsOf(tooLong)).toEqual([]); // the server itself (10.11) would have accepted it

    const eighty = `${'ü'.repeat(70)}${String(seq).padStart(10, '0')}`;
    expect(engine.usernameLength(eighty)).toBe(80);
    await sync(eighty, source, 'long-Pw-2');
    await expect(canLoginMariadb(server, eighty, 'long-Pw-2')).resolves.toBe(true);
  });
});

describe('syncAlternateUser on MariaDB', () => {
  test('a missing target is created with the password and exactly the source\'s grants', async () => {
    const source = unique('app');
    const target = `${source}_clone`;
    const db = unique('db');
    await createSource(source, 'source-Pw-1');
    await q(`CREATE DATABASE ${mysql.escapeId(db)}`);
    await q(`CREATE TABLE ${mysql.escapeId(db)}.t (a INT, b INT)`);
    await q(`CREATE PROCEDURE ${mysql.escapeId(db)}.p() SELECT 1`);
    await q(`GRANT SELECT, INSERT ON ${mysql.escapeId(db)}.* TO ?@? WITH GRANT OPTION`, [source, '%']);
    await q(`GRANT SELECT (a), UPDATE (a, b) ON ${mysql.escapeId(db)}.t TO ?@?`, [source, '%']);
    await q(`GRANT EXECUTE ON PROCEDURE ${mysql.escapeId(db)}.p TO ?@?`, [source, '%']);
    await q('GRANT PROCESS ON *.* TO ?@?', [source, '%']);
    await q('GRANT PROXY ON ?@? TO ?@?', [server.superuser.username, '%', source, '%']);

    const pw = newPassword();
    await sync(target, source, pw);

    await expect(canLoginMariadb(server, target, pw)).resolves.toBe(true);
    await expect(canLoginMariadb(server, target, 'source-Pw-1')).resolves.toBe(false);
    await expect(canLoginMariadb(server, source, 'source-Pw-1')).resolves.toBe(true);
    await expectSameAsSource(target, source);
    // The source's password hash was not copied: the target's is the hash of its own password.
    const [row] = (await q('SELECT authentication_string AS h FROM mysql.user WHERE User = ?', [target])).rows;
    expect(row.h).toBe(mysqlNativePasswordHash(pw));

    // Run again with the same password: nothing changes, still equal.
    await sync(target, source, pw);
    await expectSameAsSource(target, source);
    await expect(canLoginMariadb(server, target, pw)).resolves.toBe(true);
  });

  test('a sync with nothing to change touches no grant; the password reaches SQL only as its hash, as a placeholder value', async () => {
    const source = unique('steady');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);
    await q('CREATE ROLE ?', [`${source}_r`]);
    await q('GRANT ? TO ?@?', [`${source}_r`, source, '%']);
    await q('SET DEFAULT ROLE ? FOR ?@?', [`${source}_r`, source, '%']);
    await q('ALTER USER ?@? REQUIRE SSL WITH MAX_USER_CONNECTIONS 4', [source, '%']);

    const record = async (password: string) => withSession(masterSecret(), async (admin) => {
      // Looks inside the session to see every statement it sends.
      const conn = (admin as unknown as { conn: { query: (o: { sql: string; values?: unknown[] }) => Promise<unknown> } }).conn;
      const sent: Array<{ sql: string; values: unknown[] }> = [];
      const original = conn.query.bind(conn);
      conn.query = (o) => {
        sent.push({ sql: o.sql, values: o.values ?? [] });
        return original(o);
      };
      await admin.syncAlternateUser({ target, source, baseUser: source, password });
      return sent;
    });
    const first = await record('steady-Pw-1');
    expect(first.some((s) => /^CREATE USER/.test(s.sql))).toBe(true);
    const second = await record('steady-Pw-2');
    expect(second.filter((s) => /^(GRANT|REVOKE|DROP|ALTER|SET DEFAULT ROLE|CREATE)/.test(s.sql))).toEqual([]);
    // The usual rotation in six statements (each a round trip): nothing but the password changed,
    // so what was read last is what is compared (no read-back).
    const accounts = 'SELECT User AS user, Host AS host, ssl_type AS sslType, ssl_cipher AS sslCipher, x509_issuer AS x509Issuer, x509_subject AS x509Subject, max_questions AS maxQuestions, max_updates AS maxUpdates, max_connections AS maxConnections, max_user_connections AS maxUserConnections, max_statement_time AS maxStatementTime, default_role AS defaultRole';
    expect(second.map((s) => s.sql.split(/ (FROM|FOR|=) /)[0])).toEqual([accounts, 'SHOW CREATE USER ?@?', 'SET PASSWORD', 'SHOW GRANTS', 'SHOW GRANTS', accounts]);
    expect(second[0].values).toEqual([source, target]);
    expect(second[5].values).toEqual([target]);
    await expectSameAsSource(target, source);
    await expect(canLoginMariadb(server, target, 'steady-Pw-2', { ssl: 'verify-full' })).resolves.toBe(true);

    for (const [sent, pw] of [[first, 'steady-Pw-1'], [second, 'steady-Pw-2']] as const) {
      // The password never reaches SQL, not even as a placeholder value: only its hash does, once.
      for (const s of sent) expect(JSON.stringify([s.sql, s.values])).not.toContain(pw);
      const carrying = sent.filter((s) => s.values.includes(mysqlNativePasswordHash(pw))).map((s) => s.sql);
      expect(carrying.length).toBe(1);
      expect(carrying[0]).toMatch(/^(CREATE USER IF NOT EXISTS \?@\? IDENTIFIED BY PASSWORD \?|SET PASSWORD FOR \?@\? = \?)$/);
    }
  });

  test('what was changed is read back: a grant the server took without applying fails the sync as ALTERNATE_USER_DIFFERS', async () => {
    const source = unique('readback');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await sync(target, source, 'readback-Pw-1');
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);
    // MariaDB shows one line per level (SELECT, SHOW VIEW ON appdb.*): the sync revokes the
    // target's and grants that line. The GRANT answers OK without reaching the server (as if another session
    // revoked it at once): only reading the grants again shows the target still lacks it.
    const e = await rotationFailure(withSession(masterSecret(), async (admin) => {
      const conn = (admin as unknown as { conn: { query: (o: { sql: string }) => Promise<unknown> } }).conn;
      const original = conn.query.bind(conn);
      conn.query = (o) => (/^GRANT SELECT, SHOW VIEW ON `appdb`/.test(o.sql) ? Promise.resolve([{ affectedRows: 0 }, undefined]) : original(o));
      await admin.syncAlternateUser({ target, source, baseUser: source, password: 'readback-Pw-2' });
    }));
    expect(e.category).toBe('conflict');
    expect(e.code).toBe('ALTERNATE_USER_DIFFERS');
    expect(e.message).toMatch(/grants \(missing: privileges SELECT, SHOW VIEW ON `appdb`\.\*; extra: none\)/);
    expect(e.message).not.toContain('readback-Pw-2');
  });

  test('a change another session makes to the alternate user during the sync (TLS requirement, limits) is repaired', async () => {
    const source = unique('race');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await q('ALTER USER ?@? REQUIRE SSL WITH MAX_USER_CONNECTIONS 5', [source, '%']);
    await sync(target, source, 'race-Pw-1');
    let done = false;
    await withSession(masterSecret(), async (admin) => {
      const conn = (admin as unknown as { conn: { query: (o: { sql: string }) => Promise<unknown> } }).conn;
      const original = conn.query.bind(conn);
      conn.query = async (o) => {
        // Another admin session, after the sync's first read of both accounts.
        if (!done && /^SET PASSWORD/.test(o.sql)) {
          done = true;
          await q('ALTER USER ?@? REQUIRE NONE WITH MAX_USER_CONNECTIONS 0', [target, '%']);
        }
        return original(o);
      };
      await admin.syncAlternateUser({ target, source, baseUser: source, password: 'race-Pw-2' });
    });
    expect(done).toBe(true);
    const rows = (await q('SELECT User AS u, ssl_type AS t, max_user_connections AS c FROM mysql.user WHERE User IN (?, ?) ORDER BY User', [source, target])).rows;
    expect(rows.map((r) => [r.t, Number(r.c)])).toEqual([['ANY', 5], ['ANY', 5]]);
  });

  test('mysql.user\'s columns in another collation than the connection\'s (the server\'s tables made as Debian\'s packages make them, utf8mb4_general_ci): the sync works', async () => {
    const source = unique('coll');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await withSession(masterSecret(), async (admin) => {
      // The condition: mysql.user is a view whose computed columns (is_role) have the collation of
      // its making; a literal has the connection's. Same charset, two collations: 1267 unless one is explicit.
      const conn = (admin as unknown as { conn: { query: (sql: string) => Promise<[Array<Record<string, string>>]> } }).conn;
      const [[row]] = await conn.query('SELECT COLLATION(is_role) AS v, @@collation_connection AS c FROM mysql.user LIMIT 1');
      expect(row.v).toBe('utf8mb4_general_ci');
      expect(row.c).not.toBe(row.v);
      for (const pw of ['coll-Pw-2', 'coll-Pw-3']) await admin.syncAlternateUser({ target, source, baseUser: source, password: pw });
    });
    await expectSameAsSource(target, source);
    await expect(canLoginMariadb(server, target, 'coll-Pw-3')).resolves.toBe(true);
  });

  test('grants follow the source: added, revoked, and grants of the target alone removed', async () => {
    const source = unique('follow');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await q('CREATE TABLE IF NOT EXISTS appdb.items (id INT)');
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);
    await q('GRANT PROCESS ON *.* TO ?@?', [source, '%']);
    const pw1 = newPassword();
    await sync(target, source, pw1);
    await expectSameAsSource(target, source);

    // Granted to the source later: appears on the target with the next sync.
    await q('GRANT UPDATE ON appdb.items TO ?@?', [source, '%']);
    const pw2 = newPassword();
    await sync(target, source, pw2);
    expect((await normalizedGrants(target, '%')).join('\n')).toContain('GRANT UPDATE ON `appdb`.`items` TO <grantee>');
    await expectSameAsSource(target, source);
    await expect(canLoginMariadb(server, target, pw2)).resolves.toBe(true);
    await expect(canLoginMariadb(server, target, pw1)).resolves.toBe(false);

    // Revoked from the source: disappears from the target.
    await q('REVOKE PROCESS ON *.* FROM ?@?', [source, '%']);
    await q('REVOKE UPDATE ON appdb.items FROM ?@?', [source, '%']);
    await sync(target, source, newPassword());
    expect((await normalizedGrants(target, '%')).join('\n')).not.toMatch(/PROCESS|UPDATE/);
    await expectSameAsSource(target, source);

    // Granted to the target directly: privileges, a table grant, a proxy grant and a role all go.
    const role = unique('stray_role');
    await q('CREATE ROLE ?', [role]);
    await q('GRANT DELETE ON appdb.* TO ?@?', [target, '%']);
    await q('GRANT INSERT ON appdb.items TO ?@?', [target, '%']);
    await q('GRANT RELOAD ON *.* TO ?@? WITH GRANT OPTION', [target, '%']);
    await q('GRANT PROXY ON ?@? TO ?@?', [server.superuser.username, '%', target, '%']);
    await q('GRANT ? TO ?@?', [role, target, '%']);
    await q('SET DEFAULT ROLE ? FOR ?@?', [role, target, '%']);
    await sync(target, source, newPassword());
    await expectSameAsSource(target, source);
    const [def] = (await q('SELECT default_role AS r FROM mysql.user WHERE User = ?', [target])).rows;
    expect(def.r).toBe('');
  });

  test('a grant on an object dropped since is cleared from the target', async () => {
    const source = unique('dropped');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);
    await sync(target, source, newPassword());
    await q('CREATE TABLE appdb.gone (a INT)');
    await q('GRANT SELECT ON appdb.gone TO ?@?', [target, '%']);
    await q('DROP TABLE appdb.gone');
    await sync(target, source, newPassword());
    await expectSameAsSource(target, source);
  });

  test('every host entry of the source is copied; host entries of the target the source lacks are dropped', async () => {
    const source = unique('hosts');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1', ['%', '10.%']);
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);
    await q('GRANT SELECT, INSERT ON appdb.* TO ?@?', [source, '10.%']);
    await q('ALTER USER ?@? WITH MAX_USER_CONNECTIONS 3', [source, '10.%']);
    // A stale entry of the target, from a host the source no longer has.
    await q('CREATE USER ?@? IDENTIFIED BY ?', [target, '192.168.%', 'stale-Pw-1']);
    await q('GRANT ALL PRIVILEGES ON appdb.* TO ?@?', [target, '192.168.%']);

    const pw = newPassword();
    await sync(target, source, pw);
    expect(await hostsOf(target)).toEqual(['%', '10.%']);
    await expectSameAsSource(target, source, ['%', '10.%']);
    const rows = (await q('SELECT Host AS host, max_user_connections AS m, authentication_string AS h FROM mysql.user WHERE User = ? ORDER BY Host', [target])).rows;
    expect(rows.map((r) => [r.host, r.m, r.h === mysqlNativePasswordHash(pw)])).toEqual([['%', 0, true], ['10.%', 3, true]]);

    // A host entry added to the source later reaches the target with the next sync.
    await q('CREATE USER ?@? IDENTIFIED BY ?', [source, 'localhost', 'source-Pw-1']);
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, 'localhost']);
    await sync(target, source, newPassword());
    await expectSameAsSource(target, source, ['%', '10.%', 'localhost']);
  });

  test('REQUIRE SSL and resource limits are copied; the target refuses plaintext', async () => {
    const source = unique('tls');
    const target = `${source}_clone`;
    await q('CREATE USER ?@? IDENTIFIED BY ? REQUIRE SSL WITH MAX_USER_CONNECTIONS 7 MAX_QUERIES_PER_HOUR 1000 MAX_UPDATES_PER_HOUR 500 MAX_CONNECTIONS_PER_HOUR 200 MAX_STATEMENT_TIME 2.5',
      [source, '%', 'source-Pw-1']);
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);
    const pw = newPassword();
    await sync(target, source, pw);

    await expect(canLoginMariadb(server, target, pw, { ssl: 'verify-full' })).resolves.toBe(true);
    await expect(canLoginMariadb(server, target, pw, { ssl: 'disable' })).resolves.toBe(false);
    const show = async (user: string) => String(Object.values((await q('SHOW CREATE USER ?@?', [user, '%'])).rows[0])[0])
      .replace(quotedGrantee(user, '%'), '<grantee>').replace(/ IDENTIFIED BY PASSWORD '[^']*'/, '');
    expect(await show(target)).toBe(await show(source));
    expect(await show(target)).toMatch(/REQUIRE SSL WITH MAX_QUERIES_PER_HOUR 1000 MAX_UPDATES_PER_HOUR 500 MAX_CONNECTIONS_PER_HOUR 200 MAX_USER_CONNECTIONS 7 MAX_STATEMENT_TIME 2\.5/);

    // ISSUER / SUBJECT / CIPHER with quotes and backslashes in them, all through placeholders.
    await q('ALTER USER ?@? REQUIRE ISSUER ? AND SUBJECT ? AND CIPHER ? WITH MAX_USER_CONNECTIONS 0 MAX_STATEMENT_TIME 0',
      [source, '%', "/C=x'y/O=a\\b", '/CN=sub "j"', 'ECDHE-RSA-AES256-GCM-SHA384']);
    await sync(target, source, newPassword());
    expect(await show(target)).toBe(await show(source));
    const cols = 'ssl_type, ssl_cipher, x509_issuer, x509_subject, max_questions, max_updates, max_connections, max_user_connections, max_statement_time';
    const props = async (user: string) => (await q(`SELECT ${cols} FROM mysql.user WHERE User = ?`, [user])).rows;
    expect(await props(target)).toEqual(await props(source));
    expect((await props(target))[0].x509_issuer).toBe("/C=x'y/O=a\\b");

    // Back to no requirement, no limits.
    await q('ALTER USER ?@? REQUIRE NONE WITH MAX_QUERIES_PER_HOUR 0 MAX_UPDATES_PER_HOUR 0 MAX_CONNECTIONS_PER_HOUR 0', [source, '%']);
    const pw3 = newPassword();
    await sync(target, source, pw3);
    expect(await props(target)).toEqual(await props(source));
    await expect(canLoginMariadb(server, target, pw3, { ssl: 'disable' })).resolves.toBe(true);
  });

  test('role grants and the default role are replicated, and removed with the source\'s', async () => {
    const source = unique('roles');
    const target = `${source}_clone`;
    const db = unique('roledb');
    const role = unique('reader');
    const adminRole = unique('manager');
    await createSource(source, 'source-Pw-1');
    await q(`CREATE DATABASE ${mysql.escapeId(db)}`);
    await q(`CREATE TABLE ${mysql.escapeId(db)}.t (a INT)`);
    await q('CREATE ROLE ?', [role]);
    await q('CREATE ROLE ?', [adminRole]);
    await q(`GRANT SELECT ON ${mysql.escapeId(db)}.* TO ?`, [role]);
    await q('GRANT ? TO ?@?', [role, source, '%']);
    await q('GRANT ? TO ?@? WITH ADMIN OPTION', [adminRole, source, '%']);
    await q('SET DEFAULT ROLE ? FOR ?@?', [role, source, '%']);

    const pw = newPassword();
    await sync(target, source, pw);
    await expectSameAsSource(target, source);
    expect((await normalizedGrants(target, '%')).join('\n')).toContain(`SET DEFAULT ROLE \`${role}\` FOR <grantee>`);

    // The target logs in with the role active and can use its privilege.
    const conn = await mysql.createConnection({
      host: server.host, port: server.port, user: target, password: pw, ssl: { ca: readFileSync(server.caFile!, 'utf8') },
    });
    conn.on('error', () => undefined);
    try {
      const [rows] = await conn.query(`SELECT CURRENT_ROLE() AS r, (SELECT COUNT(*) FROM ${mysql.escapeId(db)}.t) AS n`);
      expect(rows).toEqual([{ r: role, n: 0 }]);
    } finally {
      await conn.end();
    }

    // Roles leave the source: they leave the target too.
    await q('SET DEFAULT ROLE NONE FOR ?@?', [source, '%']);
    await q('REVOKE ? FROM ?@?', [role, source, '%']);
    await q('REVOKE ? FROM ?@?', [adminRole, source, '%']);
    await q('GRANT ? TO ?@?', [adminRole, source, '%']); // now without ADMIN OPTION
    await sync(target, source, newPassword());
    await expectSameAsSource(target, source);
    const grants = (await normalizedGrants(target, '%')).join('\n');
    expect(grants).not.toContain(role);
    expect(grants).not.toContain('ADMIN OPTION');
  });

  test('hostile names: quotes, backticks, spaces, backslashes, unicode; a database named like the user', async () => {
    const source = `o'b "q" \`tick\` sp\\ ü日本 TO @ ${++seq}`;
    const target = `${source}_clone`;
    // Databases whose names contain the user names (and a placeholder mark): a text replacement of
    // the user name inside the GRANT text would turn the first into the second.
    const dbOfSource = `${source} ?`;
    const dbOfTarget = `${target} ?`;
    await createSource(source, 'source-Pw-1', ['%', "h'o`s t"]);
    for (const db of [dbOfSource, dbOfTarget]) await q(`CREATE DATABASE ${mysql.escapeId(db, true)}`);
    await q(`CREATE TABLE ${mysql.escapeId(dbOfSource, true)}.${mysql.escapeId(source, true)} (${mysql.escapeId(source, true)} INT)`);
    for (const host of ['%', "h'o`s t"]) {
      await q(`GRANT SELECT, INSERT ON ${mysql.escapeId(dbOfSource, true)}.* TO ?@?`, [source, host]);
      await q(`GRANT UPDATE (${mysql.escapeId(source, true)}) ON ${mysql.escapeId(dbOfSource, true)}.${mysql.escapeId(source, true)} TO ?@?`, [source, host]);
    }
    const pw = `it's "quoted" \\ ; -- ?`;
    await sync(target, source, pw);
    await expect(canLoginMariadb(server, target, pw)).resolves.toBe(true);
    await expectSameAsSource(target, source, ['%', "h'o`s t"]);
    const grants = (await normalizedGrants(target, '%')).join('\n');
    expect(grants).toContain(`ON ${mysql.escapeId(dbOfSource, true)}.*`);
    expect(grants).not.toContain(mysql.escapeId(dbOfTarget, true));
    const dbs = (await q('SELECT Db AS db FROM mysql.db WHERE User = ?', [target])).rows.map((r) => r.db);
    expect(dbs.filter((d) => d !== 'appdb')).toEqual([dbOfSource, dbOfSource]);
  });

  test('refusals: unknown source, target = source, target = master; nothing is changed', async () => {
    const missing = await rotationFailure(sync(unique('clone'), unique('nobody'), 'refusal-Pw-1'));
    expect(missing.category).toBe('configuration');
    expect(missing.code).toBe('NO_SUCH_USER');

    const source = unique('refuse');
    await createSource(source, 'source-Pw-1');
    const same = await rotationFailure(sync(source, source, 'refusal-Pw-1'));
    expect(same.code).toBe('SAME_USER');
    const master = await rotationFailure(sync(server.superuser.username, source, 'refusal-Pw-1'));
    expect(master.code).toBe('TARGET_IS_MASTER');
    await expect(canLoginMariadb(server, server.superuser.username, server.superuser.password)).resolves.toBe(true);
    for (const e of [missing, same, master]) expect(e.message).not.toContain('refusal-Pw-1');
  });

  test('an alternate user (or a current user) whose plugin the function cannot hash is refused before anything changes', async () => {
    await q("INSTALL SONAME 'auth_ed25519'").catch((e) => {
      if ((e as { errno?: number }).errno !== 1968) throw e; // already installed
    });
    const source = unique('edsrc');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    // The target exists with ed25519 on '%' and has a stale entry that a sync would drop first.
    await q('CREATE USER ?@? IDENTIFIED VIA ed25519 USING PASSWORD(?)', [target, '%', 'old-Pw-1']);
    await q('CREATE USER ?@? IDENTIFIED BY ?', [target, '192.168.%', 'stale-Pw-1']);
    const snapshot = async () => (await q('SELECT Host AS host, plugin, authentication_string AS h FROM mysql.user WHERE User = ? ORDER BY Host', [target])).rows;
    const before = await snapshot();
    const e = await rotationFailure(sync(target, source, 'refused-Pw-1'));
    expect(e.category).toBe('configuration');
    expect(e.code).toBe('UNSUPPORTED_AUTH_PLUGIN');
    expect(e.message).not.toContain('refused-Pw-1');
    expect(await snapshot()).toEqual(before);

    // A missing target is made with the current user's plugin: an ed25519 current user is refused too.
    const edSource = unique('edsrc');
    await q('CREATE USER ?@? IDENTIFIED VIA ed25519 USING PASSWORD(?)', [edSource, '%', 'source-Pw-1']);
    const missing = await rotationFailure(sync(`${edSource}_clone`, edSource, 'refused-Pw-2'));
    expect(missing.code).toBe('UNSUPPORTED_AUTH_PLUGIN');
    expect(await hostsOf(`${edSource}_clone`)).toEqual([]);
  });

  test('a master without the needed privileges: permission errors that say what is needed, never the password', async () => {
    const source = unique('perm');
    const target = `${source}_clone`;
    await createSource(source, 'source-Pw-1');
    await q('GRANT PROCESS ON *.* TO ?@?', [source, '%']);
    await q('GRANT SELECT ON appdb.* TO ?@?', [source, '%']);

    // May read the mysql schema, but not create users.
    const reader = unique('reader_master');
    await q('CREATE USER ?@? IDENTIFIED BY ?', [reader, '%', 'reader-Pw-1']);
    await q('GRANT SELECT ON *.* TO ?@?', [reader, '%']);
    const secretPw = "perm-secret-Pw-'1";
    const noCreate = await rotationFailure(sync(target, source, secretPw, secretAs(reader, 'reader-Pw-1')));
    expect(noCreate.category).toBe('permission');
    expect(noCreate.code).toBe('1227');
    expect(noCreate.message).toMatch(/could not create .*_clone"@"%"/);
    expect(noCreate.message).toMatch(/CREATE USER/);

    // May create users, but holds no privilege to pass on (no GRANT OPTION).
    const creator = unique('creator_master');
    await q('CREATE USER ?@? IDENTIFIED BY ?', [creator, '%', 'creator-Pw-1']);
    await q('GRANT CREATE USER, SELECT ON *.* TO ?@?', [creator, '%']);
    const noGrant = await rotationFailure(sync(target, source, secretPw, secretAs(creator, 'creator-Pw-1')));
    expect(noGrant.category).toBe('permission'); // 1045 on GRANT PROCESS: a missing privilege, not a login failure
    expect(['1044', '1045']).toContain(noGrant.code);
    expect(noGrant.message).toMatch(/WITH GRANT OPTION/);

    for (const e of [noCreate, noGrant]) {
      expect(e.message).not.toContain(secretPw);
      expect(e.message).not.toContain(mysql.escape(secretPw).slice(1, -1));
      expect(e.message).not.toContain('reader-Pw-1');
      expect(e.message).not.toContain('creator-Pw-1');
      expect(JSON.stringify(e.toLog())).not.toContain(secretPw);
    }
  });
});

describe('parseGrantLine', () => {
  const u = { user: 'u', host: '%' };
  const parse = (line: string, grantee = u, ansiQuotes = false) => parseGrantLine(line, grantee, { ansiQuotes });

  test('MariaDB: the global line drops the password hash, REQUIRE and limits, keeps WITH GRANT OPTION', () => {
    const g = parse("GRANT PROCESS, RELOAD ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*2B602296A79E0A8784ACC5C88D92E46588CCA3C3' REQUIRE SSL WITH GRANT OPTION MAX_QUERIES_PER_HOUR 5 MAX_STATEMENT_TIME 2.500000");
    expect(g).toEqual({ kind: 'privileges', what: 'PROCESS, RELOAD ON *.*', grantOption: true, adminOption: false });
    expect(grantStatement(g!)).toBe('GRANT PROCESS, RELOAD ON *.* TO ?@? WITH GRANT OPTION');
    expect(parse("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED BY PASSWORD '*2B60' REQUIRE X509")).toBeNull();
    expect(parse('GRANT USAGE ON *.* TO `u`@`%` WITH GRANT OPTION')?.grantOption).toBe(true);
    expect(parse("GRANT USAGE ON *.* TO `u`@`%` IDENTIFIED VIA ed25519 USING 'GRANT OPTION'")).toBeNull();
    expect(parse('SET DEFAULT ROLE `r1` FOR `u`@`%`')).toBeNull();
  });

  test('MariaDB: columns, routines, proxy and roles', () => {
    expect(parse('GRANT SELECT (`a`), UPDATE (`a`, `b`) ON `appdb`.`t` TO `u`@`%`')?.what).toBe('SELECT (`a`), UPDATE (`a`, `b`) ON `appdb`.`t`');
    expect(parse('GRANT EXECUTE ON PROCEDURE `appdb`.`p` TO `u`@`%`')?.what).toBe('EXECUTE ON PROCEDURE `appdb`.`p`');
    expect(parse('GRANT PROXY ON `admin`@`%` TO `u`@`%` WITH GRANT OPTION')).toEqual({ kind: 'proxy', what: 'PROXY ON `admin`@`%`', grantOption: true, adminOption: false });
    const role = parse('GRANT `r1` TO `u`@`%` WITH ADMIN OPTION')!;
    expect(role).toEqual({ kind: 'role', what: '`r1`', grantOption: false, adminOption: true });
    expect(grantStatement(role)).toBe('GRANT `r1` TO ?@? WITH ADMIN OPTION');
  });

  test('MySQL 8 shapes (from the reference manual): roles with hosts, dynamic privileges, partial revokes', () => {
    expect(parse('GRANT `r1`@`%`,`r2`@`localhost` TO `u`@`%`')).toEqual({ kind: 'role', what: '`r1`@`%`, `r2`@`localhost`', grantOption: false, adminOption: false });
    expect(parse('GRANT BACKUP_ADMIN,BINLOG_ADMIN ON *.* TO `u`@`%` WITH GRANT OPTION')?.what).toBe('BACKUP_ADMIN, BINLOG_ADMIN ON *.*');
    expect(parse('GRANT USAGE ON *.* TO `u`@`%`')).toBeNull();
    const restriction = parse('REVOKE INSERT, UPDATE ON `mysql`.* FROM `u`@`%`')!;
    expect(restriction).toEqual({ kind: 'restriction', what: 'INSERT, UPDATE ON `mysql`.*', grantOption: false, adminOption: false });
    expect(grantStatement(restriction)).toBe('REVOKE INSERT, UPDATE ON `mysql`.* FROM ?@?');
  });

  test('MySQL 5.7 shapes: single-quoted accounts', () => {
    expect(parse("GRANT SELECT ON `db`.* TO 'u'@'%'")?.what).toBe('SELECT ON `db`.*');
    expect(parse("GRANT PROXY ON ''@'' TO 'root'@'localhost' WITH GRANT OPTION", { user: 'root', host: 'localhost' })?.what).toBe("PROXY ON ''@''");
    expect(parse("GRANT SELECT ON `db`.* TO 'o\\'b'@'%'", { user: "o'b", host: '%' })).not.toBeNull();
    expect(parse("GRANT SELECT ON `db`.* TO 'o''b'@'%'", { user: "o'b", host: '%' })).not.toBeNull();
  });

  test('the grantee is found by tokens, not by text: names inside object names stay untouched', () => {
    const grantee = { user: 'TO', host: '%' };
    const g = parse('GRANT SELECT ON `TO`.`TO @ %` TO `TO`@`%`', grantee)!;
    expect(g.what).toBe('SELECT ON `TO`.`TO @ %`');
    const ticks = { user: 'a`b', host: '%' };
    expect(parse('GRANT SELECT ON `a``b`.* TO `a``b`@`%`', ticks)?.what).toBe('SELECT ON `a``b`.*');
  });

  test('ANSI_QUOTES: double-quoted identifiers come back in backticks', () => {
    expect(parse('GRANT SELECT ON "db".* TO "u"@"%"', u, true)?.what).toBe('SELECT ON `db`.*');
  });

  test('unexpected shapes and other grantees are refused with a message that quotes nothing', () => {
    expect(() => parse('GRANT SELECT ON `db`.* TO `v`@`%`')).toThrow('the grantee is another account');
    expect(() => parse('GRANT SELECT ON `db`.* TO `u`@`localhost`')).toThrow('another account');
    expect(() => parse('CREATE USER `u`@`%`')).toThrow('neither GRANT nor REVOKE');
    expect(() => parse('GRANT SELECT ON `db`.* TO `u`')).toThrow('not user@host');
    expect(() => parse('GRANT SELECT; DROP ON `db`.* TO `u`@`%`')).toThrow('unexpected character');
    expect(() => parse("GRANT SELECT ON `db TO `u`@`%`")).toThrow();
  });

  test('keys: equal lines are equal, options distinguish', () => {
    const a = parse('GRANT SELECT ON `db`.* TO `u`@`%`')!;
    const b = parse("GRANT SELECT ON `db`.* TO 'u'@'%'")!;
    const c = parse('GRANT SELECT ON `db`.* TO `u`@`%` WITH GRANT OPTION')!;
    expect(grantKey(a)).toBe(grantKey(b));
    expect(grantKey(a)).not.toBe(grantKey(c));
  });
});
