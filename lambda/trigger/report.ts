import type { TriggerSource } from './events';

/** Why a secret the event concerns was not rotated. */
export type SkipReason =
  | 'not-managed'
  | 'rotation-disabled'
  | 'rotation-in-progress'
  | 'already-requested'
  | 'scheduled-for-deletion'
  | 'not-found';

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
  /** The event could not be used at all (invalid, or from a source this function does not handle). */
  error?: { category: 'invalid-event' | 'configuration'; message: string };
  durationMs: number;
}

export function emptyReport(): TriggerReport {
  return { requested: 0, rotated: [], skipped: [], failed: [], notes: [], durationMs: 0 };
}
