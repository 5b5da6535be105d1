import { InvalidParameterException, InvalidRequestException, LimitExceededException, ResourceExistsException } from '../errors';
import { AWSCURRENT, hasValue, sameValue, type SecretRecord, type VersionRecord } from '../model';
import { nextRotationDateFor } from '../schedule';
import { MAX_LABELS_PER_VERSION, type SecretStore } from '../store';

export interface NewValue {
  secretString?: string;
  secretBinary?: Buffer;
}

/** Exactly one of SecretString / SecretBinary. */
export function requireOneValue(v: NewValue, required: boolean): boolean {
  if (v.secretString !== undefined && v.secretBinary !== undefined) {
    // https://github.com/aws/aws-sdk-java/issues/1556 quotes AWS's wording.
    throw new InvalidParameterException("You can't specify both a binary secret value and a string secret value in the same secret.");
  }
  const present = v.secretString !== undefined || v.secretBinary !== undefined;
  if (required && !present) throw new InvalidParameterException('You must provide either SecretString or SecretBinary.');
  return present;
}

/**
 * The SDKs fill ClientRequestToken in; a raw request without one is refused:
 * "If you generate a raw HTTP request to the Secrets Manager service
 * endpoint, then you must generate a ClientRequestToken"
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html).
 */
export function requireToken(token: string | undefined, errorKind: 'request' | 'parameter'): string {
  if (token !== undefined) return token;
  const message = 'You must provide a ClientRequestToken value. We recommend a UUID-type value.';
  throw errorKind === 'request' ? new InvalidRequestException(message) : new InvalidParameterException(message);
}

export function valueFields(v: NewValue): Pick<VersionRecord, 'secretString' | 'secretBinary'> {
  return v.secretString !== undefined ? { secretString: v.secretString } : { secretBinary: v.secretBinary!.toString('base64') };
}

export function checkLabelCount(version: VersionRecord | undefined, adding: string[]): void {
  const labels = new Set([...(version?.stages ?? []), ...adding]);
  if (labels.size > MAX_LABELS_PER_VERSION) {
    throw new LimitExceededException(`A version can have at most ${MAX_LABELS_PER_VERSION} staging labels.`);
  }
}

/**
 * Stores a value under `token` with `stages` (PutSecretValue semantics):
 * a new version; or the value of a rotation placeholder with that id;
 * the same token and value again is a no-op; another value is
 * ResourceExistsException ("You can't modify an existing version").
 * Validates before changing anything. Returns the version and whether anything changed.
 */
export function writeVersion(
  store: SecretStore,
  secret: SecretRecord,
  token: string,
  value: NewValue,
  stages: string[],
  opts: { existingIsError?: boolean } = {},
): { version: VersionRecord; changed: boolean } {
  const existing = store.version(secret, token);
  const isFirst = !secret.versions.some(hasValue) && !store.versionWithStage(secret, AWSCURRENT);
  const wanted = isFirst && !stages.includes(AWSCURRENT) ? [...stages, AWSCURRENT] : stages;

  if (existing) {
    if (hasValue(existing) || opts.existingIsError) {
      if (!opts.existingIsError && sameValue(existing, value.secretString, value.secretBinary)) return { version: existing, changed: false };
      throw new ResourceExistsException(
        `A version with VersionId ${token} already exists. You can't modify an existing version, you can only create a new version.`,
      );
    }
    checkLabelCount(existing, wanted);
    Object.assign(existing, valueFields(value));
    for (const stage of wanted) store.attachStage(secret, existing, stage);
    touchAfterWrite(store, secret, existing);
    return { version: existing, changed: true };
  }

  checkLabelCount(undefined, wanted);
  const prune = store.planNewVersion(secret);
  const version: VersionRecord = { versionId: token, ...valueFields(value), stages: [], createdDate: store.now() };
  store.addVersion(secret, version, prune);
  for (const stage of wanted) store.attachStage(secret, version, stage);
  touchAfterWrite(store, secret, version);
  return { version, changed: true };
}

function touchAfterWrite(store: SecretStore, secret: SecretRecord, version: VersionRecord): void {
  const now = store.now();
  secret.lastChangedDate = now;
  // "Manually updating the secret value by calling PutSecretValue or UpdateSecret is considered a valid rotation."
  // https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotationRulesType.html
  if (version.stages.includes(AWSCURRENT) && secret.rotationEnabled) {
    secret.nextRotationDate = nextRotationDateFor(secret.rotationRules, now);
  }
  store.changed();
}
