import { existsSync } from 'node:fs';
import { configurationError } from './errors';
import { TLS_MODES, type TlsMode } from './database-secret';

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
  /** TLS mode when the secret has no `ssl` field. */
  tlsMode: TlsMode;
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
