import { invalidParameterValue } from './errors';

/**
 * Master user password lengths by engine.
 *
 * DB instances, ModifyDBInstance `MasterUserPassword`
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html):
 * "RDS for MariaDB - Must contain from 8 to 41 characters", "RDS for MySQL - 8 to 41",
 * "RDS for PostgreSQL - 8 to 128". Aurora instances take no password (the cluster has it).
 *
 * DB clusters, ModifyDBCluster `MasterUserPassword`
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html):
 * "Must contain from 8 to 41 characters" (Aurora DB clusters and Multi-AZ DB clusters).
 */
export function passwordLengthLimits(kind: 'instance' | 'cluster', engine: string): { min: number; max: number } {
  if (kind === 'cluster') return { min: 8, max: 41 };
  switch (engine) {
    case 'postgres':
      return { min: 8, max: 128 };
    case 'mysql':
    case 'mariadb':
      return { min: 8, max: 41 };
    default:
      return { min: 8, max: 41 };
  }
}

/**
 * Checks a new master password the way RDS does. The API reference allows
 * "any printable ASCII character except "/", """, or "@""; RDS also refuses
 * a space, with this exact message (observed, e.g.
 * https://github.com/crossplane/crossplane/issues/88,
 * https://github.com/awsdocs/aws-cloudformation-user-guide/issues/1055):
 * "The parameter MasterUserPassword is not a valid password. Only printable
 * ASCII characters besides '/', '@', '"', ' ' may be used."
 *
 * The password itself never appears in an error message.
 */
export function checkMasterPassword(password: string, kind: 'instance' | 'cluster', engine: string): void {
  const { min, max } = passwordLengthLimits(kind, engine);
  for (const ch of password) {
    const c = ch.codePointAt(0)!;
    if (c < 0x21 || c > 0x7e || ch === '/' || ch === '@' || ch === '"') {
      throw invalidParameterValue(
        `The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '"', ' ' may be used.`,
      );
    }
  }
  if (password.length < min) {
    throw invalidParameterValue(`The parameter MasterUserPassword is not a valid password because it is shorter than ${min} characters.`);
  }
  if (password.length > max) {
    throw invalidParameterValue(`The parameter MasterUserPassword is not a valid password because it is longer than ${max} characters.`);
  }
}
