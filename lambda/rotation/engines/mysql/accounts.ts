import { accountLabel, text, type MysqlFlavor, type StatementRunner } from './common';
import { SYNC_CONTEXT } from './errors';

/** What ALTER USER ... REQUIRE ... WITH ... sets, and the default roles. */
export interface AccountProps {
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

export const requireKey = (a: AccountProps) => JSON.stringify(a.require);
export const limitsKey = (a: AccountProps) => JSON.stringify(a.limits);
export const defaultRolesKey = (a: AccountProps) => JSON.stringify(a.defaultRoles.map((r) => [r.user, r.host ?? '']).sort());

/** Every host entry of a user (roles excluded), with TLS requirement, limits and default roles. */
export async function accountsOf(db: StatementRunner, user: string): Promise<AccountProps[]> {
  return (await accountsOfUsers(db, [user])).get(user) ?? [];
}

/**
 * accountsOf for several users in one statement (two on MySQL 8: its default roles are in a table
 * of their own): alternating users reads the current and the alternate user together.
 */
export async function accountsOfUsers(db: StatementRunner, users: readonly string[]): Promise<Map<string, AccountProps[]>> {
  const named = users.map((u) => JSON.stringify(u)).join(' and ');
  const placeholders = users.map(() => '?').join(', ');
  const what = `look up the accounts of ${named}`;
  const columns = 'User AS user, Host AS host, ssl_type AS sslType, ssl_cipher AS sslCipher, x509_issuer AS x509Issuer, x509_subject AS x509Subject, '
    + 'max_questions AS maxQuestions, max_updates AS maxUpdates, max_connections AS maxConnections, max_user_connections AS maxUserConnections';
  const among = `User IN (${placeholders})`;
  const rows = db.flavor === 'mariadb'
    // MariaDB's mysql.user is a view over mysql.global_priv (its JSON: ssl_type, x509_issuer, max_questions, ...).
    // Its is_role is an expression in the server's collation: against a plain 'Y' (the connection's
    // collation, utf8mb4_unicode_ci) a server whose collation_server differs (e.g. utf8mb4_general_ci,
    // Debian's packages) refuses with 1267 "Illegal mix of collations"; an explicit collation wins.
    ? await db.rows(what, `SELECT ${columns}, max_statement_time AS maxStatementTime, default_role AS defaultRole FROM mysql.user WHERE ${among} AND is_role <> _utf8mb4'Y' COLLATE utf8mb4_bin ORDER BY User, Host`, [...users], SYNC_CONTEXT)
    : await db.rows(what, `SELECT ${columns} FROM mysql.user WHERE ${among} ORDER BY User, Host`, [...users], SYNC_CONTEXT);
  const defaults = new Map<string, Array<{ user: string; host?: string }>>();
  const key = (user: string, host: string) => JSON.stringify([user, host]);
  if (db.flavor === 'mysql8' && rows.length > 0) {
    const roleRows = await db.rows(`read the default roles of ${named}`,
      `SELECT USER AS user, HOST AS host, DEFAULT_ROLE_USER AS roleUser, DEFAULT_ROLE_HOST AS roleHost FROM mysql.default_roles WHERE USER IN (${placeholders}) ORDER BY 1, 2, 3, 4`, [...users], SYNC_CONTEXT);
    for (const r of roleRows) {
      const k = key(text(r.user), text(r.host));
      defaults.set(k, [...(defaults.get(k) ?? []), { user: text(r.roleUser), host: text(r.roleHost) }]);
    }
  }
  const byUser = new Map<string, AccountProps[]>(users.map((u) => [u, []]));
  for (const row of rows) {
    const user = text(row.user);
    const host = text(row.host);
    const props = accountProps(row, db.flavor);
    if (!props) {
      throw db.error('configuration', 'UNEXPECTED_ACCOUNT', what,
        `the TLS requirement or resource limits of ${accountLabel(user, host)} have values the function does not know`,
        'Check the account with SHOW CREATE USER; report the values.');
    }
    const defaultRoles = db.flavor === 'mariadb'
      ? (text(row.defaultRole) ? [{ user: text(row.defaultRole) }] : [])
      : defaults.get(key(user, host)) ?? [];
    // By exact name: a CHAR column also matches a name with trailing spaces added (PAD SPACE), and
    // such a row is another user's account, never one of these.
    byUser.get(user)?.push({ host, ...props, defaultRoles });
  }
  return byUser;
}

export async function accountOf(db: StatementRunner, user: string, host: string): Promise<AccountProps> {
  const account = (await accountsOf(db, user)).find((a) => a.host === host);
  if (!account) {
    throw db.error('conflict', 'ACCOUNT_VANISHED', `read ${accountLabel(user, host)}`,
      'the account disappeared while it was being changed', 'Another session dropped it; rotate again.');
  }
  return account;
}
