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
  /** cache.mark() when the driver asked for the password (the server checks it moments later). */
  askedMark?: number;
  /** cache.event() then: logins and refusals recorded after it may be newer than this attempt's check. */
  askedEvent?: number;
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

/**
 * The password to send now, when the server asks for it (after TCP and TLS):
 * if the attempt's version was refused in the meantime (another connection
 * found out), or another version of the same user logged in while the
 * attempt's is AWSCURRENT (the single-user window: the newer password is in
 * the database), the newest usable version of the same user instead (the
 * user name went out with the startup packet). It narrows the time between
 * choosing a credential and the server checking it to a few milliseconds.
 * No Secrets Manager call; the attempt records the version used.
 */
export function latePassword(opts: RotationAwareOptions, attempt: Attempt): string {
  const { cache, secretId } = opts;
  const working = cache.workingVersion(secretId);
  const superseded = working !== undefined && working.versionId !== attempt.versionId && cache.peek(secretId, AWSCURRENT)?.versionId === attempt.versionId;
  if (superseded || cache.isRefused(secretId, attempt.versionId)) {
    const candidates: Array<[CachedVersion | undefined, string]> = [
      [cache.workingVersion(secretId), AWSPENDING],
      [cache.peek(secretId, AWSCURRENT), AWSCURRENT],
      [cache.peek(secretId, AWSPENDING), AWSPENDING],
    ];
    for (const [v, stage] of candidates) {
      if (!v || v.versionId === attempt.versionId || cache.isRefused(secretId, v.versionId)) continue;
      let c: DatabaseCredential;
      try {
        c = parseDatabaseCredential(v.secretString, secretId);
      } catch {
        continue;
      }
      if (c.username !== attempt.credential.username) continue;
      attempt.versionId = v.versionId;
      attempt.stage = stage;
      attempt.credential = c;
      break;
    }
  }
  attempt.askedMark = cache.mark();
  attempt.askedEvent = cache.event();
  return attempt.credential.password;
}

/** Two retries, and a third only for a version that appeared after the second was chosen (see connectWithRotation). */
const MAX_RETRIES = 2;

function credentialKey(a: Attempt): string {
  return `${a.credential.username}\u0000${a.credential.password}`;
}

function attemptOf(v: CachedVersion, stage: string, secretId: string): Attempt {
  return { stage, versionId: v.versionId, credential: parseDatabaseCredential(v.secretString, secretId) };
}

/**
 * Opens a connection with the cached credential. When the database refuses
 * it with an authentication error, it asks Secrets Manager again (unless a
 * refresh was sent since this attempt began, or since another connection was
 * refused with the same version: many connections that fail at once share
 * one) and retries with a stored version it has not tried yet: AWSCURRENT
 * (after a rotation, the new one), else AWSPENDING (with single-user rotation
 * the database already has the AWSPENDING password between setSecret and
 * finishSecret). A version whose user and password equal a refused one's is
 * not tried. After a second refusal it first tries the AWSPENDING the last
 * refresh named, if untried; else it asks again. When a refresh shows nothing
 * new it asks once more (it may have been sent just before the password
 * changed).
 *
 * Two retries; a third only for a version that was not on offer when the
 * second was chosen, i.e. the secret moved on during this connect (another
 * rotation finished). A password changed outside rotation (every stored
 * version refused, nothing new) therefore ends after at most two retries.
 * Never loops.
 *
 * Refused versions are remembered, so that the connections that start after
 * a refusal go straight to the version that works.
 */
export async function connectWithRotation<T>(
  opts: RotationAwareOptions,
  connect: (attempt: Attempt, index: number) => Promise<T>,
  isAuthFailure: (e: unknown) => boolean,
): Promise<T> {
  const { cache, secretId } = opts;
  // A refresh in flight (another connection was just refused) decides the first attempt.
  await cache.settled(secretId);
  const current = await cache.getVersion(secretId, AWSCURRENT);
  if (!current) throw new Error(`secret ${secretId} has no AWSCURRENT version`);
  const usable = (v: CachedVersion | undefined) => (v && !cache.isRefused(secretId, v.versionId) ? v : undefined);
  // A version that logged in while the cached AWSCURRENT was refused (the single-user window), while it still carries a label.
  const working = usable(cache.workingVersion(secretId));
  let attempt: Attempt;
  if (working) attempt = attemptOf(working, AWSPENDING, secretId);
  else if (usable(current)) attempt = attemptOf(current, AWSCURRENT, secretId);
  else {
    const pending = usable(await cache.getVersion(secretId, AWSPENDING).catch(() => undefined));
    attempt = pending ? attemptOf(pending, AWSPENDING, secretId) : attemptOf(current, AWSCURRENT, secretId);
  }
  // Versions and credentials this connect has tried: never again (a version with the same user and password as a refused one is skipped too).
  const tried = new Set<string>();
  const untried = async (): Promise<Attempt | undefined> => {
    const fresh = (v: CachedVersion | undefined, stage: string) => {
      if (!v || tried.has(v.versionId)) return undefined;
      const a = attemptOf(v, stage, secretId);
      return tried.has(credentialKey(a)) ? undefined : a;
    };
    const c = fresh(usable(cache.peek(secretId, AWSCURRENT)), AWSCURRENT);
    if (c) return c;
    return fresh(usable(await cache.getVersion(secretId, AWSPENDING).catch(() => undefined)), AWSPENDING);
  };
  // The versions with a value that the labels offered when the last retry was chosen.
  let offered = new Set<string>();
  for (let index = 0; ; index++) {
    // Refreshes sent after this point saw the labels as they were when the database answered this attempt, or later.
    const attemptedAt = cache.mark();
    const startEvent = cache.event();
    try {
      const out = await connect(attempt, index);
      cache.markWorking(secretId, attempt.versionId, attempt.askedEvent ?? startEvent);
      return out;
    } catch (e) {
      if (!isAuthFailure(e)) throw e;
      // Refused before (by another connection): a refresh sent since that first refusal explains this one as well.
      const known = cache.refusedSince(secretId, attempt.versionId);
      cache.markRefused(secretId, attempt.versionId);
      if (index >= MAX_RETRIES + 1) throw e;
      const failedAt = cache.mark();
      tried.add(attempt.versionId);
      tried.add(credentialKey(attempt));
      // First refusal: any refresh sent since this attempt began will do (connections refused together share one).
      // Second: first a version the last refresh named and this connect has not tried (after a refused AWSCURRENT,
      // the AWSPENDING it named: no DescribeSecret needed); else a refresh sent after this attempt's password went out,
      // whose labels are at least as new as what the server checked.
      let next: Attempt | undefined;
      if (index === 1) next = await untried();
      if (!next) {
        await cache.revalidate(secretId, Math.min(index === 0 ? attemptedAt : (attempt.askedMark ?? attemptedAt), known ?? Infinity));
        next = await untried();
      }
      if (!next && cache.mark() <= failedAt) {
        await cache.revalidate(secretId, failedAt);
        next = await untried();
      }
      if (!next) throw e;
      // The third retry only for a version that was not on offer at the second: the secret moved on during this connect.
      if (index === MAX_RETRIES && offered.has(next.versionId)) throw e;
      offered = new Set([cache.peek(secretId, AWSCURRENT)?.versionId, cache.peek(secretId, AWSPENDING)?.versionId].filter((v): v is string => v !== undefined));
      opts.onAuthRetry?.({ stage: next.stage, attempt: index + 2 });
      attempt = next;
    }
  }
}
