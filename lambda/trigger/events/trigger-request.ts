/**
 * What every event source is parsed into at the edge: the secrets an event
 * concerns, expressed as targets the resolver understands. Nothing downstream
 * looks at the raw event again.
 */
export type TriggerSource = 'schedule' | 'rotor' | 'guardduty' | 'securityhub' | 'health';

/** A secret must carry tag `key` with one of `values` (exact match). Several filters are AND'ed. */
export interface TagFilter {
  key: string;
  values: string[];
}

/**
 * `key`: the idempotency key of the finding that named the target (finding
 * id + its update time, see the parsers); absent for schedules and rotation
 * requests, whose key is the request's `eventId`. The ClientRequestToken of
 * each RotateSecret call is derived from this key and the secret's ARN.
 */
export type RotationTarget = (
  /** A secret named by ARN or name. */
  | { kind: 'secret'; secretId: string }
  /** Every secret whose tags match all filters. */
  | { kind: 'tags'; filters: TagFilter[] }
  /**
   * The managed secrets of a database named by a finding: matched against the
   * secret's dbInstanceIdentifier / dbClusterIdentifier / host, and its
   * username when the finding names a user.
   */
  | { kind: 'database'; dbInstanceIdentifier?: string; dbClusterIdentifier?: string; user?: string }
) & { key?: string };

/**
 * Why a finding (or one resource of it) was not acted on:
 * - `other-account` / `other-region`: it concerns another account or Region
 *   than the function's own (delegated-administrator and cross-Region
 *   aggregation deliveries carry member accounts' and other Regions' findings);
 * - `no-scope`: it does not say which account or Region it concerns;
 * - `not-credential-type`: a Security Hub finding whose Types are not
 *   credential-relevant (docs/trigger.md lists the prefixes acted on);
 * - `inactive`: archived, suppressed or resolved.
 */
export type FindingSkipReason = 'other-account' | 'other-region' | 'no-scope' | 'not-credential-type' | 'inactive';

export interface SkippedFinding {
  /** The finding's id (GuardDuty id, ASFF Id, Health eventArn). */
  finding: string;
  reason: FindingSkipReason;
  detail: string;
}

export interface TriggerRequest {
  /** Stable across redeliveries of the same event: the idempotency key of every RotateSecret call. */
  eventId: string;
  source: TriggerSource;
  reason?: string;
  targets: RotationTarget[];
  /** Why (part of) an event led to no target, e.g. an IAM finding with no tag filter configured. */
  notes: string[];
  /** Findings (or resources of findings) the event carries that are not acted on, and why. */
  skippedFindings: SkippedFinding[];
}

/**
 * An event we could not use. `category` 'configuration' means the event
 * should never have reached this function (an EventBridge rule or schedule
 * is wrong); 'invalid-event' that a known source sent something malformed.
 * Neither is retried: the same event would fail the same way.
 */
export class InvalidTriggerEventError extends Error {
  constructor(
    readonly category: 'invalid-event' | 'configuration',
    message: string,
    readonly action: string,
  ) {
    super(`[${category}] ${message}. ${action}`);
    this.name = 'InvalidTriggerEventError';
  }
}

export function invalidEvent(message: string, action = 'Fix the event producer; this event is not retried.'): InvalidTriggerEventError {
  return new InvalidTriggerEventError('invalid-event', message, action);
}
