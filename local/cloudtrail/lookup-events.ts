/**
 * The subset of CloudTrail's LookupEvents the local endpoint serves: Secrets Manager's rotation
 * lifecycle events (local/secrets-manager/lifecycle-events.ts) as the management events
 * CloudTrail keeps for 90 days without a trail.
 *
 * API: https://docs.aws.amazon.com/awscloudtrail/latest/APIReference/API_LookupEvents.html
 * - AWS JSON 1.1, `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents`
 *   (the SDK sends the short form `CloudTrail_20131101.LookupEvents`; both are served), SigV4
 *   scoped to the `cloudtrail` service.
 * - Input: LookupAttributes (at most one; AttributeKey one of EventId, EventName, ReadOnly,
 *   Username, ResourceType, ResourceName, EventSource, AccessKeyId), StartTime / EndTime
 *   (epoch seconds; StartTime after EndTime is InvalidTimeRangeException), EventCategory
 *   (`insight` only), MaxResults (1-50, default 50), NextToken.
 * - Output: Events newest first, each { EventId, EventName, ReadOnly, EventTime, EventSource,
 *   Username?, Resources, CloudTrailEvent (the record as a JSON string) }, and NextToken.
 * - Only the last 90 days are returned.
 *
 * The records follow the shape of Secrets Manager's rotation entries
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html,
 * "Log entries for rotation"): `eventType: AwsServiceEvent`, `eventSource:
 * secretsmanager.amazonaws.com`, `userIdentity.invokedBy` / `sourceIPAddress` / `userAgent`
 * the service, `requestParameters: null`, the secret ARN in `additionalEventData.SecretId`, and
 * on a failure a top-level `errorMessage` ("Error when executing lambda <function> during
 * <step> step"). These records list no `resources`, so a ResourceName lookup does not find
 * them, here as in AWS: look them up by EventName (or EventSource) and filter on
 * additionalEventData.SecretId. Local difference: the failure's errorMessage also carries the
 * rotation function's own error after a colon (AWS keeps that in the function's log), and the
 * function's ARN is not in it (the lifecycle log does not record it).
 */
import { createHash } from 'node:crypto';
import { ServiceError } from '../secrets-manager/errors';
import type { RotationLifecycleEvent } from '../secrets-manager/lifecycle-events';

export const CLOUDTRAIL_TARGETS = [
  'com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents',
  'CloudTrail_20131101.LookupEvents',
] as const;

/** CloudTrail keeps management events 90 days for LookupEvents. */
export const RETENTION_DAYS = 90;
const MAX_RESULTS = 50;
const ATTRIBUTE_KEYS = ['EventId', 'EventName', 'ReadOnly', 'Username', 'ResourceType', 'ResourceName', 'EventSource', 'AccessKeyId'];
const EVENT_SOURCE = 'secretsmanager.amazonaws.com';

export interface LookupDeps {
  events: () => RotationLifecycleEvent[];
  region: string;
  accountId: string;
  /** The endpoint's clock (ms). */
  now: () => number;
}

export interface CloudTrailEventOut {
  EventId: string;
  EventName: string;
  ReadOnly: string;
  EventTime: number;
  EventSource: string;
  Resources: Array<{ ResourceType?: string; ResourceName?: string }>;
  CloudTrailEvent: string;
}

function invalid(name: string, message: string): ServiceError {
  return new ServiceError(name, message, 400);
}

/** One lifecycle event as the CloudTrail record Secrets Manager writes. */
export function toCloudTrailRecord(e: RotationLifecycleEvent, region: string, accountId: string): { id: string; seconds: number; record: Record<string, unknown> } {
  const seconds = Math.floor(Date.parse(e.time) / 1000);
  const id = eventId(e);
  const failed = e.eventName === 'RotationFailed' || e.eventName === 'TestRotationFailed' || e.eventName === 'RotationAbandoned';
  const record: Record<string, unknown> = {
    eventVersion: '1.08',
    userIdentity: { accountId, invokedBy: EVENT_SOURCE },
    eventTime: new Date(seconds * 1000).toISOString().replace('.000Z', 'Z'),
    eventSource: EVENT_SOURCE,
    eventName: e.eventName,
    awsRegion: region,
    sourceIPAddress: EVENT_SOURCE,
    userAgent: EVENT_SOURCE,
    ...(failed && (e.errorMessage || e.step) ? { errorMessage: failureMessage(e) } : {}),
    requestParameters: null,
    responseElements: null,
    additionalEventData: { SecretId: e.secretArn },
    requestID: `Rotation-${e.secretArn}-${e.versionId}`,
    eventID: id,
    readOnly: false,
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: accountId,
    eventCategory: 'Management',
  };
  return { id, seconds, record };
}

function failureMessage(e: RotationLifecycleEvent): string {
  if (e.eventName === 'RotationAbandoned') return e.errorMessage ?? 'The rotation was abandoned.';
  const where = `Error when executing lambda during ${e.step ?? 'an unknown'} step`;
  const what = [e.errorType && e.errorType !== 'Error' ? e.errorType : undefined, e.errorMessage].filter(Boolean).join(': ');
  return what ? `${where}: ${what}` : where;
}

/** Stable per event, so NextToken can name the last event returned. */
function eventId(e: RotationLifecycleEvent): string {
  const h = createHash('sha256').update([e.secretArn, e.versionId, e.eventName, String(e.attempt), e.time, e.step ?? ''].join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function seconds(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid('ValidationException', `${field} must be a timestamp (epoch seconds).`);
  return v;
}

/** LookupEvents over the lifecycle log. */
export function lookupEvents(input: unknown, deps: LookupDeps): { Events: CloudTrailEventOut[]; NextToken?: string } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw invalid('SerializationException', 'The request body must be a JSON object.');
  const req = input as Record<string, unknown>;
  const attrs = req.LookupAttributes;
  let attr: { key: string; value: string } | undefined;
  if (attrs !== undefined && attrs !== null) {
    if (!Array.isArray(attrs)) throw invalid('InvalidLookupAttributesException', 'LookupAttributes must be a list.');
    if (attrs.length > 1) throw invalid('InvalidLookupAttributesException', 'You can specify only one lookup attribute.');
    if (attrs.length === 1) {
      const a = attrs[0] as Record<string, unknown>;
      if (typeof a?.AttributeKey !== 'string' || !ATTRIBUTE_KEYS.includes(a.AttributeKey)) {
        throw invalid('InvalidLookupAttributesException', `AttributeKey must be one of ${ATTRIBUTE_KEYS.join(', ')}.`);
      }
      if (typeof a.AttributeValue !== 'string' || a.AttributeValue.length < 1 || a.AttributeValue.length > 2000) {
        throw invalid('InvalidLookupAttributesException', 'AttributeValue must be 1 to 2000 characters.');
      }
      attr = { key: a.AttributeKey, value: a.AttributeValue };
    }
  }
  const now = deps.now() / 1000;
  const start = seconds(req.StartTime, 'StartTime');
  const end = seconds(req.EndTime, 'EndTime');
  if (start !== undefined && end !== undefined && start > end) throw invalid('InvalidTimeRangeException', 'StartTime must be before EndTime.');
  if (req.EventCategory !== undefined && req.EventCategory !== 'insight') throw invalid('InvalidEventCategoryException', 'EventCategory must be insight.');
  let max = MAX_RESULTS;
  if (req.MaxResults !== undefined && req.MaxResults !== null) {
    if (!Number.isInteger(req.MaxResults) || (req.MaxResults as number) < 1 || (req.MaxResults as number) > MAX_RESULTS) {
      throw invalid('InvalidMaxResultsException', `MaxResults must be from 1 to ${MAX_RESULTS}.`);
    }
    max = req.MaxResults as number;
  }
  // No Insights events here.
  if (req.EventCategory === 'insight') return { Events: [] };

  const oldest = now - RETENTION_DAYS * 86_400;
  const all = deps.events()
    .map((e) => ({ e, ...toCloudTrailRecord(e, deps.region, deps.accountId) }))
    .filter((x) => x.seconds >= oldest && (start === undefined || x.seconds >= start) && (end === undefined || x.seconds <= end))
    .filter((x) => !attr || matches(x.record, x.id, attr))
    .reverse(); // newest first (the log is oldest first and append-only)

  let from = 0;
  if (req.NextToken !== undefined && req.NextToken !== null) {
    const i = typeof req.NextToken === 'string' ? all.findIndex((x) => x.id === decodeToken(req.NextToken as string)) : -1;
    if (i < 0) throw invalid('InvalidNextTokenException', 'Invalid NextToken: it was not returned by this query, or its events are gone.');
    from = i + 1;
  }
  const page = all.slice(from, from + max);
  const more = from + max < all.length;
  return {
    Events: page.map((x) => ({
      EventId: x.id,
      EventName: x.e.eventName,
      ReadOnly: 'false',
      EventTime: x.seconds,
      EventSource: EVENT_SOURCE,
      Resources: [],
      CloudTrailEvent: JSON.stringify(x.record),
    })),
    ...(more && page.length > 0 ? { NextToken: Buffer.from(page[page.length - 1].id).toString('base64') } : {}),
  };
}

function decodeToken(t: string): string {
  return Buffer.from(t, 'base64').toString('utf8');
}

function matches(record: Record<string, unknown>, id: string, attr: { key: string; value: string }): boolean {
  switch (attr.key) {
    case 'EventId':
      return id === attr.value;
    case 'EventName':
      return record.eventName === attr.value;
    case 'EventSource':
      return record.eventSource === attr.value;
    case 'ReadOnly':
      return attr.value === 'false';
    default:
      // Username, AccessKeyId: service events carry none; ResourceName/ResourceType: these
      // records list no resources.
      return false;
  }
}
