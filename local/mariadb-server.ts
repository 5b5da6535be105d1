/**
 * Throwaway MariaDB servers for integration tests (the MySQL-family engine).
 *
 * Each server gets its own temp dir (`<base>/rotor-mdb-XXXXXX`, base = $ROTOR_MARIADB_TMPDIR, else
 * /dev/shm if it is a writable tmpfs, else os.tmpdir()) holding the data dir, the Unix socket,
 * TLS material and the server log, a random free loopback port, a database `appdb`, and an admin
 * (`rotor_admin`@'%', ALL PRIVILEGES WITH GRANT OPTION) with its own random password. The system
 * MariaDB on port 3306 is never touched: every server runs with `--no-defaults` and its own
 * datadir, socket and port.
 *
 * Speed: `mariadb-install-db` (~0.6 s on tmpfs) runs once per process into a template dir
 * (`rotor-mdbtpl-<pid>-*`, shared by all test files a Jest worker runs); each server copies it,
 * starts (~0.15 s), and creates its admin with its own password over the Unix socket as the
 * template's `root`@`localhost` (no password, reachable only through the socket in a 0700 dir;
 * the template has no root account reachable over TCP).
 *
 * Cleanup: `stop()` kills the server (the data is thrown away) and removes everything. Servers a
 * test forgot to stop are killed on process exit, and a small detached watchdog per server (and
 * per template) kills the server and removes its dir if the owning process dies without running
 * exit handlers (e.g. SIGKILL).
 *
 * mariadbd runs as the `mysql` OS user (`--user=mysql`) when the current process is root.
 *
 * Statement log: the general query log is on (`general.log` in the temp dir, removed with it), so
 * that tests can prove what the rotation function sends: every statement of every other session is
 * there as the server received it. The harness's own sessions (`query()`, the bootstrap of the
 * admin) run with `sql_log_off = 1`: their fixture statements carry passwords on purpose. The
 * test suite's leak audit reads the log when the server is stopped (`tapServerLogs` in
 * throwaway-server.ts; test/support/leak-audit/server-logs.ts). The slow query log stays off.
 */
import { ChildProcess, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import mysql from 'mysql2/promise';
import {
  buildTemplateDir,
  chooseTmpBase,
  chownTo,
  initOrStop,
  makeThrowawayTls,
  processRegistry,
  randomPassword,
  redactedCredentials,
  serverOsUser,
  type OsUser,
  type ServerCommand,
  type ServerLogFile,
  STOP_TIMEOUT_MS,
  templateOnce,
  ThrowawayServer,
  type ThrowawayServerSpec,
  type WatchdogSpec,
} from './throwaway-server';

export interface MariadbServerOptions {
  /** TLS on (`--ssl-ca/--ssl-cert/--ssl-key`) with a throwaway CA + server cert for DNS:localhost and IP:127.0.0.1. */
  tls?: boolean;
  /** `--require-secure-transport=ON`: plaintext TCP logins are refused (implies tls). */
  requireTls?: boolean;
  /** SANs of the server certificate (e.g. ['DNS:localhost'] for an IP-mismatch test). Default DNS:localhost, IP:127.0.0.1. */
  certSans?: string[];
  /** Port chooser, called again when the port turns out to be taken. Default freePort(). */
  pickPort?: () => Promise<number>;
}

export interface MariadbSuperuser {
  username: string;
  password: string;
}

export interface MariadbQueryResult {
  /** Rows of a SELECT/SHOW; empty for other statements. */
  rows: Array<Record<string, any>>;
  /** affectedRows of a non-SELECT statement; 0 for a SELECT. */
  affectedRows: number;
}

export interface MariadbServer {
  host: string;
  port: number;
  /** Password-authenticated admin `rotor_admin`@'%' with ALL PRIVILEGES WITH GRANT OPTION. */
  superuser: MariadbSuperuser;
  /** 'appdb' (created at bootstrap). */
  database: string;
  /** CA certificate (PEM) that signed the server certificate, when tls. */
  caFile?: string;
  /** A second, unrelated CA (PEM) for "wrong CA" tests, when tls. */
  otherCaFile?: string;
  dataDir: string;
  /** Server log (stderr of mariadbd). Never contains passwords. */
  logFile: string;
  /** The general query log: every statement of every session but the harness's own (`query()`). */
  generalLogFile: string;
  /** `SELECT VERSION()`, e.g. '10.11.19-MariaDB-0+deb12u1'. */
  version: string;
  /** mariadbd pid while running. */
  readonly pid: number | undefined;
  /** Kills the server and removes the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Clean shutdown, keeping the data (clients see the server go away: outage tests). */
  pause(): Promise<void>;
  /** Start again on the same port. */
  resume(): Promise<void>;
  /** Runs one statement as the superuser over TCP with password auth (verified TLS when tls); `?` placeholders. Not written to the general log. */
  query(sql: string, params?: unknown[]): Promise<MariadbQueryResult>;
  connectionString?: never;
}

/** The server binary (ROTOR_MARIADBD, else Debian's path); the demo checks it before starting. */
export const MARIADBD = process.env.ROTOR_MARIADBD ?? '/usr/sbin/mariadbd';
const INSTALL_DB = process.env.ROTOR_MARIADB_INSTALL_DB ?? 'mariadb-install-db';
const HOST = '127.0.0.1';
const ADMIN = 'rotor_admin';
const DATABASE = 'appdb';

/**
 * Keeps a harness session's statements out of the general log (needs SUPER, which the admin and
 * root have): fixtures set passwords in plain text on purpose.
 */
const QUIET = 'SET SESSION sql_log_off = 1';

/** Options both bootstrap and server need to agree on (InnoDB geometry), kept small for speed. */
const COMMON_OPTS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--skip-log-bin', '--skip-name-resolve'];

// ---------------------------------------------------------------------------------------------
// OS user handling

/** The OS user mariadbd runs as: `mysql` when we are root, else ourselves (null). */
const runAs = (): OsUser | null => serverOsUser('mysql', 'mariadb-server');

function chownToMysql(p: string): void {
  chownTo(runAs(), p);
}

function userArgs(): string[] {
  const u = runAs();
  return u ? [`--user=${u.name}`] : [];
}

function mdbEnv(): NodeJS.ProcessEnv {
  // A clean environment: no MYSQL_* variables or ~/.my.cnf from the caller, predictable messages.
  return { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C', LC_ALL: 'C', TZ: 'UTC', HOME: '/nonexistent' };
}

function run(cmd: string, args: string[], cwd = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd, env: mdbEnv(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed (${err.code ?? err.signal}): ${String(stderr).trim().slice(-2000) || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Where temp dirs go: $ROTOR_MARIADB_TMPDIR, else /dev/shm when it is a writable tmpfs with room
 * (bootstrap and the template copy are much faster there than on a virtual disk), else os.tmpdir().
 * The mysql user must be able to traverse into it when mariadbd runs as mysql.
 */
export function mariadbTmpBase(): string {
  return chooseTmpBase('ROTOR_MARIADB_TMPDIR', () => runAs() !== null);
}

/** Kills the server of a dir whose owner died (the data is thrown away). */
const WATCHDOG: WatchdogSpec = {
  name: 'rotor-mariadb-watchdog',
  stopServer: `
pidfile="$dir/run/mysqld.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then sleep 0.2; fi
fi`,
};

/** Process-wide registry of live servers and the template (see throwaway-server.ts). */
const REGISTRY_KEY = 'rotor.test-support.mariadb-server';

const SPEC: ThrowawayServerSpec = {
  tag: 'mariadb-server',
  typeName: 'MariadbServer',
  registryKey: REGISTRY_KEY,
  watchdog: WATCHDOG,
  names: { spawn: MARIADBD, exited: 'mariadbd', stopping: 'mariadbd' },
  portInUse: /Address already in use|Bind on TCP\/IP port/,
  logKind: 'mariadb-error',
  exitSignal: 'SIGKILL',
  // The data is thrown away, so there is nothing to flush: SIGKILL is the fast way out.
  stopPlan: [['SIGKILL', 5_000]],
  pausePlan: [
    ['SIGTERM', STOP_TIMEOUT_MS],
    ['SIGKILL', 5_000],
  ],
};

// ---------------------------------------------------------------------------------------------
// Template data dir: mariadb-install-db once per process, copied for every server.

interface Template {
  dataDir: string;
}

function getTemplate(): Promise<Template> {
  return templateOnce(processRegistry<Template>(REGISTRY_KEY), '', buildTemplate);
}

/**
 * Bootstrap SQL run after the system tables exist (bootstrap mode runs without the grant system,
 * so no CREATE USER here: each server creates its admin with its own password). `normal` root
 * authentication creates password-less root accounts for localhost, 127.0.0.1, ::1 and the host
 * name: only the socket-only `root`@`localhost` is kept.
 */
const BOOTSTRAP_SQL = [
  "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';",
  `CREATE DATABASE ${DATABASE} CHARACTER SET utf8mb4;`,
  '',
].join('\n');

function buildTemplate(): Promise<Template> {
  const where = { base: mariadbTmpBase(), prefix: `rotor-mdbtpl-${process.pid}-`, watchdog: WATCHDOG };
  return buildTemplateDir(processRegistry<Template>(REGISTRY_KEY), where, async (dir) => {
    fs.chmodSync(dir, 0o711); // mysql must reach <dir>/data
    const sqlFile = path.join(dir, 'bootstrap.sql');
    fs.writeFileSync(sqlFile, BOOTSTRAP_SQL, { mode: 0o644 });
    const dataDir = path.join(dir, 'data');
    await run(
      INSTALL_DB,
      [
        '--no-defaults',
        ...userArgs(),
        `--datadir=${dataDir}`,
        '--auth-root-authentication-method=normal',
        '--skip-test-db',
        `--extra-file=${sqlFile}`,
        // The system tables and views as Debian's packages make them (their server config sets
        // utf8mb4 / utf8mb4_general_ci): mysql.user's computed columns then carry that collation,
        // which a statement comparing them with a literal of the connection's must cope with.
        '--character-set-server=utf8mb4',
        '--collation-server=utf8mb4_general_ci',
        ...COMMON_OPTS,
      ],
      dir,
    );
    fs.rmSync(sqlFile, { force: true });
    return { dataDir };
  });
}

// ---------------------------------------------------------------------------------------------
// The server

class MariadbInstance extends ThrowawayServer implements MariadbServer {
  readonly host = HOST;
  superuser: MariadbSuperuser;
  readonly database = DATABASE;
  caFile?: string;
  otherCaFile?: string;
  readonly dataDir: string;
  readonly runDir: string;
  readonly socket: string;
  readonly generalLogFile: string;
  version = '';

  private caPem?: string;
  private serverArgs: string[] = [];

  constructor(baseDir: string) {
    super(baseDir, 'mariadbd.log', SPEC);
    this.dataDir = path.join(baseDir, 'data');
    this.runDir = path.join(baseDir, 'run');
    this.socket = path.join(this.runDir, 'mysqld.sock');
    this.generalLogFile = path.join(baseDir, 'general.log');
    this.superuser = redactedCredentials(ADMIN, randomPassword());
  }

  override logFiles(): ServerLogFile[] {
    return [...super.logFiles(), { path: this.generalLogFile, kind: 'mariadb-general' }];
  }

  async init(opts: MariadbServerOptions, tpl: Template): Promise<void> {
    this.track();
    const tls = !!(opts.tls || opts.requireTls);

    fs.chmodSync(this.baseDir, 0o700);
    chownToMysql(this.baseDir);
    for (const d of [this.runDir, path.join(this.baseDir, 'tmp')]) {
      fs.mkdirSync(d, { mode: 0o700 });
      chownToMysql(d);
    }

    const certsP = tls ? this.makeCerts(opts.certSans) : Promise.resolve(undefined);
    const copyP = run('cp', ['-a', tpl.dataDir, this.dataDir]);
    const [certs] = await Promise.all([certsP, copyP]);

    this.serverArgs = [
      '--no-defaults', // must come first: never read /etc/mysql (the system server's config)
      ...userArgs(),
      `--datadir=${this.dataDir}`,
      `--tmpdir=${path.join(this.baseDir, 'tmp')}`,
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.runDir, 'mysqld.pid')}`,
      `--bind-address=${HOST}`,
      '--skip-networking=0',
      ...COMMON_OPTS,
      '--innodb-flush-log-at-trx-commit=0',
      '--innodb-doublewrite=0',
      '--skip-innodb-buffer-pool-load-at-startup',
      '--skip-innodb-buffer-pool-dump-at-shutdown',
      '--skip-performance-schema',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--max-connections=100',
      // Every statement, as received, to general.log (see the header); the harness's sessions opt out.
      '--general-log=1',
      `--general-log-file=${this.generalLogFile}`,
      '--log-output=FILE',
      '--slow-query-log=0',
      '--log-warnings=1',
      ...(certs ? [`--ssl-ca=${this.caFile}`, `--ssl-cert=${certs.certFile}`, `--ssl-key=${certs.keyFile}`] : []),
      ...(opts.requireTls ? ['--require-secure-transport=ON'] : []),
    ];

    await this.startOnFreePort(opts.pickPort);

    // The admin, with this server's own password (bootstrap mode cannot create users).
    const root = await mysql.createConnection({ socketPath: this.socket, user: 'root', connectTimeout: 10_000 });
    root.on('error', () => undefined);
    try {
      await root.query(QUIET);
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', [ADMIN, '%', this.superuser.password]);
      await root.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN, '%']);
      const [rows] = await root.query('SELECT VERSION() AS v');
      this.version = String((rows as Array<{ v: string }>)[0].v);
    } finally {
      await root.end().catch(() => undefined);
    }
  }

  private async makeCerts(sans?: string[]): Promise<{ certFile: string; keyFile: string }> {
    const tls = await makeThrowawayTls(this.baseDir, sans ?? ['DNS:localhost', 'IP:127.0.0.1'], runAs());
    this.caFile = tls.caFile;
    this.otherCaFile = tls.otherCaFile;
    this.caPem = tls.caPem;
    return tls;
  }

  /** mariadbd on this.port. */
  protected command(): ServerCommand {
    return { file: MARIADBD, args: [...this.serverArgs, `--port=${this.port}`], env: mdbEnv() };
  }

  /** Ready when its log says "ready for connections". */
  protected isReady(_child: ChildProcess, log: () => string): boolean {
    return /ready for connections/.test(log());
  }

  connectionOptions(): mysql.ConnectionOptions {
    return {
      host: this.host,
      port: this.port,
      user: this.superuser.username,
      password: this.superuser.password,
      database: this.database,
      ssl: this.caPem ? { ca: this.caPem, rejectUnauthorized: true, verifyIdentity: true } : undefined,
      connectTimeout: 10_000,
    };
  }

  async query(sql: string, params?: unknown[]): Promise<MariadbQueryResult> {
    const conn = await mysql.createConnection(this.connectionOptions());
    conn.on('error', () => undefined);
    try {
      await conn.query(QUIET);
      const [result] = await conn.query(sql, params);
      if (Array.isArray(result)) return { rows: result as Array<Record<string, any>>, affectedRows: 0 };
      return { rows: [], affectedRows: Number((result as { affectedRows?: number }).affectedRows ?? 0) };
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
}

/** Starts a throwaway MariaDB server. Always `await server.stop()` (e.g. in afterAll). */
export async function startMariadb(opts: MariadbServerOptions = {}): Promise<MariadbServer> {
  const tpl = await getTemplate();
  const baseDir = fs.mkdtempSync(path.join(mariadbTmpBase(), 'rotor-mdb-'));
  return initOrStop(new MariadbInstance(baseDir), (server) => server.init(opts, tpl));
}

// ---------------------------------------------------------------------------------------------

export type SslMode = 'disable' | 'require' | 'verify-full';

/** MariaDB/MySQL "Access denied for user" (ER_ACCESS_DENIED_ERROR). */
const ACCESS_DENIED = 1045;

/**
 * Tries to log in as user/password. Resolves true on success, false when the server refuses the
 * login with access denied (1045: wrong password, unknown user, or an account that REQUIREs SSL
 * reached without it). Any other error (network, TLS, unknown database, ...) is rethrown.
 * ssl defaults to 'verify-full' when server.caFile is set, else 'disable'.
 */
export async function canLoginMariadb(
  server: { host: string; port: number; database: string; caFile?: string },
  user: string,
  password: string,
  opts: { ssl?: SslMode; connectTimeoutMs?: number } = {},
): Promise<boolean> {
  const mode: SslMode = opts.ssl ?? (server.caFile ? 'verify-full' : 'disable');
  let ssl: mysql.ConnectionOptions['ssl'];
  if (mode === 'require') ssl = { rejectUnauthorized: false };
  else if (mode === 'verify-full') {
    if (!server.caFile) throw new Error("canLoginMariadb: ssl 'verify-full' needs server.caFile");
    ssl = { ca: fs.readFileSync(server.caFile, 'utf8'), rejectUnauthorized: true, verifyIdentity: true };
  }
  let conn: mysql.Connection;
  try {
    conn = await mysql.createConnection({
      host: server.host,
      port: server.port,
      database: server.database,
      user,
      password,
      ssl,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
    });
  } catch (e) {
    if ((e as { errno?: unknown }).errno === ACCESS_DENIED) return false;
    throw e;
  }
  conn.on('error', () => undefined);
  await conn.end().catch(() => undefined);
  return true;
}
