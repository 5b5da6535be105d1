import { parseRdsArn } from '../../core/rds-arn';
import type { RotationTarget, TriggerRequest } from './trigger-request';
import { arrayAt, eventBridgeId, isSecretArn, objectAt, optionalObject, optionalString, stringAt, type Json } from './fields';

/**
 * Security Hub CSPM findings (source aws.securityhub, detail-type
 * "Security Hub Findings - Imported", ASFF in `detail.findings[]`):
 * - a resource of Type AwsSecretsManagerSecret (Id = the secret's ARN) is rotated;
 * - AwsRdsDbInstance / AwsRdsDbCluster name a database (Details or the ARN in
 *   Id), whose managed secrets are rotated;
 * - archived, suppressed or resolved findings are ignored with a note.
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format.html
 */
export const SECURITY_HUB_SOURCE = 'aws.securityhub';
export const FINDINGS_IMPORTED = 'Security Hub Findings - Imported';

export function parseSecurityHubFindings(event: Json): TriggerRequest {
  const eventId = eventBridgeId(event);
  const detail = objectAt(event.detail, 'detail');
  const findings = arrayAt(detail.findings, 'detail.findings', 100);
  const targets: RotationTarget[] = [];
  const notes: string[] = [];
  const titles: string[] = [];
  findings.forEach((raw, i) => {
    const at = `detail.findings[${i}]`;
    const finding = objectAt(raw, at);
    const id = optionalString(finding.Id, `${at}.Id`, 512) ?? `#${i}`;
    const workflow = optionalString(optionalObject(finding.Workflow, `${at}.Workflow`)?.Status, `${at}.Workflow.Status`, 64);
    const recordState = optionalString(finding.RecordState, `${at}.RecordState`, 64);
    if (recordState === 'ARCHIVED' || workflow === 'SUPPRESSED' || workflow === 'RESOLVED') {
      notes.push(`finding ${id} is ${recordState === 'ARCHIVED' ? 'archived' : workflow!.toLowerCase()}; ignored`);
      return;
    }
    const title = optionalString(finding.Title, `${at}.Title`, 512);
    if (title) titles.push(title);
    const before = targets.length;
    arrayAt(finding.Resources, `${at}.Resources`, 32).forEach((r, j) => {
      const rat = `${at}.Resources[${j}]`;
      const resource = objectAt(r, rat);
      const type = stringAt(resource.Type, `${rat}.Type`, 256);
      const resourceId = stringAt(resource.Id, `${rat}.Id`, 2048);
      const details = optionalObject(resource.Details, `${rat}.Details`);
      if (type === 'AwsSecretsManagerSecret') {
        if (isSecretArn(resourceId)) targets.push({ kind: 'secret', secretId: resourceId });
        else notes.push(`${rat}.Id is not a secret ARN; ignored`);
      } else if (type === 'AwsRdsDbInstance') {
        const d = optionalObject(details?.AwsRdsDbInstance, `${rat}.Details.AwsRdsDbInstance`);
        const fromArn = parseRdsArn(resourceId);
        const instance = optionalString(d?.DBInstanceIdentifier, `${rat}.Details.AwsRdsDbInstance.DBInstanceIdentifier`, 256)
          ?? (fromArn?.kind === 'instance' ? fromArn.identifier : undefined);
        const cluster = optionalString(d?.DBClusterIdentifier, `${rat}.Details.AwsRdsDbInstance.DBClusterIdentifier`, 256);
        if (instance || cluster) targets.push({ kind: 'database', dbInstanceIdentifier: instance, dbClusterIdentifier: cluster });
        else notes.push(`${rat} names no DB instance identifier; ignored`);
      } else if (type === 'AwsRdsDbCluster') {
        const d = optionalObject(details?.AwsRdsDbCluster, `${rat}.Details.AwsRdsDbCluster`);
        const fromArn = parseRdsArn(resourceId);
        const cluster = optionalString(d?.DbClusterIdentifier, `${rat}.Details.AwsRdsDbCluster.DbClusterIdentifier`, 256)
          ?? (fromArn?.kind === 'cluster' ? fromArn.identifier : undefined);
        if (cluster) targets.push({ kind: 'database', dbClusterIdentifier: cluster });
        else notes.push(`${rat} names no DB cluster identifier; ignored`);
      }
    });
    if (targets.length === before) notes.push(`finding ${id} names no secret or database; nothing to rotate for it`);
  });
  return {
    eventId,
    source: 'securityhub',
    reason: titles.length ? `Security Hub: ${titles.join('; ').slice(0, 512)}` : 'Security Hub finding',
    targets,
    notes,
  };
}
