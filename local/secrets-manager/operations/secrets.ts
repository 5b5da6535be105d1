import { randomUUID } from 'node:crypto';
import { isSecretArn, newSecretArn } from '../arn';
import {
  InvalidParameterException,
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  ValidationException,
} from '../errors';
import { AWSCURRENT, sameValue, type SecretRecord, type TagRecord } from '../model';
import type { TagInput } from '../operation-shapes';
import { DAY_MS } from '../store';
import { compact, epochSeconds, type OperationContext } from './context';
import { secretMetadata } from './secret-view';
import { requireOneValue, requireToken, writeVersion } from './version-writes';

/*
 * Secret lifecycle: CreateSecret, DescribeSecret, UpdateSecret, DeleteSecret,
 * RestoreSecret, TagResource, UntagResource.
 */

const NAME_PATTERN = /^[a-zA-Z0-9\/_+=.@!-]+$/;
/** "Maximum number of tags per secret: 50" (tagging quotas, https://docs.aws.amazon.com/tag-editor/latest/userguide/tagging.html). */
const MAX_TAGS = 50;

interface CreateSecretInput {
  Name: string;
  ClientRequestToken?: string;
  Description?: string;
  KmsKeyId?: string;
  SecretBinary?: Buffer;
  SecretString?: string;
  Tags?: TagInput[];
  AddReplicaRegions?: unknown[];
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html */
export function createSecret(input: CreateSecretInput, { store }: OperationContext): Record<string, unknown> {
  // AWS answers an invalid name with this ValidationException (recorded against AWS in LocalStack's snapshot tests).
  if (!NAME_PATTERN.test(input.Name)) {
    throw new ValidationException('Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!');
  }
  const value = { secretString: input.SecretString, secretBinary: input.SecretBinary };
  const hasValue = requireOneValue(value, false);
  const token = hasValue ? requireToken(input.ClientRequestToken, 'request') : input.ClientRequestToken;
  const tags = mergeTags([], input.Tags ?? []);
  if (input.AddReplicaRegions) {
    throw new InvalidRequestException('Replication to other Regions is not supported by the local endpoint (it serves one Region).');
  }

  const existing = store.byName(input.Name);
  if (existing) {
    if (existing.deletedDate !== undefined) {
      throw new InvalidRequestException("You can't create this secret because a secret with this name is already scheduled for deletion.");
    }
    // A retried CreateSecret (same token, same value) succeeds without doing anything.
    const same = token !== undefined ? store.version(existing, token) : undefined;
    if (same && sameValue(same, value.secretString, value.secretBinary)) {
      return { ARN: existing.arn, Name: existing.name, VersionId: same.versionId };
    }
    throw new ResourceExistsException(`The operation failed because the secret ${input.Name} already exists.`);
  }

  const now = store.now();
  const secret: SecretRecord = {
    arn: newSecretArn(store.region, store.accountId, input.Name),
    name: input.Name,
    ...(input.Description !== undefined ? { description: input.Description } : {}),
    ...(input.KmsKeyId ? { kmsKeyId: input.KmsKeyId } : {}),
    tags,
    createdDate: now,
    lastChangedDate: now,
    primaryRegion: store.region,
    versions: [],
  };
  store.insert(secret);
  if (!hasValue) return { ARN: secret.arn, Name: secret.name };
  const { version } = writeVersion(store, secret, token!, value, []);
  return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId };
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html (also for secrets scheduled for deletion). */
export function describeSecret(input: { SecretId: string }, { store }: OperationContext): Record<string, unknown> {
  return secretMetadata(store.resolve(input.SecretId), false);
}

interface UpdateSecretInput {
  SecretId: string;
  ClientRequestToken?: string;
  Description?: string;
  KmsKeyId?: string;
  SecretBinary?: Buffer;
  SecretString?: string;
}

/**
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecret.html
 * "If you call this operation with a ClientRequestToken that matches an
 * existing version's VersionId, the operation results in an error."
 */
export function updateSecret(input: UpdateSecretInput, { store }: OperationContext): Record<string, unknown> {
  const value = { secretString: input.SecretString, secretBinary: input.SecretBinary };
  const hasValue = requireOneValue(value, false);
  const token = hasValue ? requireToken(input.ClientRequestToken, 'request') : undefined;
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  store.requireNotManaged(secret);

  let versionId: string | undefined;
  if (hasValue) versionId = writeVersion(store, secret, token!, value, [AWSCURRENT], { existingIsError: true }).version.versionId;
  if (input.Description !== undefined) secret.description = input.Description;
  if (input.KmsKeyId !== undefined) {
    // An empty string means the AWS managed key aws/secretsmanager, which DescribeSecret omits.
    if (input.KmsKeyId === '') delete secret.kmsKeyId;
    else secret.kmsKeyId = input.KmsKeyId;
  }
  if (input.Description !== undefined || input.KmsKeyId !== undefined) {
    secret.lastChangedDate = store.now();
    store.changed();
  }
  return compact({ ARN: secret.arn, Name: secret.name, VersionId: versionId });
}

interface DeleteSecretInput {
  SecretId: string;
  RecoveryWindowInDays?: number;
  ForceDeleteWithoutRecovery?: boolean;
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DeleteSecret.html */
export function deleteSecret(input: DeleteSecretInput, { store, rotations }: OperationContext): Record<string, unknown> {
  const force = input.ForceDeleteWithoutRecovery === true;
  if (force && input.RecoveryWindowInDays !== undefined) {
    throw new InvalidParameterException("You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.");
  }
  const days = input.RecoveryWindowInDays ?? 30;
  if (days < 7 || days > 30) {
    throw new InvalidParameterException('The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).');
  }
  const now = store.now();
  let secret: SecretRecord;
  try {
    secret = store.resolve(input.SecretId);
  } catch (e) {
    // "If you forcibly delete an already deleted or nonexistent secret, the operation does not return ResourceNotFoundException."
    if (force && e instanceof ResourceNotFoundException) {
      return compact({
        ARN: isSecretArn(input.SecretId) ? input.SecretId : undefined,
        Name: isSecretArn(input.SecretId) ? undefined : input.SecretId,
        DeletionDate: epochSeconds(now),
      });
    }
    throw e;
  }
  store.requireNotManaged(secret);
  if (force) {
    store.remove(secret);
    rotations.cancel(secret.arn);
    return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(now) };
  }
  if (secret.deletedDate !== undefined) {
    throw new InvalidRequestException("You can't perform this operation on the secret because it was already scheduled for deletion.");
  }
  secret.deletedDate = now;
  secret.deletionDate = now + days * DAY_MS;
  secret.lastChangedDate = now;
  store.changed();
  return { ARN: secret.arn, Name: secret.name, DeletionDate: epochSeconds(secret.deletionDate) };
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RestoreSecret.html */
export function restoreSecret(input: { SecretId: string }, { store }: OperationContext): Record<string, unknown> {
  const secret = store.resolve(input.SecretId);
  if (secret.deletedDate !== undefined) {
    delete secret.deletedDate;
    delete secret.deletionDate;
    secret.lastChangedDate = store.now();
    store.changed();
  }
  return { ARN: secret.arn, Name: secret.name };
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_TagResource.html ("appends tags"; an existing key gets the new value). */
export function tagResource(input: { SecretId: string; Tags: TagInput[] }, { store }: OperationContext): Record<string, unknown> {
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  const tags = mergeTags(secret.tags, input.Tags);
  secret.tags = tags;
  secret.lastChangedDate = store.now();
  store.changed();
  return {};
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UntagResource.html (idempotent). */
export function untagResource(input: { SecretId: string; TagKeys: string[] }, { store }: OperationContext): Record<string, unknown> {
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  for (const key of input.TagKeys) checkTagKey(key);
  const drop = new Set(input.TagKeys);
  if (secret.tags.some((t) => drop.has(t.Key))) {
    secret.tags = secret.tags.filter((t) => !drop.has(t.Key));
    secret.lastChangedDate = store.now();
    store.changed();
  }
  return {};
}

function checkTagKey(key: string): void {
  // The aws: prefix is reserved for AWS (tag naming rules in the Tagging quotas).
  if (key.toLowerCase().startsWith('aws:')) {
    throw new InvalidParameterException(`Tag keys starting with "aws:" are reserved for AWS use: ${key}`);
  }
}

/** Validates incoming tags and merges them into `current` (returns a new list; nothing is changed). */
export function mergeTags(current: TagRecord[], incoming: TagInput[], allowReserved = false): TagRecord[] {
  const out = current.map((t) => ({ ...t }));
  for (const t of incoming) {
    if (t.Key === undefined) throw new InvalidParameterException('Every tag needs a Key.');
    if (!allowReserved) checkTagKey(t.Key);
    const value = t.Value ?? '';
    const found = out.find((x) => x.Key === t.Key);
    if (found) found.Value = value;
    else out.push({ Key: t.Key, Value: value });
  }
  if (out.length > MAX_TAGS) throw new InvalidParameterException(`A secret can have at most ${MAX_TAGS} tags; this request would leave ${out.length}.`);
  return out;
}

export interface SeedSecretInput {
  name: string;
  secretString?: string;
  secretBinary?: Buffer;
  description?: string;
  tags?: { Key: string; Value: string }[];
  /** Makes it a secret managed by another service (e.g. `rds`): Secrets Manager then refuses writes to it. */
  owningService?: string;
}

/**
 * Creates a secret the way another AWS service would (reserved `aws:` tags,
 * OwningService): not an AWS operation, a test and demo helper.
 */
export function seedSecret(input: SeedSecretInput, { store }: OperationContext): { arn: string; name: string; versionId?: string } {
  if (!NAME_PATTERN.test(input.name) || input.name.length > 512) throw new Error(`invalid secret name: ${input.name}`);
  if (store.byName(input.name)) throw new Error(`a secret named ${input.name} already exists`);
  const value = { secretString: input.secretString, secretBinary: input.secretBinary };
  const hasValue = requireOneValue(value, false);
  const now = store.now();
  const secret: SecretRecord = {
    arn: newSecretArn(store.region, store.accountId, input.name),
    name: input.name,
    ...(input.description !== undefined ? { description: input.description } : {}),
    tags: mergeTags([], input.tags ?? [], true),
    createdDate: now,
    lastChangedDate: now,
    primaryRegion: store.region,
    ...(input.owningService ? { owningService: input.owningService } : {}),
    versions: [],
  };
  store.insert(secret);
  if (!hasValue) return { arn: secret.arn, name: secret.name };
  const { version } = writeVersion(store, secret, randomUUID(), value, []);
  return { arn: secret.arn, name: secret.name, versionId: version.versionId };
}
