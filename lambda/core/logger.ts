import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One Powertools logger per function. Lines carry the secret ARN, step and
 * token as persistent keys (set per invocation by the handler); nothing that
 * holds a secret value is ever passed to it.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}
