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

export type RotationTarget =
  /** A secret named by ARN or name. */
  | { kind: 'secret'; secretId: string }
  /** Every secret whose tags match all filters. */
  | { kind: 'tags'; filters: TagFilter[] }
  /**
   * The managed secrets of a database named by a finding: matched against the
   * secret's dbInstanceIdentifier / dbClusterIdentifier / host, and its
   * username when the finding names a user.
   */
  | { kind: 'database'; dbInstanceIdentifier?: string; dbClusterIdentifier?: string; user?: string };

export interface TriggerRequest {
  /** Stable across redeliveries of the same event: the idempotency key of every RotateSecret call. */
  eventId: string;
  source: TriggerSource;
  reason?: string;
  targets: RotationTarget[];
  /** Why (part of) an event led to no target, e.g. an IAM finding with no tag filter configured. */
  notes: string[];
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
