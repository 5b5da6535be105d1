import type mysql from 'mysql2/promise';
import type { DatabaseSecret } from '../../../core/database-secret';
import { RotationError, type ErrorCategory } from '../../../core/errors';
import type { AlternateUserSync, ConnectionSettings, DatabaseSession } from '../engine';
import { syncAlternateUser } from './alternate-user';
import { accountLabel, mysqlFlavor, splitAccount, type MysqlFlavor, type Row, type StatementRunner } from './common';
import * as explain from '../explanations';
import { baseMessage, classifyMysqlError, type MysqlErrorContext } from './errors';
import type { HashablePlugin } from './password-hash';
import { hashablePluginOf, setPasswordHash } from './password';

/**
 * A comment in the first statement of every session, so that the function's sessions can be told
 * apart in a server's statement log (MariaDB/MySQL general log, performance_schema); the leak audit
 * of the tests relies on it (test/support/leak-audit/server-logs.ts).
 */
export const SESSION_MARKER = '/* rotor-rotation */';

/** A logged-in MySQL / MariaDB session (see DatabaseSession). */
export class MysqlSession implements DatabaseSession, StatementRunner {
  flavor: MysqlFlavor = 'mysql8';
  account = { user: '', host: '' };
  /** With ANSI_QUOTES the server quotes identifiers in SHOW GRANTS with '"' instead of '`'. */
  ansiQuotes = false;
  private closed = false;

  constructor(
    private readonly conn: mysql.Connection,
    private readonly secret: DatabaseSecret,
    private readonly settings: ConnectionSettings,
  ) {}

  /**
   * Once per session: proves TLS, learns the server flavor and the account, sets session limits.
   * Two round trips on MariaDB (one SELECT, one SET): the server named itself in the handshake, so
   * the TLS proof (Ssl_cipher, from information_schema.SESSION_STATUS, which MariaDB always has)
   * rides in the SELECT. MySQL keeps `SHOW SESSION STATUS` (three): its status tables live in
   * performance_schema, which may be off (e.g. Aurora MySQL), and an empty answer must not be taken
   * for "no TLS". Counted by test/rotation/session-round-trips.test.ts.
   */
  async init(): Promise<void> {
    const checkTls = this.settings.tlsMode !== 'disable';
    const mariadbByHandshake = /mariadb/i.test(handshakeVersion(this.conn) ?? '');
    // mysql2 refuses a server without TLS, but the session must prove it is encrypted:
    // invariant 5 allows no silent downgrade, whatever a driver version does.
    const refuseUnencrypted = (cipher: unknown) => {
      if (String(cipher ?? '') !== '') return;
      throw this.error('tls', 'NO_TLS', 'check that the session is encrypted', 'the session is not encrypted (Ssl_cipher is empty)',
        'Turn TLS on in the database server. The function never uses plaintext unless the secret or ROTOR_TLS_MODE says "disable".');
    };
    if (checkTls && !mariadbByHandshake) {
      const rows = await this.rows('check that the session is encrypted', `SHOW ${SESSION_MARKER} SESSION STATUS LIKE 'Ssl_cipher'`);
      refuseUnencrypted(rows[0]?.Value ?? rows[0]?.value);
    }
    const cipherColumn = checkTls && mariadbByHandshake
      ? ", (SELECT VARIABLE_VALUE FROM information_schema.SESSION_STATUS WHERE VARIABLE_NAME = 'SSL_CIPHER') AS sslCipher"
      : '';
    const [info] = await this.rows(checkTls && mariadbByHandshake ? 'check that the session is encrypted' : 'detect the server version',
      `SELECT ${SESSION_MARKER} VERSION() AS version, CURRENT_USER() AS account, @@SESSION.sql_mode AS sqlMode${cipherColumn}`);
    if (checkTls && mariadbByHandshake) refuseUnencrypted(info.sslCipher);
    this.flavor = mysqlFlavor(String(info.version));
    this.account = splitAccount(String(info.account));

    // Client-side escaping (the only way to pass a value to ALTER USER / SET PASSWORD, which
    // cannot be prepared) is only sound while backslash is an escape character.
    const modes = String(info.sqlMode ?? '').split(',').filter((m) => m !== '');
    this.ansiQuotes = modes.some((m) => ['ANSI_QUOTES', 'ANSI'].includes(m.toUpperCase()));
    // SHOW GRANTS / SHOW CREATE USER quote identifiers only while sql_quote_show_create is on (the
    // default); the parsers (grants.ts, password.ts) rely on it.
    const assignments: string[] = ['SESSION sql_quote_show_create = ?'];
    const values: unknown[] = [1];
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

  /** Sets the password as a hash of the account's own plugin (password.ts); refuses, changing nothing, when it cannot. */
  async setPassword(username: string, newPassword: string): Promise<void> {
    const what = 'change the password';
    if (username === this.account.user) {
      await this.checkOwnHostEntries(what);
      const plugin = await hashablePluginOf(this, { own: true });
      await setPasswordHash(this, { own: true }, plugin, newPassword, what);
      return;
    }
    // Another user (an admin session): change every account of that user name, whatever its host part.
    const hosts = (await this.rows('look up the accounts of the user', 'SELECT Host AS host FROM mysql.user WHERE User = ? ORDER BY Host', [username]))
      .map((r) => String(r.host));
    if (hosts.length === 0) {
      throw this.error('configuration', 'NO_SUCH_USER', what, 'no account with the user name in "username" exists on the server',
        'Create the user first (the alternating-users strategy creates the clone from the master secret), or fix "username" in the secret.');
    }
    // Every account's plugin first: a refusal changes none of them.
    const plugins: HashablePlugin[] = [];
    for (const host of hosts) plugins.push(await hashablePluginOf(this, { user: username, host }));
    for (const [i, host] of hosts.entries()) await setPasswordHash(this, { user: username, host }, plugins[i], newPassword, what);
  }

  /**
   * Single-user: the own-account statements change only the account this login matched
   * (CURRENT_USER(), e.g. 'app'@'%'); another host entry of the same user ('app'@'10.%') would
   * keep the old password, working from the hosts it matches after the rotation. Changing those
   * too is refused on purpose: they may hold other privileges, which the secret would then open.
   * So the rotation is refused, before any change, when the user can see other entries (SELECT on
   * mysql.user, or on MariaDB 10.4+ on mysql.global_priv). Without that privilege it cannot know (no statement tells an unprivileged user
   * about its other accounts): the password changes as AWS's reference function does, and the
   * threat model says so. `rotor doctor` runs this check too.
   */
  async checkOwnHostEntries(what = 'change the password'): Promise<void> {
    // mysql.user first; MariaDB 10.4+ keeps the accounts in mysql.global_priv (mysql.user is a
    // view of it), which a user may be allowed to read without the view.
    let hosts: string[] | undefined;
    for (const table of ['mysql.user', 'mysql.global_priv']) {
      try {
        hosts = (await this.rows('look up the host entries of the user', `SELECT Host AS host FROM ${table} WHERE User = ? ORDER BY Host`, [this.account.user]))
          .map((r) => String(r.host));
        break;
      } catch (e) {
        // Not allowed (1142; 1143 column-level SELECT only), or no such table (1146: MySQL has no global_priv).
        if (e instanceof RotationError && (e.category === 'permission' || e.code === '1146')) continue;
        throw e;
      }
    }
    if (hosts === undefined) return;
    if (!hosts.some((h) => h !== this.account.host)) return;
    const accounts = hosts.map((h) => accountLabel(this.account.user, h));
    throw this.error('configuration', 'SEVERAL_HOST_ENTRIES', what,
      `the user has ${hosts.length} accounts (${accounts.join(', ')}); only ${accountLabel(this.account.user, this.account.host)}, the one this login matched, would get the new password, and the others would keep the old one`,
      explain.mysqlSeveralHostEntries(this.account.user, this.account.host, hosts));
  }

  /** Alternating users: alternate-user.ts. */
  async syncAlternateUser(opts: AlternateUserSync): Promise<void> {
    await syncAlternateUser(this, opts);
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

  async run(what: string, sql: string, values: unknown[] = [], alsoSecret: string[] = [], context: MysqlErrorContext = {}): Promise<unknown> {
    try {
      // A client-side backstop a little after the server's own limit, so the server aborts first
      // and no statement keeps running after the client gave up on it.
      const [result] = await this.conn.query({ sql, values, timeout: this.settings.statementTimeoutMs + 1000 });
      return result;
    } catch (e) {
      throw classifyMysqlError(e, this.secret, this.settings, what, alsoSecret, context);
    }
  }

  async rows(what: string, sql: string, values: unknown[] = [], context: MysqlErrorContext = {}): Promise<Row[]> {
    const result = await this.run(what, sql, values, [], context);
    return Array.isArray(result) ? (result as Row[]) : [];
  }

  error(category: ErrorCategory, code: string, what: string, text: string, action: string): RotationError {
    return new RotationError({ category, code, message: baseMessage(this.secret, what, text), action });
  }

  escape(value: string): string {
    return this.conn.escape(value);
  }
}

/** The server version the server sent in its handshake packet (mysql2 keeps it; undefined if a driver version does not). */
function handshakeVersion(conn: mysql.Connection): string | undefined {
  const core = (conn as unknown as { connection?: { _handshakePacket?: { serverVersion?: unknown } } }).connection;
  const v = core?._handshakePacket?.serverVersion;
  return typeof v === 'string' ? v : undefined;
}
