import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import mysql from 'mysql2/promise';
import type { DatabaseSecret } from '../../core/database-secret';
import { RotationError, type ErrorCategory } from '../../core/errors';
import { redact } from '../../core/redact';
import type { ConnectionSettings, DatabaseEngine, DatabaseSession } from './engine';

/**
 * Which server a session talks to: the statements that change a password differ.
 * - MariaDB (10.4+): `SET PASSWORD [FOR u@h] = PASSWORD(?)` keeps the account's authentication
 *   plugin; `ALTER USER ... IDENTIFIED BY` would switch e.g. an ed25519 account to
 *   mysql_native_password, and `ALTER USER CURRENT_USER()` needs CREATE USER there.
 * - MySQL 8 (and Aurora MySQL 3): `ALTER USER` (keeps the plugin, e.g. caching_sha2_password).
 * - MySQL 5.7 (Aurora MySQL 2): `SET PASSWORD = ?` for the own account, `ALTER USER` for others.
 */
export type MysqlFlavor = 'mariadb' | 'mysql8' | 'mysql57';

/**
 * MySQL, MariaDB and Aurora MySQL through `mysql2`.
 */
export class MysqlEngine implements DatabaseEngine {
  readonly family = 'mysql' as const;
  /** The AWS reference functions' default for MySQL. */
  readonly defaultExcludedCharacters = '/@"\'\\';

  async connect(secret: DatabaseSecret, settings: ConnectionSettings): Promise<DatabaseSession> {
    let conn: mysql.Connection;
    try {
      conn = await mysql.createConnection(connectionOptions(secret, settings));
    } catch (e) {
      throw classifyMysqlError(e, secret, settings, 'log in');
    }
    // A connection error after connect (server gone) must not crash the process.
    conn.on('error', () => undefined);
    const session = new MysqlSession(conn, secret, settings);
    try {
      await session.init();
    } catch (e) {
      await session.close();
      throw e;
    }
    return session;
  }
}

/** The server's answer to `SELECT VERSION()`, classified. */
export function mysqlFlavor(version: string): MysqlFlavor {
  if (/mariadb/i.test(version)) return 'mariadb';
  const major = Number(/^(\d+)\./.exec(version)?.[1] ?? NaN);
  // Aurora MySQL reports e.g. 8.0.mysql_aurora.3.05.2 / 5.7.mysql_aurora.2.11.2.
  return major >= 8 ? 'mysql8' : 'mysql57';
}

/** Splits `CURRENT_USER()` (`user@host`; the user part may itself contain '@'). */
function splitAccount(account: string): { user: string; host: string } {
  const at = account.lastIndexOf('@');
  return at < 0 ? { user: account, host: '' } : { user: account.slice(0, at), host: account.slice(at + 1) };
}

class MysqlSession implements DatabaseSession {
  private flavor: MysqlFlavor = 'mysql8';
  private account = { user: '', host: '' };
  private closed = false;

  constructor(
    private readonly conn: mysql.Connection,
    private readonly secret: DatabaseSecret,
    private readonly settings: ConnectionSettings,
  ) {}

  /** Once per session: proves TLS, learns the server flavor and the account, sets session limits. */
  async init(): Promise<void> {
    if (this.settings.tlsMode !== 'disable') {
      // mysql2 refuses a server without TLS, but the session must prove it is encrypted:
      // invariant 5 allows no silent downgrade, whatever a driver version does.
      const rows = await this.rows('check that the session is encrypted', "SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      const cipher = String(rows[0]?.Value ?? rows[0]?.value ?? '');
      if (!cipher) {
        throw this.error('tls', 'NO_TLS', 'check that the session is encrypted', 'the session is not encrypted (Ssl_cipher is empty)',
          'Turn TLS on in the database server. The function never uses plaintext unless the secret or ROTOR_TLS_MODE says "disable".');
      }
    }
    const [info] = await this.rows('detect the server version', 'SELECT VERSION() AS version, CURRENT_USER() AS account, @@SESSION.sql_mode AS sqlMode');
    this.flavor = mysqlFlavor(String(info.version));
    this.account = splitAccount(String(info.account));

    // Client-side escaping (the only way to pass a password to ALTER USER / SET PASSWORD, which
    // cannot be prepared) is only sound while backslash is an escape character.
    const modes = String(info.sqlMode ?? '').split(',').filter((m) => m !== '');
    const assignments: string[] = [];
    const values: unknown[] = [];
    if (modes.some((m) => m.toUpperCase() === 'NO_BACKSLASH_ESCAPES')) {
      assignments.push('SESSION sql_mode = ?');
      values.push(modes.filter((m) => m.toUpperCase() !== 'NO_BACKSLASH_ESCAPES').join(','));
    }
    // Server-side statement limit, so a statement stuck on a lock is aborted by the server itself
    // (MariaDB: any statement, in seconds; MySQL: SELECT only, in ms).
    if (this.flavor === 'mariadb') {
      assignments.push('SESSION max_statement_time = ?');
      values.push(this.settings.statementTimeoutMs / 1000);
    } else {
      assignments.push('SESSION max_execution_time = ?');
      values.push(this.settings.statementTimeoutMs);
    }
    await this.run('set the session limits', `SET ${assignments.join(', ')}`, values);
  }

  /** The server flavor detected at login. */
  get serverFlavor(): MysqlFlavor {
    return this.flavor;
  }

  async sessionUser(): Promise<string> {
    const [row] = await this.rows('read the session user', 'SELECT CURRENT_USER() AS account');
    return splitAccount(String(row.account)).user;
  }

  async probe(): Promise<void> {
    await this.run('run a probe query', 'SELECT 1');
  }

  async setPassword(username: string, newPassword: string): Promise<void> {
    // Every value reaches SQL through mysql2's placeholders (client-side escaping, sound because
    // init() made sure NO_BACKSLASH_ESCAPES is off); these statements cannot be prepared.
    const secrets = [newPassword, this.conn.escape(newPassword).slice(1, -1)];
    const what = 'change the password';
    if (username === this.account.user) {
      switch (this.flavor) {
        case 'mariadb':
          await this.run(what, 'SET PASSWORD = PASSWORD(?)', [newPassword], secrets);
          return;
        case 'mysql8':
          await this.run(what, 'ALTER USER CURRENT_USER() IDENTIFIED BY ?', [newPassword], secrets);
          return;
        case 'mysql57':
          await this.run(what, 'SET PASSWORD = ?', [newPassword], secrets);
          return;
      }
    }
    // Another user (an admin session): change every account of that user name, whatever its host part.
    const hosts = (await this.rows('look up the accounts of the user', 'SELECT Host AS host FROM mysql.user WHERE User = ? ORDER BY Host', [username]))
      .map((r) => String(r.host));
    if (hosts.length === 0) {
      throw this.error('configuration', 'NO_SUCH_USER', what, 'no account with the user name in "username" exists on the server',
        'Create the user first (the alternating-users strategy creates the clone from the master secret), or fix "username" in the secret.');
    }
    for (const host of hosts) {
      if (this.flavor === 'mariadb') {
        await this.run(what, 'SET PASSWORD FOR ?@? = PASSWORD(?)', [username, host, newPassword], secrets);
      } else {
        await this.run(what, 'ALTER USER ?@? IDENTIFIED BY ?', [username, host, newPassword], secrets);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // COM_QUIT politely; a broken connection may never answer, so do not wait long for it.
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, 1000);
      timer.unref();
    });
    await Promise.race([this.conn.end().catch(() => undefined), gaveUp]);
    clearTimeout(timer);
    this.conn.destroy();
  }

  private async run(what: string, sql: string, values: unknown[] = [], alsoSecret: string[] = []): Promise<unknown> {
    try {
      // A client-side backstop a little after the server's own limit, so the server aborts first
      // and no statement keeps running after the client gave up on it.
      const [result] = await this.conn.query({ sql, values, timeout: this.settings.statementTimeoutMs + 1000 });
      return result;
    } catch (e) {
      throw classifyMysqlError(e, this.secret, this.settings, what, alsoSecret);
    }
  }

  private async rows(what: string, sql: string, values: unknown[] = []): Promise<Array<Record<string, unknown>>> {
    const result = await this.run(what, sql, values);
    return Array.isArray(result) ? (result as Array<Record<string, unknown>>) : [];
  }

  /** An error of our own making (no driver text in it). */
  private error(category: ErrorCategory, code: string, what: string, text: string, action: string): RotationError {
    return new RotationError({ category, code, message: baseMessage(this.secret, what, text), action });
  }
}

function connectionOptions(secret: DatabaseSecret, settings: ConnectionSettings): mysql.ConnectionOptions {
  return {
    host: secret.host,
    port: secret.port,
    stream: tcpStream(secret.host, secret.port),
    user: secret.username,
    password: secret.password,
    database: secret.dbname,
    ssl: sslOptions(settings),
    connectTimeout: settings.connectTimeoutMs,
    charset: 'UTF8MB4_UNICODE_CI',
    multipleStatements: false,
    connectAttributes: { program_name: 'rotor-rotation' },
  };
}

/**
 * The TCP connection mysql2 would open itself (no delay, keep-alive), plus one fix for IP hosts.
 * mysql2 upgrades this socket with `tls.connect({ socket })` and passes no `servername` for an IP
 * host; Node then checks the certificate against `socket._host`, which it sets only for host
 * names it resolved, else against "localhost". So an IP host would be checked as "localhost".
 * Naming the IP on the socket makes Node check the certificate's IP SANs, before any credential
 * is sent (proved by the "IP host needs an IP SAN" test).
 */
function tcpStream(host: string, port: number): () => net.Socket {
  return () => {
    const socket = net.connect({ host, port });
    socket.setNoDelay(true);
    socket.once('connect', () => socket.setKeepAlive(true));
    if (net.isIP(host)) (socket as net.Socket & { _host?: string | null })._host = host;
    return socket;
  };
}

/**
 * TLS exactly as asked. mysql2 fails (HANDSHAKE_NO_SSL_SUPPORT) when the server has no TLS; the
 * session additionally checks Ssl_cipher. verifyIdentity makes mysql2 check the host name (IP
 * hosts against the certificate's IP SANs); without it mysql2 checks only the chain.
 */
function sslOptions(settings: ConnectionSettings): mysql.ConnectionOptions['ssl'] {
  switch (settings.tlsMode) {
    case 'disable':
      return undefined;
    case 'require':
      return { rejectUnauthorized: false, verifyIdentity: false };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        verifyIdentity: true,
        ca: settings.caFile ? readFileSync(settings.caFile, 'utf8') : undefined,
      };
  }
}

function baseMessage(secret: DatabaseSecret, what: string, text: string): string {
  const target = `${secret.username}@${secret.host}:${secret.port}/${secret.dbname ?? ''}`;
  return `MySQL: could not ${what} as ${target}: ${text}`;
}

const TLS_CODES = new Set([
  'HANDSHAKE_SSL_ERROR', 'HANDSHAKE_NO_SSL_SUPPORT', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  'PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT',
]);
/** Server error numbers (errno) by category. */
const AUTH_ERRNOS = new Set([1045, 1698]);
const EXPIRED_ERRNOS = new Set([1820, 1862]);
const PERMISSION_ERRNOS = new Set([1044, 1142, 1227, 1370, 1131, 1132, 1211]);
const TIMEOUT_ERRNOS = new Set([3024, 1969, 1205]);
const UNAVAILABLE_ERRNOS = new Set([1040, 1203, 1053, 1077, 1079, 1080, 1152, 1927, 2002, 2003, 2006, 2013]);

/** Maps a `mysql2` or socket error to a category and an action; driver text is redacted. */
export function classifyMysqlError(
  e: unknown,
  secret: DatabaseSecret,
  settings: ConnectionSettings,
  what: string,
  alsoSecret: string[] = [],
): RotationError {
  // Only code, errno, sqlState and message are read: the error object also carries `sql`, the
  // statement with the password in it, so it is never attached as a cause.
  const err = (e ?? {}) as { code?: unknown; errno?: unknown; sqlState?: unknown; message?: unknown };
  const errno = typeof err.errno === 'number' && err.errno > 0 && typeof err.sqlState === 'string' ? err.errno : undefined;
  const driverCode = typeof err.code === 'string' ? err.code : undefined;
  const code = errno !== undefined ? String(errno) : driverCode;
  const raw = String(err.message ?? e);
  // A syntax error quotes the statement from the failing token on ("... near '<rest>'"): for a
  // statement that carries a password, that rest may be a fragment of it, which redacting the whole
  // password would not catch. Such text is withheld.
  const quotesStatement = errno === 1064 || /\bnear '/.test(raw);
  const text = alsoSecret.length > 0 && quotesStatement
    ? 'the server could not parse the statement (its text is withheld because the statement holds the password)'
    : redact(raw, [secret.password, ...alsoSecret]);
  const base = baseMessage(secret, what, text);
  const mk = (category: ErrorCategory, action: string) =>
    new RotationError({ category, message: base, action, code: code ?? category, cause: undefined });

  if (errno !== undefined) {
    if (AUTH_ERRNOS.has(errno)) {
      return mk('authentication', 'The password in this secret version is not valid for that user (or the account does not exist for the function\'s host, or it REQUIREs SSL / the server has require_secure_transport and the TLS mode is "disable"). If the database password was changed outside rotation, put the working password into the secret as AWSCURRENT.');
    }
    if (EXPIRED_ERRNOS.has(errno)) {
      return mk('authentication', 'The password of this user has expired; set a new one as an administrator (ALTER USER ... IDENTIFIED BY / PASSWORD EXPIRE NEVER) and put it into the secret as AWSCURRENT.');
    }
    if (errno === 1049) return mk('configuration', 'The database named by "dbname" does not exist; fix "dbname" in the secret.');
    if (PERMISSION_ERRNOS.has(errno)) {
      return mk('permission', 'The user may not do this; grant the rotating user the needed privilege (its own password needs none; another user\'s needs CREATE USER, or UPDATE on the mysql schema, and SELECT on mysql.user).');
    }
    if (errno === 1396 || errno === 1133) {
      return mk('configuration', 'The account named in the secret does not exist on the server (user name or host part); fix "username" in the secret or create the user.');
    }
    if (errno === 1819) {
      return mk('configuration', 'The new password does not satisfy the server\'s password policy (validate_password / simple_password_check); raise the password length or adjust the excluded characters of the rotation.');
    }
    if (TIMEOUT_ERRNOS.has(errno)) {
      return mk('network', `The statement did not finish within ${settings.statementTimeoutMs} ms (statement timeout or lock wait); check for locks on the account or raise ROTOR_STATEMENT_TIMEOUT_MS.`);
    }
    if (UNAVAILABLE_ERRNOS.has(errno)) {
      return mk('network', 'The server is not accepting connections right now (too many connections, shutting down or connection lost); retry later.');
    }
    if (errno === 1129) {
      return mk('network', 'The server blocks the function\'s host after too many connection errors; run FLUSH HOSTS (or raise max_connect_errors) on the server.');
    }
  }
  if (driverCode === 'PROTOCOL_SEQUENCE_TIMEOUT') {
    return mk('network', `The statement did not finish within ${settings.statementTimeoutMs} ms; check for locks on the account or raise ROTOR_STATEMENT_TIMEOUT_MS.`);
  }
  if ((driverCode && TLS_CODES.has(driverCode)) || /SSL|TLS|certificate|secure connection/i.test(text)) {
    return mk('tls', settings.tlsMode === 'verify-full'
      ? 'TLS verification failed: make sure the server has TLS on and its certificate is signed by a CA in ROTOR_TLS_CA_FILE (for RDS, the RDS CA bundle) and names the host. The function never falls back to plaintext.'
      : 'The TLS handshake failed: make sure the server has TLS on. The function never falls back to plaintext.');
  }
  if ((driverCode && NETWORK_CODES.has(driverCode)) || /timeout|timed out|closed the connection|Connection lost/i.test(text)) {
    return mk('network', `The database did not answer within ${settings.connectTimeoutMs} ms or refused the connection: check host/port in the secret, the security groups and the route from the function's subnets to the database.`);
  }
  if (driverCode === 'MYSQL_CLEAR_PASSWORD_NOT_ENABLED' || /unknown plugin/i.test(text)) {
    return mk('configuration', 'The account uses an authentication plugin the function does not support (supported: mysql_native_password, caching_sha2_password, sha256_password); change the account\'s plugin.');
  }
  return mk('configuration', 'Unexpected database error; check the database log around this time.');
}
