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
  /** Skip a secret whose last rotation completed less than this long ago. @default 0 (no cool-down: schedules, the CLI) */
  cooldownMs?: number;
  /** The clock the cool-down is measured with. @default Date.now */
  now?: () => number;
  /** Wraps the call with backoff; `fn` is called once per attempt. */
  call: <T>(fn: () => Promise<T>) => Promise<T>;
}

const PREVIOUS_INCOMPLETE = /previous rotation isn't complete/i;

/**
 * The checks that do not depend on recent activity: the secret is this
 * deployment's, not being deleted, and has rotation turned on. Applied
 * before the per-event cap, so that the cap counts only secrets that could
 * rotate.
 */
export function staticSkip(secret: CandidateSecret, deploymentId: string): SkippedSecret | undefined {
  const skip = (reason: SkippedSecret['reason'], detail: string): SkippedSecret => ({ secretArn: secret.arn, reason, detail });
  const managedBy = secret.tags[MANAGED_BY_TAG];
  if (managedBy !== deploymentId) {
    return skip('not-managed', managedBy === undefined
      ? `the secret has no ${MANAGED_BY_TAG} tag`
      : `the secret is managed by deployment "${managedBy}", not this one`);
  }
  if (secret.deleted) return skip('scheduled-for-deletion', 'the secret is scheduled for deletion');
  if (!secret.rotationEnabled) return skip('rotation-disabled', 'rotation is not enabled on the secret');
  return undefined;
}

/**
 * Decides and, when due, starts the rotation of one secret. Checks run on
 * what the resolver read (for alerts and requests, a DescribeSecret just
 * before), so RotateSecret's own refusal of a second rotation is handled
 * too. The ClientRequestToken comes from the key of the finding that named
 * the secret (else the event's id) and the secret's ARN.
 */
export async function rotateOne(secret: CandidateSecret, eventId: string, deps: RotatorDeps): Promise<RotationOutcome> {
  const skip = (reason: SkippedSecret['reason'], detail: string): RotationOutcome => ({ skipped: { secretArn: secret.arn, reason, detail } });
  const fixed = staticSkip(secret, deps.deploymentId);
  if (fixed) return { skipped: fixed };

  const token = rotationToken(secret.key ?? eventId, secret.arn);
  if (secret.versions[token]) return skip('already-requested', `this ${secret.key ? 'finding' : 'event'} already started rotation ${token}`);
  const current = versionWith(secret.versions, AWSCURRENT);
  const pending = versionWith(secret.versions, AWSPENDING);
  if (pending !== undefined && pending !== current) {
    return skip('rotation-in-progress', `rotation ${pending} has not finished (AWSPENDING is on a version other than AWSCURRENT)`);
  }
  const cooldownMs = deps.cooldownMs ?? 0;
  if (cooldownMs > 0 && secret.lastRotated !== undefined) {
    const age = (deps.now ?? Date.now)() - secret.lastRotated;
    if (age < cooldownMs) {
      return skip('cool-down', `the secret was last rotated ${Math.max(0, Math.floor(age / 60_000))} minute(s) ago, within the ${Math.round(cooldownMs / 60_000)}-minute cool-down (ROTOR_TRIGGER_COOLDOWN_MINUTES)`);
    }
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
