import { readFileSync } from 'node:fs';
import { parseDatabaseSecret, type DatabaseSecret } from '../../lambda/core/database-secret';
import type { ConnectionSettings, DatabaseEngine } from '../../lambda/rotation/engines/engine';
import { MysqlEngine } from '../../lambda/rotation/engines/mysql';
import { PostgresEngine } from '../../lambda/rotation/engines/postgres';
import { startStatementProxy, type ProxiedStatement, type WireProtocol } from '../reliability/crash/statement-proxy';
import { startMariadb, type MariadbServer } from '../support/mariadb-server';
import { startPostgres, type PgServer } from '../support/postgres-server';

/**
 * Statements a login sends before its first useful query, counted on the wire (the crash tests'
 * statement proxy, plaintext) and, with TLS, in the server's own statement log:
 * - PostgreSQL: none. statement_timeout, lock_timeout and application_name travel in the startup
 *   packet (`pg`'s ClientConfig), so the server applies them before the first query.
 * - MariaDB: two, a SELECT (version, account, sql_mode and, with TLS, Ssl_cipher from
 *   information_schema.SESSION_STATUS) and one SET of every session variable (limits,
 *   sql_quote_show_create, sql_mode without NO_BACKSLASH_ESCAPES). The TLS proof no longer costs
 *   a round trip of its own (it was SHOW SESSION STATUS LIKE 'Ssl_cipher').
 * What these statements achieve (timeouts, the TLS proof, NO_BACKSLASH_ESCAPES removal, the
 * flavor) is tested in postgres-connection.test.ts and mysql-engine.test.ts.
 */

let pgPlain: PgServer;
let pgTls: PgServer;
let mariaPlain: MariadbServer;
let mariaTls: MariadbServer;

beforeAll(async () => {
  [pgPlain, pgTls, mariaPlain, mariaTls] = await Promise.all([
    startPostgres({ tls: false }), startPostgres({ tls: true }), startMariadb(), startMariadb({ tls: true }),
  ]);
});
afterAll(async () => {
  await Promise.all([pgPlain?.stop(), pgTls?.stop(), mariaPlain?.stop(), mariaTls?.stop()]);
});

interface Server {
  port: number;
  superuser: { username: string; password: string };
  database: string;
  caFile?: string;
}

function secretFor(engine: 'postgres' | 'mariadb', server: Server, port = server.port): DatabaseSecret {
  return parseDatabaseSecret(JSON.stringify({
    engine, host: '127.0.0.1', port, username: server.superuser.username, password: server.superuser.password, dbname: server.database,
  }), 'AWSCURRENT');
}

const settings = (s: Partial<ConnectionSettings>): ConnectionSettings => ({
  tlsMode: 'disable', connectTimeoutMs: 5000, statementTimeoutMs: 3000, ...s,
});

/** Logs in through the proxy, runs the probe query, and returns the statements in the order the server got them. */
async function statementsOnTheWire(protocol: WireProtocol, engine: DatabaseEngine, server: Server, family: 'postgres' | 'mariadb'): Promise<string[]> {
  const proxy = await startStatementProxy(protocol, { host: '127.0.0.1', port: server.port });
  const seen: ProxiedStatement[] = [];
  proxy.setHook(async (s) => {
    if (s.phase === 'before') seen.push(s);
    return 'continue';
  });
  try {
    const session = await engine.connect(secretFor(family, server, proxy.port), settings({}));
    try {
      await session.probe();
    } finally {
      await session.close();
    }
  } finally {
    await proxy.close();
  }
  expect(new Set(seen.map((s) => s.connection)).size).toBe(1);
  return seen.map((s) => s.summary.split(' ')[0]);
}

/** Statements of the function's own TLS session in a MariaDB general log, up to and with the probe. */
function mariadbSessionStatements(server: MariadbServer): string[] {
  const lines = readFileSync(server.generalLogFile, 'utf8').split('\n');
  const entries = lines.map((l) => /\s(\d+) (\w+)\t(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null);
  const first = entries.find((m) => m[2] === 'Query' && m[3].includes('/* rotor-rotation */'));
  if (!first) throw new Error('no rotor session in the general log');
  const ours = entries.filter((m) => m[1] === first[1] && m[2] === 'Query').map((m) => m[3]);
  return ours.slice(0, ours.indexOf('SELECT 1') + 1);
}

/** Statements of the function's own TLS session in a PostgreSQL log (application_name rotor-rotation). */
function postgresSessionStatements(server: PgServer): string[] {
  return readFileSync(server.logFile, 'utf8').split('\n')
    .filter((l) => l.includes('{app=rotor-rotation') && / LOG: {2}statement: /.test(l))
    .map((l) => l.replace(/^.* LOG: {2}statement: /, ''));
}

describe('PostgreSQL: session setup costs no round trip', () => {
  test('plaintext, on the wire: the probe is the first statement', async () => {
    expect(await statementsOnTheWire('postgres', new PostgresEngine(), pgPlain, 'postgres')).toEqual(['SELECT']);
  });

  test('verify-full, in the server log: the probe is the first statement', async () => {
    const session = await new PostgresEngine().connect(
      { ...secretFor('postgres', pgTls), host: 'localhost' },
      settings({ tlsMode: 'verify-full', caFile: pgTls.caFile }),
    );
    try {
      await session.probe();
    } finally {
      await session.close();
    }
    expect(postgresSessionStatements(pgTls)).toEqual(['SELECT 1']);
  });
});

describe('MariaDB: session setup in one SELECT and one SET', () => {
  test('plaintext, on the wire: SELECT, SET, then the probe', async () => {
    expect(await statementsOnTheWire('mysql', new MysqlEngine(), mariaPlain, 'mariadb')).toEqual(['SELECT', 'SET', 'SELECT']);
  });

  test('verify-full, in the general log: the TLS proof rides in the SELECT', async () => {
    const session = await new MysqlEngine().connect(secretFor('mariadb', mariaTls), settings({ tlsMode: 'verify-full', caFile: mariaTls.caFile }));
    try {
      await session.probe();
    } finally {
      await session.close();
    }
    const statements = mariadbSessionStatements(mariaTls);
    expect(statements).toHaveLength(3);
    expect(statements[0]).toMatch(/^SELECT \/\* rotor-rotation \*\/ VERSION\(\).*SSL_CIPHER/);
    expect(statements[1]).toMatch(/^SET SESSION /);
    expect(statements[2]).toBe('SELECT 1');
  });
});
