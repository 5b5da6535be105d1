import type { ConnectionSettings, DatabaseSession } from '../../lambda/rotation/engines/engine';
import type { DatabaseSecret, TlsMode } from '../../lambda/core/database-secret';
import { TLS_MODES } from '../../lambda/core/database-secret';
import { effectiveTlsMode } from '../../lambda/core/tls-policy';

/**
 * The operator commands log in to databases the way the rotation function does: through the
 * engine (its TLS checks, and PostgreSQL's refusal to send a password to an unverified server
 * that asks for it in cleartext or as MD5), with the deployment's TLS floor that a secret may
 * raise but never lower.
 */

/** The floor: --tls-mode, else ROTOR_TLS_MODE, else verify-full (the function's default). */
export function tlsFloor(option: TlsMode | undefined, env: NodeJS.ProcessEnv = process.env): TlsMode {
  return option ?? (TLS_MODES.includes(env.ROTOR_TLS_MODE as TlsMode) ? (env.ROTOR_TLS_MODE as TlsMode) : 'verify-full');
}

/** Connection settings for a login with this secret (throws the function's configuration error below the floor). */
export function loginSettings(login: DatabaseSecret, floor: TlsMode, caFile: string | undefined, timeoutMs: number, whose?: string): ConnectionSettings {
  return { tlsMode: effectiveTlsMode(login.ssl, floor, whose), caFile, connectTimeoutMs: timeoutMs, statementTimeoutMs: timeoutMs };
}

/** Runs one read-only query on an engine session (its driver connection; the engines expose no raw query). */
export async function sessionQuery(session: DatabaseSession, sql: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const s = session as unknown as { client?: { query(sql: string, params: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }> }; conn?: { query(sql: string, params: unknown[]): Promise<[unknown]> } };
  if (s.client) return (await s.client.query(sql, params)).rows;
  if (s.conn) return (await s.conn.query(sql, params))[0] as Array<Record<string, unknown>>;
  throw new Error('this engine session does not allow queries');
}
