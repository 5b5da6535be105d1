import type { AlternateUserSync } from '../engine';
import { accountOf, accountsOfUsers, defaultRolesKey, limitsKey, requireKey, type AccountProps } from './accounts';
import { accountLabel, MARIADB_MAX_USERNAME, MYSQL_MAX_USERNAME, type StatementRunner } from './common';
import { SYNC_CONTEXT } from './errors';
import { grantKey, grantStatement, parseGrantLine, type GrantLine } from './grants';
import type { HashablePlugin } from './password-hash';
import { createWithPasswordHash, hashablePluginOf, setPasswordHash } from './password';

/**
 * Alternating users (see DatabaseSession.syncAlternateUser). Per host entry of `source`:
 * create or re-password `target`@host, make its grants equal (roles, proxy grants, MySQL partial
 * revokes included; password hashes never copied), then its default roles, TLS requirement and
 * resource limits; finally read everything back and compare. Host entries of `target` that
 * `source` lacks are dropped: they would keep an older password and stale privileges.
 *
 * Statements, for the usual rotation (the alternate user exists and already equals the current
 * one, one host entry): 6 on MariaDB (8 on MySQL 8, whose default roles are a second read per
 * account read) - both users' accounts in one SELECT, the alternate's plugin, its new
 * password, both users' grants, the alternate's account. What is compared at the end is read after
 * the last statement that changed the account: when nothing but the password was set, that is
 * the grants and account read just before (a change another session makes before those reads is
 * repaired, as one after the read-back would go unseen anyway).
 * `baseUser` is not needed: objects belong to their DEFINER, not to an owner to be kept.
 *
 * MariaDB paths are tested against a real server; the MySQL 8 / 5.7 paths (SHOW GRANTS with
 * `user`@`host` roles and partial revokes, mysql.default_roles, SET DEFAULT ROLE ... TO) follow
 * the MySQL reference manual and are unit-tested only on the grant-line parser.
 */
export async function syncAlternateUser(db: StatementRunner, { target, source, password }: AlternateUserSync): Promise<void> {
  checkAlternateNames(db, target, source);
  const accounts = await accountsOfUsers(db, [source, target]);
  const sourceAccounts = accounts.get(source) ?? [];
  if (sourceAccounts.length === 0) {
    throw db.error('configuration', 'NO_SUCH_USER', `copy the privileges of ${JSON.stringify(source)}`,
      `no account with the user name ${JSON.stringify(source)} (the current user) exists on the server`,
      'Fix "username" in the AWSCURRENT secret, or create that user; nothing was changed.');
  }
  const sourceHosts = new Set(sourceAccounts.map((a) => a.host));
  const targetAccounts = accounts.get(target) ?? [];
  const existing = new Set(targetAccounts.map((a) => a.host));
  // Every password is set as a hash of the account's plugin (an existing alternate account keeps
  // its own, a new one gets the current user's): refused here, before anything is changed, when
  // the function cannot compute it (password.ts).
  const plugins = new Map<string, HashablePlugin>();
  for (const account of sourceAccounts) {
    const owner = existing.has(account.host) ? target : source;
    plugins.set(account.host, await hashablePluginOf(db, { user: owner, host: account.host }, SYNC_CONTEXT));
  }
  for (const extra of targetAccounts.filter((a) => !sourceHosts.has(a.host))) {
    await db.run(`drop ${accountLabel(target, extra.host)}, a host entry the current user does not have`,
      'DROP USER ?@?', [target, extra.host], [], SYNC_CONTEXT);
  }
  for (const account of sourceAccounts) {
    await syncAccount(db, source, account, target, existing.has(account.host), plugins.get(account.host)!, password);
  }
}

function checkAlternateNames(db: StatementRunner, target: string, source: string): void {
  const what = `make ${JSON.stringify(target)} equal to ${JSON.stringify(source)}`;
  if (target === '' || source === '') {
    throw db.error('configuration', 'INVALID_USERNAME', what, 'a user name is empty (the anonymous account)',
      'Fix "username" in the secret.');
  }
  if (target === source) {
    throw db.error('configuration', 'SAME_USER', what, 'the alternate user is the current user',
      'Fix "username" in the secret: the alternating-users strategy needs two distinct users.');
  }
  if (target === db.account.user) {
    throw db.error('configuration', 'TARGET_IS_MASTER', what, 'the alternate user is the master user that runs the rotation',
      'Refusing to change the master user\'s own privileges; fix "username" in the secret or "masterarn".');
  }
  const limit = db.flavor === 'mariadb' ? MARIADB_MAX_USERNAME : MYSQL_MAX_USERNAME;
  const length = [...target].length;
  if (length > limit) {
    throw db.error('configuration', 'USERNAME_TOO_LONG', what,
      `the alternate user name is ${length} characters long; ${db.flavor === 'mariadb' ? 'MariaDB' : 'MySQL'} allows at most ${limit}`,
      'Shorten the user name in the secret so that its alternate (with "_clone") fits; nothing was changed.');
  }
}

async function syncAccount(db: StatementRunner, source: string, wanted: AccountProps, target: string, exists: boolean, plugin: HashablePlugin, password: string): Promise<void> {
  const host = wanted.host;
  const label = accountLabel(target, host);
  let created = false;
  if (!exists) created = await createWithPasswordHash(db, target, host, plugin, password, `create ${label}`, SYNC_CONTEXT);
  if (!created) await setPasswordHash(db, { user: target, host }, plugin, password, `change the password of ${label}`, SYNC_CONTEXT);
  try {
    await copyAccount(db, source, wanted, target, host, label);
  } catch (e) {
    // An account this call created and could not finish is dropped: no half-made user (with the
    // pending password and the wrong privileges) stays behind. A failed drop keeps the first error.
    if (created) await db.run(`drop ${label}`, 'DROP USER IF EXISTS ?@?', [target, host], [], SYNC_CONTEXT).catch(() => undefined);
    throw e;
  }
}

/** Grants, default roles, TLS requirement and limits of `source` onto `target`, then read back and compared. */
async function copyAccount(db: StatementRunner, source: string, wanted: AccountProps, target: string, host: string, label: string): Promise<void> {
  const grants = await grantsOf(db, source, host);
  const synced = await syncGrants(db, target, host, grants);
  let changed = synced.changed;

  const current = await accountOf(db, target, host);
  if (defaultRolesKey(current) !== defaultRolesKey(wanted)) {
    await setDefaultRoles(db, target, host, wanted);
    changed = true;
  }
  if (requireKey(current) !== requireKey(wanted) || limitsKey(current) !== limitsKey(wanted)) {
    changed = true;
    const values: unknown[] = [target, host, ...wanted.require.values];
    const limits = wanted.limits.map(([option, value]) => {
      values.push(value);
      return `${option} ?`;
    });
    // Option names are constants of this file; every value is a placeholder.
    await db.run(`set the TLS requirement and resource limits of ${label}`,
      `ALTER USER ?@? REQUIRE ${wanted.require.clause} WITH ${limits.join(' ')}`, values, [], SYNC_CONTEXT);
  }

  // Read back: what the server now says must equal what the source has. When nothing was changed
  // (the password aside, which no read shows), what was read before is what the server says.
  const after = changed ? await accountOf(db, target, host) : current;
  const differences: string[] = [];
  if (requireKey(after) !== requireKey(wanted)) differences.push('TLS requirement (REQUIRE)');
  if (limitsKey(after) !== limitsKey(wanted)) differences.push('resource limits');
  if (defaultRolesKey(after) !== defaultRolesKey(wanted)) differences.push('default roles');
  const have = (changed ? await grantsOf(db, target, host) : synced.grants).map(grantKey).sort();
  const want = grants.map(grantKey).sort();
  if (have.join('\n') !== want.join('\n')) {
    const extra = have.filter((k) => !want.includes(k));
    const missing = want.filter((k) => !have.includes(k));
    differences.push(`grants (missing: ${missing.slice(0, 3).join('; ') || 'none'}; extra: ${extra.slice(0, 3).join('; ') || 'none'})`);
  }
  if (differences.length > 0) {
    throw db.error('conflict', 'ALTERNATE_USER_DIFFERS', `make ${label} equal to ${accountLabel(source, host)}`,
      `after copying, these still differ: ${differences.join(', ')}`,
      'Rotate again (another session may have changed grants meanwhile); if it persists, compare SHOW GRANTS of both users and report the difference.');
  }
}

/**
 * Makes the target's grants equal to `wanted`. Roles and proxy grants the source lacks are revoked
 * one by one (REVOKE ALL keeps proxy grants everywhere, and roles on MySQL); when the privilege
 * lines differ at all, REVOKE ALL PRIVILEGES, GRANT OPTION clears them (the server then also drops
 * grants on objects that no longer exist) and the source's lines are replayed. The target is not
 * the credential in use, so the moment without privileges harms no one. Returns whether a statement
 * was sent, and the target's grants as last read (before any statement, when none was).
 */
async function syncGrants(db: StatementRunner, target: string, host: string, wanted: GrantLine[]): Promise<{ changed: boolean; grants: GrantLine[] }> {
  const label = accountLabel(target, host);
  const wantedKeys = new Set(wanted.map(grantKey));
  let current = await grantsOf(db, target, host);
  let revoked = false;
  for (const g of current) {
    if ((g.kind === 'role' || g.kind === 'proxy') && !wantedKeys.has(grantKey(g))) {
      await db.run(`revoke ${g.what} from ${label}`, `REVOKE ${g.what} FROM ?@?`, [target, host], [], SYNC_CONTEXT);
      revoked = true;
    }
  }
  const privilegeKeys = (lines: GrantLine[]) => lines.filter((g) => g.kind === 'privileges' || g.kind === 'restriction').map(grantKey).sort().join('\n');
  if (privilegeKeys(current) !== privilegeKeys(wanted)) {
    await db.run(`revoke all privileges of ${label}`, 'REVOKE ALL PRIVILEGES, GRANT OPTION FROM ?@?', [target, host], [], SYNC_CONTEXT);
    revoked = true;
  }
  // MariaDB's REVOKE ALL also removes roles, wanted ones included: read again.
  if (revoked) current = await grantsOf(db, target, host);
  const have = new Set(current.map(grantKey));
  // Partial revokes (MySQL) restrict the grants before them, so they come last.
  const ordered = [...wanted.filter((g) => g.kind !== 'restriction'), ...wanted.filter((g) => g.kind === 'restriction')];
  let granted = false;
  for (const g of ordered) {
    if (have.has(grantKey(g))) continue;
    const sql = grantStatement(g);
    await db.run(`${g.kind === 'restriction' ? 'restrict' : 'grant'} ${g.what} ${g.kind === 'restriction' ? 'for' : 'to'} ${label}`, sql, [target, host], [], SYNC_CONTEXT);
    granted = true;
  }
  return { changed: revoked || granted, grants: current };
}

async function setDefaultRoles(db: StatementRunner, target: string, host: string, wanted: AccountProps): Promise<void> {
  const what = `set the default roles of ${accountLabel(target, host)}`;
  const roles = wanted.defaultRoles;
  if (db.flavor === 'mariadb') {
    // MariaDB: one default role, no host part.
    if (roles.length === 0) await db.run(what, 'SET DEFAULT ROLE NONE FOR ?@?', [target, host], [], SYNC_CONTEXT);
    else await db.run(what, 'SET DEFAULT ROLE ? FOR ?@?', [roles[0].user, target, host], [], SYNC_CONTEXT);
  } else if (db.flavor === 'mysql8') {
    // MySQL 8 (docs only): SET DEFAULT ROLE {NONE | role [, role] ...} TO user; roles are 'name'@'host'.
    if (roles.length === 0) {
      await db.run(what, 'SET DEFAULT ROLE NONE TO ?@?', [target, host], [], SYNC_CONTEXT);
    } else {
      await db.run(what, `SET DEFAULT ROLE ${roles.map(() => '?@?').join(', ')} TO ?@?`,
        [...roles.flatMap((r) => [r.user, r.host ?? '%']), target, host], [], SYNC_CONTEXT);
    }
  }
  // MySQL 5.7 has no roles.
}

/** The grant lines of an account, rebuilt without its grantee (null lines carry nothing to copy). */
async function grantsOf(db: StatementRunner, user: string, host: string): Promise<GrantLine[]> {
  const label = accountLabel(user, host);
  const rows = await db.rows(`read the grants of ${label}`, 'SHOW GRANTS FOR ?@?', [user, host], SYNC_CONTEXT);
  const lines: GrantLine[] = [];
  rows.forEach((row, index) => {
    const line = String(Object.values(row)[0] ?? '');
    let parsed: GrantLine | null;
    try {
      parsed = parseGrantLine(line, { user, host }, { ansiQuotes: db.ansiQuotes });
    } catch (e) {
      // The line itself is not quoted: it may hold a password hash.
      throw db.error('configuration', 'UNEXPECTED_GRANT', `read the grants of ${label}`,
        `line ${index + 1} of SHOW GRANTS has a shape the function does not know (${(e as Error).message})`,
        'Report the shape of that grant (without its password hash); until then, copy this grant by hand or remove it from the current user.');
    }
    if (parsed) lines.push(parsed);
  });
  return lines;
}

