/**
 * The engine-independent mechanics of throwaway database servers for tests and the demo
 * (local/mariadb-server.ts, test/support/postgres-server.ts):
 *
 * - where temp dirs go ({@link chooseTmpBase}),
 * - detached watchdogs that clean up when the owning process dies without exit handlers
 *   ({@link startWatchdog}, {@link killWatchdog}),
 * - process-wide state shared by every copy of a module that Jest loads, with an exit hook on the
 *   real `process` ({@link processRegistry}),
 * - a template dir built once per process and copied for every server ({@link templateOnce},
 *   {@link buildTemplateDir}),
 * - throwaway TLS material ({@link makeThrowawayTls}),
 * - credentials that stay out of `console.log` ({@link redactedCredentials}),
 * - and the server process itself: spawning with a log file, waiting until ready, retrying on a
 *   taken port, stop/pause/resume ({@link ThrowawayServer}),
 * - an opt-in view of the servers' log files before they are removed ({@link tapServerLogs}; the
 *   test suite's leak audit reads every statement the servers logged).
 *
 * Nothing here knows about a particular database engine.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { inspect } from 'node:util';
import * as vm from 'node:vm';
import { freePort } from './free-port';
import { makeServerCert, makeTestCa } from './tls-certificates';

/** How long a server may take to become ready. */
export const READY_TIMEOUT_MS = 30_000;
/** How long a clean shutdown may take before the next signal. */
export const STOP_TIMEOUT_MS = 15_000;
/** How many ports a new server tries before giving up. */
const PORT_ATTEMPTS = 8;
/** How often (and how long apart) `resume()` retries its own port while something else holds it. */
const RESUME_PORT_ATTEMPTS = 20;
const RESUME_RETRY_DELAY_MS = 100;

/** A random password (24 URL-safe characters). */
export const randomPassword = (): string => randomBytes(18).toString('base64url');
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// OS user

/** The OS user a server runs as. */
export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

const osUserCache = new Map<string, OsUser | null>();

/**
 * The OS user `name` (e.g. 'postgres') when this process is root (database servers refuse to run
 * as root), else null: the server runs as ourselves. `tag` prefixes the error when `name` cannot
 * be resolved. Cached per name.
 */
export function serverOsUser(name: string, tag: string): OsUser | null {
  const cached = osUserCache.get(name);
  if (cached !== undefined) return cached;
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    osUserCache.set(name, null);
    return null;
  }
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`${tag}: cannot resolve the ${name} OS user`);
  const user = { name, uid, gid };
  osUserCache.set(name, user);
  return user;
}

/** Gives `p` to `user` (no-op when null: we run the server as ourselves). */
export function chownTo(user: OsUser | null, p: string): void {
  if (user) fs.chownSync(p, user.uid, user.gid);
}

// ---------------------------------------------------------------------------------------------
// Temp dirs

const tmpBaseCache = new Map<string, string>();

/**
 * Where temp dirs go: the dir in $`envVar`, else /dev/shm when it is a writable tmpfs with at
 * least 1 GiB free (bootstraps and template copies are much faster there than on a virtual disk),
 * else os.tmpdir(). `othersMustTraverse()` says whether the server runs as another OS user, who
 * then must be able to traverse into the dir (world-x or sticky /tmp-like); when it throws, the
 * candidate is skipped. The answer is cached per `envVar`.
 */
export function chooseTmpBase(envVar: string, othersMustTraverse: () => boolean): string {
  const cached = tmpBaseCache.get(envVar);
  if (cached) return cached;
  const candidates = [process.env[envVar], '/dev/shm', os.tmpdir()].filter((d): d is string => !!d);
  for (const dir of candidates) {
    try {
      const st = fs.statSync(dir);
      if (!st.isDirectory()) continue;
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
      if (othersMustTraverse() && (st.mode & 0o001) === 0) continue;
      if (dir === '/dev/shm' && fs.statfsSync(dir).bavail * fs.statfsSync(dir).bsize < 1024 ** 3) continue;
      tmpBaseCache.set(envVar, dir);
      return dir;
    } catch {
      /* next */
    }
  }
  tmpBaseCache.set(envVar, os.tmpdir());
  return os.tmpdir();
}

// ---------------------------------------------------------------------------------------------
// Watchdogs: detached shell loops that clean up if this process dies without exit handlers.

/** What a watchdog does once its owner is gone, before it removes the dir. */
export interface WatchdogSpec {
  /** Process title (argv[0] of the shell), e.g. 'rotor-pg-watchdog'. */
  name: string;
  /** Shell snippet that stops the server of the dir in "$dir" (e.g. through its pid file). */
  stopServer: string;
}

/**
 * Starts a detached watchdog that waits until this process is gone, then runs `spec.stopServer`
 * and removes `dir`. Returns its pid (its own process group) for {@link killWatchdog}, or
 * undefined when it could not be started.
 */
export function startWatchdog(spec: WatchdogSpec, dir: string): number | undefined {
  const script = `
owner="$1"; dir="$2"
while kill -0 "$owner" 2>/dev/null; do sleep 1; done
${spec.stopServer.trim()}
rm -rf "$dir"
`;
  try {
    const child = spawn('/bin/sh', ['-c', script, spec.name, String(process.pid), dir], {
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

/** Kills a watchdog (the shell and its `sleep`) whose work is no longer needed. */
export function killWatchdog(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL'); // its own process group (detached): the shell and its `sleep`
  } catch {
    /* already gone */
  }
}

// ---------------------------------------------------------------------------------------------
// State shared by every copy of a module in the process. Jest loads a fresh copy per test file
// and gives each a sandboxed `process` whose 'exit' event never fires, so the registry and the
// exit hook live on the real process object.

/** Something the exit hook can stop synchronously. */
export interface Killable {
  killSync(): void;
}

/** Process-wide state of one kind of throwaway server. */
export interface ProcessRegistry<T> {
  /** Servers not stopped yet: killed on process exit (their watchdogs remove the dirs). */
  live: Set<Killable>;
  /** Template builds, one per key and process. */
  templates: Map<string, Promise<T>>;
  /** Template dirs: removed on process exit. */
  templateDirs: Set<string>;
}

/** The real `process` (not Jest's sandboxed one), when it can be reached. */
function realProcess(): NodeJS.Process {
  try {
    const p = vm.runInThisContext('process') as NodeJS.Process | undefined;
    if (p && typeof p.on === 'function' && p.pid === process.pid) return p;
  } catch {
    /* fall through */
  }
  return process;
}

const registryCache = new Map<string, ProcessRegistry<unknown>>();

/**
 * The registry stored on the real process under `Symbol.for(key)`, created (with its exit hook)
 * by the first copy of the calling module that asks for it.
 */
export function processRegistry<T>(key: string): ProcessRegistry<T> {
  const cached = registryCache.get(key);
  if (cached) return cached as ProcessRegistry<T>;
  const sym = Symbol.for(key);
  const proc = realProcess() as NodeJS.Process & { [sym: symbol]: ProcessRegistry<unknown> | undefined };
  let st = proc[sym];
  if (!st) {
    const state: ProcessRegistry<unknown> = { live: new Set(), templates: new Map(), templateDirs: new Set() };
    st = state;
    Object.defineProperty(proc, sym, { value: state, enumerable: false });
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
  registryCache.set(key, st);
  return st as ProcessRegistry<T>;
}

// ---------------------------------------------------------------------------------------------
// Templates: bootstrapped once per process, copied for every server.

/** The template build for `key`, started by the first caller; a failed build is tried again by the next. */
export function templateOnce<T>(registry: ProcessRegistry<T>, key: string, build: () => Promise<T>): Promise<T> {
  let p = registry.templates.get(key);
  if (!p) {
    const built = build();
    p = built;
    registry.templates.set(key, built);
    built.catch(() => {
      if (registry.templates.get(key) === built) registry.templates.delete(key);
    });
  }
  return p;
}

/**
 * Makes a template dir `<base>/<prefix>XXXXXX` guarded by a watchdog and the exit hook, and fills
 * it with `fill(dir)`; the dir is removed again when `fill` fails.
 */
export async function buildTemplateDir<T>(
  registry: ProcessRegistry<T>,
  where: { base: string; prefix: string; watchdog: WatchdogSpec },
  fill: (dir: string) => Promise<T>,
): Promise<T> {
  const dir = fs.mkdtempSync(path.join(where.base, where.prefix));
  registry.templateDirs.add(dir);
  startWatchdog(where.watchdog, dir); // removes the template when this process is gone
  try {
    return await fill(dir);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    registry.templateDirs.delete(dir);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Credentials and TLS

/** `{ username, password }` whose password stays out of console.log / util.inspect output. */
export function redactedCredentials(username: string, password: string): { username: string; password: string } {
  const su = { username, password };
  Object.defineProperty(su, inspect.custom, {
    value: () => `{ username: ${JSON.stringify(username)}, password: '[redacted]' }`,
    enumerable: false,
  });
  return su;
}

/** TLS material of a throwaway server: see {@link makeThrowawayTls}. */
export interface ThrowawayTls {
  /** CA certificate (PEM file) that signed the server certificate. */
  caFile: string;
  /** A second, unrelated CA (PEM file) for "wrong CA" tests. */
  otherCaFile: string;
  /** The CA certificate's PEM text. */
  caPem: string;
  certFile: string;
  keyFile: string;
}

/**
 * Makes `<baseDir>/tls` with a throwaway CA, an unrelated second CA and a server certificate
 * (CN localhost, the given SANs) whose key `owner` (the server's OS user) can read.
 */
export async function makeThrowawayTls(baseDir: string, sans: string[], owner: OsUser | null): Promise<ThrowawayTls> {
  const dir = path.join(baseDir, 'tls');
  fs.mkdirSync(dir, { mode: 0o755 });
  const [ca, other] = await Promise.all([
    makeTestCa(dir, { name: 'ca', cn: 'rotor test CA' }),
    makeTestCa(dir, { name: 'other-ca', cn: 'rotor unrelated test CA' }),
  ]);
  const server = await makeServerCert(dir, ca, { cn: 'localhost', sans, owner: owner ? { uid: owner.uid, gid: owner.gid } : undefined });
  return { caFile: ca.certFile, otherCaFile: other.certFile, caPem: fs.readFileSync(ca.certFile, 'utf8'), ...server };
}

// ---------------------------------------------------------------------------------------------
// Server logs: an opt-in view for whoever must read them before the temp dir goes.

/** One log file of a server: its stderr, or a statement log (the servers log every statement). */
export interface ServerLogFile {
  path: string;
  /** postgres-log: stderr with every statement (log_statement=all); mariadb-error: mariadbd's stderr; mariadb-general: the general query log. */
  kind: 'postgres-log' | 'mariadb-error' | 'mariadb-general';
}

/** A running (or stopped, not yet removed) server, as a log tap sees it. */
export interface ServerLogSource {
  /** e.g. 'postgres-server'. */
  tag: string;
  baseDir: string;
  logFiles(): ServerLogFile[];
}

/**
 * `started`: the server was created (its logs may grow until it is removed); `removing`: it has
 * stopped and its temp dir, logs included, is removed as soon as the tap returns.
 */
export type ServerLogTap = (event: 'started' | 'removing', server: ServerLogSource) => void;

const logTaps = new Set<ServerLogTap>();

/**
 * Calls `tap` for every throwaway server created and removed from now on (in this copy of the
 * module: Jest gives each test file its own); returns the function that removes it. Nothing listens
 * unless someone asks (the leak audit, test/support/leak-audit/capture.ts). A tap must read what it
 * needs synchronously on `removing`.
 */
export function tapServerLogs(tap: ServerLogTap): () => void {
  logTaps.add(tap);
  return () => {
    logTaps.delete(tap);
  };
}

function emitServerLog(event: 'started' | 'removing', server: ServerLogSource): void {
  for (const tap of logTaps) {
    try {
      tap(event, server);
    } catch {
      // A tap is an observer only: it must not break a server's start or stop.
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The server process

/** The server could not bind its port (another process holds it). */
export class PortInUseError extends Error {}

/**
 * Runs `attempt` again while it fails with {@link PortInUseError}, at most `attempts` times in
 * all, `delayMs` apart.
 */
export async function retryWhilePortInUse(attempt: () => Promise<void>, attempts: number, delayMs = 0): Promise<void> {
  for (let n = 1; ; n++) {
    try {
      await attempt();
      return;
    } catch (e) {
      if (!(e instanceof PortInUseError) || n >= attempts) throw e;
      if (delayMs > 0) await sleep(delayMs);
    }
  }
}

/** Signals sent one after the other, each with how long to wait for the exit (ms). */
export type ShutdownPlan = ReadonlyArray<readonly [NodeJS.Signals, number]>;

/** What a {@link ThrowawayServer} subclass tells the base about its engine. */
export interface ThrowawayServerSpec {
  /** Prefix of error messages, e.g. 'postgres-server'. */
  tag: string;
  /** Type name shown by util.inspect, e.g. 'PgServer'. */
  typeName: string;
  /** Key of the {@link processRegistry}. */
  registryKey: string;
  watchdog: WatchdogSpec;
  /** Names in messages: the program that could not be spawned, that exited during startup, that did not stop. */
  names: { spawn: string; exited: string; stopping: string };
  /** Log text that means the port was taken. */
  portInUse: RegExp;
  /** What the server's stderr log (`logFile`) holds, for {@link tapServerLogs}. */
  logKind: ServerLogFile['kind'];
  /** Signal of the synchronous kill on process exit. */
  exitSignal: NodeJS.Signals;
  /** Shutdown by `stop()` (the data is thrown away). */
  stopPlan: ShutdownPlan;
  /** Shutdown by `pause()` (the data is kept). */
  pausePlan: ShutdownPlan;
}

/** How to spawn the server on the current port. */
export interface ServerCommand {
  file: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  /** OS user to run as (default: ourselves). */
  user?: OsUser | null;
}

/**
 * One throwaway server process in its own temp dir `baseDir`: spawning with output appended to
 * `logFile`, waiting until ready, port retries, serialized stop/pause/resume, the watchdog and
 * the exit hook. Subclasses say how to spawn (`command()`), when the server is ready
 * (`isReady()`), and do their own bootstrap in `init`, calling `track()` first and
 * `startOnFreePort()` once configured.
 */
export abstract class ThrowawayServer implements Killable, ServerLogSource {
  port = 0;
  readonly logFile: string;
  abstract readonly host: string;
  abstract readonly database: string;
  abstract readonly dataDir: string;
  abstract readonly superuser: { username: string };

  private child: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private watchdogPid: number | undefined;
  private stopped = false;
  private lifecycle: Promise<void> = Promise.resolve();

  constructor(
    readonly baseDir: string,
    logName: string,
    private readonly spec: ThrowawayServerSpec,
  ) {
    this.logFile = path.join(baseDir, logName);
  }

  /** The server's command line for the current port. */
  protected abstract command(): ServerCommand;

  get tag(): string {
    return this.spec.tag;
  }

  /** The server's log files (its stderr; subclasses add their statement logs). */
  logFiles(): ServerLogFile[] {
    return [{ path: this.logFile, kind: this.spec.logKind }];
  }
  /** Whether the server started as `child` accepts connections (`log` reads its output so far). */
  protected abstract isReady(child: ChildProcess, log: () => string): boolean;

  /** Server pid while running. */
  get pid(): number | undefined {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? this.child.pid : undefined;
  }

  [inspect.custom](): string {
    return `${this.spec.typeName} { host: '${this.host}', port: ${this.port}, database: '${this.database}', user: '${this.superuser.username}', dataDir: '${this.dataDir}' }`;
  }

  toJSON(): Record<string, unknown> {
    return { host: this.host, port: this.port, database: this.database, username: this.superuser.username, dataDir: this.dataDir };
  }

  private registry(): ProcessRegistry<unknown> {
    return processRegistry(this.spec.registryKey);
  }

  /** Puts the server under the watchdog and the exit hook: call first thing in init. */
  protected track(): void {
    this.watchdogPid = startWatchdog(this.spec.watchdog, this.baseDir);
    this.registry().live.add(this);
    emitServerLog('started', this);
  }

  /** Starts the server on a free port, retrying with a new port if another process grabbed it first. */
  protected startOnFreePort(pickPort: () => Promise<number> = freePort): Promise<void> {
    return retryWhilePortInUse(async () => {
      this.port = await pickPort();
      await this.startProcess();
    }, PORT_ATTEMPTS);
  }

  /** Spawns the server on this.port and waits until isReady(). */
  private async startProcess(): Promise<void> {
    const { tag, names } = this.spec;
    const cmd = this.command();
    const logOffset = fs.existsSync(this.logFile) ? fs.statSync(this.logFile).size : 0;
    const logFd = fs.openSync(this.logFile, 'a', 0o640);
    let child: ChildProcess;
    try {
      child = spawn(cmd.file, cmd.args, {
        cwd: this.baseDir,
        env: cmd.env,
        stdio: ['ignore', logFd, logFd],
        ...(cmd.user ? { uid: cmd.user.uid, gid: cmd.user.gid } : {}),
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

    const log = () => this.readLog(logOffset);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (spawnError) throw new Error(`${tag}: cannot spawn ${names.spawn}: ${spawnError.message}`);
      if (child.exitCode !== null || child.signalCode !== null) {
        const text = log();
        if (this.spec.portInUse.test(text)) throw new PortInUseError(text);
        throw new Error(`${tag}: ${names.exited} exited (${child.exitCode ?? child.signalCode}) during startup:\n${text.slice(-3000)}`);
      }
      if (this.isReady(child, log)) return;
      if (Date.now() > deadline) {
        this.killSync();
        throw new Error(`${tag}: not ready after ${READY_TIMEOUT_MS} ms:\n${log().slice(-3000)}`);
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

  /** Sends the plan's signals in turn until the server exits. */
  private async shutdown(plan: ShutdownPlan): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.ref();
    try {
      for (const [sig, ms] of plan) {
        try {
          child.kill(sig);
        } catch {
          /* gone */
        }
        if (await this.waitExit(ms)) return;
      }
      throw new Error(`${this.spec.tag}: ${this.spec.names.stopping} ${child.pid} did not exit`);
    } finally {
      child.unref();
    }
  }

  /** Synchronous best effort for process exit; the watchdog removes the dir. */
  killSync(): void {
    const pid = this.pid;
    if (pid) {
      try {
        process.kill(pid, this.spec.exitSignal);
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

  /** Shuts the server down and removes the temp dir. Idempotent. */
  stop(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) return;
      this.stopped = true;
      try {
        await this.shutdown(this.spec.stopPlan);
      } finally {
        this.registry().live.delete(this);
        // Log taps read the logs (the leak audit scans every statement) before they are removed.
        emitServerLog('removing', this);
        fs.rmSync(this.baseDir, { recursive: true, force: true });
        killWatchdog(this.watchdogPid);
      }
    });
  }

  /** Shuts the server down, keeping the data. */
  pause(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) throw new Error(`${this.spec.tag}: stopped`);
      await this.shutdown(this.spec.pausePlan);
    });
  }

  /** Starts the server again on the same port. */
  resume(): Promise<void> {
    return this.serialize(async () => {
      if (this.stopped) throw new Error(`${this.spec.tag}: stopped`);
      if (this.pid) return;
      // Same port; something else may hold it briefly (e.g. an ephemeral client port): retry a bit.
      await retryWhilePortInUse(() => this.startProcess(), RESUME_PORT_ATTEMPTS, RESUME_RETRY_DELAY_MS);
    });
  }
}

/** Runs `server.init()`; when it fails, stops the server (removing its dir) and rethrows. */
export async function initOrStop<S extends ThrowawayServer>(server: S, init: (server: S) => Promise<void>): Promise<S> {
  try {
    await init(server);
  } catch (e) {
    await server.stop().catch(() => undefined);
    throw e;
  }
  return server;
}
