import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import mysql from 'mysql2/promise';
import type { DatabaseSecret } from '../../core/database-secret';
import { RotationError, type ErrorCategory } from '../../core/errors';
import { redact } from '../../core/redact';
import type { AlternateUserSync, ConnectionSettings, DatabaseEngine, DatabaseSession } from './engine';

/**
 * Which server a session talks to: the statements that change a password differ.
 * - MariaDB (10.4+): `SET PASSWORD [FOR u@h] = PASSWORD(?)` keeps the account's authentication
 *   plugin; `ALTER USER ... IDENTIFIED BY` would switch e.g. an ed25519 account to
 *   mysql_native_password, and `ALTER USER CURRENT_USER()` needs CREATE USER there.
 * - MySQL 8 (and Aurora MySQL 3): `ALTER USER` (keeps the plugin, e.g. caching_sha2_password).
 * - MySQL 5.7 (Aurora MySQL 2): `SET PASSWORD = ?` for the own account, `ALTER USER` for others.
 */
export type MysqlFlavor = 'mariadb' | 'mysql8' | 'mysql57';

/** Longest user names, in characters (see MysqlEngine.maxUsernameLength). */
const MARIADB_MAX_USERNAME = 80;
const MYSQL_MAX_USERNAME = 32;

/**
 * MySQL, MariaDB and Aurora MySQL through `mysql2`.
 */
export class MysqlEngine implements DatabaseEngine {
  readonly family = 'mysql' as const;
  /** The AWS reference functions' default for MySQL. */
  readonly defaultExcludedCharacters = '/@"\'\\';

  /**
   * MariaDB: 80 characters, its documented limit since 10.0 (newer servers store more: the 10.11 of
   * the tests has char(128), but 80 holds everywhere). MySQL 5.7.8+ / 8.x and Aurora MySQL: 32.
   */
  maxUsernameLength(engine: DatabaseSecret['engine']): number {
    return engine === 'mariadb' ? MARIADB_MAX_USERNAME : MYSQL_MAX_USERNAME;
  }

  /** The server counts characters (code points), not bytes. */
  usernameLength(name: string): number {
    return [...name].length;
  }

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
  /** With ANSI_QUOTES the server quotes identifiers in SHOW GRANTS with '"' instead of '`'. */
  private ansiQuotes = false;
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
    this.ansiQuotes = modes.some((m) => ['ANSI_QUOTES', 'ANSI'].includes(m.toUpperCase()));
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
    for (const host of hosts) await this.setAccountPassword(username, host, newPassword);
  }

  /** Another account's password, keeping its authentication plugin (see MysqlFlavor). */
  private async setAccountPassword(username: string, host: string, newPassword: string, context: MysqlErrorContext = {}): Promise<void> {
    const secrets = [newPassword, this.conn.escape(newPassword).slice(1, -1)];
    const what = context.loggedIn ? `change the password of ${accountLabel(username, host)}` : 'change the password';
    if (this.flavor === 'mariadb') {
      await this.run(what, 'SET PASSWORD FOR ?@? = PASSWORD(?)', [username, host, newPassword], secrets, context);
    } else {
      await this.run(what, 'ALTER USER ?@? IDENTIFIED BY ?', [username, host, newPassword], secrets, context);
    }
  }

  /**
   * Alternating users (see DatabaseSession.syncAlternateUser). Per host entry of `source`:
   * create or re-password `target`@host, make its grants equal (roles, proxy grants, MySQL partial
   * revokes included; password hashes never copied), then its default roles, TLS requirement and
   * resource limits; finally read everything back and compare. Host entries of `target` that
   * `source` lacks are dropped: they would keep an older password and stale privileges.
   * `baseUser` is not needed: objects belong to their DEFINER, not to an owner to be kept.
   *
   * MariaDB paths are tested against a real server; the MySQL 8 / 5.7 paths (SHOW GRANTS with
   * `user`@`host` roles and partial revokes, mysql.default_roles, SET DEFAULT ROLE ... TO) follow
   * the MySQL reference manual and are unit-tested only on the grant-line parser.
   */
  async syncAlternateUser({ target, source, password }: AlternateUserSync): Promise<void> {
    this.checkAlternateNames(target, source);
    // SHOW GRANTS quotes identifiers only while this is on (the default); the grant parser relies on it.
    await this.run('prepare the session to read grants', 'SET SESSION sql_quote_show_create = 1', [], [], SYNC_CONTEXT);
    const sourceAccounts = await this.accountsOf(source);
    if (sourceAccounts.length === 0) {
      throw this.error('configuration', 'NO_SUCH_USER', `copy the privileges of ${JSON.stringify(source)}`,
        `no account with the user name ${JSON.stringify(source)} (the current user) exists on the server`,
        'Fix "username" in the AWSCURRENT secret, or create that user; nothing was changed.');
    }
    const sourceHosts = new Set(sourceAccounts.map((a) => a.host));
    const targetAccounts = await this.accountsOf(target);
    for (const extra of targetAccounts.filter((a) => !sourceHosts.has(a.host))) {
      await this.run(`drop ${accountLabel(target, extra.host)}, a host entry the current user does not have`,
        'DROP USER ?@?', [target, extra.host], [], SYNC_CONTEXT);
    }
    const existing = new Set(targetAccounts.map((a) => a.host));
    for (const account of sourceAccounts) {
      await this.syncAccount(source, account, target, existing.has(account.host), password);
    }
  }

  private checkAlternateNames(target: string, source: string): void {
    const what = `make ${JSON.stringify(target)} equal to ${JSON.stringify(source)}`;
    if (target === '' || source === '') {
      throw this.error('configuration', 'INVALID_USERNAME', what, 'a user name is empty (the anonymous account)',
        'Fix "username" in the secret.');
    }
    if (target === source) {
      throw this.error('configuration', 'SAME_USER', what, 'the alternate user is the current user',
        'Fix "username" in the secret: the alternating-users strategy needs two distinct users.');
    }
    if (target === this.account.user) {
      throw this.error('configuration', 'TARGET_IS_MASTER', what, 'the alternate user is the master user that runs the rotation',
        'Refusing to change the master user\'s own privileges; fix "username" in the secret or "masterarn".');
    }
    const limit = this.flavor === 'mariadb' ? MARIADB_MAX_USERNAME : MYSQL_MAX_USERNAME;
    const length = [...target].length;
    if (length > limit) {
      throw this.error('configuration', 'USERNAME_TOO_LONG', what,
        `the alternate user name is ${length} characters long; ${this.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} allows at most ${limit}`,
        'Shorten the user name in the secret so that its alternate (with "_clone") fits; nothing was changed.');
    }
  }

  private async syncAccount(source: string, wanted: AccountProps, target: string, exists: boolean, password: string): Promise<void> {
    const host = wanted.host;
    const label = accountLabel(target, host);
    let created = false;
    if (!exists) {
      const secrets = [password, this.conn.escape(password).slice(1, -1)];
      const result = await this.run(`create ${label}`, 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY ?',
        [target, host, password], secrets, SYNC_CONTEXT) as { warningStatus?: number } | undefined;
      // A warning means the account appeared meanwhile and kept its old password.
      created = Number(result?.warningStatus ?? 0) === 0;
    }
    if (!created) await this.setAccountPassword(target, host, password, SYNC_CONTEXT);
    try {
      await this.copyAccount(source, wanted, target, host, label);
    } catch (e) {
      // An account this call created and could not finish is dropped: no half-made user (with the
      // pending password and the wrong privileges) stays behind. A failed drop keeps the first error.
      if (created) await this.run(`drop ${label}`, 'DROP USER IF EXISTS ?@?', [target, host], [], SYNC_CONTEXT).catch(() => undefined);
      throw e;
    }
  }

  /** Grants, default roles, TLS requirement and limits of `source` onto `target`, then read back and compared. */
  private async copyAccount(source: string, wanted: AccountProps, target: string, host: string, label: string): Promise<void> {
    const grants = await this.grantsOf(source, host);
    await this.syncGrants(target, host, grants);

    const current = await this.accountOf(target, host);
    if (defaultRolesKey(current) !== defaultRolesKey(wanted)) await this.setDefaultRoles(target, host, wanted);
    if (requireKey(current) !== requireKey(wanted) || limitsKey(current) !== limitsKey(wanted)) {
      const values: unknown[] = [target, host, ...wanted.require.values];
      const limits = wanted.limits.map(([option, value]) => {
        values.push(value);
        return `${option} ?`;
      });
      // Option names are constants of this file; every value is a placeholder.
      await this.run(`set the TLS requirement and resource limits of ${label}`,
        `ALTER USER ?@? REQUIRE ${wanted.require.clause} WITH ${limits.join(' ')}`, values, [], SYNC_CONTEXT);
    }

    // Read back: what the server now says must equal what the source has.
    const after = await this.accountOf(target, host);
    const differences: string[] = [];
    if (requireKey(after) !== requireKey(wanted)) differences.push('TLS requirement (REQUIRE)');
    if (limitsKey(after) !== limitsKey(wanted)) differences.push('resource limits');
    if (defaultRolesKey(after) !== defaultRolesKey(wanted)) differences.push('default roles');
    const have = (await this.grantsOf(target, host)).map(grantKey).sort();
    const want = grants.map(grantKey).sort();
    if (have.join('\n') !== want.join('\n')) {
      const extra = have.filter((k) => !want.includes(k));
      const missing = want.filter((k) => !have.includes(k));
      differences.push(`grants (missing: ${missing.slice(0, 3).join('; ') || 'none'}; extra: ${extra.slice(0, 3).join('; ') || 'none'})`);
    }
    if (differences.length > 0) {
      throw this.error('conflict', 'ALTERNATE_USER_DIFFERS', `make ${label} equal to ${accountLabel(source, host)}`,
        `after copying, these still differ: ${differences.join(', ')}`,
        'Rotate again (another session may have changed grants meanwhile); if it persists, compare SHOW GRANTS of both users and report the difference.');
    }
  }

  /**
   * Makes the target's grants equal to `wanted`. Roles and proxy grants the source lacks are revoked
   * one by one (REVOKE ALL keeps proxy grants everywhere, and roles on MySQL); when the privilege
   * lines differ at all, REVOKE ALL PRIVILEGES, GRANT OPTION clears them (the server then also drops
   * grants on objects that no longer exist) and the source's lines are replayed. The target is not
   * the credential in use, so the moment without privileges harms no one.
   */
  private async syncGrants(target: string, host: string, wanted: GrantLine[]): Promise<void> {
    const label = accountLabel(target, host);
    const wantedKeys = new Set(wanted.map(grantKey));
    let current = await this.grantsOf(target, host);
    let revoked = false;
    for (const g of current) {
      if ((g.kind === 'role' || g.kind === 'proxy') && !wantedKeys.has(grantKey(g))) {
        await this.run(`revoke ${g.what} from ${label}`, `REVOKE ${g.what} FROM ?@?`, [target, host], [], SYNC_CONTEXT);
        revoked = true;
      }
    }
    const privilegeKeys = (lines: GrantLine[]) => lines.filter((g) => g.kind === 'privileges' || g.kind === 'restriction').map(grantKey).sort().join('\n');
    if (privilegeKeys(current) !== privilegeKeys(wanted)) {
      await this.run(`revoke all privileges of ${label}`, 'REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@?', [target, host], [], SYNC_CONTEXT);
      revoked = true;
    }
    // MariaDB's REVOKE ALL also removes roles, wanted ones included: read again.
    if (revoked) current = await this.grantsOf(target, host);
    const have = new Set(current.map(grantKey));
    // Partial revokes (MySQL) restrict the grants before them, so they come last.
    const ordered = [...wanted.filter((g) => g.kind !== 'restriction'), ...wanted.filter((g) => g.kind === 'restriction')];
    for (const g of ordered) {
      if (have.has(grantKey(g))) continue;
      const sql = grantStatement(g);
      await this.run(`${g.kind === 'restriction' ? 'restrict' : 'grant'} ${g.what} ${g.kind === 'restriction' ? 'for' : 'to'} ${label}`, sql, [target, host], [], SYNC_CONTEXT);
    }
  }

  private async setDefaultRoles(target: string, host: string, wanted: AccountProps): Promise<void> {
    const what = `set the default roles of ${accountLabel(target, host)}`;
    const roles = wanted.defaultRoles;
    if (this.flavor === 'mariadb') {
      // MariaDB: one default role, no host part.
      if (roles.length === 0) await this.run(what, 'SET DEFAULT ROLE NONE FOR ?@?', [target, host], [], SYNC_CONTEXT);
      else await this.run(what, 'SET DEFAULT ROLE ? FOR ?@?', [roles[0].user, target, host], [], SYNC_CONTEXT);
    } else if (this.flavor === 'mysql8') {
      // MySQL 8 (docs only): SET DEFAULT ROLE {NONE | role [, role] ...} TO user; roles are 'name'@'host'.
      if (roles.length === 0) {
        await this.run(what, 'SET DEFAULT ROLE NONE TO ?@?', [target, host], [], SYNC_CONTEXT);
      } else {
        await this.run(what, `SET DEFAULT ROLE ${roles.map(() => '?@?').join(', ')} TO ?@?`,
          [...roles.flatMap((r) => [r.user, r.host ?? '%']), target, host], [], SYNC_CONTEXT);
      }
    }
    // MySQL 5.7 has no roles.
  }

  /** The grant lines of an account, rebuilt without its grantee (null lines carry nothing to copy). */
  private async grantsOf(user: string, host: string): Promise<GrantLine[]> {
    const label = accountLabel(user, host);
    const rows = await this.rows(`read the grants of ${label}`, 'SHOW GRANTS FOR ?@?', [user, host], SYNC_CONTEXT);
    const lines: GrantLine[] = [];
    rows.forEach((row, index) => {
      const line = String(Object.values(row)[0] ?? '');
      let parsed: GrantLine | null;
      try {
        parsed = parseGrantLine(line, { user, host }, { ansiQuotes: this.ansiQuotes });
      } catch (e) {
        // The line itself is not quoted: it may hold a password hash.
        throw this.error('configuration', 'UNEXPECTED_GRANT', `read the grants of ${label}`,
          `line ${index + 1} of SHOW GRANTS has a shape the function does not know (${(e as Error).message})`,
          'Report the shape of that grant (without its password hash); until then, copy this grant by hand or remove it from the current user.');
      }
      if (parsed) lines.push(parsed);
    });
    return lines;
  }

  /** Every host entry of a user (roles excluded), with TLS requirement, limits and default roles. */
  private async accountsOf(user: string): Promise<AccountProps[]> {
    const what = `look up the accounts of ${JSON.stringify(user)}`;
    const columns = 'Host AS host, ssl_type AS sslType, ssl_cipher AS sslCipher, x509_issuer AS x509Issuer, x509_subject AS x509Subject, '
      + 'max_questions AS maxQuestions, max_updates AS maxUpdates, max_connections AS maxConnections, max_user_connections AS maxUserConnections';
    const rows = this.flavor === 'mariadb'
      // MariaDB's mysql.user is a view over mysql.global_priv (its JSON: ssl_type, x509_issuer, max_questions, ...).
      ? await this.rows(what, `SELECT ${columns}, max_statement_time AS maxStatementTime, default_role AS defaultRole FROM mysql.user WHERE User = ? AND is_role <> 'Y' ORDER BY Host`, [user], SYNC_CONTEXT)
      : await this.rows(what, `SELECT ${columns} FROM mysql.user WHERE User = ? ORDER BY Host`, [user], SYNC_CONTEXT);
    const defaults = new Map<string, Array<{ user: string; host?: string }>>();
    if (this.flavor === 'mysql8' && rows.length > 0) {
      const roleRows = await this.rows(`read the default roles of ${JSON.stringify(user)}`,
        'SELECT HOST AS host, DEFAULT_ROLE_USER AS roleUser, DEFAULT_ROLE_HOST AS roleHost FROM mysql.default_roles WHERE USER = ? ORDER BY 2, 3', [user], SYNC_CONTEXT);
      for (const r of roleRows) {
        const host = text(r.host);
        defaults.set(host, [...(defaults.get(host) ?? []), { user: text(r.roleUser), host: text(r.roleHost) }]);
      }
    }
    return rows.map((row) => {
      const host = text(row.host);
      const props = accountProps(row, this.flavor);
      if (!props) {
        throw this.error('configuration', 'UNEXPECTED_ACCOUNT', what,
          `the TLS requirement or resource limits of ${accountLabel(user, host)} have values the function does not know`,
          'Check the account with SHOW CREATE USER; report the values.');
      }
      const defaultRoles = this.flavor === 'mariadb'
        ? (text(row.defaultRole) ? [{ user: text(row.defaultRole) }] : [])
        : defaults.get(host) ?? [];
      return { host, ...props, defaultRoles };
    });
  }

  private async accountOf(user: string, host: string): Promise<AccountProps> {
    const account = (await this.accountsOf(user)).find((a) => a.host === host);
    if (!account) {
      throw this.error('conflict', 'ACCOUNT_VANISHED', `read ${accountLabel(user, host)}`,
        'the account disappeared while it was being changed', 'Another session dropped it; rotate again.');
    }
    return account;
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

  private async run(what: string, sql: string, values: unknown[] = [], alsoSecret: string[] = [], context: MysqlErrorContext = {}): Promise<unknown> {
    try {
      // A client-side backstop a little after the server's own limit, so the server aborts first
      // and no statement keeps running after the client gave up on it.
      const [result] = await this.conn.query({ sql, values, timeout: this.settings.statementTimeoutMs + 1000 });
      return result;
    } catch (e) {
      throw classifyMysqlError(e, this.secret, this.settings, what, alsoSecret, context);
    }
  }

  private async rows(what: string, sql: string, values: unknown[] = [], context: MysqlErrorContext = {}): Promise<Array<Record<string, unknown>>> {
    const result = await this.run(what, sql, values, [], context);
    return Array.isArray(result) ? (result as Array<Record<string, unknown>>) : [];
  }

  /** An error of our own making (no driver text in it). */
  private error(category: ErrorCategory, code: string, what: string, text: string, action: string): RotationError {
    return new RotationError({ category, code, message: baseMessage(this.secret, what, text), action });
  }
}

// ---------------------------------------------------------------------------------------------
// Alternating users: accounts and grants

/** `"name"@"host"` for messages (names are not secrets; JSON quoting shows odd characters). */
function accountLabel(user: string, host: string): string {
  return `${JSON.stringify(user)}@${JSON.stringify(host)}`;
}

/** A column value as text (MySQL returns the x509/cipher BLOB columns as Buffers). */
function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** What ALTER USER ... REQUIRE ... WITH ... sets, and the default roles. */
interface AccountProps {
  host: string;
  /** e.g. { clause: 'ISSUER ? AND CIPHER ?', values: [...] }; values go through placeholders. */
  require: { clause: string; values: string[] };
  /** [option, value], option names being constants of this file. */
  limits: Array<[string, number]>;
  /** MariaDB: at most one, without host; MySQL 8: 'name'@'host' roles. */
  defaultRoles: Array<{ user: string; host?: string }>;
}

/** mysql.user columns -> ALTER USER clauses; undefined for values this code does not know. */
function accountProps(row: Record<string, unknown>, flavor: MysqlFlavor): Omit<AccountProps, 'host' | 'defaultRoles'> | undefined {
  let require: AccountProps['require'];
  switch (text(row.sslType).toUpperCase()) {
    case '':
      require = { clause: 'NONE', values: [] };
      break;
    case 'ANY':
      require = { clause: 'SSL', values: [] };
      break;
    case 'X509':
      require = { clause: 'X509', values: [] };
      break;
    case 'SPECIFIED': {
      const parts: Array<[string, string]> = [
        ['ISSUER', text(row.x509Issuer)], ['SUBJECT', text(row.x509Subject)], ['CIPHER', text(row.sslCipher)],
      ];
      const given = parts.filter(([, v]) => v !== '');
      // SPECIFIED with nothing specified only demands TLS, as REQUIRE SSL does.
      require = given.length === 0
        ? { clause: 'SSL', values: [] }
        : { clause: given.map(([k]) => `${k} ?`).join(' AND '), values: given.map(([, v]) => v) };
      break;
    }
    default:
      return undefined;
  }
  const limits: Array<[string, number]> = [
    ['MAX_QUERIES_PER_HOUR', Number(row.maxQuestions)],
    ['MAX_UPDATES_PER_HOUR', Number(row.maxUpdates)],
    ['MAX_CONNECTIONS_PER_HOUR', Number(row.maxConnections)],
    // Signed on MariaDB.
    ['MAX_USER_CONNECTIONS', Number(row.maxUserConnections)],
  ];
  if (!limits.every(([, v]) => Number.isSafeInteger(v))) return undefined;
  if (flavor === 'mariadb') {
    // decimal(12,6) seconds, returned as a string such as '2.500000'.
    const seconds = Number(text(row.maxStatementTime) || '0');
    if (!Number.isFinite(seconds) || seconds < 0) return undefined;
    limits.push(['MAX_STATEMENT_TIME', seconds]);
  }
  return { require, limits };
}

const requireKey = (a: AccountProps) => JSON.stringify(a.require);
const limitsKey = (a: AccountProps) => JSON.stringify(a.limits);
const defaultRolesKey = (a: AccountProps) => JSON.stringify(a.defaultRoles.map((r) => [r.user, r.host ?? '']).sort());

/**
 * One line of SHOW GRANTS, without its grantee. `what` is the text between GRANT/REVOKE and
 * TO/FROM, rebuilt from tokens: identifiers and strings re-quoted by the driver (escapeId /
 * escape), keywords checked to be plain words, punctuation from a fixed set.
 */
export interface GrantLine {
  /** privileges: `GRANT privs ON obj`; role: `GRANT role[, role]`; proxy: `GRANT PROXY ON acct`; restriction: MySQL partial revoke `REVOKE privs ON obj`. */
  kind: 'privileges' | 'role' | 'proxy' | 'restriction';
  what: string;
  grantOption: boolean;
  adminOption: boolean;
}

/** Equal keys mean equal grants. */
export function grantKey(g: GrantLine): string {
  return `${g.kind} ${g.what}${g.grantOption ? ' WITH GRANT OPTION' : ''}${g.adminOption ? ' WITH ADMIN OPTION' : ''}`;
}

/** The statement that gives a grant line to another account: two placeholders `?@?` for it. */
export function grantStatement(g: GrantLine): string {
  if (g.kind === 'restriction') return `REVOKE ${g.what} FROM ?@?`;
  return `GRANT ${g.what} TO ?@?${g.grantOption ? ' WITH GRANT OPTION' : ''}${g.adminOption ? ' WITH ADMIN OPTION' : ''}`;
}

interface Token {
  type: 'word' | 'ident' | 'string' | 'punct';
  value: string;
}

const BACKSLASH_ESCAPES: Record<string, string> = { 0: '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '%': '\\%', _: '\\_' };

/** Splits SQL text into words, quoted identifiers, strings (decoded) and single punctuation characters. */
function tokenize(sql: string, ansiQuotes: boolean): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const quoted = (quote: string, backslashEscapes: boolean): string => {
    let value = '';
    i++;
    for (;;) {
      if (i >= sql.length) throw new Error('unterminated quoted text');
      const c = sql[i];
      if (backslashEscapes && c === '\\') {
        if (i + 1 >= sql.length) throw new Error('unterminated quoted text');
        const next = sql[i + 1];
        value += BACKSLASH_ESCAPES[next] ?? next;
        i += 2;
      } else if (c === quote) {
        if (sql[i + 1] !== quote) {
          i++;
          return value;
        }
        value += quote;
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
  };
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '`' || (c === '"' && ansiQuotes)) {
      tokens.push({ type: 'ident', value: quoted(c, false) });
    } else if (c === "'" || c === '"') {
      tokens.push({ type: 'string', value: quoted(c, true) });
    } else {
      const word = /^[A-Za-z0-9_$]+/.exec(sql.slice(i, i + 256));
      if (word) {
        tokens.push({ type: 'word', value: word[0] });
        i += word[0].length;
      } else {
        tokens.push({ type: 'punct', value: c });
        i++;
      }
    }
  }
  return tokens;
}

const isWord = (t: Token | undefined, word: string) => t?.type === 'word' && t.value.toUpperCase() === word;
const isName = (t: Token | undefined) => t?.type === 'ident' || t?.type === 'string';
const HEAD_PUNCTUATION = new Set([',', '(', ')', '.', '*', '@']);

/** Tokens back to SQL: identifiers and strings through the driver's escaping. */
function renderTokens(tokens: Token[]): string {
  let out = '';
  let prev: Token | undefined;
  for (const t of tokens) {
    const sql = t.type === 'ident' ? mysql.escapeId(t.value, true) : t.type === 'string' ? mysql.escape(t.value) : t.value;
    const tight = prev === undefined
      || (t.type === 'punct' && [',', ')', '.', '@'].includes(t.value))
      || (prev.type === 'punct' && ['(', '.', '@'].includes(prev.value));
    out += tight ? sql : ` ${sql}`;
    prev = t;
  }
  return out;
}

/**
 * Parses one line of `SHOW GRANTS FOR grantee` (MariaDB 10.x, MySQL 5.7 and 8.x shapes):
 *   GRANT <privs> ON [type] <level> TO <grantee> [IDENTIFIED ...] [REQUIRE ...] [WITH ...]
 *   GRANT <role>[@<host>][, ...] TO <grantee> [WITH ADMIN OPTION]
 *   GRANT PROXY ON <account> TO <grantee> [WITH GRANT OPTION]
 *   REVOKE <privs> ON <level> FROM <grantee>          (MySQL 8 partial revokes)
 *   SET DEFAULT ROLE <role> FOR <grantee>            (MariaDB; default roles are read from mysql.user)
 * The grantee is found as a token sequence (never by searching the text for the name, which may
 * also occur in object names) and must be exactly `grantee`. Everything after it is dropped except
 * WITH GRANT/ADMIN OPTION: password hashes and authentication are never copied, and REQUIRE and
 * limits are copied from mysql.user instead. Returns null for lines with nothing to copy
 * (USAGE alone, SET DEFAULT ROLE); throws an Error (naming no value) for any other shape.
 */
export function parseGrantLine(line: string, grantee: { user: string; host: string }, opts: { ansiQuotes?: boolean } = {}): GrantLine | null {
  const tokens = tokenize(line, opts.ansiQuotes ?? false);
  if (isWord(tokens[0], 'SET')) {
    if (isWord(tokens[1], 'DEFAULT') && isWord(tokens[2], 'ROLE')) return null;
    throw new Error('a SET line that is not SET DEFAULT ROLE');
  }
  const verb = isWord(tokens[0], 'GRANT') ? 'GRANT' : isWord(tokens[0], 'REVOKE') ? 'REVOKE' : undefined;
  if (!verb) throw new Error('neither GRANT nor REVOKE');
  // Privileges, roles and object names are quoted or plain keywords; TO/FROM never occurs among them.
  const at = tokens.findIndex((t, index) => index > 0 && isWord(t, verb === 'GRANT' ? 'TO' : 'FROM'));
  if (at < 0) throw new Error(`no ${verb === 'GRANT' ? 'TO' : 'FROM'} clause`);
  const [user, sep, host] = tokens.slice(at + 1, at + 4);
  if (!isName(user) || sep?.type !== 'punct' || sep.value !== '@' || !isName(host)) throw new Error('the grantee is not user@host');
  if (user.value !== grantee.user || host.value !== grantee.host) throw new Error('the grantee is another account');

  const head = tokens.slice(1, at);
  const tail = tokens.slice(at + 4);
  if (head.length === 0) throw new Error('nothing granted');
  for (const t of head) {
    if (t.type === 'word' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.value)) throw new Error('an unexpected word');
    if (t.type === 'punct' && !HEAD_PUNCTUATION.has(t.value)) throw new Error('an unexpected character');
  }
  const option = (word: string) => tail.some((t, i) => isWord(t, word) && isWord(tail[i + 1], 'OPTION'));
  const on = head.findIndex((t) => isWord(t, 'ON'));

  let kind: GrantLine['kind'];
  if (verb === 'REVOKE') {
    if (on <= 0) throw new Error('a REVOKE line without ON');
    kind = 'restriction';
  } else if (isWord(head[0], 'PROXY') && on === 1) {
    kind = 'proxy';
  } else if (on > 0) {
    kind = 'privileges';
  } else {
    // Role names only: name[@host][, name[@host]]...
    if (!head.every((t) => isName(t) || (t.type === 'punct' && (t.value === '@' || t.value === ',')))) throw new Error('an unexpected role list');
    kind = 'role';
  }
  const grantOption = verb === 'GRANT' && kind !== 'role' && option('GRANT');
  const adminOption = kind === 'role' && option('ADMIN');
  if (kind === 'privileges' && on === 1 && isWord(head[0], 'USAGE') && !grantOption) return null;
  return { kind, what: renderTokens(head), grantOption, adminOption };
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
const LOCKED_ERRNOS = new Set([4151, 3118]);
const PERMISSION_ERRNOS = new Set([1044, 1142, 1227, 1370, 1131, 1132, 1211, 1410]);
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
const SYNC_CONTEXT: MysqlErrorContext = {
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
      return mk('permission', `The account is locked; run ALTER USER '${secret.username.replace(/'/g, "''")}'@'%' ACCOUNT UNLOCK (with the account's host), or fix "username" in the secret.`);
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
