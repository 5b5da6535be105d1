import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  type SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';

/** A label known to be on no version (without DescribeSecret). */
const ABSENT = '';

/** One version of a secret as the cache holds it. */
export interface CachedVersion {
  versionId: string;
  /** The SecretString. Never logged, never part of an error. */
  secretString: string;
}

export interface SecretCacheOptions {
  /** The Secrets Manager client. @default new SecretsManagerClient(clientConfig ?? {}) (the SDK's credential chain, Region and retries) */
  client?: SecretsManagerClient;
  /** Config for the client the cache creates when `client` is not given. */
  clientConfig?: SecretsManagerClientConfig;
  /**
   * How long a value is used without asking Secrets Manager again. An
   * authentication failure asks earlier (see the database helpers).
   * @default 3600000 (1 hour, the default of AWS's own caching clients:
   * https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets_cache-java-ref_SecretCacheConfiguration.html)
   */
  ttlMs?: number;
  /**
   * After a refresh failed (throttling, network, service error), the stale value is served
   * and Secrets Manager is not asked again for this long.
   * @default 5000
   */
  errorBackoffMs?: number;
  /** Milliseconds clock (tests). @default Date.now */
  now?: () => number;
}

/** What the cache knows of one secret. */
interface Entry {
  /** stage -> VersionId; complete after a DescribeSecret, else only the stages a GetSecretValue named. */
  labels: Map<string, string>;
  labelsComplete: boolean;
  /** Values by VersionId: only versions that a label pointed at, or that logged in. */
  values: Map<string, CachedVersion>;
  /** When the last successful refresh was sent (-Infinity: never). */
  checkedAt: number;
  /** The mark() at which it was sent (0: never). */
  checkedMark: number;
  /** No refresh before this after a failure. */
  retryAt: number;
  lastError?: unknown;
  inflight?: Promise<void>;
  /** A version that logged in when the cached AWSCURRENT did not (the single-user window). */
  working?: string;
  /** Versions the database refused (authentication) and that have not logged in since, with the event() at which the refusal was recorded. */
  refused: Map<string, number>;
  /** The mark() at a version's first refusal (kept while it stays refused). */
  refusedMark: Map<string, number>;
  /** Versions labelled (AWSPENDING) whose value does not exist yet: RotateSecret labels an empty version that createSecret fills. Forgotten at the next DescribeSecret. */
  empty: Set<string>;
}

/** A refresh failed and there is no value to fall back to. The message names the secret and the error, never a value. */
export class SecretCacheError extends Error {
  override readonly name = 'SecretCacheError';
  constructor(readonly secretId: string, readonly causeName: string, message: string) {
    super(message);
  }
}

/** Counters of the Secrets Manager calls this cache made. */
export interface SecretCacheStats {
  getSecretValue: number;
  describeSecret: number;
  /** Reads answered with a stale value because a refresh failed. */
  staleServed: number;
}

/**
 * A cache of secret values for applications. AWSCURRENT by default.
 *
 * - A value is used for `ttlMs`; after that the next read refreshes it.
 * - One refresh per secret is in flight at a time: concurrent reads wait for it.
 * - When a refresh fails (throttling, outage), the stale value is served and
 *   Secrets Manager is left alone for `errorBackoffMs`.
 * - A refresh of a secret the cache already holds asks DescribeSecret first
 *   and calls GetSecretValue only for a version it does not hold yet: after a
 *   rotation, the version that was AWSPENDING is often already cached.
 */
export class SecretCache {
  readonly client: SecretsManagerClient;
  private readonly ttlMs: number;
  private readonly errorBackoffMs: number;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  private seq = 0;
  /** Counts logins and refusals recorded, to order them against the moment a password was sent. */
  private events = 0;
  /** DescribeSecret was refused (AccessDeniedException): refresh with GetSecretValue by label. */
  private describeDenied = false;
  private readonly counters: SecretCacheStats = { getSecretValue: 0, describeSecret: 0, staleServed: 0 };

  constructor(opts: SecretCacheOptions = {}) {
    this.client = opts.client ?? new SecretsManagerClient(opts.clientConfig ?? {});
    this.ttlMs = opts.ttlMs ?? 3_600_000;
    this.errorBackoffMs = opts.errorBackoffMs ?? 5_000;
    this.now = opts.now ?? Date.now;
    if (!(this.ttlMs >= 0)) throw new RangeError('ttlMs must be >= 0');
  }

  /** The value of `stage` (AWSCURRENT by default); throws SecretCacheError when it cannot be read and none is cached. */
  async getSecretString(secretId: string, stage: string = AWSCURRENT): Promise<string> {
    const v = await this.getVersion(secretId, stage);
    if (!v) throw new SecretCacheError(secretId, 'NoSuchStage', `secret ${secretId} has no version labelled ${stage}`);
    return v.secretString;
  }

  /**
   * The version labelled `stage`, or undefined when no version carries that
   * label (AWSPENDING outside a rotation). Fresh within the TTL; refreshed
   * otherwise; stale when the refresh fails.
   */
  async getVersion(secretId: string, stage: string = AWSCURRENT): Promise<CachedVersion | undefined> {
    const e = this.entry(secretId);
    const fresh = this.now() - e.checkedAt < this.ttlMs;
    if (fresh && this.known(e, stage)) return this.lookup(e, stage);
    if (e.lastError !== undefined && this.now() < e.retryAt && this.hasStale(e, stage)) {
      this.counters.staleServed++;
      return this.lookup(e, stage);
    }
    await this.sync(secretId, stage, this.now() - this.ttlMs);
    return this.lookup(e, stage);
  }

  /**
   * Asks Secrets Manager again unless a refresh was sent after `since` (a
   * `mark()` taken before the caller's failed attempt): many connections
   * that fail at once after a rotation cause one refresh. Errors are
   * swallowed here (the caller retries with what is cached); `lastError`
   * keeps them.
   */
  async revalidate(secretId: string, since: number, stage: string = AWSCURRENT): Promise<void> {
    const e = this.entry(secretId);
    if (e.checkedMark > since && (e.labelsComplete || this.describeDenied)) return;
    if (e.lastError !== undefined && this.now() < e.retryAt) return;
    try {
      await this.sync(secretId, stage, -Infinity, true, since);
    } catch {
      // kept in e.lastError; the caller goes on with the cached values
    }
  }

  /** The version labelled `stage` as last seen, without calling Secrets Manager. */
  peek(secretId: string, stage: string = AWSCURRENT): CachedVersion | undefined {
    const e = this.entries.get(secretId);
    return e ? this.lookup(e, stage) : undefined;
  }

  /** The VersionId that logged in when the cached AWSCURRENT did not, while it still carries AWSCURRENT or AWSPENDING. */
  workingVersion(secretId: string): CachedVersion | undefined {
    const e = this.entries.get(secretId);
    if (!e?.working) return undefined;
    const labelled = e.labels.get(AWSCURRENT) === e.working || e.labels.get(AWSPENDING) === e.working;
    return labelled ? e.values.get(e.working) : undefined;
  }

  /**
   * Records which version logged in (used by the database helpers).
   * `sentAt` is the event() when its password was sent: a login sent before
   * a refusal of the same version was recorded changes nothing. The server
   * may well have checked it first and the password changed in between (a
   * version works from its setSecret until the next one changes that user's
   * password, never again after); a refused version that really logs in
   * again (AWSPENDING tried before its setSecret) is told by a login sent
   * after the refusal.
   */
  markWorking(secretId: string, versionId: string, sentAt?: number): void {
    const e = this.entries.get(secretId);
    if (!e) return;
    const refusedAt = e.refused.get(versionId);
    if (refusedAt !== undefined && sentAt !== undefined && refusedAt > sentAt) return;
    this.events++;
    e.refused.delete(versionId);
    e.refusedMark.delete(versionId);
    if (e.labels.get(AWSCURRENT) !== versionId) e.working = versionId;
    // AWSCURRENT logs in: the working version is kept only while it is AWSPENDING (newer).
    else if (e.working !== undefined && e.labels.get(AWSPENDING) !== e.working) e.working = undefined;
  }

  /** Records that the database refused a version's credential (used by the database helpers). */
  markRefused(secretId: string, versionId: string): void {
    const e = this.entries.get(secretId);
    if (!e) return;
    e.refused.set(versionId, ++this.events);
    if (!e.refusedMark.has(versionId)) e.refusedMark.set(versionId, this.seq);
    if (e.working === versionId) e.working = undefined;
  }

  /** mark() when the database first refused this version (still refused), else undefined. */
  refusedSince(secretId: string, versionId: string): number | undefined {
    return this.entries.get(secretId)?.refusedMark.get(versionId);
  }

  /** A counter that every login and refusal recorded moves on; taken when a password is sent (markWorking's `sentAt`). */
  event(): number {
    return this.events;
  }

  /** Whether the database refused this version and it has not logged in since. */
  isRefused(secretId: string, versionId: string): boolean {
    return this.entries.get(secretId)?.refused.has(versionId) ?? false;
  }

  /** Resolves when no refresh of this secret is in flight. */
  async settled(secretId: string): Promise<void> {
    const e = this.entries.get(secretId);
    while (e?.inflight) await e.inflight.catch(() => undefined);
  }

  /** A counter that every refresh sent moves on; for revalidate(). */
  mark(): number {
    return this.seq;
  }

  /** Secrets Manager calls made so far. */
  stats(): SecretCacheStats {
    return { ...this.counters };
  }

  /** Forgets every value. */
  clear(): void {
    this.entries.clear();
  }

  private entry(secretId: string): Entry {
    let e = this.entries.get(secretId);
    if (!e) {
      e = { labels: new Map(), labelsComplete: false, values: new Map(), checkedAt: -Infinity, checkedMark: 0, retryAt: -Infinity, refused: new Map(), refusedMark: new Map(), empty: new Set() };
      this.entries.set(secretId, e);
    }
    return e;
  }

  /** Whether the cache can answer for `stage` (a value, or knowing there is no such label). */
  private known(e: Entry, stage: string): boolean {
    const id = e.labels.get(stage);
    if (id === ABSENT) return true;
    return id !== undefined ? e.values.has(id) || e.empty.has(id) : e.labelsComplete;
  }

  private lookup(e: Entry, stage: string): CachedVersion | undefined {
    const id = e.labels.get(stage);
    return id === undefined ? undefined : e.values.get(id);
  }

  private hasStale(e: Entry, stage: string): boolean {
    return this.lookup(e, stage) !== undefined;
  }

  /**
   * One refresh at a time per secret. A caller that finds one in flight
   * waits for it and is content with its result when it was sent at or after
   * `since` and covered `stage`; a failed one is not repeated at once: the
   * stale value is served (or the error thrown) until `errorBackoffMs` passed.
   */
  private async sync(secretId: string, stage: string, since: number, describe = false, sinceMark = -1): Promise<void> {
    const e = this.entry(secretId);
    const enough = () => e.checkedAt >= since && e.checkedMark > sinceMark && this.known(e, stage) && (!describe || e.labelsComplete || this.describeDenied);
    while (e.inflight) {
      await e.inflight.catch(() => undefined);
      if (enough()) return;
      if (e.lastError !== undefined && this.now() < e.retryAt) return this.fallBack(secretId, e, stage, e.lastError);
    }
    const sentAt = this.now();
    const sentMark = ++this.seq;
    const p = this.refresh(secretId, e, stage, describe).then(
      (labelsChecked) => {
        if (labelsChecked) {
          e.checkedAt = sentAt;
          e.checkedMark = sentMark;
        }
        e.lastError = undefined;
      },
      (err: unknown) => {
        e.lastError = err;
        e.retryAt = this.now() + this.errorBackoffMs;
        throw err;
      },
    );
    e.inflight = p.finally(() => {
      e.inflight = undefined;
    });
    try {
      await e.inflight;
    } catch (err) {
      this.fallBack(secretId, e, stage, err);
    }
  }

  /** After a failed refresh: the stale value when there is one, else a SecretCacheError. */
  private fallBack(secretId: string, e: Entry, stage: string, err: unknown): void {
    if (this.hasStale(e, stage)) {
      this.counters.staleServed++;
      return;
    }
    throw new SecretCacheError(secretId, errorName(err), `could not read secret ${secretId} from Secrets Manager (${errorName(err)}) and no value is cached`);
  }

  /** Returns whether the labels were (re)read. */
  private async refresh(secretId: string, e: Entry, stage: string, describe: boolean): Promise<boolean> {
    const labelled = e.labels.get(stage);
    if (!describe && labelled !== undefined && e.labelsComplete && this.now() - e.checkedAt < this.ttlMs) {
      // The labels are fresh; only this version's value is missing.
      await this.fetchVersion(secretId, e, labelled, stage !== AWSCURRENT);
      return false;
    }
    if (e.values.size === 0 && !describe && stage === AWSCURRENT) {
      // Nothing cached: DescribeSecret would not save anything.
      this.counters.getSecretValue++;
      const out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
      if (out.VersionId === undefined || out.SecretString === undefined) {
        throw new SecretCacheError(secretId, 'NotAStringSecret', `secret ${secretId} has no SecretString (binary secrets are not supported)`);
      }
      e.values.set(out.VersionId, { versionId: out.VersionId, secretString: out.SecretString });
      for (const s of out.VersionStages ?? [stage]) e.labels.set(s, out.VersionId);
      return true;
    }
    if (this.describeDenied) return this.refreshByStage(secretId, e, stage);
    this.counters.describeSecret++;
    let d;
    try {
      d = await this.client.send(new DescribeSecretCommand({ SecretId: secretId }));
    } catch (err) {
      // A policy that grants GetSecretValue only (AWS's minimum for reading a secret): read by label from now on.
      if (errorName(err) !== 'AccessDeniedException') throw err;
      this.describeDenied = true;
      return this.refreshByStage(secretId, e, stage);
    }
    const labels = new Map<string, string>();
    for (const [id, stages] of Object.entries(d.VersionIdsToStages ?? {})) for (const s of stages ?? []) labels.set(s, id);
    e.empty.clear();
    const id = labels.get(stage);
    if (id !== undefined && !e.values.has(id)) await this.fetchVersion(secretId, e, id, stage !== AWSCURRENT);
    // After a refusal (describe): when the database refused the AWSCURRENT version, the caller's next try is
    // AWSPENDING (the single-user window). Read it in this refresh, so that whoever waits for it
    // (settled(), revalidate()) finds the value, instead of a second refresh right after this one.
    const current = labels.get(AWSCURRENT);
    const pending = labels.get(AWSPENDING);
    if (describe && pending !== undefined && pending !== current && !e.values.has(pending) && current !== undefined && e.refused.has(current)) {
      await this.fetchVersion(secretId, e, pending, true);
    }
    e.labels = labels;
    e.labelsComplete = true;
    // Keep only labelled versions and the one that logged in.
    const keep = new Set(labels.values());
    if (e.working !== undefined && !keep.has(e.working)) e.working = undefined;
    for (const v of [...e.values.keys()]) if (!keep.has(v)) e.values.delete(v);
    for (const v of [...e.refused.keys()]) if (!keep.has(v)) e.refused.delete(v);
    for (const v of [...e.refusedMark.keys()]) if (!keep.has(v)) e.refusedMark.delete(v);
    return true;
  }

  /**
   * Without secretsmanager:DescribeSecret: GetSecretValue of the stage. What
   * it says about other labels is all the cache knows; a stage no version
   * carries is remembered as absent ('').
   */
  private async refreshByStage(secretId: string, e: Entry, stage: string): Promise<boolean> {
    this.counters.getSecretValue++;
    let out;
    try {
      out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
    } catch (err) {
      if (stage === AWSCURRENT || errorName(err) !== 'ResourceNotFoundException') throw err;
      e.labels.set(stage, ABSENT);
      return false;
    }
    if (out.VersionId === undefined || out.SecretString === undefined) {
      throw new SecretCacheError(secretId, 'NotAStringSecret', `secret ${secretId} has no SecretString (binary secrets are not supported)`);
    }
    e.values.set(out.VersionId, { versionId: out.VersionId, secretString: out.SecretString });
    if (stage === AWSCURRENT) {
      // A new reading of AWSCURRENT: every other label may have moved.
      e.labels = new Map();
      e.labelsComplete = false;
      const keep = new Set([out.VersionId, e.working]);
      for (const v of [...e.values.keys()]) if (!keep.has(v)) e.values.delete(v);
    }
    for (const s of out.VersionStages ?? [stage]) e.labels.set(s, out.VersionId);
    return stage === AWSCURRENT;
  }

  /**
   * GetSecretValue of one version. `mayBeEmpty`: the version is AWSPENDING,
   * which RotateSecret puts on a version without a value until createSecret
   * writes it (ResourceNotFoundException): remembered as empty, not an error
   * (an error would hold every refresh back for errorBackoffMs).
   */
  private async fetchVersion(secretId: string, e: Entry, versionId: string, mayBeEmpty = false): Promise<void> {
    this.counters.getSecretValue++;
    let out;
    try {
      out = await this.client.send(new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }));
    } catch (err) {
      if (!mayBeEmpty || errorName(err) !== 'ResourceNotFoundException') throw err;
      e.empty.add(versionId);
      return;
    }
    if (out.SecretString === undefined) {
      throw new SecretCacheError(secretId, 'NotAStringSecret', `secret ${secretId} has no SecretString (binary secrets are not supported)`);
    }
    e.values.set(versionId, { versionId, secretString: out.SecretString });
  }
}

/** The SDK error name (ThrottlingException, ...) or the Node error code; never a message that could carry a value. */
function errorName(err: unknown): string {
  const o = err as { name?: unknown; code?: unknown } | undefined;
  if (o instanceof SecretCacheError) return o.causeName;
  if (typeof o?.name === 'string' && o.name !== 'Error') return o.name;
  if (typeof o?.code === 'string') return o.code;
  return 'Error';
}
