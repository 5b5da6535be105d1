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
 *
 * Statement log: log_statement=all into the server log (in the temp dir, removed with it), so that
 * tests can prove what the rotation function sends; the harness's own sessions opt out (QUIET).
 * The test suite's leak audit reads the log when the server is stopped (`tapServerLogs` in
 * local/throwaway-server.ts; test/support/leak-audit/server-logs.ts).
 */
import { ChildProcess, execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client, ClientConfig, QueryResult } from 'pg';
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
  STOP_TIMEOUT_MS,
  templateOnce,
  ThrowawayServer,
  type OsUser,
  type ServerCommand,
  type ShutdownPlan,
  type ThrowawayServerSpec,
  type WatchdogSpec,
} from '../../local/throwaway-server';

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
  /**
   * Server log (stderr of the postmaster) with every statement (log_statement=all) of every session
   * but the harness's own (`query()`), prefixed `{app=<application_name> user=<user>}`.
   */
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
  /** Run SQL as the superuser over TCP with password auth (and verified TLS when tls); not logged. */
  query(sql: string, params?: unknown[]): Promise<QueryResult>;
  connectionString?: never;
}

/**
 * Startup option of the harness's own sessions (`query()`, the bootstrap): their statements stay
 * out of the log (log_statement=all otherwise; a superuser may set it per session).
 */
const QUIET = '-c log_statement=none';

const PG_BIN = process.env.ROTOR_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// OS user handling

/** The OS user to run PostgreSQL binaries as: `postgres` when we are root, else ourselves (null). */
const runAs = (): OsUser | null => serverOsUser('postgres', 'postgres-server');

function chownToPg(p: string): void {
  chownTo(runAs(), p);
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
 * template copy are 2-15x faster there than on a virtual disk), else os.tmpdir(). A non-root
 * postgres user must be able to traverse into it.
 */
export function pgTmpBase(): string {
  return chooseTmpBase('ROTOR_PG_TMPDIR', () => runAs() !== null);
}

/** Fast shutdown (SIGINT) of the postmaster of a dir whose owner died, SIGKILL after 10 s. */
const WATCHDOG: WatchdogSpec = {
  name: 'rotor-pg-watchdog',
  stopServer: `
pidfile="$dir/data/postmaster.pid"
if [ -f "$pidfile" ]; then
  pg=$(head -n 1 "$pidfile")
  if [ -n "$pg" ] && kill -INT "$pg" 2>/dev/null; then
    i=0
    while kill -0 "$pg" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.2; i=$((i+1)); done
    kill -KILL "$pg" 2>/dev/null
    sleep 0.2
  fi
fi`,
};

/** Process-wide registry of live servers and templates (see throwaway-server.ts). */
const REGISTRY_KEY = 'rotor.test-support.postgres-server';

/** Fast shutdown (SIGINT) of the postmaster; escalates to SIGQUIT/SIGKILL on timeout. */
const SHUTDOWN: ShutdownPlan = [
  ['SIGINT', STOP_TIMEOUT_MS],
  ['SIGQUIT', 5_000],
  ['SIGKILL', 5_000],
];

const SPEC: ThrowawayServerSpec = {
  tag: 'postgres-server',
  typeName: 'PgServer',
  registryKey: REGISTRY_KEY,
  watchdog: WATCHDOG,
  names: { spawn: 'postgres', exited: 'postgres', stopping: 'postmaster' },
  portInUse: /Address already in use|could not create any TCP\/IP sockets/,
  logKind: 'postgres-log',
  // Immediate shutdown of servers a test forgot to stop.
  exitSignal: 'SIGQUIT',
  stopPlan: SHUTDOWN,
  pausePlan: SHUTDOWN,
};

// ---------------------------------------------------------------------------------------------
// Template data dir: initdb once per process, copied for every server.

interface Template {
  dataDir: string;
  username: string;
  password: string;
}

function getTemplate(username: string): Promise<Template> {
  return templateOnce(processRegistry<Template>(REGISTRY_KEY), username, () => buildTemplate(username));
}

function buildTemplate(username: string): Promise<Template> {
  const where = { base: pgTmpBase(), prefix: `rotor-pgtpl-${process.pid}-`, watchdog: WATCHDOG };
  return buildTemplateDir(processRegistry<Template>(REGISTRY_KEY), where, async (dir) => {
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
  });
}

// ---------------------------------------------------------------------------------------------
// The server

class PgInstance extends ThrowawayServer implements PgServer {
  readonly host = HOST;
  superuser: PgSuperuser;
  database = 'postgres';
  caFile?: string;
  otherCaFile?: string;
  readonly dataDir: string;
  readonly sockDir: string;
  versionNum = 0;

  private caPem?: string;

  constructor(baseDir: string, username: string) {
    super(baseDir, 'postgres.log', SPEC);
    this.dataDir = path.join(baseDir, 'data');
    this.sockDir = path.join(baseDir, 'sock');
    this.superuser = redactedCredentials(username, randomPassword());
  }

  async init(opts: PgServerOptions, tpl: Template): Promise<void> {
    this.track();
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
      // Every statement to the log, with the session's application and user (the leak audit tells
      // the rotation function's sessions, application_name 'rotor-rotation', from fixtures').
      // The harness's own sessions opt out (QUIET): fixtures set passwords in plain text on purpose.
      "log_statement = 'all'",
      'log_min_error_statement = panic',
      'log_min_duration_statement = -1',
      "log_line_prefix = '%m [%p] %q{app=%a user=%u} '",
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

    await this.startOnFreePort(opts.pickPort);

    // The copied template carries the template's password; give this server its own.
    const admin = new Client({
      host: this.sockDir,
      port: this.port,
      user: tpl.username,
      password: tpl.password,
      database: 'postgres',
      options: QUIET,
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
    const tls = await makeThrowawayTls(this.baseDir, ['DNS:localhost', 'IP:127.0.0.1'], runAs());
    this.caFile = tls.caFile;
    this.otherCaFile = tls.otherCaFile;
    this.caPem = tls.caPem;
    return tls;
  }

  /** The postmaster on this.port. */
  protected command(): ServerCommand {
    return { file: path.join(PG_BIN, 'postgres'), args: ['-D', this.dataDir, '-p', String(this.port)], env: pgEnv(), user: runAs() };
  }

  /** Ready when postmaster.pid names this postmaster and says "ready". */
  protected isReady(child: ChildProcess): boolean {
    try {
      const lines = fs.readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n');
      return Number(lines[0]) === child.pid && lines[7]?.trim() === 'ready';
    } catch {
      return false; // not there yet
    }
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
      options: QUIET,
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
  return initOrStop(new PgInstance(baseDir, username), (server) => server.init(opts, tpl));
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
