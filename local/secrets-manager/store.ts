import { isSecretArn, secretArnPrefix } from './arn';
import { InvalidRequestException, LimitExceededException, ResourceNotFoundException } from './errors';
import { AWSCURRENT, AWSPREVIOUS, type PersistedState, type SecretRecord, type VersionRecord } from './model';

/**
 * "Secrets Manager removes unlabeled versions when there are more than 100,
 * but it does not remove versions created less than 24 hours ago."
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
 */
export const MAX_VERSIONS_PER_SECRET = 100;
const RECENT_VERSION_MS = 24 * 60 * 60 * 1000;
/** "A version can carry several labels (up to 20)". */
export const MAX_LABELS_PER_VERSION = 20;

export const DAY_MS = 24 * 60 * 60 * 1000;

export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export type VersionCreatedListener = (secret: SecretRecord, version: VersionRecord) => void;

/**
 * All secrets, in memory. Every method is synchronous: an operation validates
 * everything first and then mutates, with no await in between, so concurrent
 * requests can never observe (or leave) a half-applied change.
 */
export class SecretStore {
  private readonly secrets = new Map<string, SecretRecord>();
  private readonly versionCreatedListeners: VersionCreatedListener[] = [];
  private changeListener?: () => void;
  private changeScheduled = false;
  /** Bumped on every mutation; the server persists when it moves. */
  revision = 0;

  constructor(
    readonly region: string,
    readonly accountId: string,
    private readonly clock: () => Date,
  ) {}

  now(): number {
    return this.clock().getTime();
  }

  changed(): void {
    this.revision++;
    // Told after the current (synchronous) operation has finished, never in the middle of one.
    if (this.changeListener && !this.changeScheduled) {
      this.changeScheduled = true;
      queueMicrotask(() => {
        this.changeScheduled = false;
        this.changeListener?.();
      });
    }
  }

  /** One listener, called (asynchronously) after changes. */
  onChange(listener: () => void): void {
    this.changeListener = listener;
  }

  onVersionCreated(listener: VersionCreatedListener): void {
    this.versionCreatedListeners.push(listener);
  }

  /** Every secret that still exists (scheduled deletions included), oldest first. */
  all(): SecretRecord[] {
    this.purgeExpired();
    return [...this.secrets.values()];
  }

  /** The secret with this exact ARN, if it still exists. */
  get(arn: string): SecretRecord | undefined {
    this.purgeExpired();
    return this.secrets.get(arn);
  }

  /** The secret with this name, including one scheduled for deletion. */
  byName(name: string): SecretRecord | undefined {
    this.purgeExpired();
    for (const s of this.secrets.values()) if (s.name === name) return s;
    return undefined;
  }

  /**
   * Resolves a SecretId: a name, a full ARN, or a partial ARN (the ARN
   * without the 6-character suffix), as
   * https://docs.aws.amazon.com/secretsmanager/latest/userguide/troubleshoot.html#ARN_secretnamehyphen describes.
   */
  resolve(secretId: string): SecretRecord {
    this.purgeExpired();
    if (isSecretArn(secretId)) {
      const exact = this.secrets.get(secretId);
      if (exact) return exact;
      const prefix = secretArnPrefix(this.region, this.accountId);
      if (secretId.startsWith(prefix)) {
        const partialName = secretId.slice(prefix.length);
        const byPartial = [...this.secrets.values()].filter((s) => s.name === partialName);
        if (byPartial.length === 1) return byPartial[0];
      }
      throw new ResourceNotFoundException();
    }
    const byName = this.byName(secretId);
    if (!byName) throw new ResourceNotFoundException();
    return byName;
  }

  /** Operations other than Describe/List/Restore refuse a secret scheduled for deletion. */
  requireNotDeleted(secret: SecretRecord): void {
    if (secret.deletedDate !== undefined) {
      throw new InvalidRequestException("You can't perform this operation on the secret because it was marked for deletion.");
    }
  }

  /**
   * Secrets created by another service can be changed only through it:
   * https://docs.aws.amazon.com/secretsmanager/latest/userguide/service-linked-secrets.html
   */
  requireNotManaged(secret: SecretRecord): void {
    if (secret.owningService !== undefined) {
      throw new InvalidRequestException(
        `You can't perform this operation on the secret because it's managed by ${secret.owningService}. Use ${secret.owningService} to update it.`,
      );
    }
  }

  insert(secret: SecretRecord): void {
    this.secrets.set(secret.arn, secret);
    this.changed();
  }

  remove(secret: SecretRecord): void {
    this.secrets.delete(secret.arn);
    this.changed();
  }

  version(secret: SecretRecord, versionId: string): VersionRecord | undefined {
    return secret.versions.find((v) => v.versionId === versionId);
  }

  versionWithStage(secret: SecretRecord, stage: string): VersionRecord | undefined {
    return secret.versions.find((v) => v.stages.includes(stage));
  }

  /**
   * Attaches `stage` to `target`, taking it off whichever version had it
   * (a label is on at most one version). Moving AWSCURRENT moves AWSPREVIOUS
   * to the version AWSCURRENT left, in the same step:
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
   */
  attachStage(secret: SecretRecord, target: VersionRecord, stage: string): void {
    const holder = this.versionWithStage(secret, stage);
    if (holder === target) return;
    if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
    target.stages.push(stage);
    if (stage === AWSCURRENT && holder) this.attachStage(secret, holder, AWSPREVIOUS);
  }

  detachStage(version: VersionRecord, stage: string): void {
    version.stages = version.stages.filter((s) => s !== stage);
  }

  /**
   * Checks, without changing anything, that one more version fits:
   * deprecated versions older than 24 hours may be pruned (oldest first) to
   * stay within 100; if that is not enough, LimitExceededException.
   * Returns the versions to prune.
   */
  planNewVersion(secret: SecretRecord): VersionRecord[] {
    const excess = secret.versions.length + 1 - MAX_VERSIONS_PER_SECRET;
    if (excess <= 0) return [];
    const cutoff = this.now() - RECENT_VERSION_MS;
    const prunable = secret.versions.filter((v) => v.stages.length === 0 && v.createdDate < cutoff);
    if (prunable.length < excess) {
      throw new LimitExceededException(
        `You have exceeded the maximum number of versions (${MAX_VERSIONS_PER_SECRET}) for this secret. ` +
          'Versions created in the last 24 hours are kept; wait, or remove staging labels from older versions.',
      );
    }
    return prunable.slice(0, excess);
  }

  /** Adds a version (after planNewVersion) and tells listeners. Stages are attached by the caller. */
  addVersion(secret: SecretRecord, version: VersionRecord, prune: VersionRecord[]): void {
    if (prune.length > 0) secret.versions = secret.versions.filter((v) => !prune.includes(v));
    secret.versions.push(version);
    this.changed();
    for (const l of this.versionCreatedListeners) l(secret, version);
  }

  snapshot(): PersistedState {
    return { formatVersion: 1, region: this.region, accountId: this.accountId, secrets: [...this.secrets.values()] };
  }

  load(state: PersistedState): void {
    this.secrets.clear();
    for (const s of state.secrets) this.secrets.set(s.arn, s);
  }

  private purgeExpired(): void {
    const now = this.now();
    for (const s of this.secrets.values()) {
      if (s.deletionDate !== undefined && s.deletionDate <= now) {
        this.secrets.delete(s.arn);
        this.changed();
      }
    }
  }
}
