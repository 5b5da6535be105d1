import type { DatabaseSecret } from '../../../core/database-secret';
import { RotationError, type ErrorCategory } from '../../../core/errors';
import { redact } from '../../../core/redact';
import type { ConnectionSettings } from '../engine';
import * as explain from '../explanations';

export function baseMessage(secret: DatabaseSecret, what: string, text: string): string {
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
const LOCKED_ERRNOS = new Set([4151, 3118]);
// 1143: SELECT/... denied for a column (the user has column-level privileges only on the table).
const PERMISSION_ERRNOS = new Set([1044, 1142, 1143, 1227, 1370, 1131, 1132, 1211, 1410]);
const TIMEOUT_ERRNOS = new Set([3024, 1969, 1205]);
const UNAVAILABLE_ERRNOS = new Set([1040, 1203, 1053, 1077, 1079, 1080, 1152, 1927, 2002, 2003, 2006, 2013]);

/** How to read an error of a particular statement. */
export interface MysqlErrorContext {
  /**
   * A statement of a logged-in session: access denied (1045/1698, e.g. GRANT PROCESS or GRANT role
   * without the right to pass it on) is a missing privilege there, not a wrong password.
   */
  loggedIn?: boolean;
  /** The action for a permission error, when the default one does not say what is needed. */
  permissionAction?: string;
  /** The action when an account cannot be created / changed / found (1396, 1133). */
  accountAction?: string;
}

/** What the master needs for syncAlternateUser. */
export const SYNC_CONTEXT: MysqlErrorContext = {
  loggedIn: true,
  permissionAction: 'The master user needs CREATE USER, SELECT on the mysql schema (SHOW GRANTS, mysql.user, mysql.default_roles), '
    + 'on MariaDB also UPDATE on the mysql schema (SET PASSWORD FOR another user, SET DEFAULT ROLE), '
    + 'and every privilege the current user holds WITH GRANT OPTION; roles it holds WITH ADMIN OPTION (MySQL 8: or ROLE_ADMIN) '
    + 'and its PROXY grants WITH GRANT OPTION. Grant the master what is missing, or remove from the current user what the master cannot pass on.',
  accountAction: 'The alternate user could not be created or changed: a role or an account with that name and host may exist '
    + 'in an unexpected form, or another session changed it meanwhile. Check it with SHOW CREATE USER and rotate again.',
};

/** Maps a `mysql2` or socket error to a category and an action; driver text is redacted. */
export function classifyMysqlError(
  e: unknown,
  secret: DatabaseSecret,
  settings: ConnectionSettings,
  what: string,
  alsoSecret: string[] = [],
  context: MysqlErrorContext = {},
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
    if (LOCKED_ERRNOS.has(errno)) {
      // MariaDB 4151 / MySQL 3118: the account is locked; no password would log in.
      return mk('permission', explain.mysqlLocked(secret.username));
    }
    if (context.loggedIn && AUTH_ERRNOS.has(errno)) {
      return mk('permission', context.permissionAction ?? 'The user may not do this; grant it the needed privilege.');
    }
    if (AUTH_ERRNOS.has(errno)) {
      return mk('authentication', 'The password in this secret version is not valid for that user (or the account does not exist for the function\'s host, or it REQUIREs SSL / the server has require_secure_transport and the TLS mode is "disable"). If the database password was changed outside rotation, put the working password into the secret as AWSCURRENT.');
    }
    if (EXPIRED_ERRNOS.has(errno)) {
      return mk('authentication', 'The password of this user has expired; set a new one as an administrator (ALTER USER ... IDENTIFIED BY / PASSWORD EXPIRE NEVER) and put it into the secret as AWSCURRENT.');
    }
    // 1290: --read-only / --super-read-only ("running with the ... option"); 1836: read-only mode.
    if (errno === 1836 || (errno === 1290 && /read.only/i.test(raw))) return mk('configuration', explain.readOnlyServer());
    if (errno === 1049) return mk('configuration', 'The database named by "dbname" does not exist; fix "dbname" in the secret.');
    if (PERMISSION_ERRNOS.has(errno)) {
      if (context.permissionAction) return mk('permission', context.permissionAction);
      return mk('permission', 'The user may not do this; grant the rotating user the needed privilege (its own password needs none; another user\'s needs CREATE USER, or UPDATE on the mysql schema, and SELECT on mysql.user).');
    }
    if (errno === 1470) {
      return mk('configuration', 'The user name is longer than the server allows (MySQL 32 characters, MariaDB 80); use a shorter user name in the secret.');
    }
    if ((errno === 1396 || errno === 1133) && context.accountAction) return mk('configuration', context.accountAction);
    if (errno === 1396 || errno === 1133) {
      return mk('configuration', 'The account named in the secret does not exist on the server (user name or host part); fix "username" in the secret or create the user.');
    }
    if (errno === 1819) {
      // MariaDB: with a password validation plugin and strict_password_validation=ON (its default),
      // the server refuses a password given as a hash, which is the only way this function sends one.
      return mk('configuration', 'The server\'s password policy refused the new password (validate_password / simple_password_check; on MariaDB, strict_password_validation=ON refuses every password given as a hash, and the function sends passwords only as hashes). Set strict_password_validation=OFF (MariaDB), or raise the password length / adjust the excluded characters of the rotation; nothing was changed.');
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
  if ((driverCode && TLS_CODES.has(driverCode)) || /SSL|TLS|certificate|secure connection/i.test(text)) return mk('tls', explain.tlsFailed(settings.tlsMode));
  if (driverCode === 'ECONNREFUSED') return mk('network', explain.connectionRefused());
  if (driverCode === 'ENOTFOUND' || driverCode === 'EAI_AGAIN') return mk('network', explain.dnsFailed());
  if ((driverCode && NETWORK_CODES.has(driverCode)) || /timeout|timed out|closed the connection|Connection lost/i.test(text)) {
    return mk('network', explain.unreachable(settings.connectTimeoutMs));
  }
  if (driverCode === 'MYSQL_CLEAR_PASSWORD_NOT_ENABLED' || /unknown plugin/i.test(text)) {
    return mk('configuration', 'The account uses an authentication plugin the function does not support (supported: mysql_native_password, caching_sha2_password, sha256_password); change the account\'s plugin.');
  }
  return mk('configuration', 'Unexpected database error; check the database log around this time.');
}
