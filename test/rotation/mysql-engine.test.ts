import { readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { classifyMysqlError, MysqlEngine, mysqlFlavor } from '../../lambda/rotation/engines/mysql';
import type { MysqlSession } from '../../lambda/rotation/engines/mysql/session';
import { mysqlNativePasswordHash } from '../../lambda/rotation/engines/mysql/password-hash';
import type { ConnectionSettings, DatabaseSession } from '../../lambda/rotation/engines/engine';
import { parseDatabaseSecret, type DatabaseSecret } from '../../lambda/core/database-secret';
import { canLoginMariadb, startMariadb, type MariadbServer } from '../support/mariadb-server';
import { startBlackhole, unusedPort } from '../support/blackhole';
import { rotationFailure } from '../support/rotation-error';

const engine = new MysqlEngine();
let tlsServer: MariadbServer;
let plainServer: MariadbServer;
/** TLS server whose certificate names only DNS:localhost (no IP SAN). */
let dnsOnlyServer: MariadbServer;

beforeAll(async () => {
  [tlsServer, plainServer, dnsOnlyServer] = await Promise.all([
    startMariadb({ tls: true }),
    startMariadb(),
    startMariadb({ tls: true, certSans: ['DNS:localhost'] }),
  ]);
});
afterAll(async () => {
  await Promise.all([tlsServer?.stop(), plainServer?.stop(), dnsOnlyServer?.stop()]);
});

type Server = Pick<MariadbServer, 'port' | 'superuser' | 'database'>;

function secretFor(server: Server, extra: Record<string, unknown> = {}): DatabaseSecret {
  return parseDatabaseSecret(JSON.stringify({
    engine: 'mariadb', host: '127.0.0.1', port: server.port, username: server.superuser.username,
    password: server.superuser.password, dbname: server.database, ...extra,
  }), 'AWSCURRENT');
}

const settings = (s: Partial<ConnectionSettings> = {}): ConnectionSettings => ({
  tlsMode: 'verify-full', caFile: tlsServer.caFile, connectTimeoutMs: 1000, statementTimeoutMs: 2000, ...s,
});

async function withSession<T>(p: Promise<DatabaseSession>, fn: (s: DatabaseSession) => Promise<T>): Promise<T> {
  const s = await p;
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

let userSeq = 0;
/** A login user (any name) with SELECT on appdb, created through placeholders. */
async function createUser(server: MariadbServer, name: string, password: string, opts: { hosts?: string[]; requireSsl?: boolean } = {}): Promise<void> {
  for (const host of opts.hosts ?? ['%']) {
    await server.query(`CREATE USER ?@? IDENTIFIED BY ?${opts.requireSsl ? ' REQUIRE SSL' : ''}`, [name, host, password]);
    await server.query('GRANT SELECT ON appdb.* TO ?@?', [name, host]);
  }
}
const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${++userSeq}`;

const userSecret = (server: Server, username: string, password: string) => ({ ...secretFor(server), username, password });

describe('MySQL engine: connections', () => {
  test('verify-full with the right CA logs in over TLS (IP host and DNS host)', async () => {
    await withSession(engine.connect(secretFor(tlsServer), settings()), async (s) => {
      await s.probe();
      expect(await s.sessionUser()).toBe(tlsServer.superuser.username);
    });
    await withSession(engine.connect(secretFor(tlsServer, { host: 'localhost' }), settings()), async (s) => {
      expect(await s.sessionUser()).toBe(tlsServer.superuser.username);
    });
  });

  test('the engine detects MariaDB', async () => {
    await withSession(engine.connect(secretFor(tlsServer), settings()), async (s) => {
      expect((s as unknown as { serverFlavor: string }).serverFlavor).toBe('mariadb');
    });
  });

  test('verify-full with another CA fails with category tls', async () => {
    const e = await rotationFailure(engine.connect(secretFor(tlsServer), settings({ caFile: tlsServer.otherCaFile })));
    expect(e.category).toBe('tls');
    expect(e.code).toBe('HANDSHAKE_SSL_ERROR');
    expect(e.message).toMatch(/never falls back to plaintext/);
    expect(e.message).not.toContain(tlsServer.superuser.password);
  });

  test('verify-full checks the host: an IP host needs an IP SAN', async () => {
    const s = { ...secretFor(dnsOnlyServer), host: '127.0.0.1' };
    const e = await rotationFailure(engine.connect(s, settings({ caFile: dnsOnlyServer.caFile })));
    expect(e.category).toBe('tls');
    expect(e.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    await withSession(engine.connect({ ...s, host: 'localhost' }, settings({ caFile: dnsOnlyServer.caFile })), async (session) => {
      await session.probe();
    });
    // require encrypts without verifying: the same certificate is accepted.
    await withSession(engine.connect(s, settings({ tlsMode: 'require', caFile: undefined })), async (session) => {
      await session.probe();
    });
  });

  test('server without TLS and mode verify-full: fails, no plaintext fallback', async () => {
    const e = await rotationFailure(engine.connect(secretFor(plainServer), settings()));
    expect(e.category).toBe('tls');
    expect(e.code).toBe('HANDSHAKE_NO_SSL_SUPPORT');
    expect(e.message).not.toContain(plainServer.superuser.password);
  });

  test('server without TLS and mode require: fails too', async () => {
    const e = await rotationFailure(engine.connect(secretFor(plainServer), settings({ tlsMode: 'require' })));
    expect(e.category).toBe('tls');
  });

  test('mode disable is plaintext only when asked', async () => {
    await withSession(engine.connect(secretFor(plainServer), settings({ tlsMode: 'disable' })), async (s) => {
      await s.probe();
      expect(await s.sessionUser()).toBe(plainServer.superuser.username);
    });
  });

  test('wrong password: authentication with code 1045, password never in the message', async () => {
    const s = { ...secretFor(tlsServer), password: 'definitely-wrong-Pw1' };
    const e = await rotationFailure(engine.connect(s, settings()));
    expect(e.category).toBe('authentication');
    expect(e.code).toBe('1045');
    expect(e.message).toMatch(/^\[authentication\] MySQL: could not log in as rotor_admin@127\.0\.0\.1:\d+\/appdb: Access denied/);
    expect(e.message).not.toContain('definitely-wrong-Pw1');
    expect(e.message).not.toContain(tlsServer.superuser.password);
  });

  test('connection refused: category network', async () => {
    const port = await unusedPort();
    const e = await rotationFailure(engine.connect(secretFor({ ...tlsServer, port }), settings()));
    expect(e.category).toBe('network');
    expect(e.code).toBe('ECONNREFUSED');
  });

  test('a server that accepts TCP but never answers: category network after the connect timeout', async () => {
    const hole = await startBlackhole();
    try {
      const e = await rotationFailure(engine.connect(secretFor({ ...tlsServer, port: hole.port }), settings({ connectTimeoutMs: 500 })));
      expect(e.category).toBe('network');
      expect(e.message).toMatch(/did not answer within 500 ms/);
      expect(hole.accepted).toBeGreaterThan(0);
    } finally {
      await hole.close();
    }
  }, 15_000);

  test('unknown database: configuration error naming dbname', async () => {
    const e = await rotationFailure(engine.connect(secretFor(tlsServer, { dbname: 'no_such_db' }), settings()));
    expect(e.category).toBe('configuration');
    expect(e.code).toBe('1049');
    expect(e.message).toMatch(/"dbname"/);
  });

  test('no dbname: logs in without a default database', async () => {
    const s = secretFor(tlsServer);
    delete s.dbname;
    const rows = await withSession(engine.connect(s, settings()), (session) => (session as MysqlSession).rows('read the default database', 'SELECT DATABASE() AS db'));
    expect(rows).toEqual([{ db: null }]);
  });
});

describe('MySQL engine: passwords', () => {
  const excluded = new MysqlEngine().defaultExcludedCharacters;
  const punctuation = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  const allowedPunctuation = [...punctuation].filter((c) => !excluded.includes(c)).join('');
  const passwords = [
    `Aa1${allowedPunctuation}`,
    // Characters the default excludes keep out, and SQL-looking text: escaping must hold anyway.
    `it's "quoted" \\ back\\slash\\' ; -- /* @ %'); DROP USER x; #`,
    'pässwörd-日本-\'"\\\\\'',
    "ends-with-backslash\\",
  ];

  test('defaultExcludedCharacters is the AWS MySQL default', () => {
    expect(excluded).toBe('/@"\'\\');
    expect(allowedPunctuation).not.toMatch(/[/@"'\\]/);
    expect(allowedPunctuation.length).toBe(punctuation.length - 5);
  });

  test('a plain user changes its own password (MariaDB path): new logs in, old does not', async () => {
    const name = uniqueName('self');
    let current = 'initial-Pw-1';
    await createUser(tlsServer, name, current);
    for (const next of passwords) {
      await withSession(engine.connect(userSecret(tlsServer, name, current), settings()), async (s) => {
        expect(await s.sessionUser()).toBe(name);
        await s.setPassword(name, next);
      });
      await expect(canLoginMariadb(tlsServer, name, next)).resolves.toBe(true);
      await expect(canLoginMariadb(tlsServer, name, current)).resolves.toBe(false);
      current = next;
    }
    // Still the same single account, still a password account.
    const rows = (await tlsServer.query("SELECT Host AS host, plugin FROM mysql.user WHERE User = ?", [name])).rows;
    expect(rows).toEqual([{ host: '%', plugin: 'mysql_native_password' }]);
  });

  test('user names with quotes, spaces, semicolons, upper case and unicode', async () => {
    const names = [`O'Brien "q" ${userSeq}`, `semi;colon -- x${userSeq}`, `UPPER_Case_${userSeq}`, `ünïcødé_日本_${userSeq}`, `back\\slash\`tick${userSeq}`];
    await withSession(engine.connect(secretFor(tlsServer), settings()), async (admin) => {
      for (const name of names) {
        await createUser(tlsServer, name, 'initial-Pw-1');
        await admin.setPassword(name, passwords[1]);
        await withSession(engine.connect(userSecret(tlsServer, name, passwords[1]), settings()), async (user) => {
          expect(await user.sessionUser()).toBe(name);
          await user.setPassword(name, passwords[2]);
        });
        await expect(canLoginMariadb(tlsServer, name, passwords[2])).resolves.toBe(true);
        await expect(canLoginMariadb(tlsServer, name, passwords[1])).resolves.toBe(false);
      }
    });
  });

  test('an admin changes another user\'s password on every host entry of that user', async () => {
    const name = uniqueName('multi');
    const hosts = ['%', '127.0.0.1', 'localhost', '10.%'];
    await createUser(tlsServer, name, 'initial-Pw-1', { hosts });
    const bystander = uniqueName('bystander');
    await createUser(tlsServer, bystander, 'bystander-Pw-1');
    await withSession(engine.connect(secretFor(tlsServer), settings()), (admin) => admin.setPassword(name, passwords[0]));

    // Computed here, not with the server's PASSWORD(?): that statement would put the password in the server's log.
    const expected = mysqlNativePasswordHash(passwords[0]);
    const rows = (await tlsServer.query('SELECT Host AS host, authentication_string AS h FROM mysql.user WHERE User = ? ORDER BY Host', [name])).rows;
    expect(rows.map((r) => r.host).sort()).toEqual([...hosts].sort());
    for (const r of rows) expect(r.h).toBe(expected);
    await expect(canLoginMariadb(tlsServer, name, passwords[0])).resolves.toBe(true);
    await expect(canLoginMariadb(tlsServer, bystander, 'bystander-Pw-1')).resolves.toBe(true);
  });

  test('an account whose plugin stores a hash the function cannot compute is refused before any host entry changes', async () => {
    // SET PASSWORD would need the password itself for ed25519 / unix_socket: never sent, so refused.
    await tlsServer.query("INSTALL SONAME 'auth_ed25519'").catch((e) => {
      if ((e as { errno?: number }).errno !== 1968) throw e; // already installed
    });
    const name = uniqueName('ed');
    await createUser(tlsServer, name, 'initial-Pw-1', { hosts: ['%'] });
    await tlsServer.query('CREATE USER ?@? IDENTIFIED VIA ed25519 USING PASSWORD(?)', [name, 'localhost', 'initial-Pw-1']);
    const before = (await tlsServer.query('SELECT Host AS host, plugin, authentication_string AS h FROM mysql.user WHERE User = ? ORDER BY Host', [name])).rows;
    const e = await withSession(engine.connect(secretFor(tlsServer), settings()), (admin) => rotationFailure(admin.setPassword(name, 'next-Pw-2')));
    expect(e.category).toBe('configuration');
    expect(e.code).toBe('UNSUPPORTED_AUTH_PLUGIN');
    expect(e.message).toContain('ed25519');
    expect(e.message).not.toContain('next-Pw-2');
    expect(e.action).toMatch(/nothing was changed/);
    // Neither entry changed: the mysql_native_password one ('%', first in order) kept its old hash too.
    const after = (await tlsServer.query('SELECT Host AS host, plugin, authentication_string AS h FROM mysql.user WHERE User = ? ORDER BY Host', [name])).rows;
    expect(after).toEqual(before);
    expect(after.find((r) => r.host === '%')?.h).toBe(mysqlNativePasswordHash('initial-Pw-1'));

    const socketUser = uniqueName('sock');
    await tlsServer.query('CREATE USER ?@? IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(?)', [socketUser, '%', 'initial-Pw-1']);
    await tlsServer.query('GRANT SELECT ON appdb.* TO ?@?', [socketUser, '%']);
    const either = await withSession(engine.connect(secretFor(tlsServer), settings()), (admin) => rotationFailure(admin.setPassword(socketUser, 'next-Pw-2')));
    expect(either.code).toBe('UNSUPPORTED_AUTH_PLUGIN');
    expect(either.message).toContain('unix_socket OR mysql_native_password');
    await expect(canLoginMariadb(tlsServer, socketUser, 'initial-Pw-1')).resolves.toBe(true);
  });

  test('a mysql_native_password account keeps its plugin and gets the hash the server itself computes', async () => {
    const name = uniqueName('native');
    await createUser(tlsServer, name, 'initial-Pw-1');
    await withSession(engine.connect(secretFor(tlsServer), settings()), (admin) => admin.setPassword(name, 'next-Pw-2'));
    const [row] = (await tlsServer.query('SELECT plugin, authentication_string AS h FROM mysql.user WHERE User = ?', [name])).rows;
    expect(row).toEqual({ plugin: 'mysql_native_password', h: mysqlNativePasswordHash('next-Pw-2') });
    await expect(canLoginMariadb(tlsServer, name, 'next-Pw-2')).resolves.toBe(true);
  });

  test('admin path: an unknown user is a configuration error; a plain user may not change others', async () => {
    const missing = await withSession(engine.connect(secretFor(tlsServer), settings()), (admin) =>
      rotationFailure(admin.setPassword(uniqueName('nobody'), 'next-Pw-2')));
    expect(missing.category).toBe('configuration');
    expect(missing.code).toBe('NO_SUCH_USER');

    const a = uniqueName('plain_a');
    const b = uniqueName('plain_b');
    await createUser(tlsServer, a, 'a-Pw-1');
    await createUser(tlsServer, b, 'b-Pw-1');
    const denied = await withSession(engine.connect(userSecret(tlsServer, a, 'a-Pw-1'), settings()), (s) => rotationFailure(s.setPassword(b, 'secret-next-Pw')));
    expect(denied.category).toBe('permission');
    expect(denied.code).toBe('1142');
    expect(denied.message).not.toContain('secret-next-Pw');
    await expect(canLoginMariadb(tlsServer, b, 'b-Pw-1')).resolves.toBe(true);
  });

  test('a user created with REQUIRE SSL still logs in over TLS after a password change', async () => {
    const name = uniqueName('sslonly');
    await createUser(tlsServer, name, 'initial-Pw-1', { requireSsl: true });
    await withSession(engine.connect(userSecret(tlsServer, name, 'initial-Pw-1'), settings()), (s) => s.setPassword(name, passwords[0]));
    await withSession(engine.connect(userSecret(tlsServer, name, passwords[0]), settings()), async (s) => {
      expect(await s.sessionUser()).toBe(name);
    });
    const plain = await rotationFailure(engine.connect(userSecret(tlsServer, name, passwords[0]), settings({ tlsMode: 'disable' })));
    expect(plain.category).toBe('authentication');
    expect(plain.message).not.toContain(passwords[0]);
    const grants = (await tlsServer.query('SHOW GRANTS FOR ?@?', [name, '%'])).rows;
    expect(JSON.stringify(grants)).toMatch(/REQUIRE SSL/);
  });

  test('escaping holds even when the server default sql_mode has NO_BACKSLASH_ESCAPES', async () => {
    const name = uniqueName('nbe');
    await createUser(plainServer, name, 'initial-Pw-1');
    const before = String((await plainServer.query('SELECT @@GLOBAL.sql_mode AS m')).rows[0].m);
    await plainServer.query('SET GLOBAL sql_mode = ?', [`${before},NO_BACKSLASH_ESCAPES`]);
    try {
      const nasty = "x\\' , PASSWORD('pwned') -- \\";
      await withSession(engine.connect(userSecret(plainServer, name, 'initial-Pw-1'), settings({ tlsMode: 'disable' })), (s) => s.setPassword(name, nasty));
      await expect(canLoginMariadb(plainServer, name, nasty)).resolves.toBe(true);
      await expect(canLoginMariadb(plainServer, name, 'pwned')).resolves.toBe(false);
      await withSession(engine.connect(secretFor(plainServer), settings({ tlsMode: 'disable' })), (admin) => admin.setPassword(name, `${nasty}2`));
      await expect(canLoginMariadb(plainServer, name, `${nasty}2`)).resolves.toBe(true);
    } finally {
      await plainServer.query('SET GLOBAL sql_mode = ?', [before]);
    }
  });
});

describe('MySQL engine: statement timeout', () => {
  test('a password change stuck on a lock ends with category network naming the timeout', async () => {
    const name = uniqueName('locked');
    const secretPw = 'stuck-secret-Pw-9';
    await createUser(tlsServer, name, 'initial-Pw-1');
    const locker = await mysql.createConnection({
      host: tlsServer.host, port: tlsServer.port, user: tlsServer.superuser.username, password: tlsServer.superuser.password,
      ssl: { ca: readFileSync(tlsServer.caFile!, 'utf8') },
    });
    locker.on('error', () => undefined);
    try {
      await locker.query('LOCK TABLES mysql.global_priv WRITE');
      const e = await withSession(engine.connect(secretFor(tlsServer), settings({ statementTimeoutMs: 500 })), (admin) =>
        rotationFailure(admin.setPassword(name, secretPw)));
      expect(e.category).toBe('network');
      expect(e.code).toBe('1969'); // MariaDB's max_statement_time fired, before the client-side backstop
      expect(e.message).toMatch(/within 500 ms/);
      expect(e.message).not.toContain(secretPw);
    } finally {
      await locker.query('UNLOCK TABLES').catch(() => undefined);
      await locker.end().catch(() => undefined);
    }
  }, 15_000);
});

describe('classifyMysqlError', () => {
  test('a syntax error in a statement holding a password never quotes the statement (not even a fragment of it)', async () => {
    const password = "frag-ment'-of-a-long-secret";
    const conn = await mysql.createConnection({ host: plainServer.host, port: plainServer.port, user: plainServer.superuser.username, password: plainServer.superuser.password });
    conn.on('error', () => undefined);
    let driverError: unknown;
    try {
      // Deliberately unescaped (what a broken escaping would send): the server's 1064 text quotes
      // everything after the failing token, here "-of-a-long-secret')".
      await conn.query(`SET PASSWORD = PASSWORD('${password}')`);
    } catch (e) {
      driverError = e;
    } finally {
      await conn.end().catch(() => undefined);
    }
    expect((driverError as { errno?: number }).errno).toBe(1064);
    expect((driverError as Error).message).toContain('-of-a-long-secret');
    const e = classifyMysqlError(driverError, secretFor(plainServer), settings({ tlsMode: 'disable' }), 'change the password', [password]);
    expect(e.code).toBe('1064');
    expect(e.message).not.toContain('secret');
    expect(e.message).toMatch(/withheld/);
  });
});

describe('mysqlFlavor', () => {
  test.each([
    ['10.11.19-MariaDB-0+deb12u1', 'mariadb'],
    ['5.5.5-10.6.14-MariaDB-log', 'mariadb'],
    ['8.0.36', 'mysql8'],
    ['8.4.0-log', 'mysql8'],
    ['8.0.mysql_aurora.3.05.2', 'mysql8'],
    ['5.7.44-log', 'mysql57'],
    ['5.7.mysql_aurora.2.11.2', 'mysql57'],
  ])('%s -> %s', (version, flavor) => {
    expect(mysqlFlavor(version)).toBe(flavor);
  });
});
