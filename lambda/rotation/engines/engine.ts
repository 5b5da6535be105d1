import type { DatabaseSecret, TlsMode } from '../../core/database-secret';

/** How to reach a database: chosen by the secret and the function's configuration. */
export interface ConnectionSettings {
  tlsMode: TlsMode;
  /** PEM file with trusted CAs; undefined = Node's default trust store. */
  caFile?: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

/**
 * How long DatabaseSession.warm may wait for a lock (the server cancels it then; PostgreSQL 13+
 * also ends it after twice this in any case): a statement of the step may wait that long behind
 * it, well within the deadline margin (1 s by default).
 */
export const WARM_LIMIT_MS = 250;

/** A logged-in connection. */
export interface DatabaseSession {
  /** The user the server says this session belongs to. */
  sessionUser(): Promise<string>;
  /** A trivial query that proves the session works. */
  probe(): Promise<void>;
  /** Changes the password of `username` (the session's own user, or another when the session is an admin). */
  setPassword(username: string, newPassword: string): Promise<void>;
  /**
   * Alternating users, run by an admin (master) session: makes `target` a
   * login user with `password` whose privileges equal those of the current
   * user `source`, creating it when missing and removing privileges `source`
   * lacks, keeping TLS requirements and resource limits equal. `baseUser` is
   * the original name (without `_clone`): engines where objects must stay
   * owned by one user (PostgreSQL) use it as the owner of everything.
   */
  syncAlternateUser(opts: AlternateUserSync): Promise<void>;
  /**
   * Optional: makes a new admin session ready for syncAlternateUser's statements, for the time the
   * step still waits on Secrets Manager (an early login, rotation-context.ts). PostgreSQL: a new
   * backend reads the catalogs those statements use into its caches on first use (about 5 ms on
   * the machines here, on the database server). Reads no user's data, changes nothing, and fails
   * silently: the step's own statements then report. The server ends its wait for a lock within
   * WARM_LIMIT_MS (a statement of the step sent meanwhile waits for it on the session).
   */
  warm?(): Promise<void>;
  close(): Promise<void>;
}

export interface AlternateUserSync {
  target: string;
  source: string;
  baseUser: string;
  password: string;
}

/**
 * What rotation needs from a database engine. One small file per engine;
 * errors thrown are RotationErrors with a category (authentication for a
 * refused login, so strategies can tell a wrong password from an outage).
 */
export interface DatabaseEngine {
  readonly family: 'postgres' | 'mysql';
  /** Characters GetRandomPassword must avoid for this engine (the AWS reference functions' defaults). */
  readonly defaultExcludedCharacters: string;
  /** Longest user name the server accepts, by the secret's engine name (PostgreSQL counts bytes). */
  maxUsernameLength(engine: DatabaseSecret['engine']): number;
  /** Length of a user name as the server counts it. */
  usernameLength(name: string): number;
  connect(secret: DatabaseSecret, settings: ConnectionSettings): Promise<DatabaseSession>;
}
