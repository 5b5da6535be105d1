import { RotateSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWSCURRENT, AWSPENDING, errorName } from '../core/secret-store';
import { rotationToken } from './client-request-token';
import { MANAGED_BY_TAG } from './config';
import { describeFailure } from './failure';
import type { TokenBucket } from './rate-limiter';
import type { FailedSecret, RotatedSecret, SkippedSecret } from './report';
import type { CandidateSecret } from './secret-resolver';

export type RotationOutcome = { rotated: RotatedSecret } | { skipped: SkippedSecret } | { failed: FailedSecret };

export interface RotatorDeps {
  client: SecretsManagerClient;
  deploymentId: string;
  limiter: TokenBucket;
  /** Wraps the call with backoff; `fn` is called once per attempt. */
  call: <T>(fn: () => Promise<T>) => Promise<T>;
}

const PREVIOUS_INCOMPLETE = /previous rotation isn't complete/i;

/**
 * Decides and, when due, starts the rotation of one secret. Checks run on
 * what the resolver read (ListSecrets may lag by minutes in AWS), so
 * RotateSecret's own refusal of a second rotation is handled too.
 */
export async function rotateOne(secret: CandidateSecret, eventId: string, deps: RotatorDeps): Promise<RotationOutcome> {
  const skip = (reason: SkippedSecret['reason'], detail: string): RotationOutcome => ({ skipped: { secretArn: secret.arn, reason, detail } });
  const managedBy = secret.tags[MANAGED_BY_TAG];
  if (managedBy !== deps.deploymentId) {
    return skip('not-managed', managedBy === undefined
      ? `the secret has no ${MANAGED_BY_TAG} tag`
      : `the secret is managed by deployment "${managedBy}", not this one`);
  }
  if (secret.deleted) return skip('scheduled-for-deletion', 'the secret is scheduled for deletion');
  if (!secret.rotationEnabled) return skip('rotation-disabled', 'rotation is not enabled on the secret');

  const token = rotationToken(eventId, secret.arn);
  if (secret.versions[token]) return skip('already-requested', `this event already started rotation ${token}`);
  const current = versionWith(secret.versions, AWSCURRENT);
  const pending = versionWith(secret.versions, AWSPENDING);
  if (pending !== undefined && pending !== current) {
    return skip('rotation-in-progress', `rotation ${pending} has not finished (AWSPENDING is on a version other than AWSCURRENT)`);
  }

  try {
    const out = await deps.call(async () => {
      await deps.limiter.take();
      return deps.client.send(new RotateSecretCommand({ SecretId: secret.arn, ClientRequestToken: token }));
    });
    return { rotated: { secretArn: secret.arn, versionId: out.VersionId ?? token } };
  } catch (e) {
    const name = errorName(e);
    if (name === 'InvalidRequestException' && PREVIOUS_INCOMPLETE.test((e as Error).message ?? '')) {
      return skip('rotation-in-progress', 'Secrets Manager reports that a previous rotation is not complete');
    }
    if (name === 'ResourceNotFoundException') return skip('not-found', 'the secret was deleted');
    return { failed: { secretArn: secret.arn, ...describeFailure('RotateSecret', e) } };
  }
}

function versionWith(versions: Record<string, string[]>, stage: string): string | undefined {
  return Object.keys(versions).find((id) => versions[id]?.includes(stage));
}
