import type { RotationTarget, TagFilter, TriggerRequest } from './trigger-request';
import { eventBridgeId, isSecretArn, objectAt, optionalArray, optionalObject, optionalString, stringAt, type Json } from './fields';
import { GLOBAL_EVENTS_REGION, parseArn, ScopeCheck, type TriggerScope } from './scope';

/**
 * AWS Health (source aws.health, detail-type "AWS Health Event"). Only
 * `detail.eventTypeCode` AWS_RISK_CREDENTIALS_EXPOSED is acted on. Secrets
 * named by ARN in `resources[]` or `detail.affectedEntities[].entityValue`
 * are rotated; otherwise (the usual case: the entity is an IAM access key)
 * the secrets matching ROTOR_TRIGGER_HEALTH_TAGS, or nothing, with a note.
 *
 * Scope: the affected account (`detail.affectedAccount`, in organizational
 * views; else the envelope's `account`) must be this function's. The
 * impacted Region is `detail.eventRegion` (else the Region in `eventArn`);
 * the envelope's `region` is only where the event was delivered. It must be
 * this function's Region, unless the event is global: eventRegion / ARN
 * Region "global" (or empty), or the partition's global-events Region
 * (us-east-1), which is where global services such as IAM report from
 * (https://docs.aws.amazon.com/health/latest/ug/choosing-a-region.html,
 * https://docs.aws.amazon.com/health/latest/ug/aws-health-events-eventbridge-schema.html).
 * A credential exposure is account-wide, so a global event rotates this
 * Region's secrets in this account. Secret ARNs it names must be this
 * account's and Region's.
 *
 * The idempotency key is `eventArn` (not unique across accounts, so with
 * the account) and `lastUpdatedTime` (else `startTime`).
 * https://docs.aws.amazon.com/health/latest/ug/cloudwatch-events-health.html
 */
export const HEALTH_SOURCE = 'aws.health';
export const HEALTH_EVENT = 'AWS Health Event';
export const CREDENTIALS_EXPOSED = 'AWS_RISK_CREDENTIALS_EXPOSED';

export function parseHealthEvent(event: Json, opts: { healthTags?: TagFilter[]; scope: TriggerScope }): TriggerRequest {
  const eventId = eventBridgeId(event);
  const detail = objectAt(event.detail, 'detail');
  const code = stringAt(detail.eventTypeCode, 'detail.eventTypeCode', 256);
  const base = { eventId, source: 'health' as const, reason: `AWS Health ${code}` };
  if (code !== CREDENTIALS_EXPOSED) {
    return { ...base, targets: [], notes: [`AWS Health event type ${code} is not a credential exposure; nothing to rotate`], skippedFindings: [] };
  }
  const eventArn = optionalString(detail.eventArn, 'detail.eventArn', 1600);
  const finding = eventArn ?? `(event ${eventId})`;
  const scope = new ScopeCheck(opts.scope);
  const skipped = () => ({ ...base, targets: [], notes: [], skippedFindings: scope.skipped });

  const account = optionalString(detail.affectedAccount, 'detail.affectedAccount', 64) ?? optionalString(event.account, 'account', 64);
  const eventRegion = optionalString(detail.eventRegion, 'detail.eventRegion', 64) ?? (eventArn ? parseArn(eventArn)?.region : undefined);
  const global = eventRegion === undefined ? false
    : eventRegion === '' || eventRegion === 'global' || eventRegion === GLOBAL_EVENTS_REGION[opts.scope.partition];
  const region = global ? opts.scope.region : eventRegion;
  if (!scope.accepts(finding, 'the event (detail.affectedAccount or account / detail.eventRegion)', account, region)) return skipped();

  const updated = optionalString(detail.lastUpdatedTime, 'detail.lastUpdatedTime', 64) ?? optionalString(detail.startTime, 'detail.startTime', 64);
  const key = eventArn ? `health:${account}:${eventArn}@${updated ?? ''}` : `health-event:${eventId}`;

  const named = new Set<string>();
  optionalArray(event.resources, 'resources', 100)?.forEach((r, i) => named.add(stringAt(r, `resources[${i}]`)));
  optionalArray(detail.affectedEntities, 'detail.affectedEntities', 100)?.forEach((e, i) => {
    const entity = optionalObject(e, `detail.affectedEntities[${i}]`);
    const value = optionalString(entity?.entityValue, `detail.affectedEntities[${i}].entityValue`);
    if (value) named.add(value);
  });
  const secretArns = [...named].filter(isSecretArn);
  const targets: RotationTarget[] = secretArns
    .filter((arn) => scope.acceptsArn(finding, 'a named secret', arn))
    .map((secretId) => ({ kind: 'secret', secretId, key }));
  if (targets.length > 0 || secretArns.length > 0) return { ...base, targets, notes: [], skippedFindings: scope.skipped };
  if (opts.healthTags) return { ...base, targets: [{ kind: 'tags', filters: opts.healthTags, key }], notes: [], skippedFindings: [] };
  return {
    ...base, targets: [], skippedFindings: [],
    notes: ['the exposed credential is not a secret; set ROTOR_TRIGGER_HEALTH_TAGS to rotate a group of secrets on such events'],
  };
}
