import { invalidEvent, type TriggerRequest } from './trigger-request';
import { optionalString, parseTagFilters, stringAt, type Json } from './fields';

/**
 * The input an EventBridge Scheduler schedule sends this function (the
 * schedule's target `Input`; the CDK app writes it). Scheduler replaces the
 * `<aws.scheduler.*>` placeholders when it invokes the target:
 *
 * ```json
 * {
 *   "source": "rotor.schedule",
 *   "scheduleArn": "<aws.scheduler.schedule-arn>",
 *   "scheduledTime": "<aws.scheduler.scheduled-time>",
 *   "tagFilters": [{ "key": "env", "values": ["prod"] }],
 *   "reason": "weekly rotation of prod databases"
 * }
 * ```
 *
 * The idempotency key is schedule ARN + scheduled time, not the execution id:
 * Scheduler assigns a new execution id to every attempt of the same
 * invocation (https://docs.aws.amazon.com/scheduler/latest/UserGuide/managing-schedule-context-attributes.html),
 * so a retried invocation must not look like a new one.
 */
export const SCHEDULE_SOURCE = 'rotor.schedule';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

export function parseScheduleEvent(event: Json): TriggerRequest {
  const scheduledTime = stringAt(event.scheduledTime, 'scheduledTime', 64);
  if (!ISO_TIME.test(scheduledTime) || Number.isNaN(Date.parse(scheduledTime))) {
    throw invalidEvent(
      'scheduledTime is not an ISO 8601 time',
      'Set the schedule target input\'s scheduledTime to "<aws.scheduler.scheduled-time>" (EventBridge Scheduler fills it in)',
    );
  }
  const scheduleArn = optionalString(event.scheduleArn, 'scheduleArn', 1600);
  const tagFilters = parseTagFilters(event.tagFilters, 'tagFilters');
  return {
    eventId: `schedule:${scheduleArn ?? 'unnamed'}:${scheduledTime}`,
    source: 'schedule',
    reason: optionalString(event.reason, 'reason', 1024),
    targets: [{ kind: 'tags', filters: tagFilters }],
    notes: [],
    skippedFindings: [],
  };
}
