import type { DatabaseSecret, TlsMode } from '../core/database-secret';
import { AWSCURRENT, AWSPENDING, type SecretStore, type StoredVersion } from '../core/secret-store';
import type { DatabaseSession } from './engines/engine';

/**
 * Secret values by secret ARN and VersionId, kept for the life of a Lambda
 * container. A version's value never changes (PutSecretValue with an
 * existing VersionId and another value fails: API_PutSecretValue), so a
 * cached value is always right; only which version carries AWSCURRENT can
 * change, and that comes from DescribeSecret in every step. The four steps
 * of one rotation usually run in one warm container, so after createSecret
 * the later steps read no value at all.
 */
export class VersionCache {
  private readonly values = new Map<string, string>();
  private readonly currentIds = new Map<string, string>();
  /** Target fingerprints testSecret proved and the secret's tag did not hold yet, by secret and token. */
  private readonly targetsToRecord = new Map<string, string>();
  /** The login the next step of a token starts with, by secret and token (setNextLogin). */
  private readonly nextLogins = new Map<string, NextLogin>();

  constructor(private readonly maxEntries = 64) {}

  get(secretId: string, versionId: string): string | undefined {
    const key = `${secretId}\n${versionId}`;
    const v = this.values.get(key);
    // Least recently used goes first.
    if (v !== undefined) this.setNewest(this.values, key, v);
    return v;
  }

  put(secretId: string, versionId: string, secretString: string | undefined): void {
    if (secretString === undefined) return;
    this.setNewest(this.values, `${secretId}\n${versionId}`, secretString);
  }

  /** Sets `key` as the newest entry of `map`; the oldest go beyond maxEntries. */
  private setNewest<T>(map: Map<string, T>, key: string, value: T): void {
    map.delete(key);
    map.set(key, value);
    while (map.size > this.maxEntries) map.delete(map.keys().next().value as string);
  }

  /** The entry of `key`, removed (taken once). */
  private static take<T>(map: Map<string, T>, key: string): T | undefined {
    const v = map.get(key);
    map.delete(key);
    return v;
  }

  /** The version this container last saw carrying AWSCURRENT, if its value is cached. */
  lastCurrent(secretId: string): StoredVersion | undefined {
    const id = this.currentIds.get(secretId);
    const secretString = id === undefined ? undefined : this.get(secretId, id);
    return id === undefined || secretString === undefined ? undefined : { versionId: id, secretString, stages: [AWSCURRENT] };
  }

  setCurrent(secretId: string, versionId: string): void {
    this.currentIds.set(secretId, versionId);
  }

  /**
   * After testSecret passed in this container: the fingerprint of the target its AWSPENDING
   * value was proved on, when the secret's rotated-target tag did not hold it. finishSecret
   * of the same token may then write the tag in the round trip of its DescribeSecret.
   */
  setTargetToRecord(secretId: string, token: string, fingerprint: string): void {
    this.setNewest(this.targetsToRecord, `${secretId}\n${token}`, fingerprint);
  }

  /**
   * After a step of `token` succeeded in this container: the credentials the step that follows
   * logs in with first, as this step read and checked them (target, TLS floor, policy; for
   * alternating users also the master credential). That step may start those logins with its
   * DescribeSecret; it uses a session only when DescribeSecret and its own checks lead it to the
   * very same credential (RotationContext.login), else the session is closed.
   */
  setNextLogin(secretId: string, token: string, next: NextLogin): void {
    this.setNewest(this.nextLogins, `${secretId}\n${token}`, next);
  }

  /** The credentials `step` of `token` may log in with before DescribeSecret answers, taken (once). */
  takeNextLogin(secretId: string, token: string, step: string): EarlyCredential[] {
    const next = VersionCache.take(this.nextLogins, `${secretId}\n${token}`);
    return next && next.step === step ? next.credentials : [];
  }

  /** The fingerprint testSecret proved for this token and the tag lacked, taken (once). */
  takeTargetToRecord(secretId: string, token: string): string | undefined {
    return VersionCache.take(this.targetsToRecord, `${secretId}\n${token}`);
  }

  /**
   * Reads for one step, started before DescribeSecret answers: the token's
   * AWSPENDING value (from the cache when known), and AWSCURRENT unless the
   * cache holds the version this container last saw as current (confirmed or
   * refuted by DescribeSecret). Failures surface only where the value is used.
   */
  prefetch(store: SecretStore, token: string): Prefetched {
    const id = store.secretId;
    const cachedPending = this.get(id, token);
    const pending = cachedPending !== undefined
      ? Promise.resolve<StoredVersion>({ versionId: token, secretString: cachedPending, stages: [AWSPENDING] })
      : store.get(AWSPENDING, token).then((v) => (v && this.put(id, v.versionId, v.secretString), v));
    const speculative = this.lastCurrent(id);
    const current = speculative ? undefined : this.readCurrent(store);
    pending.catch(() => undefined);
    current?.catch(() => undefined);
    return { pending, current, speculativeCurrent: speculative };
  }

  /** GetSecretValue(AWSCURRENT), remembered. */
  readCurrent(store: SecretStore): Promise<StoredVersion | undefined> {
    return store.get(AWSCURRENT).then((v) => {
      if (v) {
        this.put(store.secretId, v.versionId, v.secretString);
        this.setCurrent(store.secretId, v.versionId);
      }
      return v;
    });
  }
}

/** A credential a step logs in with, and whose it is (for the TLS floor's error message). */
export interface EarlyCredential {
  secret: DatabaseSecret;
  whose?: string;
  /** An admin session for syncAlternateUser: warmed once logged in (DatabaseSession.warm). */
  warm?: boolean;
}

/** See VersionCache.setNextLogin. */
export interface NextLogin {
  step: 'setSecret' | 'testSecret';
  credentials: EarlyCredential[];
}

/** A login started with DescribeSecret (VersionCache.setNextLogin), for the step to take or leave. */
export interface EarlyLogin {
  /** The credential it logs in with (parsed from the cached value). */
  secret: DatabaseSecret;
  /** The TLS mode it uses. */
  tlsMode: TlsMode;
  /** The statement timeout its session got at connect (bounded by the time then left). */
  statementTimeoutMs: number;
  session: Promise<DatabaseSession>;
  /** Set when the step took the session (it then closes it). */
  taken: boolean;
}

export interface Prefetched {
  pending?: Promise<StoredVersion | undefined>;
  current?: Promise<StoredVersion | undefined>;
  /** The cached version last seen as AWSCURRENT; used when DescribeSecret confirms it still is. */
  speculativeCurrent?: StoredVersion;
  /** Alternating users: AWSCURRENT of the master secret the cached current value names. */
  master?: { secretId: string; value: Promise<StoredVersion | undefined> };
  /**
   * finishSecret: the rotated-target tag write started with DescribeSecret, for the target
   * testSecret proved in this container. AWSCURRENT moves only after it succeeded.
   */
  targetRecord?: { fingerprint: string; written: Promise<void> };
  /** The step's first logins, started with DescribeSecret (VersionCache.setNextLogin). */
  logins?: EarlyLogin[];
}
