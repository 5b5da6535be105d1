import { InvalidRequestException } from '../errors';
import { AWSCURRENT, AWSPENDING, type VersionRecord } from '../model';
import type { RotationRulesInput } from '../operation-shapes';
import { nextRotationDateFor, normalizeRotationRules } from '../schedule';
import { compact, type OperationContext } from './context';
import { requireToken } from './version-writes';

interface RotateSecretInput {
  SecretId: string;
  ClientRequestToken?: string;
  RotationLambdaARN?: string;
  RotationRules?: RotationRulesInput;
  RotateImmediately?: boolean;
  ExternalSecretRotationMetadata?: unknown[];
  ExternalSecretRotationRoleArn?: string;
}

const PREVIOUS_ROTATION_INCOMPLETE = "A previous rotation isn't complete. That rotation will be reattempted.";

/**
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
 * Validates, stores the configuration, creates the version ClientRequestToken
 * with AWSPENDING and no value, answers {ARN, Name, VersionId} at once; the
 * rotation function runs afterwards (RotationDriver).
 * - "If the AWSPENDING staging label is present but not attached to the same
 *   version as AWSCURRENT, then any later invocation of RotateSecret assumes
 *   that a previous rotation request is still in progress and returns an error."
 * - The same ClientRequestToken again does not create a second version.
 * - Without a RotationLambdaARN here or already configured: InvalidRequestException.
 * Whether the Lambda function exists is found out when it is invoked: an
 * unknown ARN makes the rotation fail (RotationFailed), not this call.
 */
export function rotateSecret(input: RotateSecretInput, { store, rotations }: OperationContext): Record<string, unknown> {
  // AWS answers a missing token on RotateSecret with InvalidParameterException (on PutSecretValue it is InvalidRequestException).
  const token = requireToken(input.ClientRequestToken, 'parameter');
  const now = store.now();
  const rules = input.RotationRules ? normalizeRotationRules(input.RotationRules, now) : undefined;
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  store.requireNotManaged(secret);
  if (input.ExternalSecretRotationMetadata || input.ExternalSecretRotationRoleArn) {
    throw new InvalidRequestException('Managed external secrets are not supported by the local endpoint.');
  }
  const lambdaArn = input.RotationLambdaARN || secret.rotationLambdaArn;
  if (!lambdaArn) {
    throw new InvalidRequestException(
      "You tried to enable rotation on a secret that doesn't already have a Lambda function ARN configured and you didn't include such an ARN as a parameter in this call.",
    );
  }

  const existing = store.version(secret, token);
  if (existing) return { ARN: secret.arn, Name: secret.name, VersionId: existing.versionId };

  const pending = store.versionWithStage(secret, AWSPENDING);
  const current = store.versionWithStage(secret, AWSCURRENT);
  if ((pending && pending !== current) || rotations.isActive(secret.arn)) {
    throw new InvalidRequestException(PREVIOUS_ROTATION_INCOMPLETE);
  }
  const prune = store.planNewVersion(secret);

  secret.rotationEnabled = true;
  secret.rotationLambdaArn = lambdaArn;
  if (rules) secret.rotationRules = rules.rules;
  secret.lastChangedDate = now;
  secret.nextRotationDate = nextRotationDateFor(secret.rotationRules, secret.lastRotatedDate ?? now);
  const placeholder: VersionRecord = { versionId: token, stages: [], createdDate: now };
  store.addVersion(secret, placeholder, prune);
  store.attachStage(secret, placeholder, AWSPENDING);
  store.changed();

  rotations.start(secret, token, lambdaArn, input.RotateImmediately === false ? 'test' : 'rotate');
  return { ARN: secret.arn, Name: secret.name, VersionId: token };
}

/**
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CancelRotateSecret.html
 * Turns rotation off and stops a rotation in progress; returns the VersionId
 * of an incomplete rotation, whose AWSPENDING is left for the caller to
 * clean up (it blocks later rotations until removed).
 */
export function cancelRotateSecret(input: { SecretId: string }, { store, rotations }: OperationContext): Record<string, unknown> {
  const secret = store.resolve(input.SecretId);
  store.requireNotDeleted(secret);
  store.requireNotManaged(secret);
  rotations.cancel(secret.arn);
  secret.rotationEnabled = false;
  delete secret.nextRotationDate;
  secret.lastChangedDate = store.now();
  store.changed();
  const pending = store.versionWithStage(secret, AWSPENDING);
  const current = store.versionWithStage(secret, AWSCURRENT);
  return compact({ ARN: secret.arn, Name: secret.name, VersionId: pending && pending !== current ? pending.versionId : undefined });
}
