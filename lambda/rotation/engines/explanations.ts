import type { TlsMode } from '../../core/database-secret';

/**
 * What an operator reads about a database failure, said once. The engines' error classifiers
 * (postgres.ts, mysql/errors.ts) give these texts as a RotationError's `action`; `rotor doctor`
 * prints the engine's action for a failed login, and the same texts for what it finds by looking
 * (a read-only server, a master without CREATEROLE, ...). No driver is imported here: the CLI loads
 * this module without loading `pg` or `mysql2`.
 */

/** A PostgreSQL identifier as psql prints it: bare when it needs no quotes. */
export const pgIdent = (name: string): string => (/^[a-z_][a-z0-9_]*$/.test(name) ? name : `"${name.replace(/"/g, '""')}"`);

/** A MySQL/MariaDB string literal (backslash escapes on, the default sql_mode). */
export const sqlString = (value: string): string => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;

/** Driver/server codes of a login the server refuses whatever the password: PostgreSQL NOLOGIN, MySQL 3118 / MariaDB 4151 locked. */
const LOGIN_BARRED_CODES = new Set(['28000', '3118', '4151']);

/**
 * True for the engines' refusal of a login the server bars whatever the password (PostgreSQL
 * NOLOGIN, MySQL/MariaDB ACCOUNT LOCK): categorized `permission` by the classifiers, where a wrong
 * password is `authentication`.
 */
export function isLoginBarred(e: { category: string; code?: string }): boolean {
  return e.category === 'permission' && e.code !== undefined && LOGIN_BARRED_CODES.has(e.code);
}

const CANNOT_ROTATE = 'no password would log in, and the user cannot change its own password';

/** PostgreSQL login refused because the role has NOLOGIN. */
export function pgNologin(user: string): string {
  return `The role ${pgIdent(user)} has NOLOGIN: ${CANNOT_ROTATE}. Run ALTER ROLE ${pgIdent(user)} LOGIN; (as a superuser or a role with CREATEROLE), or fix "username" in the secret.`;
}

/** MySQL/MariaDB login refused because the account is locked. */
export function mysqlLocked(user: string): string {
  return `The account ${sqlString(user)} is locked (ACCOUNT LOCK): ${CANNOT_ROTATE}. Run ALTER USER ${sqlString(user)}@'%' ACCOUNT UNLOCK; with the account's own host part (SELECT Host FROM mysql.user WHERE User = ${sqlString(user)}), or fix "username" in the secret.`;
}

/** A TLS handshake or certificate check that failed. */
export function tlsFailed(mode: TlsMode): string {
  return mode === 'verify-full'
    ? 'TLS verification failed: make sure the server has TLS on, and that its certificate names the host and is signed by a CA in the CA bundle given (the rotation function: ROTOR_TLS_CA_FILE; rotor doctor: --ca-file; for RDS: https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem). The function never falls back to plaintext.'
    : 'The TLS handshake failed: make sure the server has TLS on. The function never falls back to plaintext.';
}

/** TCP connection refused: nothing listens on host:port. */
export function connectionRefused(): string {
  return 'Nothing listens there: check "port" in the secret and that the database is running (for RDS: instance status available).';
}

/** The host name does not resolve. */
export function dnsFailed(): string {
  return 'Fix "host" in the secret, or the DNS resolution from where rotation runs (VPC DNS, private hosted zones).';
}

/** No answer at all within the time allowed: a firewall drops the packets. */
export function noAnswer(ms: number): string {
  return `No answer within ${ms} ms: a firewall drops the packets. Allow the port in the database's security group from the rotation function's subnets (and from where rotor doctor runs), and check NACLs and routes.`;
}

/** Any other failure to reach the database. */
export function unreachable(ms: number): string {
  return `The database did not answer within ${ms} ms or refused the connection: check host/port in the secret, the security groups and the route from the function's subnets to the database.`;
}

/** The server accepts no writes (a replica, read_only / default_transaction_read_only). */
export function readOnlyServer(): string {
  return 'The server is read-only (a replica, or read_only / default_transaction_read_only is on): passwords cannot change there. Point "host" at the writer (the primary instance or the cluster endpoint).';
}

/** PostgreSQL alternating users: the master needs CREATEROLE (or SUPERUSER). */
export function pgMasterNeedsCreaterole(master: string): string {
  return `The master ${pgIdent(master)} has neither CREATEROLE nor SUPERUSER, so it cannot create or re-password the alternate user. Run ALTER ROLE ${pgIdent(master)} CREATEROLE; as a superuser (on RDS the master user has it).`;
}

/** Role attributes that only a superuser may grant or take away (CREATEROLE cannot touch such roles). */
export const PG_SUPERUSER_ONLY_ATTRIBUTES = ['SUPERUSER', 'REPLICATION', 'BYPASSRLS'] as const;

/**
 * PostgreSQL alternating users: `role` has attributes only a superuser may alter (so a CREATEROLE
 * master can neither re-password it nor take them away). `isClone`: the alternate user, whose
 * attributes must be the base user's.
 */
export function pgSuperuserOnlyAttributes(role: string, attrs: readonly string[], isClone = false): string {
  return `${pgIdent(role)} has ${attrs.join(', ')}, which only a superuser may alter; a master with CREATEROLE can neither change its password nor ${isClone ? 'make its attributes equal to the base user\'s' : 'remove them'}. `
    + `As a superuser run ALTER ROLE ${pgIdent(role)} ${attrs.map((a) => `NO${a}`).join(' ')};${isClone ? ` (or DROP ROLE ${pgIdent(role)}; rotation creates it again)` : ''} and rotate again; nothing was changed.`;
}

/** PostgreSQL 16+: CREATEROLE acts only on roles the master holds ADMIN OPTION on. */
export function pgMasterNeedsAdminOption(role: string, master: string): string {
  return `On PostgreSQL 16 and later CREATEROLE acts only on roles it holds ADMIN OPTION on, and ${pgIdent(master)} has none on ${pgIdent(role)}. Run GRANT ${pgIdent(role)} TO ${pgIdent(master)} WITH ADMIN OPTION; as a superuser.`;
}

/** PostgreSQL asked for a cleartext or MD5 password while the TLS mode is below verify-full. */
export function pgWeakAuthUnverified(): string {
  return 'A server that is not verified may be an impersonator collecting passwords, so the function sends a cleartext or MD5 password only to a verified server. '
    + 'Use TLS mode "verify-full" ("ssl" in the secret, ROTOR_TLS_MODE), or let the server use SCRAM: password_encryption = scram-sha-256, the user\'s password set again, and the pg_hba.conf method scram-sha-256 instead of password or md5.';
}

/** PostgreSQL asked for SCRAM with fewer iterations than its default while the TLS mode is below verify-full. */
export function pgWeakScramUnverified(minimum: number): string {
  return 'A server that is not verified may be an impersonator: with a low iteration count the login proof it receives can be attacked offline cheaply, so the function sends such a proof only to a verified server. '
    + `Use TLS mode "verify-full" ("ssl" in the secret, ROTOR_TLS_MODE), or store the user's password with at least ${minimum} SCRAM iterations (PostgreSQL 16+: scram_iterations, then set the password again).`;
}

/** MySQL/MariaDB single-user: the user has host entries besides the one the rotation logs in through. */
export function mysqlSeveralHostEntries(user: string, loginHost: string, hosts: readonly string[]): string {
  const others = hosts.filter((h) => h !== loginHost).map((h) => `${sqlString(user)}@${sqlString(h)}`);
  return `Single-user rotation changes the password of one account only, and a host entry left with the old password keeps it working. `
    + `Keep one host entry per rotated user (DROP USER ${others.join(', ')}; after checking that nothing logs in through ${others.length === 1 ? 'it' : 'them'}), `
    + 'or rotate this user with the alternating-users strategy, whose master changes every host entry; nothing was changed.';
}
