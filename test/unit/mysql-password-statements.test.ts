import { RotationError } from '../../lambda/core/errors';
import type { MysqlFlavor, Row, StatementRunner } from '../../lambda/rotation/engines/mysql/common';
import { cachingSha2PasswordHash, mysqlNativePasswordHash, sha256CryptDigest } from '../../lambda/rotation/engines/mysql/password-hash';
import { createWithPasswordHash, hashablePluginOf, setPasswordHash } from '../../lambda/rotation/engines/mysql/password';

/**
 * The statements that set a password, per server flavor, against a recording runner. MariaDB's are
 * also run against a real server (test/rotation/mysql-*.test.ts, server-statement-log.test.ts); the
 * MySQL 8 / 5.7 ones only here (the reference manual's syntax; no MySQL server runs in the tests).
 */

interface Sent {
  sql: string;
  values: unknown[];
  alsoSecret: string[];
}

/** A StatementRunner that records statements and answers SHOW CREATE USER with `createUserLine`. */
function recorder(flavor: MysqlFlavor, createUserLine: string): StatementRunner & { sent: Sent[] } {
  const sent: Sent[] = [];
  return {
    sent,
    flavor,
    account: { user: 'app', host: '%' },
    ansiQuotes: false,
    async run(_what: string, sql: string, values: unknown[] = [], alsoSecret: string[] = []) {
      sent.push({ sql, values, alsoSecret });
      return { warningStatus: 0 };
    },
    async rows(_what: string, sql: string, values: unknown[] = []): Promise<Row[]> {
      sent.push({ sql, values, alsoSecret: [] });
      return sql.startsWith('SHOW CREATE USER') ? [{ 'CREATE USER for app@%': createUserLine }] : [];
    },
    error(category, code, what, text, action) {
      return new RotationError({ category, code, message: `MySQL: could not ${what}: ${text}`, action });
    },
    escape: (v: string) => `'${v.replace(/'/g, "\\'")}'`,
  };
}

const PASSWORD = "next-Pw-1'\\x";

async function ownChange(flavor: MysqlFlavor, line: string) {
  const db = recorder(flavor, line);
  const plugin = await hashablePluginOf(db, { own: true });
  await setPasswordHash(db, { own: true }, plugin, PASSWORD, 'change the password');
  return db.sent;
}

describe('statements that set a password carry its hash, never the password', () => {
  test('MariaDB: SET PASSWORD [FOR u@h] = <mysql_native_password hash>; CREATE USER ... IDENTIFIED BY PASSWORD', async () => {
    const line = "CREATE USER `app`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'";
    expect(await ownChange('mariadb', line)).toEqual([
      { sql: 'SHOW CREATE USER CURRENT_USER()', values: [], alsoSecret: [] },
      { sql: 'SET PASSWORD = ?', values: [mysqlNativePasswordHash(PASSWORD)], alsoSecret: [PASSWORD, "next-Pw-1\\'\\x", mysqlNativePasswordHash(PASSWORD)] },
    ]);
    const db = recorder('mariadb', line);
    await setPasswordHash(db, { user: 'other', host: '10.%' }, 'mysql_native_password', PASSWORD, 'x');
    expect(await createWithPasswordHash(db, 'other_clone', '%', 'mysql_native_password', PASSWORD, 'x')).toBe(true);
    expect(db.sent.map((s) => [s.sql, s.values])).toEqual([
      ['SET PASSWORD FOR ?@? = ?', ['other', '10.%', mysqlNativePasswordHash(PASSWORD)]],
      ['CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?', ['other_clone', '%', mysqlNativePasswordHash(PASSWORD)]],
    ]);
  });

  test('MySQL 8: ALTER USER ... IDENTIFIED WITH <the account\'s plugin> AS <hash> (caching_sha2_password and mysql_native_password)', async () => {
    const sha2 = await ownChange('mysql8', "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x24412430303524 REQUIRE NONE");
    // The application's own account: the one form MySQL allows without CREATE USER (MySQL rewrites it in its logs).
    expect(sha2[1]).toMatchObject({ sql: 'ALTER USER USER() IDENTIFIED BY ?', values: [PASSWORD] });

    const native = await ownChange('mysql8', "CREATE USER `app`@`%` IDENTIFIED WITH 'mysql_native_password' AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE NONE");
    expect(native[1]).toMatchObject({ sql: 'ALTER USER USER() IDENTIFIED BY ?', values: [PASSWORD] });

    // Another account (a master's statements): the hash the account's plugin stores.
    const db = recorder('mysql8', '');
    await setPasswordHash(db, { user: 'other', host: '%' }, 'caching_sha2_password', PASSWORD, 'x');
    await createWithPasswordHash(db, 'other_clone', '%', 'caching_sha2_password', PASSWORD, 'x');
    expect(db.sent.map((s) => s.sql)).toEqual([
      'ALTER USER ?@? IDENTIFIED WITH caching_sha2_password AS ?',
      'CREATE USER IF NOT EXISTS ?@? IDENTIFIED WITH caching_sha2_password AS ?',
    ]);
    const hash = String(db.sent[0].values[2]);
    expect(hash).toMatch(/^\$A\$005\$[./0-9A-Za-z]{63}$/);
    expect(hash.slice(27)).toBe(sha256CryptDigest(Buffer.from(PASSWORD), Buffer.from(hash.slice(7, 27))));
    expect(db.sent[0].alsoSecret).toContain(hash);
    expect(cachingSha2PasswordHash(PASSWORD)).not.toBe(db.sent[0].values[2]); // a fresh salt each time
  });

  test('MySQL 5.7: mysql_native_password only', async () => {
    const sent = await ownChange('mysql57', "CREATE USER 'app'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE NONE");
    expect(sent[1]).toMatchObject({ sql: 'ALTER USER USER() IDENTIFIED BY ?', values: [PASSWORD] });
    await expect(ownChange('mysql57', "CREATE USER 'app'@'%' IDENTIFIED WITH 'caching_sha2_password' AS 'x'")).rejects.toMatchObject({ code: 'UNSUPPORTED_AUTH_PLUGIN' });
  });

  test('no MariaDB statement holds the password; on MySQL only the own-account ALTER USER USER() does (MySQL rewrites it in its logs)', async () => {
    const lines: Record<MysqlFlavor, string> = {
      mariadb: 'CREATE USER `app`@`%`',
      mysql8: "CREATE USER `app`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 'x'",
      mysql57: "CREATE USER `app`@`%` IDENTIFIED WITH 'mysql_native_password' AS 'x'",
    };
    for (const flavor of ['mariadb', 'mysql8', 'mysql57'] as const) {
      const sent = await ownChange(flavor, lines[flavor]);
      const carrying = sent.filter((s) => JSON.stringify(s.values).includes('next-Pw-1')).map((s) => s.sql);
      expect({ flavor, carrying }).toEqual({ flavor, carrying: flavor === 'mariadb' ? [] : ['ALTER USER USER() IDENTIFIED BY ?'] });
    }
  });
});

describe('refusals come before any change', () => {
  test.each([
    ['mariadb', "CREATE USER `app`@`%` IDENTIFIED VIA ed25519 USING 'RBIiSdwSgBldhFZLFzRCTTc1Q0pRJ3pFZudlQ78k40o'", 'ed25519'],
    ['mariadb', 'CREATE USER `app`@`%` IDENTIFIED VIA unix_socket', 'unix_socket'],
    ['mariadb', "CREATE USER `app`@`%` IDENTIFIED VIA unix_socket OR mysql_native_password USING '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", 'unix_socket OR mysql_native_password'],
    ['mysql8', "CREATE USER `app`@`%` IDENTIFIED WITH 'sha256_password' AS '$5$x'", 'sha256_password'],
    ['mysql8', "CREATE USER `app`@`localhost` IDENTIFIED WITH 'auth_socket'", 'auth_socket'],
  ] as const)('%s: %s', async (flavor, line, named) => {
    const db = recorder(flavor, line);
    const e = await hashablePluginOf(db, { own: true }).then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(RotationError);
    expect(e).toMatchObject({ category: 'configuration', code: 'UNSUPPORTED_AUTH_PLUGIN' });
    expect((e as RotationError).message).toContain(named);
    expect((e as RotationError).action).toMatch(/nothing was changed/);
    expect(db.sent.map((s) => s.sql)).toEqual(['SHOW CREATE USER CURRENT_USER()']);
  });

  test('a SHOW CREATE USER line of an unknown shape is a configuration error that quotes nothing of it', async () => {
    const db = recorder('mysql8', "CREATE USER `app`@`%` IDENTIFIED BY 'a-hash-or-anything'");
    const e = await hashablePluginOf(db, { user: 'app', host: '%' }).then(() => undefined, (x: unknown) => x) as RotationError;
    expect(e).toMatchObject({ category: 'configuration', code: 'UNEXPECTED_ACCOUNT' });
    expect(e.message).not.toContain('a-hash-or-anything');
    expect(db.sent.map((s) => [s.sql, s.values])).toEqual([['SHOW CREATE USER ?@?', ['app', '%']]]);
  });
});
