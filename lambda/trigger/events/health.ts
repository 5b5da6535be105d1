import type { RotationTarget, TagFilter, TriggerRequest } from './trigger-request';
import { eventBridgeId, isSecretArn, objectAt, optionalArray, optionalObject, optionalString, stringAt, type Json } from './fields';

/**
 * AWS Health (source aws.health, detail-type "AWS Health Event"). Only
 * `detail.eventTypeCode` AWS_RISK_CREDENTIALS_EXPOSED is acted on. Secrets
 * named by ARN in `resources[]` or `detail.affectedEntities[].entityValue`
 * are rotated; otherwise (the usual case: the entity is an IAM access key)
 * the secrets matching ROTOR_TRIGGER_HEALTH_TAGS, or nothing, with a note.
 * https://docs.aws.amazon.com/health/latest/ug/cloudwatch-events-health.html
 */
export const HEALTH_SOURCE = 'aws.health';
export const HEALTH_EVENT = 'AWS Health Event';
export const CREDENTIALS_EXPOSED = 'AWS_RISK_CREDENTIALS_EXPOSED';

export function parseHealthEvent(event: Json, opts: { healthTags?: TagFilter[] }): TriggerRequest {
  const eventId = eventBridgeId(event);
  const detail = objectAt(event.detail, 'detail');
  const code = stringAt(detail.eventTypeCode, 'detail.eventTypeCode', 256);
  const base = { eventId, source: 'health' as const, reason: `AWS Health ${code}` };
  if (code !== CREDENTIALS_EXPOSED) {
    return { ...base, targets: [], notes: [`AWS Health event type ${code} is not a credential exposure; nothing to rotate`] };
  }
  const named = new Set<string>();
  optionalArray(event.resources, 'resources', 100)?.forEach((r, i) => named.add(stringAt(r, `resources[${i}]`)));
  optionalArray(detail.affectedEntities, 'detail.affectedEntities', 100)?.forEach((e, i) => {
    const entity = optionalObject(e, `detail.affectedEntities[${i}]`);
    const value = optionalString(entity?.entityValue, `detail.affectedEntities[${i}].entityValue`);
    if (value) named.add(value);
  });
  const targets: RotationTarget[] = [...named].filter(isSecretArn).map((secretId) => ({ kind: 'secret', secretId }));
  if (targets.length > 0) return { ...base, targets, notes: [] };
  if (opts.healthTags) return { ...base, targets: [{ kind: 'tags', filters: opts.healthTags }], notes: [] };
  return {
    ...base, targets: [],
    notes: ['the exposed credential is not a secret; set ROTOR_TRIGGER_HEALTH_TAGS to rotate a group of secrets on such events'],
  };
}
