import type { DatabaseSecret, TlsMode } from '../../core/database-secret';

/** How to reach a database: chosen by the secret and the function's configuration. */
export interface ConnectionSettings {
  tlsMode: TlsMode;
  /** PEM file with trusted CAs; undefined = Node's default trust store. */
  caFile?: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

/** A logged-in connection. */
export interface DatabaseSession {
  /** The user the server says this session belongs to. */
  sessionUser(): Promise<string>;
  /** A trivial query that proves the session works. */
  probe(): Promise<void>;
  /** Changes the password of `username` (the session's own user, or another when the session is an admin). */
  setPassword(username: string, newPassword: string): Promise<void>;
  close(): Promise<void>;
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
  connect(secret: DatabaseSecret, settings: ConnectionSettings): Promise<DatabaseSession>;
}
