import type { Connection as PromiseConnection, ConnectionOptions, Pool as PromisePool, PoolOptions } from 'mysql2/promise';
import { applicationNameOf, connectWithRotation, latePassword, type Attempt, type RotationAwareOptions } from './rotating-credential';
import { AWSCURRENT } from './secret-cache';

/** ER_ACCESS_DENIED_ERROR: https://dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html#error_er_access_denied_error */
export const MYSQL_ACCESS_DENIED = 1045;

export function isMysqlAuthFailure(e: unknown): boolean {
  return (e as { errno?: unknown })?.errno === MYSQL_ACCESS_DENIED;
}

type MysqlPromise = typeof import('mysql2/promise');

/** The connection attributes a MySQL/MariaDB server shows in performance_schema.session_connect_attrs. */
function connectAttributes(opts: RotationAwareOptions, base: ConnectionOptions): Record<string, string> {
  return { program_name: applicationNameOf(opts, 512), ...(base.connectAttributes as Record<string, string> | undefined) };
}

function sslFor(mode: 'verify-full' | 'require' | 'disable', ca: string | Buffer | undefined): ConnectionOptions['ssl'] {
  if (mode === 'disable') return undefined;
  if (mode === 'require') return { rejectUnauthorized: false };
  return ca ? { ca, rejectUnauthorized: true } : { rejectUnauthorized: true };
}

function optionsFor(a: Attempt, opts: RotationAwareOptions, base: ConnectionOptions): ConnectionOptions {
  const c = a.credential;
  return {
    ...base,
    host: base.host ?? c.host,
    port: base.port ?? c.port,
    database: base.database ?? c.dbname,
    ssl: base.ssl !== undefined ? base.ssl : sslFor(c.tlsMode, opts.ca),
    connectAttributes: connectAttributes(opts, base),
    user: c.username,
    password: c.password,
  };
}

/**
 * Makes a connection config read its password when mysql2 sends the
 * credentials (after the server greeting and TLS), through latePassword.
 * Not enumerable, so it does not show when the config is printed.
 */
function lateBound(config: Record<string, unknown>, opts: RotationAwareOptions, a: Attempt): void {
  let assigned: unknown;
  Object.defineProperty(config, 'password', {
    configurable: true,
    enumerable: false,
    get: () => (assigned !== undefined ? assigned : latePassword(opts, a)),
    // mysql2 assigns it for multi-factor authentication.
    set: (v: unknown) => {
      assigned = v;
    },
  });
}

/**
 * `mysql2/promise` createConnection with the credential from the cache; on
 * errno 1045 it retries as connectWithRotation describes (each attempt is a
 * new connection: mysql2 cannot re-authenticate a refused one).
 */
export function createMysqlConnection(opts: RotationAwareOptions, base: ConnectionOptions = {}): Promise<PromiseConnection> {
  const core = require('mysql2') as typeof import('mysql2');
  const { PromiseConnection: Wrapper } = require('mysql2/promise') as { PromiseConnection: new (c: unknown, p: PromiseConstructor) => PromiseConnection };
  return connectWithRotation(opts, (a) => new Promise<PromiseConnection>((resolve, reject) => {
    const conn = core.createConnection(optionsFor(a, opts, base));
    lateBound((conn as unknown as { config: Record<string, unknown> }).config, opts, a);
    conn.once('connect', () => resolve(new Wrapper(conn, Promise)));
    conn.once('error', reject);
  }), isMysqlAuthFailure);
}

/** mysql2 core pool internals this relies on (mysql2 3.x). */
interface CorePool {
  getConnection(cb: (err: Error | null, conn?: unknown) => void): void;
  _createConnectionConfig(): Record<string, unknown>;
  _freeConnections: { length: number };
  _closed: boolean;
}

/**
 * A `mysql2/promise` pool whose new connections take user and password from
 * the cache and retry on errno 1045. Host, port, database and TLS come from
 * the secret (read once, here) unless `base` sets them; they do not change
 * with a rotation. query(), execute() and getConnection() all go through it.
 */
export async function createMysqlPool(opts: RotationAwareOptions, base: PoolOptions = {}): Promise<PromisePool> {
  const mysql = require('mysql2/promise') as MysqlPromise;
  const first = await opts.cache.getSecretString(opts.secretId, AWSCURRENT);
  const { parseDatabaseCredential } = require('./database-credential') as typeof import('./database-credential');
  const seed = parseDatabaseCredential(first, opts.secretId);
  const pool = mysql.createPool(optionsFor({ stage: AWSCURRENT, versionId: '', credential: seed }, opts, base) as PoolOptions);
  const core = (pool as unknown as { pool: CorePool }).pool;
  const getConnection = core.getConnection.bind(core);
  const createConfig = core._createConnectionConfig.bind(core);
  // Set synchronously just before getConnection may create a connection, so each new connection copies its own credential.
  let next: Attempt | undefined;
  core._createConnectionConfig = () => {
    const config = createConfig();
    if (next) {
      config.user = next.credential.username;
      lateBound(config, opts, next);
    }
    return config;
  };
  const connectOnce = (a: Attempt) =>
    new Promise<unknown>((resolve, reject) => {
      next = a;
      try {
        getConnection((err, conn) => (err ? reject(err) : resolve(conn)));
      } finally {
        next = undefined;
      }
    });
  core.getConnection = (cb) => {
    // A free connection is already authenticated: no credential needed.
    if (core._closed || core._freeConnections.length > 0) return getConnection(cb);
    connectWithRotation(opts, connectOnce, isMysqlAuthFailure).then((conn) => cb(null, conn), (err: Error) => cb(err));
  };
  return pool;
}
