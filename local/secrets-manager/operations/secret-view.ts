import type { SecretRecord } from '../model';
import { compact, epochSeconds } from './context';

/** Labelled versions only: unlabelled ones are deprecated and not listed. */
export function versionsToStages(s: SecretRecord): Record<string, string[]> | undefined {
  const map: Record<string, string[]> = {};
  for (const v of s.versions) if (v.stages.length > 0) map[v.versionId] = [...v.stages].sort();
  return Object.keys(map).length > 0 ? map : undefined;
}

/**
 * DescribeSecret's view (ListSecrets uses the same with SecretVersionsToStages).
 * "Secrets Manager only returns fields that have a value in the response":
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html
 * LastRotatedDate and NextRotationDate are null when rotation is not enabled.
 */
export function secretMetadata(s: SecretRecord, forList: boolean): Record<string, unknown> {
  const rotating = s.rotationEnabled === true;
  const stages = versionsToStages(s);
  return compact({
    ARN: s.arn,
    Name: s.name,
    Description: s.description,
    KmsKeyId: s.kmsKeyId,
    RotationEnabled: s.rotationEnabled,
    RotationLambdaARN: s.rotationLambdaArn,
    RotationRules: s.rotationRules ? { ...s.rotationRules } : undefined,
    LastRotatedDate: rotating && s.lastRotatedDate !== undefined ? epochSeconds(s.lastRotatedDate) : undefined,
    LastChangedDate: epochSeconds(s.lastChangedDate),
    LastAccessedDate: s.lastAccessedDate !== undefined ? epochSeconds(s.lastAccessedDate) : undefined,
    DeletedDate: s.deletedDate !== undefined ? epochSeconds(s.deletedDate) : undefined,
    NextRotationDate: rotating && s.nextRotationDate !== undefined ? epochSeconds(s.nextRotationDate) : undefined,
    Tags: s.tags.length > 0 ? s.tags.map((t) => ({ ...t })) : undefined,
    [forList ? 'SecretVersionsToStages' : 'VersionIdsToStages']: stages,
    OwningService: s.owningService,
    CreatedDate: epochSeconds(s.createdDate),
  });
}
