import { InvalidTriggerEventError, invalidEvent, type TagFilter, type TriggerRequest } from './trigger-request';
import { isObject } from './fields';
import { parseScheduleEvent, SCHEDULE_SOURCE } from './schedule';
import { parseRotationRequested, ROTATION_REQUESTED, ROTOR_SOURCE } from './rotation-requested';
import { GUARDDUTY_FINDING, GUARDDUTY_SOURCE, parseGuardDutyFinding } from './guardduty';
import { FINDINGS_IMPORTED, parseSecurityHubFindings, SECURITY_HUB_SOURCE } from './security-hub';
import { HEALTH_EVENT, HEALTH_SOURCE, parseHealthEvent } from './health';
import type { TriggerScope } from './scope';

export * from './trigger-request';
export { scopeFromFunctionArn, type TriggerScope } from './scope';
export { CREDENTIAL_FINDING_TYPE_PREFIXES } from './security-hub';

export interface EventParseOptions {
  iamFindingTags?: TagFilter[];
  healthTags?: TagFilter[];
  /** The function's own account and Region: findings about others are skipped. */
  scope: TriggerScope;
}

const ROUTES: Record<string, { detailType?: string; parse: (e: Record<string, unknown>, o: EventParseOptions) => TriggerRequest }> = {
  [SCHEDULE_SOURCE]: { parse: (e) => parseScheduleEvent(e) },
  [ROTOR_SOURCE]: { detailType: ROTATION_REQUESTED, parse: (e) => parseRotationRequested(e) },
  [GUARDDUTY_SOURCE]: { detailType: GUARDDUTY_FINDING, parse: parseGuardDutyFinding },
  [SECURITY_HUB_SOURCE]: { detailType: FINDINGS_IMPORTED, parse: parseSecurityHubFindings },
  [HEALTH_SOURCE]: { detailType: HEALTH_EVENT, parse: parseHealthEvent },
};

/**
 * Parses any event this function accepts into a TriggerRequest, or throws an
 * InvalidTriggerEventError saying what is wrong. A source or detail-type we
 * do not handle is a configuration error: an EventBridge rule sends us
 * events it should not.
 */
export function parseTriggerEvent(raw: unknown, opts: EventParseOptions): TriggerRequest {
  if (!isObject(raw)) throw invalidEvent('the event is not a JSON object');
  const source = raw.source;
  // Own keys only: "__proto__" or "constructor" must not reach Object.prototype.
  const route = typeof source === 'string' && Object.hasOwn(ROUTES, source) ? ROUTES[source] : undefined;
  if (!route) {
    throw new InvalidTriggerEventError(
      'configuration',
      `events from source ${typeof source === 'string' ? JSON.stringify(source.slice(0, 128)) : '(none)'} are not handled by the trigger function`,
      `Send only ${Object.keys(ROUTES).join(', ')} events to it: check the EventBridge rules and schedules that target it`,
    );
  }
  if (route.detailType !== undefined && raw['detail-type'] !== route.detailType) {
    const got = typeof raw['detail-type'] === 'string' ? JSON.stringify(String(raw['detail-type']).slice(0, 128)) : '(none)';
    throw new InvalidTriggerEventError(
      'configuration',
      `${source} events of detail-type ${got} are not handled (expected "${route.detailType}")`,
      'Narrow the EventBridge rule\'s pattern to that detail-type',
    );
  }
  return route.parse(raw, opts);
}
