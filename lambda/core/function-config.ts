import { existsSync } from 'node:fs';
import { configurationError } from './errors';
import { TLS_MODES, type TlsMode } from './database-secret';
import { parseRdsArn, type RdsArn } from './rds-arn';

/** Password policy passed to GetRandomPassword. */
export interface PasswordPolicy {
  length: number;
  /** undefined = the engine's default set. */
  excludeCharacters?: string;
  excludeNumbers: boolean;
  excludePunctuation: boolean;
  excludeUppercase: boolean;
  excludeLowercase: boolean;
  requireEachIncludedType: boolean;
}

/** The rotation function's settings, read once from its environment. */
export interface FunctionConfig {
  password: PasswordPolicy;
  /**
   * The deployment's TLS floor (ROTOR_TLS_MODE): the mode used when a secret
   * has no `ssl` field, and the least any login may use. A secret may ask for
   * more, never for less (DESIGN invariant 5).
   */
  tlsMode: TlsMode;
  /**
   * ROTOR_ALLOW_TARGET_CHANGE: rotate even when AWSCURRENT names another
   * target (engine, host, port, database, user) than the last rotation did.
   * @default false
   */
  allowTargetChange: boolean;
  /**
   * ROTOR_RDS_RESOURCE_ARNS: the DB instances and clusters the rds-master
   * strategy may act on (comma-separated ARNs). Empty: rds-master refuses.
   */
  rdsResources: RdsArn[];
  /**
   * ROTOR_MASTER_SECRET_ARNS: the master secret the deployment granted (alternating users; the
   * CDK sets it only when there is one; comma-separated ARNs are read). A hint only: when there
   * is exactly one, a container's first createSecret/setSecret reads its AWSCURRENT with
   * DescribeSecret, and uses the read only if AWSCURRENT's `masterarn` names that very ARN. It
   * allows nothing (IAM does).
   */
  masterSecretArns: string[];
  /** AWS_REGION: the Region the function runs in. */
  region?: string;
  /** PEM bundle of trusted CAs for verify-full; undefined = Node's default trust store. */
  caFile?: string;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
  /** Time kept back from the Lambda deadline so a step can report its own failure. */
  deadlineMarginMs: number;
}

/**
 * Lambda's Node.js 20+ runtimes ship the Amazon CA bundle (which includes the
 * RDS CAs) here but no longer load it by default:
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html#nodejs-certificate-loading
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html
 */
export const LAMBDA_CA_BUNDLE = '/var/runtime/ca-cert.pem';

type Env = Record<string, string | undefined>;

export function readFunctionConfig(env: Env = process.env): FunctionConfig {
  const tlsMode = env.ROTOR_TLS_MODE ?? 'verify-full';
  if (!(TLS_MODES as readonly string[]).includes(tlsMode)) {
    throw configurationError(
      `ROTOR_TLS_MODE is "${tlsMode}", not one of ${TLS_MODES.join(', ')}`,
      'Set ROTOR_TLS_MODE on the rotation function to verify-full (recommended), require or disable.',
    );
  }
  let caFile = env.ROTOR_TLS_CA_FILE || undefined;
  if (caFile === undefined && env.AWS_LAMBDA_FUNCTION_NAME && existsSync(LAMBDA_CA_BUNDLE)) caFile = LAMBDA_CA_BUNDLE;
  if (caFile !== undefined && !existsSync(caFile)) {
    throw configurationError(
      `ROTOR_TLS_CA_FILE names ${caFile}, which does not exist`,
      'Point ROTOR_TLS_CA_FILE at a PEM bundle in the deployment package or layer, or unset it to use the default trust store.',
    );
  }
  const length = int(env, 'ROTOR_PASSWORD_LENGTH', 32, 8, 4096);
  const rdsResources: RdsArn[] = [];
  for (const raw of (env.ROTOR_RDS_RESOURCE_ARNS ?? '').split(',').map((a) => a.trim()).filter(Boolean)) {
    const arn = parseRdsArn(raw);
    if (!arn || !arn.region || !arn.account) {
      throw configurationError(
        'ROTOR_RDS_RESOURCE_ARNS holds an entry that is not a complete DB instance or cluster ARN (arn:aws:rds:REGION:ACCOUNT:db:ID or ...:cluster:ID)',
        'Fix ROTOR_RDS_RESOURCE_ARNS on the rotation function (the CDK app sets it from dbInstanceArn / dbClusterArn).',
      );
    }
    rdsResources.push(arn);
  }
  return {
    password: {
      length,
      excludeCharacters: env.ROTOR_EXCLUDE_CHARACTERS,
      excludeNumbers: bool(env, 'ROTOR_EXCLUDE_NUMBERS', false),
      excludePunctuation: bool(env, 'ROTOR_EXCLUDE_PUNCTUATION', false),
      excludeUppercase: bool(env, 'ROTOR_EXCLUDE_UPPERCASE', false),
      excludeLowercase: bool(env, 'ROTOR_EXCLUDE_LOWERCASE', false),
      requireEachIncludedType: bool(env, 'ROTOR_REQUIRE_EACH_INCLUDED_TYPE', true),
    },
    tlsMode: tlsMode as TlsMode,
    allowTargetChange: bool(env, 'ROTOR_ALLOW_TARGET_CHANGE', false),
    rdsResources,
    masterSecretArns: (env.ROTOR_MASTER_SECRET_ARNS ?? '').split(',').map((a) => a.trim()).filter((a) => a.startsWith('arn:')),
    region: env.AWS_REGION || undefined,
    caFile,
    connectTimeoutMs: int(env, 'ROTOR_CONNECT_TIMEOUT_MS', 5000, 100, 60000),
    statementTimeoutMs: int(env, 'ROTOR_STATEMENT_TIMEOUT_MS', 10000, 100, 600000),
    deadlineMarginMs: int(env, 'ROTOR_DEADLINE_MARGIN_MS', 1000, 0, 60000),
  };
}

function int(env: Env, name: string, dflt: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!/^[0-9]+$/.test(raw) || n < min || n > max) {
    throw configurationError(`${name} is "${raw}", not an integer from ${min} to ${max}`, `Fix ${name} in the rotation function's environment.`);
  }
  return n;
}

function bool(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  throw configurationError(`${name} is "${raw}", not true or false`, `Fix ${name} in the rotation function's environment.`);
}
