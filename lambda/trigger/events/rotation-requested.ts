import { invalidEvent, type RotationTarget, type TriggerRequest } from './trigger-request';
import { eventBridgeId, objectAt, optionalArray, optionalString, parseSecretId, parseTagFilters, type Json } from './fields';

/**
 * Our own "rotate now" event (the CLI's rotate-now). It is accepted only
 * from the dedicated request bus the CDK app creates (its name is in the
 * function's ROTOR_REQUEST_BUS_NAME; its resource policy names the accounts
 * and principals allowed to put events), never from the default bus, where
 * anyone with events:PutEvents could send it. An event does not say which
 * bus it came through, so that is enforced by the rule, not here; here the
 * source and detail-type must be exactly these, and every secret it
 * resolves to is subject to the cool-down and the per-event cap
 * (docs/trigger.md):
 *
 * ```json
 * { "source": "rotor", "detail-type": "Rotation Requested",
 *   "detail": { "secretIds": ["arn:aws:secretsmanager:...:secret:app-AbCdEf"],
 *               "tagFilters": [{ "key": "team", "values": ["payments"] }],
 *               "reason": "suspected leak" } }
 * ```
 * At least one of secretIds (names or ARNs, up to 500) and tagFilters.
 */
export const ROTOR_SOURCE = 'rotor';
export const ROTATION_REQUESTED = 'Rotation Requested';

export function parseRotationRequested(event: Json): TriggerRequest {
  const detail = objectAt(event.detail, 'detail');
  const targets: RotationTarget[] = [];
  const ids = optionalArray(detail.secretIds, 'detail.secretIds', 500);
  ids?.forEach((v, i) => targets.push({ kind: 'secret', secretId: parseSecretId(v, `detail.secretIds[${i}]`) }));
  if (detail.tagFilters !== undefined && detail.tagFilters !== null) {
    targets.push({ kind: 'tags', filters: parseTagFilters(detail.tagFilters, 'detail.tagFilters') });
  }
  if (targets.length === 0) throw invalidEvent('detail names no secret: give detail.secretIds and/or detail.tagFilters');
  return {
    eventId: eventBridgeId(event),
    source: 'rotor',
    reason: optionalString(detail.reason, 'detail.reason', 1024),
    targets,
    notes: [],
    skippedFindings: [],
  };
}
