import Table from 'cli-table3';
import { DescribeSecretCommand, GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseDatabaseSecret, engineFamily, type DatabaseSecret, type TlsMode } from '../../lambda/core/database-secret';
import { isRotationError } from '../../lambda/core/errors';
import { AWSCURRENT, errorName } from '../../lambda/core/secret-store';
import { engineFor } from '../../lambda/rotation/engines';
import type { ConnectionSettings, DatabaseSession } from '../../lambda/rotation/engines/engine';
import { masterLogin } from '../../lambda/rotation/master-credential';
import { alternateUsername, baseUsername } from '../../lambda/rotation/strategies/alternating-users';
import { explainAwsError, secretsManagerClient, type AwsOptions } from '../lib/aws';
import { loginSettings, sessionQuery, tlsFloor } from '../lib/engine-session';
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
  // The function's rules for a login (cli/lib/engine-session.ts): the master (or --as) credential only on
  // this secret's server, with the stronger TLS mode of the two secrets, never below the deployment's floor.
  let login: DatabaseSecret;
  try {
    login = reader === secret ? secret : masterLogin(secret, reader, engineFamily(reader.engine), engineFamily(secret.engine));
  } catch (e) {
    if (isRotationError(e)) throw new Error(`the secret used to read sessions (${asId}): ${e.detail}`);
    throw e;
  }
  const settings = loginSettings(login, tlsFloor(opts.tlsMode), opts.caFile ?? process.env.ROTOR_TLS_CA_FILE, opts.timeout, reader === secret ? undefined : `the secret used to read sessions (or ${opts.secret})`);
  const read = engineFamily(secret.engine) === 'postgres' ? readPostgres : readMysql;
  const { groups, visibility } = await withSession(login, settings, (session) => read(session, users));

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

type Reader = (session: DatabaseSession, users: string[]) => Promise<{ groups: SessionGroup[]; visibility: 'all' | 'own' }>;

/** Logs in through the engine (its TLS checks and password-request guard), runs `use`, logs out. */
async function withSession<T>(login: DatabaseSecret, settings: ConnectionSettings, use: (s: DatabaseSession) => Promise<T>): Promise<T> {
  const session = await engineFor(login.engine).connect(login, settings);
  try {
    return await use(session);
  } finally {
    await session.close().catch(() => undefined);
  }
}

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

const readPostgres: Reader = async (session, users) => {
  const vis = await sessionQuery(session,
    "SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER') AS all",
  );
  const rows = await sessionQuery(session,
    `SELECT usename AS user, application_name AS app, host(client_addr) AS addr
       FROM pg_stat_activity
      WHERE usename = ANY($1::text[]) AND pid <> pg_backend_pid() AND backend_type = 'client backend'`,
    [users],
  ) as Array<{ user: string; app: string | null; addr: string | null }>;
  return { groups: group(rows.map((x) => ({ ...x, app: x.app || null }))), visibility: vis[0]?.all ? 'all' : 'own' };
};

const readMysql: Reader = async (session, users) => {
  const grants = await sessionQuery(session, 'SHOW GRANTS');
  const all = grants.some((g) => /GRANT (ALL PRIVILEGES|.*\bPROCESS\b).* ON \*\.\*/i.test(String(Object.values(g)[0])));
  const list = await sessionQuery(session,
    'SELECT ID AS id, USER AS user, HOST AS host FROM information_schema.PROCESSLIST WHERE USER IN (?) AND ID <> CONNECTION_ID()',
    [users],
  ) as Array<{ id: number; user: string; host: string | null }>;
  // Connection attributes (program_name) are in performance_schema when it is on; without it there is no application name.
  const apps = new Map<number, string>();
  if (list.length > 0) {
    try {
      const attrs = await sessionQuery(session,
        "SELECT PROCESSLIST_ID AS id, ATTR_VALUE AS app FROM performance_schema.session_connect_attrs WHERE ATTR_NAME = 'program_name' AND PROCESSLIST_ID IN (?)",
        [list.map((r) => r.id)],
      ) as Array<{ id: number; app: string }>;
      for (const a of attrs) apps.set(Number(a.id), a.app);
    } catch {
      // performance_schema is off or not readable
    }
  }
  return {
    groups: group(list.map((r) => ({ user: r.user, app: apps.get(Number(r.id)) ?? null, addr: r.host ? r.host.replace(/:\d+$/, '') : null }))),
    visibility: all ? 'all' : 'own',
  };
};
