import * as path from 'node:path';
import { parseDatabaseCredential, type DatabaseCredential } from './database-credential';
import { AWSCURRENT, AWSPENDING, SecretCache, type CachedVersion } from './secret-cache';

/** What every database helper takes. */
export interface RotationAwareOptions {
  /** The cache that holds the secret (share one per process). */
  cache: SecretCache;
  /** Name or ARN of the database secret. */
  secretId: string;
  /**
   * How this application names itself to the database (PostgreSQL
   * application_name, MySQL connection attribute program_name), followed by
   * "(rotor-client)" so that `rotor usage` can tell rotation-aware sessions.
   * @default ROTOR_APPLICATION_NAME, else the main script's file name, else "node"
   */
  applicationName?: string;
  /** PEM CA bundle to verify the server with when the secret asks for TLS and the driver options give no ssl (e.g. the RDS bundle). @default Node's trust store */
  ca?: string | Buffer;
  /** Called after each attempt that the database refused with an authentication error (no values passed). */
  onAuthRetry?: (info: { stage: string; attempt: number }) => void;
}

/** One connection attempt's credential. */
export interface Attempt {
  stage: string;
  versionId: string;
  credential: DatabaseCredential;
}

export const CLIENT_TAG = 'rotor-client';

/** "orders-api (rotor-client)", at most `max` bytes. */
export function applicationNameOf(opts: Pick<RotationAwareOptions, 'applicationName'>, max = 63): string {
  const main = process.argv[1] ? path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, '') : '';
  const name = opts.applicationName ?? process.env.ROTOR_APPLICATION_NAME ?? (main || 'node');
  const suffix = ` (${CLIENT_TAG})`;
  let head = name;
  while (Buffer.byteLength(head + suffix) > max) head = head.slice(0, -1);
  return head + suffix;
}

function attemptOf(v: CachedVersion, stage: string, secretId: string): Attempt {
  return { stage, versionId: v.versionId, credential: parseDatabaseCredential(v.secretString, secretId) };
}

/**
 * Opens a connection with the cached credential; when the database refuses
 * it with an authentication error, asks Secrets Manager once (shared with
 * every connection that fails at the same time) and retries at most once
 * with AWSCURRENT (when it is another version than the one that failed),
 * then at most once with AWSPENDING: with single-user rotation the database
 * already has the AWSPENDING password between setSecret and finishSecret.
 * At most three attempts; never loops.
 */
export async function connectWithRotation<T>(
  opts: RotationAwareOptions,
  connect: (attempt: Attempt, index: number) => Promise<T>,
  isAuthFailure: (e: unknown) => boolean,
): Promise<T> {
  const { cache, secretId } = opts;
  const startedAt = cache.mark();
  const current = await cache.getVersion(secretId, AWSCURRENT);
  if (!current) throw new Error(`secret ${secretId} has no AWSCURRENT version`);
  // A version that logged in while the cached AWSCURRENT was refused (the single-user window), while it still carries a label.
  const working = cache.workingVersion(secretId);
  let attempt = working ? attemptOf(working, AWSPENDING, secretId) : attemptOf(current, AWSCURRENT, secretId);
  const tried = new Set<string>();
  const phases = [AWSCURRENT, AWSPENDING];
  for (let index = 0; ; index++) {
    try {
      const out = await connect(attempt, index);
      cache.markWorking(secretId, attempt.versionId);
      return out;
    } catch (e) {
      if (!isAuthFailure(e)) throw e;
      tried.add(attempt.versionId);
      let next: Attempt | undefined;
      while (!next && phases.length > 0) {
        const stage = phases.shift()!;
        if (stage === AWSCURRENT) await cache.revalidate(secretId, startedAt);
        const v = stage === AWSCURRENT ? cache.peek(secretId, AWSCURRENT) : await cache.getVersion(secretId, AWSPENDING).catch(() => undefined);
        if (v && !tried.has(v.versionId)) next = attemptOf(v, stage, secretId);
      }
      if (!next) throw e;
      opts.onAuthRetry?.({ stage: next.stage, attempt: index + 2 });
      attempt = next;
    }
  }
}
