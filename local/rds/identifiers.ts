import { randomBytes } from 'node:crypto';
import { invalidParameterValue } from './errors';

/**
 * DB instance and DB cluster identifiers: 1-63 letters, digits or hyphens;
 * first character a letter; no trailing hyphen, no two consecutive hyphens;
 * stored as a lowercase string and matched case-insensitively
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html,
 * DBInstanceIdentifier; API_DescribeDBInstances: "This parameter isn't case-sensitive").
 */
export function isValidIdentifier(id: string): boolean {
  return /^[A-Za-z](?:[A-Za-z0-9]|-(?!-)){0,62}$/.test(id) && !id.endsWith('-');
}

/** Throws InvalidParameterValue with the message RDS answers for a malformed identifier. */
export function checkIdentifier(param: string, id: string): string {
  if (!isValidIdentifier(id)) {
    throw invalidParameterValue(
      `The parameter ${param} is not a valid identifier. Identifiers must begin with a letter; must contain only ASCII letters, digits, and hyphens; and must not end with a hyphen or contain two consecutive hyphens.`,
    );
  }
  return id.toLowerCase();
}

export type RdsResourceType = 'db' | 'cluster';

/** arn:aws:rds:<region>:<account>:db:<id> / arn:aws:rds:<region>:<account>:cluster:<id> */
export function rdsArn(region: string, accountId: string, type: RdsResourceType, id: string): string {
  return `arn:aws:rds:${region}:${accountId}:${type}:${id.toLowerCase()}`;
}

/**
 * Resolves an identifier-or-ARN (DescribeDB* accept both) to a lowercase
 * identifier, or `null` when it is an ARN of another Region, account or
 * resource type (nothing here can match it).
 */
export function identifierOrArn(
  param: string,
  value: string,
  type: RdsResourceType,
  region: string,
  accountId: string,
): string | null {
  if (!value.startsWith('arn:')) return checkIdentifier(param, value);
  const m = /^arn:aws[a-z-]*:rds:([a-z0-9-]+):(\d{12}):([a-z-]+):(.+)$/.exec(value);
  if (!m) throw invalidParameterValue(`The parameter ${param} is not a valid identifier or Amazon Resource Name (ARN): ${value.slice(0, 200)}`);
  const [, r, a, t, id] = m;
  if (r !== region || a !== accountId || t !== type || !isValidIdentifier(id)) return null;
  return id.toLowerCase();
}

/** Like the ids RDS makes (`db-` / `cluster-` + 26 upper-case base32 characters). */
export function resourceId(prefix: 'db' | 'cluster'): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bytes = randomBytes(26);
  let s = '';
  for (const b of bytes) s += alphabet[b & 31];
  return `${prefix}-${s}`;
}

/**
 * The ARN of an RDS-managed master user secret, named as RDS names them
 * (`rds!db-<uuid>` / `rds!cluster-<uuid>`, plus Secrets Manager's 6-character suffix):
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-secrets-manager.html
 */
export function managedSecretArn(region: string, accountId: string, kind: 'db' | 'cluster'): string {
  const hex = randomBytes(16).toString('hex');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  const suffix = Array.from(randomBytes(6), (b) => letters[b % letters.length]).join('');
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:rds!${kind}-${uuid}-${suffix}`;
}
