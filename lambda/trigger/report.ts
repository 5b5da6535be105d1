import type { SkippedFinding, TriggerSource } from './events';

/** Why a secret the event concerns was not rotated. */
export type SkipReason =
  | 'not-managed'
  | 'rotation-disabled'
  | 'rotation-in-progress'
  | 'already-requested'
  | 'scheduled-for-deletion'
  | 'not-found'
  /** Alert or request only: LastRotatedDate is within ROTOR_TRIGGER_COOLDOWN_MINUTES. */
  | 'cool-down'
  /** Alert or request only: past the first ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT secrets (by ARN) of the event. */
  | 'cap'
  /** A secret ARN of another account or Region than the function's. */
  | 'other-account'
  | 'other-region';

export interface RotatedSecret {
  secretArn: string;
  /** The version the rotation creates (= the ClientRequestToken). */
  versionId: string;
}

export interface SkippedSecret {
  secretArn: string;
  reason: SkipReason;
  detail: string;
}

export interface FailedSecret {
  secretArn: string;
  /** "[category] what failed (code X). What to do." - never a secret value. */
  error: string;
  /** A later invocation with the same event could succeed (throttling, network, server faults). */
  retryable: boolean;
}

/**
 * What one invocation did, logged and returned. `requested` counts the
 * secrets the event concerns: rotated + skipped + failed.
 */
export interface TriggerReport {
  eventId?: string;
  source?: TriggerSource | string;
  reason?: string;
  requested: number;
  rotated: RotatedSecret[];
  skipped: SkippedSecret[];
  failed: FailedSecret[];
  /** Parts of the event that named nothing to rotate, and why. */
  notes: string[];
  /** Findings not acted on (another account or Region, not credential-relevant, inactive), and why. */
  skippedFindings: SkippedFinding[];
  /** The event could not be used at all (invalid, or from a source this function does not handle). */
  error?: { category: 'invalid-event' | 'configuration'; message: string };
  durationMs: number;
}

export function emptyReport(): TriggerReport {
  return { requested: 0, rotated: [], skipped: [], failed: [], notes: [], skippedFindings: [], durationMs: 0 };
}
