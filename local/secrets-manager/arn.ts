import { randomInt } from 'node:crypto';

const SUFFIX_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * `arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 random chars>`.
 * The suffix makes a re-created secret a different resource:
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html#API_CreateSecret_ResponseSyntax
 */
export function newSecretArn(region: string, accountId: string, name: string): string {
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += SUFFIX_CHARS[randomInt(SUFFIX_CHARS.length)];
  return `${secretArnPrefix(region, accountId)}${name}-${suffix}`;
}

export function secretArnPrefix(region: string, accountId: string): string {
  return `arn:aws:secretsmanager:${region}:${accountId}:secret:`;
}

export function lambdaFunctionArn(region: string, accountId: string, name: string): string {
  return `arn:aws:lambda:${region}:${accountId}:function:${name}`;
}

/** The function name of a Lambda ARN (or the input itself when it is not an ARN). */
export function lambdaFunctionName(arn: string): string {
  const m = /^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)/.exec(arn);
  return m ? m[1] : arn;
}

export function isSecretArn(id: string): boolean {
  return id.startsWith('arn:');
}
