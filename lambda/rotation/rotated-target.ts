import { createHash } from 'node:crypto';
import type { DatabaseSecret, TargetField } from '../core/database-secret';
import { conflictError } from '../core/errors';
import { baseUsername } from './strategies/alternating-users';

/**
 * Secret tag in which finishSecret records the target of the last rotation.
 * PutSecretValue and UpdateSecretVersionStage (the rights that can rewrite
 * AWSCURRENT) cannot change tags; TagResource is a separate right.
 */
export const ROTATED_TARGET_TAG = 'rotor:rotated-target';

/**
 * A digest of what a credential points at: engine, host, port, database, the
 * user (its base name when the strategy alternates users), the master secret
 * and the RDS identifiers. No password; a digest so that no host or user name
 * is published in tags.
 */
export function targetFingerprint(secret: DatabaseSecret, mayDiffer: ReadonlyArray<TargetField>): string {
  const user = mayDiffer.includes('username') ? baseUsername(secret.username) : secret.username;
  const parts = [
    secret.engine, secret.host.toLowerCase(), secret.port, secret.dbname ?? '', user, secret.masterarn ?? '',
    secret.dbInstanceIdentifier?.toLowerCase() ?? '', secret.dbClusterIdentifier?.toLowerCase() ?? '',
  ];
  return `v1:${createHash('sha256').update(JSON.stringify(parts)).digest('hex')}`;
}

/** The refusal when AWSCURRENT names another target than the last rotation. */
export function targetChangedError(): Error {
  return conflictError(
    'AWSCURRENT names another database target (engine, host, port, database, user, master secret or RDS identifier) than the last rotation of this secret',
    `Refusing to send a new password there. If nobody moved this secret on purpose, someone rewrote AWSCURRENT: check CloudTrail (PutSecretValue, UpdateSecretVersionStage) and move AWSCURRENT back to the last good version (aws secretsmanager update-secret-version-stage --version-stage AWSCURRENT ...). If the database really moved, allow it once with ROTOR_ALLOW_TARGET_CHANGE=true (rotationFunction.allowTargetChange) or remove the ${ROTATED_TARGET_TAG} tag. Nothing was changed.`,
    'TargetChanged',
  );
}
