import { readFileSync } from 'node:fs';
import Table from 'cli-table3';
import { DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseDatabaseSecret, engineFamily, TLS_MODES, type DatabaseSecret, type TlsMode } from '../../lambda/core/database-secret';
import { isRotationError } from '../../lambda/core/errors';
import { AWSCURRENT, errorName } from '../../lambda/core/secret-store';
import { alternateUsername, baseUsername } from '../../lambda/rotation/strategies/alternating-users';
import { explainAwsError, secretsManagerClient, type AwsOptions } from '../lib/aws';
import { colourOn, describeError, formatDate, paint, printJson, tableStyle } from '../lib/output';
import { STRATEGY_TAG } from './status';

export interface UsageOptions extends AwsOptions {
  secret: string;
  /** Secret whose credential lists the sessions (default: the secret's masterarn, else the secret itself). */
  as?: string;
  caFile?: string;
  tlsMode?: TlsMode;
  timeout: number;
  json?: boolean;
}

/** One group of sessions: same user, application name and client address. */
export interface SessionGroup {
  user: string;
  applicationName: string | null;
  clientAddress: string | null;
  sessions: number;
  /** The application names itself as rotor/client (it re-reads the secret on an authentication failure). */
  rotationAware: boolean;
}

export interface UsageReport {
  secret: string;
  engine: string;
  strategy: 'single-user' | 'alternating-users' | 'rds-master';
  lastAccessedDate: string | null;
  /** The user AWSCURRENT names. */
  currentUser: string;
  /** The user whose password the next rotation changes. */
  nextRotationChanges: string;
  /** The database user the sessions were read as. */
  readAs: string;
  /** `all`: every user's sessions are visible; `own`: only the reading user's (no PROCESS / pg_read_all_stats). */
  visibility: 'all' | 'own';
  sessions: SessionGroup[];
  /** Sessions of the user the next rotation changes that do not name themselves as rotor/client. */
  atRisk: number;
  notes: string[];
}

/** Suffix rotor/client puts after the application's name (client/rotating-credential.ts CLIENT_TAG). */
const CLIENT_MARK = '(rotor-client)';

/** `rotor usage <secret>`: who uses this credential now. Exit 1 when sessions not known to be rotation-aware use the user the next rotation changes (alternating users). */
export async function runUsage(opts: UsageOptions): Promise<number> {
  const client = secretsManagerClient(opts);
  let report: UsageReport;
  try {
    report = await usageOf(client, opts);
  } catch (e) {
    const msg = isRotationError(e) ? `${e.detail}. ${e.action}` : explainAwsError(e, opts) ?? describeError(e);
    if (opts.json) printJson({ secret: opts.secret, error: msg });
    else process.stderr.write(`rotor usage: ${msg}\n`);
    return 1;
  } finally {
    client.destroy();
  }
  if (opts.json) {
    printJson(report);
  } else {
    const on = colourOn();
    process.stdout.write(`${report.secret} (${report.engine}, ${report.strategy}); secret last accessed ${report.lastAccessedDate ?? 'never'}\n`);
    process.stdout.write(`AWSCURRENT user: ${report.currentUser}; the next rotation changes: ${report.nextRotationChanges}; sessions read as ${report.readAs} (${report.visibility === 'all' ? 'all users visible' : 'only its own sessions visible'})\n`);
    const t = new Table({ head: ['user', 'application', 'client address', 'sessions', 'rotation-aware'], style: tableStyle(on) });
    for (const g of report.sessions) {
      const risky = g.user === report.nextRotationChanges && !g.rotationAware && report.strategy === 'alternating-users';
      t.push([risky ? paint(g.user, 'yellow', on) : g.user, g.applicationName || '-', g.clientAddress ?? '-', String(g.sessions), g.rotationAware ? 'yes' : 'no']);
    }
    if (report.sessions.length === 0) t.push([{ colSpan: 5, content: 'no sessions' } as never]);
    process.stdout.write(`${t.toString()}\n`);
    for (const n of report.notes) process.stdout.write(`${n}\n`);
  }
  return report.atRisk > 0 ? 1 : 0;
}

export async function usageOf(client: SecretsManagerClient, opts: UsageOptions): Promise<UsageReport> {
  const d = await client.send(new DescribeSecretCommand({ SecretId: opts.secret }));
  const secret = parseDatabaseSecret((await client.send(new GetSecretValueCommand({ SecretId: d.ARN ?? opts.secret, VersionStage: AWSCURRENT }))).SecretString, AWSCURRENT);
  const tagged = d.Tags?.find((t) => t.Key === STRATEGY_TAG)?.Value;
  const strategy: UsageReport['strategy'] = tagged === 'single-user' || tagged === 'alternating-users' || tagged === 'rds-master'
    ? tagged
    : secret.masterarn ? 'alternating-users' : 'single-user';
  const users = strategy === 'alternating-users' ? [baseUsername(secret.username), alternateUsername(baseUsername(secret.username))] : [secret.username];
  const next = strategy === 'alternating-users' ? alternateUsername(secret.username) : secret.username;

  // Read the sessions as the master (it sees every user's) when there is one, else as the secret's own user.
  const asId = opts.as ?? secret.masterarn;
  let reader: DatabaseSecret = secret;
  if (asId) {
    try {
      reader = parseDatabaseSecret((await client.send(new GetSecretValueCommand({ SecretId: asId, VersionStage: AWSCURRENT }))).SecretString, AWSCURRENT);
    } catch (e) {
      if (opts.as) throw e;
      // The master secret is not readable by this caller: fall back to the secret itself.
      reader = secret;
    }
  }
  if (reader.host !== secret.host || reader.port !== secret.port) {
    throw new Error(`the secret used to read sessions (${asId}) names another database (${reader.host}:${reader.port}) than ${opts.secret}`);
  }
  const tlsMode: TlsMode = reader.ssl ?? opts.tlsMode ?? (TLS_MODES.includes(process.env.ROTOR_TLS_MODE as TlsMode) ? (process.env.ROTOR_TLS_MODE as TlsMode) : 'verify-full');
  const caFile = opts.caFile ?? process.env.ROTOR_TLS_CA_FILE;
  const ca = caFile ? readFileSync(caFile, 'utf8') : undefined;
  const read = engineFamily(secret.engine) === 'postgres' ? readPostgres : readMysql;
  const { groups, visibility } = await read(reader, secret.dbname, users, tlsMode, ca, opts.timeout);

  const atRisk = strategy === 'alternating-users'
    ? groups.filter((g) => g.user === next && !g.rotationAware).reduce((a, g) => a + g.sessions, 0)
    : 0;
  const notes: string[] = [];
  if (visibility === 'own') {
    notes.push(`only the sessions of ${reader.username} are visible: read as a user with ${engineFamily(secret.engine) === 'postgres' ? 'pg_read_all_stats' : 'the PROCESS privilege'} (--as <master secret>) to see every user's`);
  }
  if (strategy === 'alternating-users' && atRisk > 0) {
    notes.push(`${atRisk} session(s) not known to be rotation-aware use ${next}, whose password the next rotation changes: their open sessions stay up, but they must re-read the secret before they connect again (rotor/client does; see docs/applications.md)`);
  } else if (strategy === 'alternating-users') {
    notes.push(`nothing that is not rotation-aware uses ${next}, whose password the next rotation changes`);
  } else {
    const naive = groups.filter((g) => !g.rotationAware).reduce((a, g) => a + g.sessions, 0);
    if (naive > 0) notes.push(`${naive} session(s) are not known to be rotation-aware: with ${strategy}, every rotation changes the password of ${next}; clients that keep the password must re-read the secret to connect again`);
  }
  return {
    secret: d.Name ?? opts.secret,
    engine: secret.engine,
    strategy,
    lastAccessedDate: d.LastAccessedDate ? formatDate(d.LastAccessedDate, true) : null,
    currentUser: secret.username,
    nextRotationChanges: next,
    readAs: reader.username,
    visibility,
    sessions: groups,
    atRisk,
    notes,
  };
}

type Reader = (reader: DatabaseSecret, dbname: string | undefined, users: string[], tls: TlsMode, ca: string | undefined, timeoutMs: number) => Promise<{ groups: SessionGroup[]; visibility: 'all' | 'own' }>;

const group = (rows: Array<{ user: string; app: string | null; addr: string | null }>): SessionGroup[] => {
  const by = new Map<string, SessionGroup>();
  for (const r of rows) {
    const key = JSON.stringify([r.user, r.app, r.addr]);
    const g = by.get(key) ?? { user: r.user, applicationName: r.app, clientAddress: r.addr, sessions: 0, rotationAware: (r.app ?? '').endsWith(CLIENT_MARK) };
    g.sessions++;
    by.set(key, g);
  }
  return [...by.values()].sort((a, b) => a.user.localeCompare(b.user) || String(a.applicationName).localeCompare(String(b.applicationName)) || String(a.clientAddress).localeCompare(String(b.clientAddress)));
};

const readPostgres: Reader = async (reader, dbname, users, tls, ca, timeoutMs) => {
  const { Client } = require('pg') as typeof import('pg');
  const c = new Client({
    host: reader.host, port: reader.port, user: reader.username, password: reader.password, database: reader.dbname ?? dbname ?? 'postgres',
    ssl: tls === 'disable' ? false : tls === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(ca ? { ca } : {}) },
    connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs, application_name: 'rotor usage',
  });
  c.on('error', () => undefined);
  try {
    await c.connect();
  } catch (e) {
    throw new Error(`could not log in as ${reader.username} to ${reader.host}:${reader.port} (${errorName(e) ?? (e as { code?: string }).code ?? describeError(e)})`);
  }
  try {
    const vis = await c.query<{ all: boolean }>(
      "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS all",
    );
    const r = await c.query<{ user: string; app: string | null; addr: string | null }>(
      `SELECT usename AS user, application_name AS app, host(client_addr) AS addr
         FROM pg_stat_activity
        WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
      [users],
    );
    return { groups: group(r.rows.map((x) => ({ ...x, app: x.app || null }))), visibility: vis.rows[0]?.all ? 'all' : 'own' };
  } finally {
    await c.end().catch(() => undefined);
  }
};

const readMysql: Reader = async (reader, dbname, users, tls, ca, timeoutMs) => {
  const mysql = require('mysql2/promise') as typeof import('mysql2/promise');
  let c: import('mysql2/promise').Connection;
  try {
    c = await mysql.createConnection({
      host: reader.host, port: reader.port, user: reader.username, password: reader.password, database: reader.dbname ?? dbname,
      ssl: tls === 'disable' ? undefined : tls === 'require' ? { rejectUnauthorized: false } : { rejectUnauthorized: true, ...(ca ? { ca } : {}) },
      connectTimeout: timeoutMs, connectAttributes: { program_name: 'rotor usage' },
    });
  } catch (e) {
    throw new Error(`could not log in as ${reader.username} to ${reader.host}:${reader.port} (${(e as { code?: string }).code ?? describeError(e)})`);
  }
  c.on('error', () => undefined);
  try {
    const [grants] = await c.query('SHOW GRANTS');
    const all = (grants as Array<Record<string, string>>).some((g) => /GRANT (ALL PRIVILEGES|.*\bPROCESS\b).* ON \*\.\*/i.test(String(Object.values(g)[0])));
    const [rows] = await c.query(
      'SELECT ID AS id, USER AS user, HOST AS host FROM information_schema.PROCESSLIST WHERE USER IN (?) AND ID <> CONNECTION_ID()',
      [users],
    );
    const list = rows as Array<{ id: number; user: string; host: string | null }>;
    // Connection attributes (program_name) are in performance_schema when it is on; without it there is no application name.
    const apps = new Map<number, string>();
    if (list.length > 0) {
      try {
        const [attrs] = await c.query(
          "SELECT PROCESSLIST_ID AS id, ATTR_VALUE AS app FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name' AND PROCESSLIST_ID IN (?)",
          [list.map((r) => r.id)],
        );
        for (const a of attrs as Array<{ id: number; app: string }>) apps.set(Number(a.id), a.app);
      } catch {
        // performance_schema is off or not readable
      }
    }
    return {
      groups: group(list.map((r) => ({ user: r.user, app: apps.get(Number(r.id)) ?? null, addr: r.host ? r.host.replace(/:\d+$/, '') : null }))),
      visibility: all ? 'all' : 'own',
    };
  } finally {
    await c.end().catch(() => undefined);
  }
};
