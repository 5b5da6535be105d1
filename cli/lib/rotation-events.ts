import type { CloudTrailClient } from '@aws-sdk/client-cloudtrail';
import type { ErrorCategory } from '../../lambda/core/errors';
import { TokenBucket } from '../../lambda/trigger/rate-limiter';

/**
 * Secrets Manager's rotation lifecycle events, as CloudTrail records them
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html):
 * `eventType: AwsServiceEvent`, the secret's ARN in `additionalEventData.SecretId`,
 * a failure's text in `errorMessage` ("Error when executing lambda ... during <step> step").
 */
export const ROTATION_EVENTS = [
  'RotationStarted', 'RotationSucceeded', 'RotationFailed', 'RotationAbandoned',
  'TestRotationStarted', 'TestRotationSucceeded', 'TestRotationFailed',
] as const;
export type RotationEventName = (typeof ROTATION_EVENTS)[number];
export const FAILURE_EVENTS: RotationEventName[] = ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'];

/** LookupEvents covers the last 90 days of management events, no trail needed. */
export const LOOKUP_DAYS = 90;

export interface RotationEvent {
  time: string;
  event: RotationEventName;
  secretArn: string;
  /** createSecret / setSecret / testSecret / finishSecret, from the message. */
  step?: string;
  /** The rotation function's error category ([network], [tls], ...) when the message carries it. */
  category?: string;
  message?: string;
  eventId: string;
}

/** Every category of lambda/core/errors.ts (the Record makes the compiler check the list is whole). */
const CATEGORIES: Record<ErrorCategory, true> = { timeout: true, network: true, tls: true, authentication: true, permission: true, configuration: true, conflict: true };
const CATEGORY = new RegExp(`\\[(${Object.keys(CATEGORIES).join('|')})\\]`);
const STEP = /\b(createSecret|setSecret|testSecret|finishSecret)\b/;

export interface LookupOptions {
  names: readonly RotationEventName[];
  start: Date;
  end?: Date;
  /** Keep only these secrets' events (undefined: every secret). */
  secretArns?: ReadonlySet<string>;
}

/**
 * One LookupEvents query per event name (a query takes a single lookup
 * attribute, and rotation records list no resources, so a ResourceName lookup
 * finds nothing), paginated, paced at 2 requests per second: CloudTrail's
 * LookupEvents quota per account and Region
 * (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/WhatIsCloudTrail-Limits.html);
 * the SDK retries a throttled call. Newest first.
 */
export async function lookupRotationEvents(ct: CloudTrailClient, opts: LookupOptions): Promise<RotationEvent[]> {
  const { LookupEventsCommand } = require('@aws-sdk/client-cloudtrail') as typeof import('@aws-sdk/client-cloudtrail');
  const bucket = new TokenBucket(2, 2);
  const out: RotationEvent[] = [];
  for (const name of opts.names) {
    let next: string | undefined;
    do {
      await bucket.take();
      const page = await ct.send(new LookupEventsCommand({
        LookupAttributes: [{ AttributeKey: 'EventName', AttributeValue: name }],
        StartTime: opts.start, EndTime: opts.end, MaxResults: 50, NextToken: next,
      }));
      for (const e of page.Events ?? []) {
        const parsed = parseRecord(e.CloudTrailEvent, e.EventId, e.EventTime);
        if (parsed && (!opts.secretArns || opts.secretArns.has(parsed.secretArn))) out.push(parsed);
      }
      next = page.NextToken;
    } while (next);
  }
  return out.sort((a, b) => Date.parse(b.time) - Date.parse(a.time) || ORDER[b.event] - ORDER[a.event]);
}

/**
 * CloudTrail times are whole seconds, and the queries are one per event name: within a second,
 * a rotation's end follows its start, and a configuration test comes before a rotation.
 */
const ORDER: Record<RotationEventName, number> = {
  TestRotationStarted: 0, TestRotationSucceeded: 1, TestRotationFailed: 1,
  RotationStarted: 2, RotationSucceeded: 3, RotationFailed: 3, RotationAbandoned: 3,
};

/** A CloudTrail record of a rotation event, or undefined when it is not one. */
export function parseRecord(json: string | undefined, id?: string, time?: Date): RotationEvent | undefined {
  if (!json) return undefined;
  let r: Record<string, unknown>;
  try {
    r = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  const name = r.eventName as RotationEventName;
  if (r.eventSource !== 'secretsmanager.amazonaws.com' || !ROTATION_EVENTS.includes(name)) return undefined;
  const extra = (r.additionalEventData ?? {}) as Record<string, unknown>;
  const secretArn = (extra.SecretId ?? extra.secretId) as string | undefined;
  if (typeof secretArn !== 'string') return undefined;
  const message = typeof r.errorMessage === 'string' ? r.errorMessage : undefined;
  const when = typeof r.eventTime === 'string' ? new Date(r.eventTime) : time;
  return {
    time: (when ?? new Date(0)).toISOString(),
    event: name,
    secretArn,
    ...(message && STEP.exec(message) ? { step: STEP.exec(message)![1] } : {}),
    ...(message && CATEGORY.exec(message) ? { category: CATEGORY.exec(message)![1] } : {}),
    ...(message ? { message } : {}),
    eventId: String(r.eventID ?? id ?? ''),
  };
}
