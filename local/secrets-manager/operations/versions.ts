import {
  InvalidParameterException,
  InvalidRequestException,
  ResourceNotFoundException,
  isServiceError,
} from '../errors';
import { AWSCURRENT, hasValue, type SecretRecord, type VersionRecord } from '../model';
import type { FilterInput } from '../operation-shapes';
import { compileFilters } from '../secret-filters';
import { startOfUtcDay, type SecretStore } from '../store';
import { compact, epochSeconds, type OperationContext } from './context';
import { checkLabelCount, requireOneValue, requireToken, writeVersion } from './version-writes';

/*
 * Secret values and versions: GetSecretValue, BatchGetSecretValue,
 * PutSecretValue, UpdateSecretVersionStage, ListSecretVersionIds.
 */

interface GetSecretValueInput {
  SecretId: string;
  VersionId?: string;
  VersionStage?: string;
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html */
export function getSecretValue(input: GetSecretValueInput, { store }: OperationContext): Record<string, unknown> {
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  return readValue(store, secret, input.VersionId, input.VersionStage);
}

/**
 * Without VersionId/VersionStage: AWSCURRENT. Both given: they must name the
 * same version. A stage on no version, or a version without a value (a
 * rotation placeholder): ResourceNotFoundException.
 */
function readValue(store: SecretStore, secret: SecretRecord, versionId: string | undefined, versionStage: string | undefined) {
  const stage = versionId === undefined && versionStage === undefined ? AWSCURRENT : versionStage;
  let version: VersionRecord | undefined;
  if (versionId !== undefined) {
    version = store.version(secret, versionId);
    if (!version) throw new ResourceNotFoundException(`Secrets Manager can't find the specified secret value for VersionId: ${versionId}`);
    if (stage !== undefined && !version.stages.includes(stage)) {
      throw new InvalidRequestException(`The version ${versionId} doesn't have the staging label ${stage}; VersionId and VersionStage must refer to the same version.`);
    }
  } else {
    version = store.versionWithStage(secret, stage!);
  }
  if (!version || !hasValue(version)) {
    throw new ResourceNotFoundException(
      versionId !== undefined
        ? `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`
        : `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
    );
  }
  // LastAccessedDate has day resolution ("the resolution of this field is at the date level").
  const day = startOfUtcDay(store.now());
  if (secret.lastAccessedDate !== day || version.lastAccessedDate !== day) {
    secret.lastAccessedDate = day;
    version.lastAccessedDate = day;
    store.changed();
  }
  return compact({
    ARN: secret.arn,
    Name: secret.name,
    VersionId: version.versionId,
    SecretBinary: version.secretBinary,
    SecretString: version.secretString,
    VersionStages: [...version.stages].sort(),
    CreatedDate: epochSeconds(version.createdDate),
  });
}

interface BatchGetSecretValueInput {
  SecretIdList?: string[];
  Filters?: FilterInput[];
  MaxResults?: number;
  NextToken?: string;
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_BatchGetSecretValue.html */
export function batchGetSecretValue(input: BatchGetSecretValueInput, { store, paginator }: OperationContext): Record<string, unknown> {
  if ((input.SecretIdList === undefined) === (input.Filters === undefined)) {
    throw new InvalidParameterException('You must include Filters or SecretIdList, but not both.');
  }
  if (input.SecretIdList !== undefined && (input.MaxResults !== undefined || input.NextToken !== undefined)) {
    throw new InvalidParameterException('MaxResults and NextToken can only be used with Filters.');
  }
  const values: Record<string, unknown>[] = [];
  const errors: Record<string, unknown>[] = [];
  if (input.SecretIdList) {
    for (const id of input.SecretIdList) {
      try {
        const secret = store.resolve(id);
        store.requireNotDeleted(secret);
        values.push(readValue(store, secret, undefined, undefined));
      } catch (e) {
        if (!isServiceError(e)) throw e;
        errors.push({ SecretId: id, ErrorCode: e.errorName, Message: e.message });
      }
    }
    return compact({ SecretValues: values, Errors: errors.length > 0 ? errors : undefined });
  }
  const matches = compileFilters(input.Filters);
  const candidates = store.all().filter((s) => s.deletedDate === undefined && matches(s) && store.versionWithStage(s, AWSCURRENT));
  const page = paginator.page(
    candidates.map((s) => s.arn),
    { op: 'BatchGetSecretValue', filters: input.Filters },
    input.MaxResults ?? 20,
    input.NextToken,
  );
  for (const arn of page.items) {
    const secret = store.get(arn);
    if (!secret) continue;
    try {
      values.push(readValue(store, secret, undefined, undefined));
    } catch (e) {
      if (!isServiceError(e)) throw e;
      errors.push({ SecretId: arn, ErrorCode: e.errorName, Message: e.message });
    }
  }
  return compact({ SecretValues: values, Errors: errors.length > 0 ? errors : undefined, NextToken: page.nextToken });
}

interface PutSecretValueInput {
  SecretId: string;
  ClientRequestToken?: string;
  SecretBinary?: Buffer;
  SecretString?: string;
  VersionStages?: string[];
  RotationToken?: string;
}

/**
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html
 * - ClientRequestToken becomes the VersionId; same token and value again: no
 *   change; another value: ResourceExistsException.
 * - Without VersionStages, AWSCURRENT moves to the new version (AWSPREVIOUS follows).
 * - RotationToken (from a rotation function) is accepted.
 */
export function putSecretValue(input: PutSecretValueInput, { store }: OperationContext): Record<string, unknown> {
  const value = { secretString: input.SecretString, secretBinary: input.SecretBinary };
  requireOneValue(value, true);
  const token = requireToken(input.ClientRequestToken, 'request');
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  store.requireNotManaged(secret);
  const stages = input.VersionStages ? [...new Set(input.VersionStages)] : [AWSCURRENT];
  const { version } = writeVersion(store, secret, token, value, stages);
  return { ARN: secret.arn, Name: secret.name, VersionId: version.versionId, VersionStages: [...version.stages].sort() };
}

interface UpdateSecretVersionStageInput {
  SecretId: string;
  VersionStage: string;
  RemoveFromVersionId?: string;
  MoveToVersionId?: string;
}

/**
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html
 * - A label on another version can be moved only when RemoveFromVersionId names that version.
 * - Without MoveToVersionId, the label is only removed from RemoveFromVersionId.
 * - Moving AWSCURRENT moves AWSPREVIOUS to the version it left.
 */
export function updateSecretVersionStage(input: UpdateSecretVersionStageInput, { store }: OperationContext): Record<string, unknown> {
  const { VersionStage: stage, MoveToVersionId: moveTo, RemoveFromVersionId: removeFrom } = input;
  if (moveTo === undefined && removeFrom === undefined) {
    throw new InvalidParameterException('Specify MoveToVersionId, RemoveFromVersionId, or both.');
  }
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  store.requireNotManaged(secret);
  const holder = store.versionWithStage(secret, stage);
  const target = moveTo !== undefined ? store.version(secret, moveTo) : undefined;
  if (moveTo !== undefined && !target) throw new ResourceNotFoundException(`Secrets Manager can't find the specified secret version: ${moveTo}`);
  if (removeFrom !== undefined && !store.version(secret, removeFrom)) {
    throw new ResourceNotFoundException(`Secrets Manager can't find the specified secret version: ${removeFrom}`);
  }

  if (target) {
    if (holder && holder !== target && removeFrom !== holder.versionId) {
      throw new InvalidParameterException(
        `The staging label ${stage} is currently attached to version ${holder.versionId}, so you must explicitly reference that version in RemoveFromVersionId.`,
      );
    }
    if (removeFrom !== undefined && removeFrom !== holder?.versionId && removeFrom !== target.versionId) {
      throw new InvalidParameterException(`The staging label ${stage} isn't attached to version ${removeFrom}.`);
    }
    checkLabelCount(target, [stage]);
    if (holder === target) return { ARN: secret.arn, Name: secret.name };
    store.attachStage(secret, target, stage);
  } else {
    if (!holder || holder.versionId !== removeFrom) {
      throw new InvalidParameterException(`The staging label ${stage} isn't attached to version ${removeFrom}.`);
    }
    // A secret with a value always has AWSCURRENT: it can be moved, not removed.
    if (stage === AWSCURRENT) {
      throw new InvalidParameterException("You can't remove the staging label AWSCURRENT from a version; move it to another version with MoveToVersionId instead.");
    }
    store.detachStage(holder, stage);
  }
  secret.lastChangedDate = store.now();
  store.changed();
  return { ARN: secret.arn, Name: secret.name };
}

interface ListSecretVersionIdsInput {
  SecretId: string;
  MaxResults?: number;
  NextToken?: string;
  IncludeDeprecated?: boolean;
}

/** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html */
export function listSecretVersionIds(input: ListSecretVersionIdsInput, { store, paginator }: OperationContext): Record<string, unknown> {
  const secret = store.resolve(input.SecretId);
  const versions = secret.versions.filter((v) => input.IncludeDeprecated === true || v.stages.length > 0);
  const page = paginator.page(
    versions.map((v) => v.versionId),
    { op: 'ListSecretVersionIds', arn: secret.arn, deprecated: input.IncludeDeprecated === true },
    input.MaxResults ?? 100,
    input.NextToken,
  );
  const entries = page.items
    .map((id) => store.version(secret, id))
    .filter((v): v is VersionRecord => v !== undefined)
    .map((v) =>
      compact({
        VersionId: v.versionId,
        VersionStages: [...v.stages].sort(),
        LastAccessedDate: v.lastAccessedDate !== undefined ? epochSeconds(v.lastAccessedDate) : undefined,
        CreatedDate: epochSeconds(v.createdDate),
        KmsKeyIds: [secret.kmsKeyId ?? 'DefaultEncryptionKey'],
      }),
    );
  return compact({ Versions: entries, NextToken: page.nextToken, ARN: secret.arn, Name: secret.name });
}
