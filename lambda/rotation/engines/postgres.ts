import { readFileSync } from 'node:fs';
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import type { Client, ClientConfig } from 'pg';
import type { DatabaseSecret } from '../../core/database-secret';
import { RotationError, type ErrorCategory } from '../../core/errors';
import { redact } from '../../core/redact';
import { WARM_LIMIT_MS, type AlternateUserSync, type ConnectionSettings, type DatabaseEngine, type DatabaseSession } from './engine';
import * as explain from './explanations';
import { PG_SUPERUSER_ONLY_ATTRIBUTES as PG_SUPERUSER_ONLY } from './explanations';

/**
 * PostgreSQL and Aurora PostgreSQL through `pg`.
 */
export class PostgresEngine implements DatabaseEngine {
  readonly family = 'postgres' as const;
  readonly defaultExcludedCharacters = ':/@"\'\\';

  /** NAMEDATALEN - 1; PostgreSQL would silently truncate longer names. */
  maxUsernameLength(): number {
    return 63;
  }

  usernameLength(name: string): number {
    return Buffer.byteLength(name, 'utf8');
  }

  async connect(secret: DatabaseSecret, settings: ConnectionSettings): Promise<DatabaseSession> {
    // `pg` is evaluated at the first login, not when the engine is chosen: createSecret needs the
    // engine's rules (name length, excluded characters) but no session (bench/cold-start.bench.ts).
    const { Client: PgClient } = require('pg') as typeof import('pg');
    const config = clientConfig(secret, settings);
    // Below verify-full the server is not proven to be the database: an impersonator on the route
    // can ask for the password in cleartext (or as an MD5 digest, crackable offline). pg answers
    // such a request by calling `password` when it is a function; that call refuses instead, so
    // nothing of the password leaves. SCRAM-SHA-256 (the servers' default) proves the password
    // without sending it and stays allowed.
    // pg calls a `password` function once and then keeps the string it returned (client.password):
    // a server that first asks for SCRAM and then for cleartext or MD5 would get the stored string.
    // So the request listeners put the refusing function back, and the connection's password
    // writer (PasswordMessage: cleartext or MD5 digest; SCRAM uses other writers) refuses too.
    let weakRequest: 'cleartext' | 'MD5' | undefined;
    let refuse: (() => Promise<string>) | undefined;
    if (settings.tlsMode !== 'verify-full') {
      const password = secret.password;
      refuse = async () => {
        if (weakRequest) throw weakAuthError(secret, settings, weakRequest);
        return password;
      };
      config.password = refuse;
    }
    const client = new PgClient(config);
    if (refuse) {
      const refusing = refuse;
      // Connection emits one event per authentication request before pg asks for the password.
      const pgClient = client as unknown as { connection?: PgConnection; password: unknown };
      const connection = pgClient.connection;
      if (!connection || typeof connection.password !== 'function') {
        throw new RotationError({ category: 'configuration', code: 'PgDriverUnsupported', message: 'PostgreSQL: this version of the pg driver has no connection events to check password requests on', action: 'Deploy the pg version the function was built with; nothing was sent.' });
      }
      const weak = (kind: 'cleartext' | 'MD5') => () => {
        weakRequest = kind;
        pgClient.password = refusing;
      };
      connection.prependListener('authenticationCleartextPassword', weak('cleartext'));
      connection.prependListener('authenticationMD5Password', weak('MD5'));
      const send = connection.password.bind(connection);
      connection.password = (value: string) => {
        if (!weakRequest) return send(value);
        connection.stream?.destroy();
        connection.emit('error', weakAuthError(secret, settings, weakRequest));
        return false;
      };
      // SCRAM with a server-chosen iteration count: the client's proof can be attacked offline
      // (a guess costs `i` hashes), so an unverified server may not ask for fewer than PostgreSQL's
      // default. pg has a maximum only (scramMaxIterations): the proof's writer refuses instead.
      let iterations: number | undefined;
      connection.prependListener('authenticationSASLContinue', (msg: { data?: unknown }) => {
        // Every `i=` attribute counts (pg computes the proof with the last one): the lowest wins,
        // one that is not a number counts as 0, none at all as 0.
        const counts = String(msg?.data ?? '').split(',').filter((a) => a.startsWith('i=')).map((a) => (/^i=[0-9]+$/.test(a) ? Number(a.slice(2)) : 0));
        iterations = counts.length === 0 ? 0 : Math.min(...counts);
      });
      if (typeof connection.sendSCRAMClientFinalMessage !== 'function') {
        throw new RotationError({ category: 'configuration', code: 'PgDriverUnsupported', message: 'PostgreSQL: this version of the pg driver has no SCRAM writer to check the iteration count on', action: 'Deploy the pg version the function was built with; nothing was sent.' });
      }
      const sendProof = connection.sendSCRAMClientFinalMessage.bind(connection);
      connection.sendSCRAMClientFinalMessage = (value: string) => {
        if (iterations !== undefined && iterations >= PG_MIN_SCRAM_ITERATIONS) return sendProof(value);
        connection.stream?.destroy();
        connection.emit('error', weakScramError(secret, settings, iterations ?? 0));
        return false;
      };
    }
    // A connection error after connect (server gone) must not crash the process.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (e) {
      await client.end().catch(() => undefined);
      if (e instanceof RotationError) throw e;
      throw classifyPgError(e, secret, settings, 'log in');
    }
    return new PostgresSession(client, secret, settings);
  }
}

class PostgresSession implements DatabaseSession {
  constructor(
    private readonly client: Client,
    private readonly secret: DatabaseSecret,
    private readonly settings: ConnectionSettings,
  ) {}

  async sessionUser(): Promise<string> {
    const r = await this.run('read the session user', 'SELECT session_user AS u');
    return String(r.rows[0].u);
  }

  async probe(): Promise<void> {
    await this.run('run a probe query', 'SELECT 1');
  }

  async setPassword(username: string, newPassword: string): Promise<void> {
    await this.run('change the password', this.alterPasswordSql(username, newPassword), [newPassword]);
  }

  /**
   * Opens the catalogs syncAlternateUser reads (no row of them is read); a failure is ignored. One
   * simple-protocol message, so one implicit transaction: its SET LOCALs end with it, succeeded or
   * cancelled (a catalog locked by VACUUM FULL or REINDEX would otherwise hold the step's first
   * statement up to the session's whole statement limit). lock_timeout is read when a lock wait
   * starts, so it holds on every version; statement_timeout set inside a message applies to the
   * statements after it only from PostgreSQL 13, and is the backstop there (twice the lock limit,
   * so that a lock wait ends by the lock limit).
   */
  async warm(): Promise<void> {
    await this.client.query(`SET LOCAL lock_timeout = ${WARM_LIMIT_MS}; SET LOCAL statement_timeout = ${2 * WARM_LIMIT_MS}; ${PG_WARM_SQL}`).catch(() => undefined);
  }

  /**
   * Alternating users on PostgreSQL: the base user owns everything; the clone
   * is a member of it and starts every session as it (`ALTER ROLE clone SET
   * role = base`), so its privileges are the base user's by construction and
   * the objects it creates belong to the base user. A clone that owns objects
   * (in any database) or holds grants in another database is refused before
   * any change (refuseCloneHoldings); its other memberships and its grants in
   * this database are revoked; its attributes are set to the base user's, and
   * roles that are members of the clone without being members of the base
   * user lose that membership (a clone made in advance by someone else gives
   * them nothing). One transaction: all of it or nothing. Refused before any
   * change when the master cannot do all of it (pgMasterProblems).
   */
  async syncAlternateUser({ target, baseUser, password }: AlternateUserSync): Promise<void> {
    const id = (n: string) => this.client.escapeIdentifier(n);
    const clone = target !== baseUser ? target : undefined;
    const roles = pgRolesOf((await this.run('read the master, the base user and the alternate user', PG_ROLES_SQL, [], [baseUser, target])).rows as PgRoleRow[]);
    const problems = pgMasterProblems(roles, baseUser, clone);
    if (problems.length > 0) {
      throw new RotationError({
        category: 'permission', code: problems[0].code,
        message: `PostgreSQL: the master ${roles.master.rolname} cannot ${clone ? `make ${clone} a copy of ${baseUser}` : `change the password of ${baseUser}`}: ${problems.map((p) => p.why).join('; ')}`,
        action: problems.map((p) => p.action).join(' '),
      });
    }
    const base = roles.byName.get(baseUser);
    if (clone !== undefined && !base) {
      throw new RotationError({
        category: 'configuration', code: '42704',
        message: `PostgreSQL: the base user ${baseUser} of the alternate user ${clone} does not exist`,
        action: 'The role named in the secret does not exist in this database server; fix "username" in the secret.',
      });
    }
    const exists = roles.byName.has(target);
    if (clone !== undefined && exists) await this.refuseCloneHoldings(clone);
    await this.run('start a transaction', 'BEGIN');
    try {
      if (!exists) {
        await this.run('create the alternate user', `CREATE ROLE ${id(target)} WITH LOGIN PASSWORD ${this.client.escapeLiteral(this.passwordLiteral(password))}`, [password]);
      } else {
        await this.run('change the password', this.alterPasswordSql(target, password), [password]);
      }
      if (clone !== undefined && base) {
        // Roles that are members of the clone: only what they also are of the base user stays
        // (first: a base user made a member of the clone would make GRANT base TO clone circular).
        const members = await this.run(
          'read the members of the alternate user',
          `SELECT u.rolname, m.admin_option AS admin,
                  EXISTS (SELECT 1 FROM pg_auth_members b WHERE b.roleid = (SELECT oid FROM pg_roles WHERE rolname = $2) AND b.member = m.member) AS base_member,
                  EXISTS (SELECT 1 FROM pg_auth_members b WHERE b.roleid = (SELECT oid FROM pg_roles WHERE rolname = $2) AND b.member = m.member AND b.admin_option) AS base_admin
             FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1`,
          [], [clone, baseUser],
        );
        for (const row of members.rows) {
          const member = String(row.rolname);
          if (row.base_member !== true) {
            await this.run('revoke a membership in the alternate user that the base user does not have', `REVOKE ${id(clone)} FROM ${id(member)}`);
          } else if (row.admin === true && row.base_admin !== true) {
            await this.run('revoke an ADMIN OPTION on the alternate user that the base user does not have', `REVOKE ADMIN OPTION FOR ${id(clone)} FROM ${id(member)}`);
          }
        }
        const others = await this.run(
          'read the alternate user\'s memberships',
          'SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 AND r.rolname <> $2',
          [], [clone, baseUser],
        );
        for (const row of others.rows) {
          await this.run('revoke a membership the base user does not grant', `REVOKE ${id(String(row.rolname))} FROM ${id(clone)}`);
        }
        await this.run('make the alternate user a member of the base user', `GRANT ${id(baseUser)} TO ${id(clone)}`);
        const flag = (on: boolean, name: string) => (on ? name : `NO${name}`);
        const attrs = [
          'LOGIN', 'INHERIT',
          flag(base.rolcreatedb, 'CREATEDB'), flag(base.rolcreaterole, 'CREATEROLE'),
          // Only a superuser may write these; a master that is none was refused above when they differ.
          ...(roles.master.rolsuper ? PG_SUPERUSER_ONLY.map((a) => flag(base[PG_ATTRIBUTE_COLUMN[a]], a)) : []),
          `CONNECTION LIMIT ${Number.isInteger(base.rolconnlimit) ? base.rolconnlimit : -1}`,
          `VALID UNTIL ${this.client.escapeLiteral(base.validuntil ?? 'infinity')}`,
        ];
        await this.run('set the alternate user\'s attributes to the base user\'s', `ALTER ROLE ${id(clone)} WITH ${attrs.join(' ')}`);
        // Settings of the clone's own (ALTER ROLE clone [IN DATABASE d] SET search_path = ...) would
        // apply to every session the application opens as the clone: only `role = base` stays.
        const settings = await this.run(
          'read the alternate user\'s settings',
          `SELECT d.datname FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole LEFT JOIN pg_database d ON d.oid = s.setdatabase
            WHERE r.rolname = $1 ORDER BY 1 NULLS FIRST`,
          [], [clone],
        );
        for (const row of settings.rows) {
          const where = row.datname === null ? '' : ` IN DATABASE ${id(String(row.datname))}`;
          await this.run('reset the alternate user\'s settings', `ALTER ROLE ${id(clone)}${where} RESET ALL`);
        }
        await this.run('make the alternate user act as the base user', `ALTER ROLE ${id(clone)} SET role = ${this.client.escapeLiteral(baseUser)}`);
        // RESET ALL by a master that is no superuser keeps settings only a superuser may make.
        const kept = await this.run(
          'check the alternate user\'s settings',
          `SELECT 1 FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
            WHERE r.rolname = $1 AND NOT (s.setdatabase = 0 AND s.setconfig = ARRAY['role=' || $2])`,
          [], [clone, baseUser],
        );
        if ((kept.rowCount ?? 0) > 0) {
          throw new RotationError({
            category: 'permission', code: 'CloneSettingsRemain',
            message: `the alternate user ${clone} has settings of its own that the master cannot reset (made by a superuser)`,
            action: `As a superuser run ALTER ROLE ${clone} RESET ALL (and ALTER ROLE ${clone} IN DATABASE <db> RESET ALL for each database \\drds ${clone} lists in psql), or DROP ROLE ${clone} (rotation creates it again); nothing was changed.`,
          });
        }
        // Grants to the clone in this database and on shared objects (refuseCloneHoldings left
        // only these): revoked. Its objects are never handed to the base user: an object made as
        // the clone (a SECURITY DEFINER function, a view) would then run or read as the base user.
        // DROP OWNED needs the privileges of the clone, which a CREATEROLE master (e.g. on RDS)
        // may not have: only when there is something to revoke.
        const holdsAnything = async () => {
          const held = await this.run(
            'look for grants to the alternate user',
            `SELECT 1 FROM pg_shdepend d JOIN pg_roles r ON r.oid = d.refobjid
              WHERE d.refclassid = 'pg_authid'::regclass AND r.rolname = $1 AND d.deptype IN ('o', 'a')
              LIMIT 1`,
            [], [clone],
          );
          return (held.rowCount ?? 0) > 0;
        };
        if (await holdsAnything()) {
          await this.refuseCloneHoldings(clone); // nothing owned, nothing in other databases (again, inside the transaction)
          try {
            await this.run('revoke privileges granted to the alternate user directly', `DROP OWNED BY ${id(clone)}`);
          } catch (e) {
            if (e instanceof RotationError && e.category === 'permission') {
              throw new RotationError({
                category: 'permission', code: e.code,
                message: `the alternate user ${clone} holds grants of its own, and the master may not revoke them`,
                action: `Let the master act as the alternate user (GRANT ${clone} TO <master>), or revoke them by hand (DROP OWNED BY ${clone} in this database, when it owns nothing); nothing was changed.`,
              });
            }
            throw e;
          }
          // DROP OWNED silently keeps grants made by roles the master cannot
          // speak for (e.g. a superuser); privileges would not be equal.
          if (await holdsAnything()) {
            throw new RotationError({
              category: 'permission', code: 'CloneGrantsRemain',
              message: `the alternate user ${clone} holds grants that the master cannot revoke (granted by another role)`,
              action: `Revoke them as their grantor (see \\dp in psql for ${clone}); nothing was changed.`,
            });
          }
        }
        // REVOKE by a role that did not grant the membership may leave it (PostgreSQL 16+: grants
        // are per grantor): the clone must be a member of the base user only.
        const memberships = await this.run(
          'check the alternate user\'s memberships',
          'SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE u.rolname = $1 AND r.rolname <> $2 ORDER BY 1',
          [], [clone, baseUser],
        );
        if ((memberships.rowCount ?? 0) > 0) {
          throw new RotationError({
            category: 'permission', code: 'CloneMembershipsRemain',
            message: `the alternate user ${clone} is a member of roles the base user does not grant (${memberships.rows.map((r) => String(r.rolname)).join(', ')}), and the master cannot revoke them`,
            action: `Revoke them as their grantor or a superuser (REVOKE <role> FROM ${clone}), or DROP ROLE ${clone} (rotation creates it again); nothing was changed.`,
          });
        }
      }
      if (clone !== undefined) {
        // REVOKE by a role that did not grant the membership may leave it (PostgreSQL 16+: grants
        // are per grantor): members the base user does not have must be gone.
        const left = await this.run(
          'check the members of the alternate user',
          `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid
            WHERE r.rolname = $1 AND NOT EXISTS (SELECT 1 FROM pg_auth_members b JOIN pg_roles br ON br.oid = b.roleid
                                                  WHERE br.rolname = $2 AND b.member = m.member AND (b.admin_option OR NOT m.admin_option))`,
          [], [clone, baseUser],
        );
        if ((left.rowCount ?? 0) > 0) {
          throw new RotationError({
            category: 'permission', code: 'CloneMembersRemain',
            message: `the alternate user ${clone} has members (roles that may act as it) that the base user does not have, and the master cannot revoke them`,
            action: `Revoke them as their grantor or a superuser (\\du ${clone} in psql lists them; REVOKE ${clone} FROM <role>), or DROP ROLE ${clone} (rotation creates it again); nothing was changed.`,
          });
        }
      }
      await this.run('commit', 'COMMIT');
    } catch (e) {
      await this.client.query('ROLLBACK').catch(() => undefined);
      throw e;
    }
  }

  /**
   * Refuses [permission] when a clone made in advance owns objects (in any database, or shared
   * ones) or holds grants in another database: pg_shdepend is a shared catalog, so one query sees
   * every database. Handing its objects to the base user would let whoever made them act as the
   * base user (a SECURITY DEFINER function, a view); grants in other databases cannot be revoked
   * from this session.
   */
  private async refuseCloneHoldings(clone: string): Promise<void> {
    const held = await this.run(
      'look for objects and grants of the alternate user in every database',
      `SELECT d.deptype, COALESCE(db.datname, '') AS datname, d.dbid = 0 AS shared, db.datname = current_database() AS here
         FROM pg_shdepend d LEFT JOIN pg_database db ON db.oid = d.dbid
        WHERE d.refclassid = 'pg_authid'::regclass AND d.refobjid = (SELECT oid FROM pg_roles WHERE rolname = $1) AND d.deptype IN ('o', 'a')
        GROUP BY 1, 2, 3, 4 ORDER BY 2, 1`,
      [], [clone],
    );
    const blocking = held.rows.filter((r) => r.deptype === 'o' || (r.shared !== true && r.here !== true));
    if (blocking.length === 0) return;
    const where = [...new Set(blocking.map((r) => (r.shared === true ? '(shared objects: databases or tablespaces)' : String(r.datname))))];
    const owns = blocking.some((r) => r.deptype === 'o');
    throw new RotationError({
      category: 'permission', code: 'CloneOwnsObjects',
      message: `PostgreSQL: the alternate user ${clone} ${owns ? 'owns objects' : 'holds grants'} of its own (in ${where.join(', ')}); rotation does not hand them to the base user, which would let whoever made them act as it`,
      action: `As a superuser, in each database listed, DROP OWNED BY ${clone} (or REASSIGN OWNED BY ${clone} TO <a role you trust> after reviewing the objects), or DROP ROLE ${clone} (rotation creates it again); nothing was changed.`,
    });
  }

  private alterPasswordSql(username: string, newPassword: string): string {
    return `ALTER ROLE ${this.client.escapeIdentifier(username)} WITH PASSWORD ${this.client.escapeLiteral(this.passwordLiteral(newPassword))}`;
  }

  private passwordLiteral(newPassword: string): string {
    // The password is sent as a SCRAM-SHA-256 verifier, so its plaintext never
    // reaches the server, its statement log (log_statement=all) or
    // pg_stat_statements. Only ASCII passwords are pre-hashed: for others the
    // server would apply SASLprep, which we do not reimplement.
    return isAscii(newPassword) ? scramVerifier(newPassword) : newPassword;
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private async run(what: string, sql: string, alsoSecret: string[] = [], params?: unknown[]) {
    try {
      return await this.client.query(sql, params);
    } catch (e) {
      throw classifyPgError(e, this.secret, this.settings, what, alsoSecret);
    }
  }
}

/** What of pg's Connection the weak-auth guard relies on (pg 8.x). */
interface PgConnection extends NodeJS.EventEmitter {
  password(value: string): unknown;
  sendSCRAMClientFinalMessage(value: string): unknown;
  stream?: { destroy(): void };
}

/** The refusal of a cleartext or MD5 password request on a connection whose server is not verified. */
function weakAuthError(secret: DatabaseSecret, settings: ConnectionSettings, kind: 'cleartext' | 'MD5'): RotationError {
  return new RotationError({
    category: 'tls', code: 'WeakAuthUnverifiedServer',
    message: `PostgreSQL: refused to log in as ${secret.username}@${secret.host}:${secret.port}/${secret.dbname ?? 'postgres'}: the server asked for the password ${kind === 'MD5' ? 'as an MD5 digest' : 'in cleartext'} on a connection whose server is not verified (TLS mode "${settings.tlsMode}"); nothing of the password was sent`,
    action: explain.pgWeakAuthUnverified(),
  });
}

/** PostgreSQL's default (scram_iterations); an unverified server asking for fewer is refused. */
const PG_MIN_SCRAM_ITERATIONS = 4096;

/** The refusal of a SCRAM exchange with too few iterations on a connection whose server is not verified. */
function weakScramError(secret: DatabaseSecret, settings: ConnectionSettings, iterations: number): RotationError {
  return new RotationError({
    category: 'tls', code: 'WeakScramUnverifiedServer',
    message: `PostgreSQL: refused to log in as ${secret.username}@${secret.host}:${secret.port}/${secret.dbname ?? 'postgres'}: the server asked for SCRAM with an iteration count of ${iterations} (less than ${PG_MIN_SCRAM_ITERATIONS}, which makes the login proof cheap to attack offline) on a connection whose server is not verified (TLS mode "${settings.tlsMode}"); no proof was sent`,
    action: explain.pgWeakScramUnverified(PG_MIN_SCRAM_ITERATIONS),
  });
}

function clientConfig(secret: DatabaseSecret, settings: ConnectionSettings): ClientConfig {
  return {
    host: secret.host,
    port: secret.port,
    user: secret.username,
    password: secret.password,
    database: secret.dbname ?? 'postgres',
    ssl: sslOptions(secret.host, settings),
    // SCRAM-SHA-256-PLUS (tls-server-end-point): the proof is bound to the certificate the client
    // saw, so a relay with a certificate of its own (unnoticed below verify-full) cannot pass the
    // login on to the database; one that hides -PLUS makes the server refuse the client's "y"
    // (downgrade detected). Servers that offer only SCRAM-SHA-256 still log in.
    enableChannelBinding: settings.tlsMode !== 'disable',
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    lock_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 1000,
    application_name: 'rotor-rotation',
  };
}

/** TLS exactly as asked; `pg` fails (never falls back) when the server has no TLS. */
function sslOptions(host: string, settings: ConnectionSettings): ClientConfig['ssl'] {
  switch (settings.tlsMode) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return {
        rejectUnauthorized: true,
        servername: isIpAddress(host) ? undefined : host,
        ca: settings.caFile ? readFileSync(settings.caFile, 'utf8') : undefined,
      };
  }
}

function isIpAddress(host: string): boolean {
  return /^[0-9.]+$/.test(host) || host.includes(':');
}

function isAscii(s: string): boolean {
  return /^[\x20-\x7e]*$/.test(s);
}

/** DatabaseSession.warm: the catalogs of PG_ROLES_SQL and syncAlternateUser, planned and opened, no row read. */
export const PG_WARM_SQL = `SELECT (SELECT 1 FROM pg_roles WHERE false), (SELECT 1 FROM pg_auth_members WHERE false), (SELECT 1 FROM pg_shdepend WHERE false),
              (SELECT 1 FROM pg_db_role_setting WHERE false), (SELECT 1 FROM pg_database WHERE false)`;

/**
 * The master (current_user) and the roles $1 (base user) and $2 (alternate user), with what
 * pgMasterProblems and the attribute reset need. Read-only; `rotor doctor` runs it too.
 */
export const PG_ROLES_SQL = `SELECT r.rolname, r.rolname = current_user AS is_master, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolreplication, r.rolbypassrls,
              r.rolconnlimit, r.rolvaliduntil::text AS validuntil, current_setting('server_version_num')::int AS version,
              EXISTS (SELECT 1 FROM pg_auth_members a WHERE a.roleid = r.oid AND a.member = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND a.admin_option) AS admin
         FROM pg_roles r WHERE r.rolname IN ($1, $2) OR r.rolname = current_user`;

/** A row of PG_ROLES_SQL. */
export interface PgRoleRow {
  rolname: string;
  is_master: boolean;
  rolsuper: boolean;
  rolcreatedb: boolean;
  rolcreaterole: boolean;
  rolreplication: boolean;
  rolbypassrls: boolean;
  rolconnlimit: number;
  validuntil: string | null;
  version: number;
  /** The master holds ADMIN OPTION on this role. */
  admin: boolean;
}
export interface PgRoles {
  master: PgRoleRow;
  byName: Map<string, PgRoleRow>;
}

const PG_ATTRIBUTE_COLUMN = { SUPERUSER: 'rolsuper', REPLICATION: 'rolreplication', BYPASSRLS: 'rolbypassrls' } as const;

export function pgRolesOf(rows: PgRoleRow[]): PgRoles {
  const master = rows.find((r) => r.is_master);
  if (!master) throw new RotationError({ category: 'configuration', code: 'NoMasterRole', message: 'PostgreSQL: the master\'s own role is not in pg_roles', action: 'Check the master user; nothing was changed.' });
  return { master, byName: new Map(rows.map((r) => [r.rolname, r])) };
}

/**
 * Why the master cannot make `clone` (undefined: re-password the base user) an equal copy of
 * `baseUser`, or undefined when it can. What a CREATEROLE master (as on RDS) cannot do: alter a role
 * with SUPERUSER, REPLICATION or BYPASSRLS (nor give or take them), and on PostgreSQL 16+ act on a
 * role it holds no ADMIN OPTION on. A superuser master can do all of it. `rotor doctor` asks the same.
 */
export function pgMasterProblems(roles: PgRoles, baseUser: string, clone?: string): Array<{ code: string; why: string; action: string }> {
  const { master } = roles;
  if (master.rolsuper) return [];
  if (!master.rolcreaterole) {
    return [{ code: 'MasterNeedsCreaterole', why: 'it has neither CREATEROLE nor SUPERUSER', action: explain.pgMasterNeedsCreaterole(master.rolname) }];
  }
  const problems: Array<{ code: string; why: string; action: string }> = [];
  for (const name of clone === undefined ? [baseUser] : [baseUser, clone]) {
    const role = roles.byName.get(name);
    if (!role) continue;
    const attrs = PG_SUPERUSER_ONLY.filter((a) => role[PG_ATTRIBUTE_COLUMN[a]]);
    if (attrs.length > 0) {
      problems.push({ code: 'SuperuserOnlyAttributes', why: `${name} has ${attrs.join(', ')}, which only a superuser may alter`, action: explain.pgSuperuserOnlyAttributes(name, attrs, name === clone) });
    }
    if (master.version >= 160000 && !role.admin) {
      problems.push({ code: 'MasterNeedsAdminOption', why: `it holds no ADMIN OPTION on ${name} (PostgreSQL 16+)`, action: explain.pgMasterNeedsAdminOption(name, master.rolname) });
    }
  }
  return problems;
}

/** RFC 5802 / RFC 7677 stored key format, as PostgreSQL's `SCRAM-SHA-256$iter:salt$StoredKey:ServerKey`. */
export function scramVerifier(password: string, iterations = 4096): string {
  const salt = randomBytes(16);
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_SIGNATURE_FAILURE', 'EPROTO', 'ERR_SSL_WRONG_VERSION_NUMBER',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE']);

/** Maps a `pg` or socket error to a category and an action; driver text is redacted. */
export function classifyPgError(
  e: unknown,
  secret: DatabaseSecret,
  settings: ConnectionSettings,
  what: string,
  alsoSecret: string[] = [],
): RotationError {
  const err = (e ?? {}) as { code?: string; message?: string };
  const code = typeof err.code === 'string' ? err.code : undefined;
  const text = redact(String(err.message ?? e), [secret.password, ...alsoSecret]);
  const target = `${secret.username}@${secret.host}:${secret.port}/${secret.dbname ?? 'postgres'}`;
  const base = `PostgreSQL: could not ${what} as ${target}: ${text}`;
  const mk = (category: ErrorCategory, action: string) =>
    new RotationError({ category, message: base, action, code: code ?? category, cause: undefined });

  if (code === '28000' && /not permitted to log in/i.test(text)) {
    // The password may be right: the role has NOLOGIN. Trying other passwords would not help.
    return mk('permission', explain.pgNologin(secret.username));
  }
  if (code === '28P01' || code === '28000') {
    return mk('authentication', 'The password in this secret version is not valid for that user (or pg_hba.conf refuses the login). If the database password was changed outside rotation, put the working password into the secret as AWSCURRENT.');
  }
  if (code === '3D000') return mk('configuration', 'The database named by "dbname" does not exist; fix "dbname" in the secret.');
  if (code === '42501') {
    return mk('permission', 'The user may not do this; grant the rotating user the needed privilege (its own password needs none; another role\'s needs CREATEROLE or superuser).');
  }
  if (code === '42704') return mk('configuration', 'The role named in the secret does not exist in this database server; fix "username" in the secret.');
  if (code === '25006') return mk('configuration', explain.readOnlyServer());
  if (code === '57014' || code === '55P03') {
    return mk('network', `The statement did not finish within ${settings.statementTimeoutMs} ms (statement/lock timeout); check for locks on the role or raise ROTOR_STATEMENT_TIMEOUT_MS.`);
  }
  if (code === '53300' || code === '57P03' || code === '57P01') {
    return mk('network', 'The server is not accepting connections right now (starting, shutting down or out of connections); retry later.');
  }
  if ((code && TLS_CODES.has(code)) || /SSL|TLS|certificate/i.test(text)) return mk('tls', explain.tlsFailed(settings.tlsMode));
  if (code === 'ECONNREFUSED') return mk('network', explain.connectionRefused());
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return mk('network', explain.dnsFailed());
  if ((code && NETWORK_CODES.has(code)) || /timeout|terminated|Connection terminated/i.test(text)) {
    return mk('network', explain.unreachable(settings.connectTimeoutMs));
  }
  return mk('configuration', 'Unexpected database error; check the database log around this time.');
}
