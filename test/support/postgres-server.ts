/**
 * Throwaway PostgreSQL 15 servers for integration tests.
 *
 * Each server gets its own temp dir (`<base>/rotor-pg-XXXXXX`, base = $ROTOR_PG_TMPDIR, else /dev/shm
 * if it is a writable tmpfs, else os.tmpdir()) holding the data dir, the
 * Unix socket dir, TLS material and the server log, a random free loopback port, and a superuser
 * (`rotor_admin`) with a random password. Authentication is scram-sha-256 everywhere (no trust).
 *
 * Speed: `initdb` (~1 s on tmpfs, ~2 s on disk) runs once per process into a template dir
 * (`rotor-pgtpl-<pid>-*`, shared by all test files a Jest worker runs); each server copies it
 * (~0.07 s on tmpfs), starts, and sets its own random superuser password: ~0.15-0.35 s per server.
 *
 * Cleanup: `stop()` removes everything. Servers a test forgot to stop are shut down on process
 * exit, and a small detached watchdog per server (and per template) shuts the server down and
 * removes its dir if the owning process dies without running exit handlers (e.g. SIGKILL).
 *
 * Runs the PostgreSQL binaries as the `postgres` OS user when the current process is root.
 */
import { ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as vm from 'node:vm';
import { Client, ClientConfig, QueryResult } from 'pg';
import { makeServerCert, makeTestCa } from '../../local/tls-certificates';
import { freePort } from './free-port';

export interface PgServerOptions {
  /** ssl=on with a throwaway CA + server cert for CN/SAN localhost and IP 127.0.0.1. */
  tls?: boolean;
  /** pg_hba uses `hostssl` only, so non-TLS TCP connections are rejected (implies tls). */
  requireTls?: boolean;
  /** Create and expose this database instead of 'postgres'. */
  database?: string;
  /** Superuser name. Default 'rotor_admin'. */
  superuserName?: string;
  /** max_connections. Default 100. */
  maxConnections?: number;
  /** Extra postgresql.conf lines (e.g. "password_encryption = 'md5'"). */
  extraConfig?: string[];
  /** Port chooser, called again when the port turns out to be taken. Default freePort(). */
  pickPort?: () => Promise<number>;
}

export interface PgSuperuser {
  username: string;
  password: string;
}

export interface PgServer {
  host: string;
  port: number;
  superuser: PgSuperuser;
  database: string;
  /** CA certificate (PEM) that signed the server certificate, when tls. */
  caFile?: string;
  /** A second, unrelated CA (PEM) for "wrong CA" tests, when tls. */
  otherCaFile?: string;
  dataDir: string;
  /** Server log (stderr of the postmaster). Never contains passwords. */
  logFile: string;
  /** PostgreSQL server_version_num, e.g. 150020. */
  versionNum: number;
  /** Postmaster pid while running. */
  readonly pid: number | undefined;
  /** Fast shutdown and removal of the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** Fast shutdown, keeping the data (clients see the server go away: outage tests). */
  pause(): Promise<void>;
  /** Start again on the same port. */
  resume(): Promise<void>;
  /** Run SQL as the superuser over TCP with password auth (and verified TLS when tls). */
  query(sql: string, params?: unknown[]): Promise<QueryResult>;
  connectionString?: never;
}

const PG_BIN = process.env.ROTOR_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const PORT_ATTEMPTS = 8;

// ---------------------------------------------------------------------------------------------
// OS user handling

interface RunAs {
  uid: number;
  gid: number;
}

let runAsCache: RunAs | null | undefined;
/** The uid/gid to run PostgreSQL binaries as: `postgres` when we are root, else ourselves (null). */
function runAs(): RunAs | null {
  if (runAsCache !== undefined) return runAsCache;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return (runAsCache = null);
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('postgres-server: cannot resolve the postgres OS user');
  return (runAsCache = { uid, gid });
}

function chownToPg(p: string): void {
  const u = runAs();
  if (u) fs.chownSync(p, u.uid, u.gid);
}

function pgEnv(): NodeJS.ProcessEnv {
  // A clean environment: no PG* variables from the caller, predictable messages.
  return { PATH: `${PG_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
}

function runPgTool(bin: string, args: string[], cwd: string): Promise<string> {
  const u = runAs();
  return new Promise((resolve, reject) => {
    execFile(
      path.join(PG_BIN, bin),
      args,
      { cwd, env: pgEnv(), encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, ...(u ? { uid: u.uid, gid: u.gid } : {}) },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${bin} failed (${err.code ?? err.signal}): ${String(stderr).trim().slice(-2000)}`));
        else resolve(stdout);
      },
    );
  });
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _o, stderr) => (err ? reject(new Error(`${cmd} failed: ${String(stderr).trim() || err.message}`)) : resolve()));
  });
}

/**
 * Where temp dirs go: $ROTOR_PG_TMPDIR, else /dev/shm when it is a writable tmpfs (initdb and the
 * template copy are 2-15x faster there than on a virtual disk), else os.tmpdir().
 */
let tmpBaseCache: string | undefined;
export function pgTmpBase(): string {
  if (tmpBaseCache) return tmpBaseCache;
  const candidates = [process.env.ROTOR_PG_TMPDIR, '/dev/shm', os.tmpdir()].filter((d): d is string => !!d);
  for (const dir of candidates) {
    try {
      const st = fs.statSync(dir);
      if (!st.isDirectory()) continue;
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      // A non-root postgres user must be able to traverse into it (world-x or sticky /tmp-like).
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
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pg=$(head -n 1 "$pidfile")
  if [ -n "$pg" ] && kill -INT "$pg" 2>/dev/null; then
    i=0
    while kill -0 "$pg" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
    kill -KILL "$pg" 2>/dev/null
    sleep 0.2
  fi
fi
rm -rf "$dir"
`;

function startWatchdog(dir: string): number | undefined {
  try {
    const child = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'rotor-pg-watchdog', String(process.pid), dir], {
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
  templates: Map<string, Promise<Template>>;
  templateDirs: Set<string>;
}

const SHARED_KEY = Symbol.for('rotor.test-support.postgres-server');

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
    const state: Shared = { live: new Set(), templates: new Map(), templateDirs: new Set() };
    st = state;
    Object.defineProperty(proc, SHARED_KEY, { value: state, enumerable: false });
    const rmSync = fs.rmSync;
    proc.on('exit', () => {
      // Immediate shutdown of servers a test forgot to stop; their watchdogs remove the dirs.
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
// Template data dir: initdb once per process, copied for every server.

interface Template {
  dataDir: string;
  username: string;
  password: string;
}

function getTemplate(username: string): Promise<Template> {
  const st = shared();
  let p = st.templates.get(username);
  if (!p) {
    p = buildTemplate(username);
    st.templates.set(username, p);
    p.catch(() => st.templates.delete(username));
  }
  return p;
}

async function buildTemplate(username: string): Promise<Template> {
  const dir = fs.mkdtempSync(path.join(pgTmpBase(), `rotor-pgtpl-${process.pid}-`));
  shared().templateDirs.add(dir);
  startWatchdog(dir); // removes the template when this process is gone
  try {
    fs.chmodSync(dir, 0o700);
    chownToPg(dir);
    const password = randomPassword();
    const pwfile = path.join(dir, 'pwfile');
    fs.writeFileSync(pwfile, password + '\n', { mode: 0o600 });
    chownToPg(pwfile);
    const dataDir = path.join(dir, 'data');
    await runPgTool(
      'initdb',
      ['-D', dataDir, '-U', username, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions', '--wal-segsize=1'],
      dir,
    );
    fs.rmSync(pwfile, { force: true });
    return { dataDir, username, password };
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    shared().templateDirs.delete(dir);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The server

class PortInUseError extends Error {}

function makeSuperuser(username: string, password: string): PgSuperuser {
  const su: PgSuperuser = { username, password };
  // Keep the password out of console.log / util.inspect output.
  Object.defineProperty(su, inspect.custom, {
    value: () => `{ username: ${JSON.stringify(username)}, password: '[redacted]' }`,
    enumerable: false,
  });
  return su;
}

class PgInstance implements PgServer {
  readonly host = HOST;
  port = 0;
  superuser: PgSuperuser;
  database = 'postgres';
  caFile?: string;
  otherCaFile?: string;
  readonly dataDir: string;
  readonly logFile: string;
  readonly sockDir: string;
  versionNum = 0;

  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private watchdogPid: number | undefined;
  private stopped = false;
  private caPem?: string;
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(
    readonly baseDir: string,
    username: string,
  ) {
    this.dataDir = path.join(baseDir, 'data');
    this.logFile = path.join(baseDir, 'postgres.log');
    this.sockDir = path.join(baseDir, 'sock');
    this.superuser = makeSuperuser(username, randomPassword());
  }

  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  [inspect.custom](): string {
    return `PgServer { host: '${this.host}', port: ${this.port}, database: '${this.database}', user: '${this.superuser.username}', dataDir: '${this.dataDir}' }`;
  }

  toJSON(): Record<string, unknown> {
    return { host: this.host, port: this.port, database: this.database, username: this.superuser.username, dataDir: this.dataDir };
  }

  async init(opts: PgServerOptions, tpl: Template): Promise<void> {
    this.watchdogPid = startWatchdog(this.baseDir);
    shared().live.add(this);
    const tls = !!(opts.tls || opts.requireTls);

    fs.chmodSync(this.baseDir, 0o700);
    chownToPg(this.baseDir);
    fs.mkdirSync(this.sockDir, { mode: 0o700 });
    chownToPg(this.sockDir);

    const certsP = tls ? this.makeCerts() : Promise.resolve(undefined);
    const copyP = run('cp', ['-a', tpl.dataDir, this.dataDir]);
    const [certs] = await Promise.all([certsP, copyP]);

    const conf = [
      '',
      '# --- rotor test harness ---',
      `listen_addresses = '${HOST}'`,
      `unix_socket_directories = '${this.sockDir}'`,
      'unix_socket_permissions = 0700',
      `max_connections = ${opts.maxConnections ?? 100}`,
      'shared_buffers = 32MB',
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'autovacuum = off',
      'jit = off',
      "password_encryption = 'scram-sha-256'",
      "timezone = 'UTC'",
      "log_timezone = 'UTC'",
      // Never write statement text to the log (fixtures may contain passwords).
      "log_statement = 'none'",
      'log_min_error_statement = panic',
      'log_min_duration_statement = -1',
      "log_line_prefix = '%m [%p] '",
      'logging_collector = off',
      ...(certs
        ? ['ssl = on', `ssl_cert_file = '${certs.certFile}'`, `ssl_key_file = '${certs.keyFile}'`]
        : ['ssl = off']),
      ...(opts.extraConfig ?? []),
      '',
    ].join('\n');
    fs.appendFileSync(path.join(this.dataDir, 'postgresql.conf'), conf);
    const hostType = opts.requireTls ? 'hostssl' : 'host';
    fs.writeFileSync(
      path.join(this.dataDir, 'pg_hba.conf'),
      [
        '# TYPE  DATABASE USER ADDRESS METHOD (rotor test harness)',
        'local   all      all          scram-sha-256',
        `${hostType.padEnd(7)} all      all  ${HOST}/32 scram-sha-256`,
        '',
      ].join('\n'),
    );
    chownToPg(path.join(this.dataDir, 'pg_hba.conf'));

    // Start on a free port, retrying if another process grabbed it first.
    for (let attempt = 1; ; attempt++) {
      this.port = await (opts.pickPort ?? freePort)();
      try {
        await this.startPostmaster();
        break;
      } catch (e) {
        if (!(e instanceof PortInUseError) || attempt >= PORT_ATTEMPTS) throw e;
      }
    }

    // The copied template carries the template's password; give this server its own.
    const admin = new Client({
      host: this.sockDir,
      port: this.port,
      user: tpl.username,
      password: tpl.password,
      database: 'postgres',
    });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.query(`ALTER ROLE ${admin.escapeIdentifier(tpl.username)} PASSWORD ${admin.escapeLiteral(this.superuser.password)}`);
      const r = await admin.query<{ v: string }>('SHOW server_version_num');
      this.versionNum = Number(r.rows[0].v);
      if (opts.database && opts.database !== 'postgres') {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(opts.database)}`);
        this.database = opts.database;
      }
    } finally {
      await admin.end().catch(() => undefined);
    }
  }

  private async makeCerts(): Promise<{ certFile: string; keyFile: string }> {
    const dir = path.join(this.baseDir, 'tls');
    fs.mkdirSync(dir, { mode: 0o755 });
    const u = runAs();
    const [ca, other] = await Promise.all([
      makeTestCa(dir, { name: 'ca', cn: 'rotor test CA' }),
      makeTestCa(dir, { name: 'other-ca', cn: 'rotor unrelated test CA' }),
    ]);
    const server = await makeServerCert(dir, ca, {
      cn: 'localhost',
      sans: ['DNS:localhost', 'IP:127.0.0.1'],
      owner: u ?? undefined,
    });
    this.caFile = ca.certFile;
    this.otherCaFile = other.certFile;
    this.caPem = fs.readFileSync(ca.certFile, 'utf8');
    return server;
  }

  /** Spawns the postmaster on this.port and waits until postmaster.pid says "ready". */
  private async startPostmaster(): Promise<void> {
    const u = runAs();
    const logOffset = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const logFd = fs.openSync(this.logFile, 'a', 0o640);
    let child: ChildProcess;
    try {
      child = spawn(path.join(PG_BIN, 'postgres'), ['-D', this.dataDir, '-p', String(this.port)], {
        cwd: this.baseDir,
        env: pgEnv(),
        stdio: ['ignore', logFd, logFd],
        ...(u ? { uid: u.uid, gid: u.gid } : {}),
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
    const pidFile = path.join(this.dataDir, 'postmaster.pid');
    for (;;) {
      if (spawnError) throw new Error(`postgres-server: cannot spawn postgres: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        const log = this.readLog(logOffset);
        if (/Address already in use|could not create any TCP\/IP sockets/.test(log)) throw new PortInUseError(log);
        throw new Error(`postgres-server: postgres exited (${child.exitCode ?? child.signalCode}) during startup:\n${log.slice(-3000)}`);
      }
      try {
        const lines = fs.readFileSync(pidFile, 'utf8').split('\n');
        if (Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready') return;
      } catch {
        /* not there yet */
      }
      if (Date.now() > deadline) {
        this.killSync();
        throw new Error(`postgres-server: not ready after ${READY_TIMEOUT_MS} ms:\n${this.readLog(logOffset).slice(-3000)}`);
      }
      await sleep(15);
    }
  }

  private readLog(offset: number): string {
    try {
      const buf = fs.readFileSync(this.logFile);
      return buf.subarray(offset).toString('utf8');
    } catch {
      return '';
    }
  }

  /** Fast shutdown (SIGINT) of the postmaster; escalates to SIGQUIT/SIGKILL on timeout. */
  private async shutdown(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.ref();
    try {
      const waitExit = (ms: number) =>
        new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), ms);
          void this.exited!.then(() => {
            clearTimeout(timer);
            resolve(true);
          });
        });
      for (const [sig, ms] of [['SIGINT', STOP_TIMEOUT_MS], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
        try {
          child.kill(sig);
        } catch {
          /* gone */
        }
        if (await waitExit(ms)) return;
      }
      throw new Error(`postgres-server: postmaster ${child.pid} did not exit`);
    } finally {
      child.unref();
    }
  }

  /** Synchronous best effort for process exit: immediate shutdown; the watchdog removes the dir. */
  killSync(): void {
    const pid = this.pid;
    if (pid) {
      try {
        process.kill(pid, 'SIGQUIT');
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
        await this.shutdown();
      } finally {
        shared().live.delete(this);
        fs.rmSync(this.baseDir, { recursive: true, force: true });
        killWatchdog(this.watchdogPid);
      }
    });
  }

  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) throw new Error('postgres-server: stopped');
      await this.shutdown();
    });
  }

  resume(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) throw new Error('postgres-server: stopped');
      if (this.pid) return;
      // Same port; something else may hold it briefly (e.g. an ephemeral client port): retry a bit.
      for (let attempt = 1; ; attempt++) {
        try {
          await this.startPostmaster();
          return;
        } catch (e) {
          if (!(e instanceof PortInUseError) || attempt >= 20) throw e;
          await sleep(100);
        }
      }
    });
  }

  clientConfig(): ClientConfig {
    return {
      host: this.host,
      port: this.port,
      user: this.superuser.username,
      password: this.superuser.password,
      database: this.database,
      ssl: this.caPem ? { ca: this.caPem, rejectUnauthorized: true, servername: 'localhost' } : false,
      connectionTimeoutMillis: 10_000,
    };
  }

  async query(sql: string, params?: unknown[]): Promise<QueryResult> {
    const client = new Client(this.clientConfig());
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.query(sql, params as unknown[] | undefined);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}

/** Starts a throwaway PostgreSQL 15 server. Always `await server.stop()` (e.g. in afterAll). */
export async function startPostgres(opts: PgServerOptions = {}): Promise<PgServer> {
  const username = opts.superuserName ?? 'rotor_admin';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(username)) throw new Error(`postgres-server: bad superuser name ${username}`);
  const tpl = await getTemplate(username);
  const baseDir = fs.mkdtempSync(path.join(pgTmpBase(), 'rotor-pg-'));
  const server = new PgInstance(baseDir, username);
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

/**
 * Tries to log in as user/password. Resolves true on success, false when the server rejects the
 * authentication (SQLSTATE class 28: 28P01 invalid_password, 28000 e.g. no pg_hba entry /
 * role cannot log in). Any other error (network, TLS, missing database, ...) is rethrown.
 * ssl defaults to 'verify-full' when server.caFile is set, else 'disable'.
 */
export async function canLogin(
  server: { host: string; port: number; database: string; caFile?: string },
  user: string,
  password: string,
  opts: { ssl?: SslMode; connectionTimeoutMillis?: number } = {},
): Promise<boolean> {
  const mode: SslMode = opts.ssl ?? (server.caFile ? 'verify-full' : 'disable');
  let ssl: ClientConfig['ssl'];
  if (mode === 'disable') ssl = false;
  else if (mode === 'require') ssl = { rejectUnauthorized: false };
  else {
    if (!server.caFile) throw new Error("canLogin: ssl 'verify-full' needs server.caFile");
    ssl = { ca: fs.readFileSync(server.caFile, 'utf8'), rejectUnauthorized: true, servername: 'localhost' };
  }
  const client = new Client({
    host: server.host,
    port: server.port,
    database: server.database,
    user,
    password,
    ssl,
    connectionTimeoutMillis: opts.connectionTimeoutMillis ?? 10_000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('28')) return false;
    throw e;
  }
  await client.end().catch(() => undefined);
  return true;
}
