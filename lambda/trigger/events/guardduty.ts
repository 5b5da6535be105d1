import type { TagFilter, TriggerRequest } from './trigger-request';
import { invalidEvent } from './trigger-request';
import { eventBridgeId, objectAt, optionalObject, optionalString, stringAt, type Json } from './fields';

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
 * https://docs.aws.amazon.com/guardduty/latest/ug/findings-rds-protection.html
 */
export const GUARDDUTY_SOURCE = 'aws.guardduty';
export const GUARDDUTY_FINDING = 'GuardDuty Finding';

export function parseGuardDutyFinding(event: Json, opts: { iamFindingTags?: TagFilter[] }): TriggerRequest {
  const eventId = eventBridgeId(event);
  const detail = objectAt(event.detail, 'detail');
  const type = stringAt(detail.type, 'detail.type', 256);
  const resource = objectAt(detail.resource, 'detail.resource');
  const resourceType = optionalString(resource.resourceType, 'detail.resource.resourceType', 128);
  const reason = `GuardDuty ${type}`;
  const base = { eventId, source: 'guardduty' as const, reason };

  const rds = optionalObject(resource.rdsDbInstanceDetails, 'detail.resource.rdsDbInstanceDetails');
  if (resourceType === 'RDSDBInstance' || rds) {
    if (!rds) throw invalidEvent('detail.resource.rdsDbInstanceDetails is missing from an RDS finding');
    const dbInstanceIdentifier = optionalString(rds.dbInstanceIdentifier, 'detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier', 256);
    const dbClusterIdentifier = optionalString(rds.dbClusterIdentifier, 'detail.resource.rdsDbInstanceDetails.dbClusterIdentifier', 256);
    if (!dbInstanceIdentifier && !dbClusterIdentifier) {
      throw invalidEvent('detail.resource.rdsDbInstanceDetails names neither dbInstanceIdentifier nor dbClusterIdentifier');
    }
    const userDetails = optionalObject(resource.rdsDbUserDetails, 'detail.resource.rdsDbUserDetails');
    const user = optionalString(userDetails?.user, 'detail.resource.rdsDbUserDetails.user', 256);
    return { ...base, targets: [{ kind: 'database', dbInstanceIdentifier, dbClusterIdentifier, user }], notes: [] };
  }

  if (resourceType === 'AccessKey' || /IAMUser/.test(type)) {
    if (opts.iamFindingTags) return { ...base, targets: [{ kind: 'tags', filters: opts.iamFindingTags }], notes: [] };
    return {
      ...base, targets: [],
      notes: [`${type} is an IAM credential finding and names no database; set ROTOR_TRIGGER_IAM_FINDING_TAGS to rotate a group of secrets on such findings`],
    };
  }
  return { ...base, targets: [], notes: [`${type} (resource type ${resourceType ?? 'unknown'}) concerns no database credential; nothing to rotate`] };
}
