import type { TagFilter, TriggerRequest } from './trigger-request';
import { invalidEvent } from './trigger-request';
import { eventBridgeId, objectAt, optionalObject, optionalString, stringAt, type Json } from './fields';
import { ScopeCheck, type TriggerScope } from './scope';

/**
 * GuardDuty findings (source aws.guardduty, detail-type "GuardDuty Finding").
 * - RDS Protection findings (`detail.resource.resourceType` RDSDBInstance)
 *   name the database in `detail.resource.rdsDbInstanceDetails` and the user
 *   in `detail.resource.rdsDbUserDetails.user`: the secrets of that database
 *   (and user) are rotated.
 * - IAM credential findings (resourceType AccessKey) name no database: the
 *   secrets matching ROTOR_TRIGGER_IAM_FINDING_TAGS are rotated, or nothing,
 *   with a note, when that is not configured.
 * - Anything else concerns no database credential: a note, nothing rotated.
 *
 * Only findings of this function's account and Region act: `detail.accountId`,
 * `detail.region` and the database's `dbInstanceArn` must all be its own (a
 * GuardDuty administrator account receives its members' findings, and an
 * instance of the same name elsewhere is another database). The idempotency
 * key is the finding's `id` and `updatedAt`: the same finding in a new
 * EventBridge event rotates nothing more; an updated finding is a new key,
 * held back by the cool-down.
 * https://docs.aws.amazon.com/guardduty/latest/ug/findings-rds-protection.html
 * https://docs.aws.amazon.com/guardduty/latest/ug/guardduty_findings_eventbridge.html
 */
export const GUARDDUTY_SOURCE = 'aws.guardduty';
export const GUARDDUTY_FINDING = 'GuardDuty Finding';

export function parseGuardDutyFinding(event: Json, opts: { iamFindingTags?: TagFilter[]; scope: TriggerScope }): TriggerRequest {
  const eventId = eventBridgeId(event);
  const detail = objectAt(event.detail, 'detail');
  const type = stringAt(detail.type, 'detail.type', 256);
  const findingId = optionalString(detail.id, 'detail.id', 512);
  const updatedAt = optionalString(detail.updatedAt, 'detail.updatedAt', 64);
  const finding = findingId ?? `(event ${eventId})`;
  const key = findingId ? `guardduty:${findingId}@${updatedAt ?? ''}` : `guardduty-event:${eventId}`;
  const reason = `GuardDuty ${type}`;
  const scope = new ScopeCheck(opts.scope);
  const base = { eventId, source: 'guardduty' as const, reason };
  const skipped = () => ({ ...base, targets: [], notes: [], skippedFindings: scope.skipped });

  const account = optionalString(detail.accountId, 'detail.accountId', 64);
  const region = optionalString(detail.region, 'detail.region', 64);
  if (!scope.accepts(finding, 'the finding (detail.accountId / detail.region)', account, region)) return skipped();

  const resource = objectAt(detail.resource, 'detail.resource');
  const resourceType = optionalString(resource.resourceType, 'detail.resource.resourceType', 128);
  const rds = optionalObject(resource.rdsDbInstanceDetails, 'detail.resource.rdsDbInstanceDetails');
  if (resourceType === 'RDSDBInstance' || rds) {
    if (!rds) throw invalidEvent('detail.resource.rdsDbInstanceDetails is missing from an RDS finding');
    const dbInstanceIdentifier = optionalString(rds.dbInstanceIdentifier, 'detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier', 256);
    const dbClusterIdentifier = optionalString(rds.dbClusterIdentifier, 'detail.resource.rdsDbInstanceDetails.dbClusterIdentifier', 256);
    if (!dbInstanceIdentifier && !dbClusterIdentifier) {
      throw invalidEvent('detail.resource.rdsDbInstanceDetails names neither dbInstanceIdentifier nor dbClusterIdentifier');
    }
    const dbArn = optionalString(rds.dbInstanceArn, 'detail.resource.rdsDbInstanceDetails.dbInstanceArn', 2048);
    if (dbArn && !scope.acceptsArn(finding, 'the database (dbInstanceArn)', dbArn)) return skipped();
    const userDetails = optionalObject(resource.rdsDbUserDetails, 'detail.resource.rdsDbUserDetails');
    const user = optionalString(userDetails?.user, 'detail.resource.rdsDbUserDetails.user', 256);
    return { ...base, targets: [{ kind: 'database', dbInstanceIdentifier, dbClusterIdentifier, user, key }], notes: [], skippedFindings: [] };
  }

  if (resourceType === 'AccessKey' || /IAMUser/.test(type)) {
    if (opts.iamFindingTags) return { ...base, targets: [{ kind: 'tags', filters: opts.iamFindingTags, key }], notes: [], skippedFindings: [] };
    return {
      ...base, targets: [], skippedFindings: [],
      notes: [`${type} is an IAM credential finding and names no database; set ROTOR_TRIGGER_IAM_FINDING_TAGS to rotate a group of secrets on such findings`],
    };
  }
  return { ...base, targets: [], skippedFindings: [], notes: [`${type} (resource type ${resourceType ?? 'unknown'}) concerns no database credential; nothing to rotate`] };
}
