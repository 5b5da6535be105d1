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
 * The general and slow query logs stay off, so statement text (passwords) never reaches a log.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as vm from 'node:vm';
import mysql from 'mysql2/promise';
import { makeServerCert, makeTestCa } from './tls-certificates';
import { freePort } from './free-port';

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
  /** Runs one statement as the superuser over TCP with password auth (verified TLS when tls); `?` placeholders. */
  query(sql: string, params?: unknown[]): Promise<MariadbQueryResult>;
  connectionString?: never;
}

const MARIADBD = process.env.ROTOR_MARIADBD ?? '/usr/sbin/mariadbd';
const INSTALL_DB = process.env.ROTOR_MARIADB_INSTALL_DB ?? 'mariadb-install-db';
const HOST = '127.0.0.1';
const ADMIN = 'rotor_admin';
const DATABASE = 'appdb';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 8;

/** Options both bootstrap and server need to agree on (InnoDB geometry), kept small for speed. */
const COMMON_OPTS = ['--innodb-buffer-pool-size=16M', '--innodb-log-file-size=8M', '--skip-log-bin', '--skip-name-resolve'];

// ---------------------------------------------------------------------------------------------
// OS user handling

interface RunAs {
  name: string;
  uid: number;
  gid: number;
}

let runAsCache: RunAs | null | undefined;
/** The OS user mariadbd runs as: `mysql` when we are root, else ourselves (null). */
function runAs(): RunAs | null {
  if (runAsCache !== undefined) return runAsCache;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return (runAsCache = null);
  const uid = Number(execFileSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'mysql'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('mariadb-server: cannot resolve the mysql OS user');
  return (runAsCache = { name: 'mysql', uid, gid });
}

function chownToMysql(p: string): void {
  const u = runAs();
  if (u) fs.chownSync(p, u.uid, u.gid);
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
 */
let tmpBaseCache: string | undefined;
export function mariadbTmpBase(): string {
  if (tmpBaseCache) return tmpBaseCache;
  const candidates = [process.env.ROTOR_MARIADB_TMPDIR, '/dev/shm', os.tmpdir()].filter((d): d is string => !!d);
  for (const dir of candidates) {
    try {
      const st = fs.statSync(dir);
      if (!st.isDirectory()) continue;
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      // The mysql user must be able to traverse into it (world-x or sticky /tmp-like).
      if (runAs() && (st.mode & 0o001) === 0) continue;
      if (dir === '/dev/shm' && fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize < 1024 ** 3) continue;
      return (tmpBaseCache = dir);
    } catch {
      /* next */
    }
  }
  return (tmpBaseCache = os.tmpdir());
}

const randomPassword = (): string => randomBytes(18).toString('base64url');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Watchdogs: detached shell loops that clean up if this process dies without exit handlers.

const WATCHDOG_SCRIPT = `
owner="$1"; dir="$2"
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
pidfile="$dir/run/mysqld.pid"
if [ -f "$pidfile" ]; then
  pid=$(head -n 1 "$pidfile")
  if [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null; then sleep 0.2; fi
fi
rm -rf "$dir"
`;

function startWatchdog(dir: string): number | undefined {
  try {
    const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'rotor-mariadb-watchdog', String(process.pid), dir], {
      detached: true,
      stdio: 'ignore',
      cwd: '/',
    });
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } catch {
    return undefined;
  }
}

function killWatchdog(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL'); // its own process group (detached): the shell and its `sleep`
  } catch {
    /* already gone */
  }
}

// ---------------------------------------------------------------------------------------------
// State shared by every copy of this module in the process. Jest loads a fresh copy per test file
// and gives each a sandboxed `process` whose 'exit' event never fires, so the registry and the
// exit hook live on the real process object.

interface Killable {
  killSync(): void;
}

interface Shared {
  live: Set<Killable>;
  template: Promise<Template> | undefined;
  templateDirs: Set<string>;
}

const SHARED_KEY = Symbol.for('rotor.test-support.mariadb-server');

function realProcess(): NodeJS.Process {
  try {
    const p = vm.runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.on === 'function' && p.pid === process.pid) return p;
  } catch {
    /* fall through */
  }
  return process;
}

let sharedCache: Shared | undefined;
function shared(): Shared {
  if (sharedCache) return sharedCache;
  const proc = realProcess() as NodeJS.Process & { [SHARED_KEY]?: Shared };
  let st = proc[SHARED_KEY];
  if (!st) {
    const state: Shared = { live: new Set(), template: undefined, templateDirs: new Set() };
    st = state;
    Object.defineProperty(proc, SHARED_KEY, { value: state, enumerable: false });
    const rmSync = fs.rmSync;
    proc.on('exit', () => {
      // Kill servers a test forgot to stop; their watchdogs remove the dirs.
      for (const s of state.live) s.killSync();
      for (const d of state.templateDirs) {
        try {
          rmSync(d, { recursive: true, force: true });
        } catch {
          /* the template watchdog retries */
        }
      }
    });
  }
  return (sharedCache = st);
}

// ---------------------------------------------------------------------------------------------
// Template data dir: mariadb-install-db once per process, copied for every server.

interface Template {
  dataDir: string;
}

function getTemplate(): Promise<Template> {
  const st = shared();
  if (!st.template) {
    const p = buildTemplate();
    st.template = p;
    p.catch(() => {
      if (st.template === p) st.template = undefined;
    });
  }
  return st.template;
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

async function buildTemplate(): Promise<Template> {
  const dir = fs.mkdtempSync(path.join(mariadbTmpBase(), `rotor-mdbtpl-${process.pid}-`));
  shared().templateDirs.add(dir);
  startWatchdog(dir); // removes the template when this process is gone
  try {
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
        ...COMMON_OPTS,
      ],
      dir,
    );
    fs.rmSync(sqlFile, { force: true });
    return { dataDir };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    shared().templateDirs.delete(dir);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The server

class PortInUseError extends Error {}

function makeSuperuser(username: string, password: string): MariadbSuperuser {
  const su: MariadbSuperuser = { username, password };
  // Keep the password out of console.log / util.inspect output.
  Object.defineProperty(su, inspect.custom, {
    value: () => `{ username: ${JSON.stringify(username)}, password: '[redacted]' }`,
    enumerable: false,
  });
  return su;
}

class MariadbInstance implements MariadbServer {
  readonly host = HOST;
  port = 0;
  superuser: MariadbSuperuser;
  readonly database = DATABASE;
  caFile?: string;
  otherCaFile?: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly runDir: string;
  readonly socket: string;
  version = '';

  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private watchdogPid: number | undefined;
  private stopped = false;
  private caPem?: string;
  private serverArgs: string[] = [];
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(readonly baseDir: string) {
    this.dataDir = path.join(baseDir, 'data');
    this.logFile = path.join(baseDir, 'mariadbd.log');
    this.runDir = path.join(baseDir, 'run');
    this.socket = path.join(this.runDir, 'mysqld.sock');
    this.superuser = makeSuperuser(ADMIN, randomPassword());
  }

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  [inspect.custom](): string {
    return `MariadbServer { host: '${this.host}', port: ${this.port}, database: '${this.database}', user: '${this.superuser.username}', dataDir: '${this.dataDir}' }`;
  }

  toJSON(): Record<string, unknown> {
    return { host: this.host, port: this.port, database: this.database, username: this.superuser.username, dataDir: this.dataDir };
  }

  async init(opts: MariadbServerOptions, tpl: Template): Promise<void> {
    this.watchdogPid = startWatchdog(this.baseDir);
    shared().live.add(this);
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
      // Never write statement text to a log (fixtures contain passwords).
      '--general-log=0',
      '--slow-query-log=0',
      '--log-warnings=1',
      ...(certs ? [`--ssl-ca=${this.caFile}`, `--ssl-cert=${certs.certFile}`, `--ssl-key=${certs.keyFile}`] : []),
      ...(opts.requireTls ? ['--require-secure-transport=ON'] : []),
    ];

    // Start on a free port, retrying if another process grabbed it first.
    for (let attempt = 1; ; attempt++) {
      this.port = await (opts.pickPort ?? freePort)();
      try {
        await this.startServer();
        break;
      } catch (e) {
        if (!(e instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw e;
      }
    }

    // The admin, with this server's own password (bootstrap mode cannot create users).
    const root = await mysql.createConnection({ socketPath: this.socket, user: 'root', connectTimeout: 10_000 });
    root.on('error', () => undefined);
    try {
      await root.query('CREATE USER ?@? IDENTIFIED BY ?', [ADMIN, '%', this.superuser.password]);
      await root.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [ADMIN, '%']);
      const [rows] = await root.query('SELECT VERSION() AS v');
      this.version = String((rows as Array<{ v: string }>)[0].v);
    } finally {
      await root.end().catch(() => undefined);
    }
  }

  private async makeCerts(sans?: string[]): Promise<{ certFile: string; keyFile: string }> {
    const dir = path.join(this.baseDir, 'tls');
    fs.mkdirSync(dir, { mode: 0o755 });
    const u = runAs();
    const [ca, other] = await Promise.all([
      makeTestCa(dir, { name: 'ca', cn: 'rotor test CA' }),
      makeTestCa(dir, { name: 'other-ca', cn: 'rotor unrelated test CA' }),
    ]);
    const server = await makeServerCert(dir, ca, {
      cn: 'localhost',
      sans: sans ?? ['DNS:localhost', 'IP:127.0.0.1'],
      owner: u ? { uid: u.uid, gid: u.gid } : undefined,
    });
    this.caFile = ca.certFile;
    this.otherCaFile = other.certFile;
    this.caPem = fs.readFileSync(ca.certFile, 'utf8');
    return server;
  }

  /** Spawns mariadbd on this.port and waits until its log says "ready for connections". */
  private async startServer(): Promise<void> {
    const logOffset = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const logFd = fs.openSync(this.logFile, 'a', 0o640);
    let child: ChildProcess;
    try {
      child = spawn(MARIADBD, [...this.serverArgs, `--port=${this.port}`], {
        cwd: this.baseDir,
        env: mdbEnv(),
        stdio: ['ignore', logFd, logFd],
      });
    } finally {
      fs.closeSync(logFd);
    }
    this.child = child;
    child.unref(); // a forgotten server must not keep Jest alive (the exit hook/watchdog clean up)
    let spawnError: Error | undefined;
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (e) => {
        spawnError = e;
        resolve();
      });
    });

    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`mariadb-server: cannot spawn ${MARIADBD}: ${spawnError.message}`);
      const log = this.readLog(logOffset);
      if (child.exitCode !== null || child.signalCode !== null) {
        if (/Address already in use|Bind on TCP\/IP port/.test(log)) throw new PortInUseError(log);
        throw new Error(`mariadb-server: mariadbd exited (${child.exitCode ?? child.signalCode}) during startup:\n${log.slice(-3000)}`);
      }
      if (/ready for connections/.test(log)) return;
      if (Date.now() > deadline) {
        this.killSync();
        throw new Error(`mariadb-server: not ready after ${READY_TIMEOUT_MS} ms:\n${log.slice(-3000)}`);
      }
      await sleep(15);
    }
  }

  private readLog(offset: number): string {
    try {
      return fs.readFileSync(this.logFile).subarray(offset).toString('utf8');
    } catch {
      return '';
    }
  }

  private waitExit(ms: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ms);
      void this.exited!.then(() => {
        clearTimeout(timer);
        resolve(true);
      });
    });
  }

  /** Stops mariadbd: SIGTERM (clean shutdown) or straight SIGKILL; escalates on timeout. */
  private async shutdown(clean: boolean): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.ref();
    try {
      const plan = clean ? ([['SIGTERM', STOP_TIMEOUT_MS], ['SIGKILL', 5_000]] as const) : ([['SIGKILL', 5_000]] as const);
      for (const [sig, ms] of plan) {
        try {
          child.kill(sig);
        } catch {
          /* gone */
        }
        if (await this.waitExit(ms)) return;
      }
      throw new Error(`mariadb-server: mariadbd ${child.pid} did not exit`);
    } finally {
      child.unref();
    }
  }

  /** Synchronous best effort for process exit; the watchdog removes the dir. */
  killSync(): void {
    const pid = this.pid;
    if (pid) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.lifecycle.then(fn);
    this.lifecycle = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  stop(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) return;
      this.stopped = true;
      try {
        // The data is thrown away, so there is nothing to flush: SIGKILL is the fast way out.
        await this.shutdown(false);
      } finally {
        shared().live.delete(this);
        fs.rmSync(this.baseDir, { recursive: true, force: true });
        killWatchdog(this.watchdogPid);
      }
    });
  }

  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) throw new Error('mariadb-server: stopped');
      await this.shutdown(true);
    });
  }

  resume(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) throw new Error('mariadb-server: stopped');
      if (this.pid) return;
      // Same port; something else may hold it briefly (e.g. an ephemeral client port): retry a bit.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.startServer();
          return;
        } catch (e) {
          if (!(e instanceof PortInUseError) || attempt >= 20) throw e;
          await sleep(100);
        }
      }
    });
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
  const server = new MariadbInstance(baseDir);
  try {
    await server.init(opts, tpl);
  } catch (e) {
    await server.stop().catch(() => undefined);
    throw e;
  }
  return server;
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
