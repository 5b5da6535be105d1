import { blob, bool, int, list, str, struct } from './input-shape';

/*
 * Input shapes of the operations the local endpoint serves, with the
 * constraints of the Secrets Manager API reference
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html),
 * as recorded in the service model (secretsmanager-2017-10-17).
 */

const SecretId = str({ min: 1, max: 2048 });
const ClientRequestToken = str({ min: 32, max: 64 });
const VersionId = str({ min: 32, max: 64 });
const VersionStage = str({ min: 1, max: 256 });
// The model says "length"; the quota page says 64 KB, so we count bytes (the stricter reading).
const SecretString = str({ min: 1, max: 65536, sensitive: true, bytes: true });
const SecretBinary = blob({ min: 1, max: 65536 });
const Description = str({ max: 2048 });
const KmsKeyId = str({ min: 0, max: 2048 });
const Tag = struct({ Key: str({ min: 1, max: 128 }), Value: str({ min: 0, max: 256 }) });
const NextToken = str({ min: 1, max: 4096 });
const FilterKeys = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'] as const;
const Filter = struct({
  Key: str({ enum: FilterKeys }),
  Values: list(str({ max: 512, pattern: /^\!?[a-zA-Z0-9 :_@\/\+\=\.\-\!]*$/ }), { min: 1, max: 10 }),
});
const Filters = list(Filter, { max: 10 });
const ReplicaRegion = struct({ Region: str({ min: 1, max: 128, pattern: /^([a-z]+-)+\d+$/ }), KmsKeyId });

export const RotationRulesShape = struct({
  AutomaticallyAfterDays: int({ min: 1, max: 1000 }),
  Duration: str({ min: 2, max: 3, pattern: /^[0-9]+h$/ }),
  ScheduleExpression: str({ min: 1, max: 256, pattern: /^[0-9A-Za-z\(\)#\?\*\-\/, ]+$/ }),
});

export const shapes = {
  CreateSecret: struct(
    {
      Name: str({ min: 1, max: 512 }),
      ClientRequestToken,
      Description,
      KmsKeyId,
      SecretBinary,
      SecretString,
      Tags: list(Tag),
      AddReplicaRegions: list(ReplicaRegion, { min: 1 }),
      ForceOverwriteReplicaSecret: bool(),
      Type: str({ min: 0, max: 256 }),
    },
    ['Name'],
  ),
  DescribeSecret: struct({ SecretId }, ['SecretId']),
  GetSecretValue: struct({ SecretId, VersionId, VersionStage }, ['SecretId']),
  BatchGetSecretValue: struct({
    SecretIdList: list(SecretId, { min: 1, max: 20 }),
    Filters,
    MaxResults: int({ min: 1, max: 20 }),
    NextToken,
  }),
  PutSecretValue: struct(
    {
      SecretId,
      ClientRequestToken,
      SecretBinary,
      SecretString,
      VersionStages: list(VersionStage, { min: 1, max: 20 }),
      RotationToken: str({ min: 36, max: 256, pattern: /^[a-zA-Z0-9\-]+$/, sensitive: true }),
    },
    ['SecretId'],
  ),
  UpdateSecret: struct(
    { SecretId, ClientRequestToken, Description, KmsKeyId, SecretBinary, SecretString, Type: str({ min: 0, max: 256 }) },
    ['SecretId'],
  ),
  UpdateSecretVersionStage: struct(
    { SecretId, VersionStage, RemoveFromVersionId: VersionId, MoveToVersionId: VersionId },
    ['SecretId', 'VersionStage'],
  ),
  ListSecrets: struct({
    IncludePlannedDeletion: bool(),
    MaxResults: int({ min: 1, max: 100 }),
    NextToken,
    Filters,
    SortOrder: str({ enum: ['asc', 'desc'] }),
    SortBy: str({ enum: ['created-date', 'last-accessed-date', 'last-changed-date', 'name'] }),
  }),
  ListSecretVersionIds: struct(
    { SecretId, MaxResults: int({ min: 1, max: 100 }), NextToken, IncludeDeprecated: bool() },
    ['SecretId'],
  ),
  GetRandomPassword: struct({
    PasswordLength: int({ min: 1, max: 4096 }),
    ExcludeCharacters: str({ min: 0, max: 4096 }),
    ExcludeNumbers: bool(),
    ExcludePunctuation: bool(),
    ExcludeUppercase: bool(),
    ExcludeLowercase: bool(),
    IncludeSpace: bool(),
    RequireEachIncludedType: bool(),
  }),
  RotateSecret: struct(
    {
      SecretId,
      ClientRequestToken,
      RotationLambdaARN: str({ min: 0, max: 2048 }),
      RotationRules: RotationRulesShape,
      RotateImmediately: bool(),
      ExternalSecretRotationMetadata: list(struct({ Key: str({ min: 1, max: 256 }), Value: str({ min: 1, max: 2048 }) })),
      ExternalSecretRotationRoleArn: str({ min: 20, max: 2048 }),
    },
    ['SecretId'],
  ),
  CancelRotateSecret: struct({ SecretId }, ['SecretId']),
  TagResource: struct({ SecretId, Tags: list(Tag) }, ['SecretId', 'Tags']),
  UntagResource: struct({ SecretId, TagKeys: list(str({ min: 1, max: 128 })) }, ['SecretId', 'TagKeys']),
  DeleteSecret: struct({ SecretId, RecoveryWindowInDays: int(), ForceDeleteWithoutRecovery: bool() }, ['SecretId']),
  RestoreSecret: struct({ SecretId }, ['SecretId']),
} as const;

export type OperationName = keyof typeof shapes;

export interface TagInput {
  Key?: string;
  Value?: string;
}
export interface FilterInput {
  Key?: string;
  Values?: string[];
}
export interface RotationRulesInput {
  AutomaticallyAfterDays?: number;
  Duration?: string;
  ScheduleExpression?: string;
}
