import type { ErrorCategory, RotationError } from '../../../core/errors';
import type { MysqlErrorContext } from './errors';

/**
 * Which server a session talks to: the statements that change a password differ.
 * - MariaDB (10.4+): `SET PASSWORD [FOR u@h] = '<hash>'` keeps the account's authentication
 *   plugin; `ALTER USER ... IDENTIFIED BY` would switch e.g. an ed25519 account to
 *   mysql_native_password, and `ALTER USER CURRENT_USER()` needs CREATE USER there.
 * - MySQL 8 (and Aurora MySQL 3): `ALTER USER ... IDENTIFIED WITH <plugin> AS '<hash>'`.
 * - MySQL 5.7 (Aurora MySQL 2): the same, mysql_native_password only.
 * See password.ts.
 */
export type MysqlFlavor = 'mariadb' | 'mysql8' | 'mysql57';

/** Longest user names, in characters (see MysqlEngine.maxUsernameLength). */
export const MARIADB_MAX_USERNAME = 80;
export const MYSQL_MAX_USERNAME = 32;

/** The server's answer to `SELECT VERSION()`, classified. */
export function mysqlFlavor(version: string): MysqlFlavor {
  if (/mariadb/i.test(version)) return 'mariadb';
  const major = Number(/^(\d+)\./.exec(version)?.[1] ?? NaN);
  // Aurora MySQL reports e.g. 8.0.mysql_aurora.3.05.2 / 5.7.mysql_aurora.2.11.2.
  return major >= 8 ? 'mysql8' : 'mysql57';
}

/** Splits `CURRENT_USER()` (`user@host`; the user part may itself contain '@'). */
export function splitAccount(account: string): { user: string; host: string } {
  const at = account.lastIndexOf('@');
  return at < 0 ? { user: account, host: '' } : { user: account.slice(0, at), host: account.slice(at + 1) };
}

/** `"name"@"host"` for messages (names are not secrets; JSON quoting shows odd characters). */
export function accountLabel(user: string, host: string): string {
  return `${JSON.stringify(user)}@${JSON.stringify(host)}`;
}

/** A column value as text (MySQL returns the x509/cipher BLOB columns as Buffers). */
export function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

export type Row = Record<string, unknown>;

/** What the statement-level helpers (password.ts, accounts.ts, alternate-user.ts) need from a logged-in session. */
export interface StatementRunner {
  readonly flavor: MysqlFlavor;
  /** The session's own account (CURRENT_USER()). */
  readonly account: { user: string; host: string };
  /** With ANSI_QUOTES the server quotes identifiers in SHOW output with '"' instead of '`'. */
  readonly ansiQuotes: boolean;
  /** Runs one statement; `alsoSecret` values are redacted from a driver error. */
  run(what: string, sql: string, values?: unknown[], alsoSecret?: string[], context?: MysqlErrorContext): Promise<unknown>;
  rows(what: string, sql: string, values?: unknown[], context?: MysqlErrorContext): Promise<Row[]>;
  /** An error of our own making (no driver text in it). */
  error(category: ErrorCategory, code: string, what: string, text: string, action: string): RotationError;
  /** The driver's string escaping (for redacting an escaped password from errors). */
  escape(value: string): string;
}
