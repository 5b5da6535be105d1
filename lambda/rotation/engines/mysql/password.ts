import { accountLabel, type MysqlFlavor, type StatementRunner } from './common';
import type { MysqlErrorContext } from './errors';
import { passwordHash, type HashablePlugin } from './password-hash';
import { isName, isWord, tokenize, type Token } from './sql-tokens';

/**
 * Setting a password without sending it: every statement here carries the hash the account's
 * authentication plugin stores (password-hash.ts), never the password, so the server's statement
 * logs (general log, slow log, RDS log exports to CloudWatch, performance_schema) cannot hold it.
 *
 * The account's plugin is read first (SHOW CREATE USER, which every user may run for its own
 * account) and kept. An account whose plugin stores something the function cannot compute
 * (MariaDB ed25519, unix_socket, gssapi, pam, several methods joined with OR; MySQL
 * sha256_password, auth_socket, ...) is refused before anything is changed: the function never
 * falls back to sending the password in plain text.
 *
 *   MariaDB 10.4+   own account    SET PASSWORD = '<hash>'                  (no privilege needed)
 *                   other account  SET PASSWORD FOR u@h = '<hash>'
 *                   new account    CREATE USER u@h IDENTIFIED BY PASSWORD '<hash>'
 *   MySQL 8 / 5.7   own account    ALTER USER USER() IDENTIFIED BY ?  (see below)
 *                   other account  ALTER USER u@h IDENTIFIED WITH <plugin> AS '<hash>'
 *                   new account    CREATE USER u@h IDENTIFIED WITH <plugin> AS '<hash>'
 *
 * MariaDB forms are tested against a real server. The MySQL forms follow the reference manual
 * (https://dev.mysql.com/doc/refman/8.0/en/alter-user.html) and are untested against a server:
 * MySQL lets a user without CREATE USER change its own password only with
 * `ALTER USER USER() IDENTIFIED BY '<password>'`; the hash forms need CREATE USER, which would let
 * the application's account re-password every other account - far worse than what it protects
 * against. So the single-user strategy on MySQL sends that statement (over the verified TLS
 * session), and relies on MySQL rewriting passwords out of the general, slow and binary logs and
 * the Performance Schema ("Passwords and Logging",
 * https://dev.mysql.com/doc/refman/8.0/en/password-logging.html; only a server started with
 * --log-raw logs them, which RDS does not allow). MariaDB does not rewrite: there, every form
 * carries the hash.
 */

/** Plugins whose hash the function computes, by server flavor. */
export const HASHABLE_PLUGINS: Record<MysqlFlavor, readonly HashablePlugin[]> = {
  mariadb: ['mysql_native_password'],
  mysql8: ['mysql_native_password', 'caching_sha2_password'],
  mysql57: ['mysql_native_password'],
};

/**
 * The authentication plugins of an account, from its `SHOW CREATE USER` line (MariaDB and MySQL
 * shapes): `IDENTIFIED BY PASSWORD '<hash>'` (MariaDB, mysql_native_password), `IDENTIFIED
 * {VIA|WITH} plugin [{USING|AS} '<string>' | PASSWORD('...')] [OR plugin ...]`, MySQL's
 * `IDENTIFIED WITH 'plugin' [AS '<string>' | 0x...]`. MariaDB prints no IDENTIFIED clause for a
 * mysql_native_password account without password. Throws an Error naming no value for other shapes
 * (the line holds a password hash: it is never quoted).
 */
export function authPluginsOf(line: string, flavor: MysqlFlavor, opts: { ansiQuotes?: boolean } = {}): string[] {
  const tokens = tokenize(line, opts.ansiQuotes ?? false);
  if (!isWord(tokens[0], 'CREATE') || !isWord(tokens[1], 'USER')) throw new Error('not a CREATE USER line');
  const at = tokens.findIndex((t) => isWord(t, 'IDENTIFIED'));
  if (at < 0) {
    if (flavor === 'mariadb') return ['mysql_native_password'];
    throw new Error('no IDENTIFIED clause');
  }
  let i = at + 1;
  if (isWord(tokens[i], 'BY')) {
    if (isWord(tokens[i + 1], 'PASSWORD') && tokens[i + 2]?.type === 'string') return ['mysql_native_password'];
    throw new Error('an unexpected IDENTIFIED BY clause');
  }
  if (!isWord(tokens[i], 'VIA') && !isWord(tokens[i], 'WITH')) throw new Error('an unexpected IDENTIFIED clause');
  // MySQL 8.0.27+ multifactor accounts: `... AND IDENTIFIED WITH <plugin> ...` (a second factor).
  if (tokens.some((t, k) => k > at && isWord(t, 'IDENTIFIED'))) throw new Error('more than one authentication factor');
  i++;
  const plugins: string[] = [];
  for (;;) {
    const name: Token | undefined = tokens[i];
    if (!name || !(name.type === 'word' || isName(name)) || !/^[A-Za-z0-9_]+$/.test(name.value)) throw new Error('an unexpected plugin name');
    plugins.push(name.value.toLowerCase());
    i++;
    if (isWord(tokens[i], 'USING') || isWord(tokens[i], 'AS')) {
      i++;
      if (isWord(tokens[i], 'PASSWORD') && tokens[i + 1]?.value === '(') {
        const close = tokens.findIndex((t, k) => k > i && t.type === 'punct' && t.value === ')');
        if (close < 0) throw new Error('an unterminated PASSWORD(...)');
        i = close + 1;
      } else if (tokens[i]?.type === 'string' || (tokens[i]?.type === 'word' && /^0x[0-9A-Fa-f]*$/.test(tokens[i].value))) {
        i++;
      } else {
        throw new Error('an unexpected authentication string');
      }
    }
    if (!isWord(tokens[i], 'OR')) return plugins;
    i++;
  }
}

/** Which account: the session's own, or another one (an admin session). */
export type PasswordTarget = { own: true } | { own?: false; user: string; host: string };

const targetLabel = (db: StatementRunner, target: PasswordTarget) =>
  target.own ? accountLabel(db.account.user, db.account.host) : accountLabel(target.user, target.host);

/**
 * The plugin whose hash `target` stores; refuses (configuration, nothing changed) one the
 * function cannot compute. Call for every account a rotation will touch before changing any.
 */
export async function hashablePluginOf(db: StatementRunner, target: PasswordTarget, context: MysqlErrorContext = {}): Promise<HashablePlugin> {
  const label = targetLabel(db, target);
  const what = `read the authentication plugin of ${label}`;
  const rows = target.own
    ? await db.rows(what, 'SHOW CREATE USER CURRENT_USER()', [], context)
    : await db.rows(what, 'SHOW CREATE USER ?@?', [target.user, target.host], context);
  const line = String(Object.values(rows[0] ?? {})[0] ?? '');
  let plugins: string[];
  try {
    plugins = authPluginsOf(line, db.flavor, { ansiQuotes: db.ansiQuotes });
  } catch (e) {
    throw db.error('configuration', 'UNEXPECTED_ACCOUNT', what,
      `SHOW CREATE USER has a shape the function does not know (${(e as Error).message})`,
      'Report the shape of that line (without its password hash); nothing was changed.');
  }
  return checkPlugins(db, plugins, label, what);
}

/** The plugin of a new account made like `source` (same plugin), refused like hashablePluginOf. */
export function checkPlugins(db: StatementRunner, plugins: string[], label: string, what: string): HashablePlugin {
  const supported = HASHABLE_PLUGINS[db.flavor];
  if (plugins.length === 1 && (supported as readonly string[]).includes(plugins[0])) return plugins[0] as HashablePlugin;
  const how = plugins.length === 0 ? 'no known authentication plugin' : `the authentication plugin${plugins.length > 1 ? 's' : ''} ${plugins.join(' OR ')}`;
  throw db.error('configuration', 'UNSUPPORTED_AUTH_PLUGIN', what,
    `${label} uses ${how}; the function sets passwords only as a hash it computes itself (${supported.join(', ')}) and never sends a password in plain text`,
    `Switch the account to ${supported.join(' or ')} (e.g. ALTER USER ... IDENTIFIED ${db.flavor === 'mariadb' ? 'VIA' : 'WITH'} ${supported[0]} ...), or rotate it another way; nothing was changed.`);
}

/** Values to redact from a driver error of a statement carrying `password`'s hash. */
function secretsOf(db: StatementRunner, password: string, hash: string): string[] {
  return [password, db.escape(password).slice(1, -1), hash].filter((s) => s !== '');
}

/** Sets the password of `target`, whose plugin hashablePluginOf returned. */
export async function setPasswordHash(
  db: StatementRunner, target: PasswordTarget, plugin: HashablePlugin, password: string, what: string, context: MysqlErrorContext = {},
): Promise<void> {
  const hash = passwordHash(plugin, password);
  const secrets = secretsOf(db, password, hash);
  // The plugin name is one of HASHABLE_PLUGINS (a constant); every value is a placeholder.
  if (target.own) {
    if (db.flavor === 'mariadb') await db.run(what, 'SET PASSWORD = ?', [hash], secrets, context);
    // MySQL rewrites this statement in its logs (see the header); it keeps the account's plugin.
    else await db.run(what, 'ALTER USER USER() IDENTIFIED BY ?', [password], secrets, context);
    return;
  }
  if (db.flavor === 'mariadb') await db.run(what, 'SET PASSWORD FOR ?@? = ?', [target.user, target.host, hash], secrets, context);
  else await db.run(what, `ALTER USER ?@? IDENTIFIED WITH ${plugin} AS ?`, [target.user, target.host, hash], secrets, context);
}

/**
 * Creates `user`@`host` with `plugin` and `password`'s hash unless it exists. Returns true when
 * this statement created it (false: it appeared meanwhile and kept its old password).
 */
export async function createWithPasswordHash(
  db: StatementRunner, user: string, host: string, plugin: HashablePlugin, password: string, what: string, context: MysqlErrorContext = {},
): Promise<boolean> {
  const hash = passwordHash(plugin, password);
  const sql = db.flavor === 'mariadb'
    ? 'CREATE USER IF NOT EXISTS ?@? IDENTIFIED BY PASSWORD ?'
    : `CREATE USER IF NOT EXISTS ?@? IDENTIFIED WITH ${plugin} AS ?`;
  const result = await db.run(what, sql, [user, host, hash], secretsOf(db, password, hash), context) as { warningStatus?: number } | undefined;
  return Number(result?.warningStatus ?? 0) === 0;
}
