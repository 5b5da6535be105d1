import type { DatabaseSecret, TargetField } from '../../core/database-secret';
import type { RotationContext } from '../rotation-context';
import type { EarlyCredential } from '../version-cache';

/**
 * How a rotation changes the credential: which fields of the pending secret
 * may differ from the current one, how the pending secret is made, and how
 * setSecret puts it into effect. The four-step skeleton does the rest.
 */
export interface RotationStrategy {
  readonly name: string;
  /** Fields besides `password` that may differ between pending and current. */
  readonly mayDiffer: ReadonlyArray<TargetField>;
  /** Throws unless `pending` differs from `current` only as this strategy allows (DESIGN invariant 3). */
  validatePending(current: DatabaseSecret, pending: DatabaseSecret, ctx: RotationContext): void;
  /**
   * createSecret's checks that need more than the current secret (e.g. the
   * master credential), run alongside password generation, so a refusal
   * comes before any value is written.
   */
  preflight?(current: DatabaseSecret, ctx: RotationContext): Promise<void>;
  nextCredential(current: DatabaseSecret, password: string, ctx: RotationContext): Promise<DatabaseSecret>;
  setSecret(ctx: RotationContext): Promise<void>;
  /**
   * After createSecret did its work: the credentials setSecret logs in with first, as
   * createSecret checked them (the handler may start those logins with setSecret's
   * DescribeSecret, see VersionCache.setNextLogin). Makes no Secrets Manager call of its own.
   */
  setSecretLogins?(ctx: RotationContext): Promise<EarlyCredential[]>;
}
