import { PostgresEngine } from '../../lambda/rotation/engines/postgres';
import type { ConnectionSettings } from '../../lambda/rotation/engines/engine';
import { parseDatabaseSecret, type DatabaseSecret } from '../../lambda/core/database-secret';
import { startPostgres, type PgServer } from '../support/postgres-server';
import { startBlackhole, unusedPort } from '../support/blackhole';
import { rotationFailure } from '../support/rotation-error';

const engine = new PostgresEngine();
let tlsServer: PgServer;
let plainServer: PgServer;

beforeAll(async () => {
  [tlsServer, plainServer] = await Promise.all([startPostgres({ tls: true }), startPostgres({ tls: false })]);
});
afterAll(async () => {
  await Promise.all([tlsServer?.stop(), plainServer?.stop()]);
});

function secretFor(server: { port: number; superuser: { username: string; password: string }; database: string }, extra: Record<string, unknown> = {}): DatabaseSecret {
  return parseDatabaseSecret(JSON.stringify({
    engine: 'postgres', host: 'localhost', port: server.port, username: server.superuser.username,
    password: server.superuser.password, dbname: server.database, ...extra,
  }), 'AWSCURRENT');
}

const settings = (s: Partial<ConnectionSettings>): ConnectionSettings => ({
  tlsMode: 'verify-full', connectTimeoutMs: 1000, statementTimeoutMs: 2000, ...s,
});

describe('PostgreSQL connections', () => {
  test('verify-full with the right CA logs in over TLS', async () => {
    const session = await engine.connect(secretFor(tlsServer), settings({ caFile: tlsServer.caFile }));
    try {
      await session.probe();
      expect(await session.sessionUser()).toBe(tlsServer.superuser.username);
    } finally {
      await session.close();
    }
  });

  test('verify-full with another CA fails with category tls', async () => {
    const e = await rotationFailure(engine.connect(secretFor(tlsServer), settings({ caFile: tlsServer.otherCaFile })));
    expect(e.category).toBe('tls');
    expect(e.message).toMatch(/never falls back to plaintext/);
    expect(e.message).not.toContain(tlsServer.superuser.password);
  });

  test('server without TLS and mode verify-full: fails, no plaintext fallback', async () => {
    const e = await rotationFailure(engine.connect(secretFor(plainServer), settings({})));
    expect(e.category).toBe('tls');
  });

  test('server without TLS and mode require: fails too', async () => {
    const e = await rotationFailure(engine.connect(secretFor(plainServer), settings({ tlsMode: 'require' })));
    expect(e.category).toBe('tls');
  });

  test('mode disable is plaintext only when asked', async () => {
    const session = await engine.connect(secretFor(plainServer), settings({ tlsMode: 'disable' }));
    try {
      expect(await session.sessionUser()).toBe(plainServer.superuser.username);
      // The session really is plaintext (asked for), as the server sees it.
      const { rows } = await (session as unknown as { client: { query(sql: string): Promise<{ rows: Array<{ ssl: boolean }> }> } }).client.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
      expect(rows).toEqual([{ ssl: false }]);
    } finally {
      await session.close();
    }
  });

  test('wrong password: authentication with the driver code, password never in the message', async () => {
    const s = { ...secretFor(tlsServer), password: 'definitely-wrong-Pw1' };
    const e = await rotationFailure(engine.connect(s, settings({ caFile: tlsServer.caFile })));
    expect(e.category).toBe('authentication');
    expect(e.code).toBe('28P01');
    expect(e.message).not.toContain('definitely-wrong-Pw1');
  });

  test('connection refused: category network', async () => {
    const port = await unusedPort();
    const e = await rotationFailure(engine.connect(secretFor({ ...tlsServer, port }), settings({ caFile: tlsServer.caFile })));
    expect(e.category).toBe('network');
    expect(e.code).toBe('ECONNREFUSED');
  });

  test('a server that accepts TCP but never answers: category network after the connect timeout', async () => {
    const hole = await startBlackhole();
    try {
      const e = await rotationFailure(engine.connect(secretFor({ ...tlsServer, port: hole.port }), settings({ caFile: tlsServer.caFile, connectTimeoutMs: 500 })));
      expect(e.category).toBe('network');
      expect(e.message).toMatch(/did not answer within 500 ms/);
    } finally {
      await hole.close();
    }
  }, 15_000);

  test('missing database: configuration error naming dbname', async () => {
    const e = await rotationFailure(engine.connect(secretFor(tlsServer, { dbname: 'no_such_db' }), settings({ caFile: tlsServer.caFile })));
    expect(e.category).toBe('configuration');
    expect(e.message).toMatch(/"dbname"/);
  });

  test('a password with every punctuation character and non-ASCII letters is set and logs in', async () => {
    const admin = await engine.connect(secretFor(tlsServer), settings({ caFile: tlsServer.caFile }));
    const name = `punct_${process.pid}`;
    await tlsServer.query(`CREATE ROLE ${name} LOGIN`);
    for (const pw of ['!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~Aa1', 'pässwörd-日本-\'"\\']) {
      await admin.setPassword(name, pw);
      const user = await engine.connect({ ...secretFor(tlsServer), username: name, password: pw }, settings({ caFile: tlsServer.caFile }));
      expect(await user.sessionUser()).toBe(name);
      await user.close();
    }
    await admin.close();
  });
});
