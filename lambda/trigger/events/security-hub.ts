import { parseRdsArn } from '../../core/rds-arn';
import type { RotationTarget, TriggerRequest } from './trigger-request';
import { arrayAt, eventBridgeId, isSecretArn, objectAt, optionalArray, optionalObject, optionalString, stringAt, type Json } from './fields';
import { parseArn, ScopeCheck, type TriggerScope } from './scope';

/**
 * Security Hub CSPM findings (source aws.securityhub, detail-type
 * "Security Hub Findings - Imported", ASFF in `detail.findings[]`):
 * - a resource of Type AwsSecretsManagerSecret (Id = the secret's ARN) is rotated;
 * - AwsRdsDbInstance / AwsRdsDbCluster name a database (Details or the ARN in
 *   Id), whose managed secrets are rotated.
 * A finding acts only when
 * - it is active (not archived, suppressed or resolved);
 * - one of its `Types` starts with one of CREDENTIAL_FINDING_TYPE_PREFIXES;
 * - its `AwsAccountId` and `Region` are this function's (cross-Region
 *   aggregation and administrator accounts receive other Regions' and
 *   members' findings); each resource's `Region` and ARN must be too.
 * The idempotency key is the finding's `Id` and `UpdatedAt`: a triage change
 * (BatchUpdateFindings: workflow status, note...) sends a new event but
 * leaves UpdatedAt alone
 * (https://docs.aws.amazon.com/securityhub/latest/userguide/finding-update-batchupdatefindings.html).
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-cwe-event-formats.html
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format.html
 */
export const SECURITY_HUB_SOURCE = 'aws.securityhub';
export const FINDINGS_IMPORTED = 'Security Hub Findings - Imported';

/**
 * ASFF finding type prefixes (namespace/category of the Types taxonomy,
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format-type-taxonomy.html)
 * that concern a credential: matched as plain string prefixes, exactly as an
 * EventBridge `{"prefix": ...}` pattern matches them. The CDK rule uses the
 * same list. docs/trigger.md says why each is here.
 */
export const CREDENTIAL_FINDING_TYPE_PREFIXES: readonly string[] = [
  'TTPs/Credential Access',
  'Sensitive Data Identifications/Passwords',
  'Sensitive Data Identifications/Security',
  'Effects/Data Exposure',
];

export function isCredentialFindingType(type: string): boolean {
  return CREDENTIAL_FINDING_TYPE_PREFIXES.some((p) => type.startsWith(p));
}

export function parseSecurityHubFindings(event: Json, opts: { scope: TriggerScope }): TriggerRequest {
  const eventId = eventBridgeId(event);
  const detail = objectAt(event.detail, 'detail');
  const findings = arrayAt(detail.findings, 'detail.findings', 100);
  const scope = new ScopeCheck(opts.scope);
  const targets: RotationTarget[] = [];
  const notes: string[] = [];
  const titles: string[] = [];
  findings.forEach((raw, i) => {
    const at = `detail.findings[${i}]`;
    const finding = objectAt(raw, at);
    const findingId = optionalString(finding.Id, `${at}.Id`, 512);
    const id = findingId ?? `${at}`;
    const updatedAt = optionalString(finding.UpdatedAt, `${at}.UpdatedAt`, 64);
    const key = findingId ? `securityhub:${findingId}@${updatedAt ?? ''}` : `securityhub-event:${eventId}#${i}`;
    const workflow = optionalString(optionalObject(finding.Workflow, `${at}.Workflow`)?.Status, `${at}.Workflow.Status`, 64);
    const recordState = optionalString(finding.RecordState, `${at}.RecordState`, 64);
    if (recordState === 'ARCHIVED' || workflow === 'SUPPRESSED' || workflow === 'RESOLVED') {
      scope.skip(id, 'inactive', `the finding is ${recordState === 'ARCHIVED' ? 'archived' : workflow!.toLowerCase()}`);
      return;
    }
    const types = (optionalArray(finding.Types, `${at}.Types`, 50) ?? []).map((t, j) => stringAt(t, `${at}.Types[${j}]`, 512));
    if (!types.some(isCredentialFindingType)) {
      scope.skip(id, 'not-credential-type', `the finding's Types (${types.join(', ').slice(0, 512) || 'none'}) start with none of ${CREDENTIAL_FINDING_TYPE_PREFIXES.join(', ')}`);
      return;
    }
    const account = optionalString(finding.AwsAccountId, `${at}.AwsAccountId`, 64);
    // ASFF's top-level Region is filled in by Security Hub; ProductArn carries the same Region for AWS integrations.
    const region = optionalString(finding.Region, `${at}.Region`, 64) ?? parseArn(optionalString(finding.ProductArn, `${at}.ProductArn`, 2048) ?? '')?.region;
    if (!scope.accepts(id, 'the finding (AwsAccountId / Region)', account, region || undefined)) return;

    const title = optionalString(finding.Title, `${at}.Title`, 512);
    if (title) titles.push(title);
    const before = targets.length;
    const skippedBefore = scope.skipped.length;
    arrayAt(finding.Resources, `${at}.Resources`, 32).forEach((r, j) => {
      const rat = `${at}.Resources[${j}]`;
      const resource = objectAt(r, rat);
      const type = stringAt(resource.Type, `${rat}.Type`, 256);
      const resourceId = stringAt(resource.Id, `${rat}.Id`, 2048);
      const resourceRegion = optionalString(resource.Region, `${rat}.Region`, 64);
      if (type !== 'AwsSecretsManagerSecret' && type !== 'AwsRdsDbInstance' && type !== 'AwsRdsDbCluster') return;
      if (!scope.accepts(id, `${rat} (Region)`, opts.scope.account, resourceRegion ?? opts.scope.region)) return;
      if (!scope.acceptsArn(id, `${rat}.Id`, resourceId)) return;
      const details = optionalObject(resource.Details, `${rat}.Details`);
      if (type === 'AwsSecretsManagerSecret') {
        if (isSecretArn(resourceId)) targets.push({ kind: 'secret', secretId: resourceId, key });
        else notes.push(`${rat}.Id is not a secret ARN; ignored`);
      } else if (type === 'AwsRdsDbInstance') {
        const d = optionalObject(details?.AwsRdsDbInstance, `${rat}.Details.AwsRdsDbInstance`);
        const fromArn = parseRdsArn(resourceId);
        const instance = optionalString(d?.DBInstanceIdentifier, `${rat}.Details.AwsRdsDbInstance.DBInstanceIdentifier`, 256)
          ?? (fromArn?.kind === 'instance' ? fromArn.identifier : undefined);
        const cluster = optionalString(d?.DBClusterIdentifier, `${rat}.Details.AwsRdsDbInstance.DBClusterIdentifier`, 256);
        if (instance || cluster) targets.push({ kind: 'database', dbInstanceIdentifier: instance, dbClusterIdentifier: cluster, key });
        else notes.push(`${rat} names no DB instance identifier; ignored`);
      } else {
        const d = optionalObject(details?.AwsRdsDbCluster, `${rat}.Details.AwsRdsDbCluster`);
        const fromArn = parseRdsArn(resourceId);
        const cluster = optionalString(d?.DbClusterIdentifier, `${rat}.Details.AwsRdsDbCluster.DbClusterIdentifier`, 256)
          ?? (fromArn?.kind === 'cluster' ? fromArn.identifier : undefined);
        if (cluster) targets.push({ kind: 'database', dbClusterIdentifier: cluster, key });
        else notes.push(`${rat} names no DB cluster identifier; ignored`);
      }
    });
    if (targets.length === before && scope.skipped.length === skippedBefore) notes.push(`finding ${id} names no secret or database; nothing to rotate for it`);
  });
  return {
    eventId,
    source: 'securityhub',
    reason: titles.length ? `Security Hub: ${titles.join('; ').slice(0, 512)}` : 'Security Hub finding',
    targets,
    notes,
    skippedFindings: scope.skipped,
  };
}
