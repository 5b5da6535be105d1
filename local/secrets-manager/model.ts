/** The stored form of secrets: what the state file holds. Dates are epoch milliseconds. */

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

export interface VersionRecord {
  versionId: string;
  /** Exactly one of the two is set once the version has a value; neither while it is a rotation placeholder. */
  secretString?: string;
  /** Base64 of the bytes. */
  secretBinary?: string;
  stages: string[];
  createdDate: number;
  /** Day resolution (midnight UTC). */
  lastAccessedDate?: number;
}

export interface RotationRulesRecord {
  AutomaticallyAfterDays?: number;
  ScheduleExpression?: string;
  Duration?: string;
}

export interface TagRecord {
  Key: string;
  Value: string;
}

export interface SecretRecord {
  arn: string;
  name: string;
  description?: string;
  kmsKeyId?: string;
  tags: TagRecord[];
  createdDate: number;
  lastChangedDate: number;
  /** Day resolution (midnight UTC). */
  lastAccessedDate?: number;
  lastRotatedDate?: number;
  nextRotationDate?: number;
  /** When DeleteSecret was called. */
  deletedDate?: number;
  /** When the recovery window ends and the secret is purged. */
  deletionDate?: number;
  /** Absent until rotation is first configured. */
  rotationEnabled?: boolean;
  rotationLambdaArn?: string;
  rotationRules?: RotationRulesRecord;
  /** Set for secrets managed by another service (seeded locally); such secrets refuse writes. */
  owningService?: string;
  primaryRegion: string;
  /** In creation order. */
  versions: VersionRecord[];
}

export interface PersistedState {
  formatVersion: 1;
  region: string;
  accountId: string;
  secrets: SecretRecord[];
}

export function hasValue(v: VersionRecord): boolean {
  return v.secretString !== undefined || v.secretBinary !== undefined;
}

export function sameValue(v: VersionRecord, secretString: string | undefined, secretBinary: Buffer | undefined): boolean {
  if (secretString !== undefined) return v.secretString === secretString;
  if (secretBinary !== undefined) return v.secretBinary === secretBinary.toString('base64');
  return false;
}
