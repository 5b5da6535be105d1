import { errorName } from '../core/secret-store';
import { isRetryable } from './retry';

/**
 * A report line for a failed Secrets Manager call: the operation, the AWS
 * error name and what to do. The service's own message is left out on
 * purpose (it is not ours to vouch for), except for InvalidRequestException,
 * whose message is the only place the reason is given.
 */
export function describeFailure(operation: string, e: unknown): { error: string; retryable: boolean } {
  const name = errorName(e) ?? 'Error';
  const retryable = isRetryable(e);
  if (retryable) {
    return { retryable, error: `[network] ${operation} failed (code ${name}) after retries. The invocation fails so EventBridge retries it; the same event rotates each secret at most once` };
  }
  switch (name) {
    case 'AccessDeniedException':
      return { retryable, error: `[permission] ${operation} was denied (code ${name}). Grant the trigger function's role secretsmanager:${operation} on the secret` };
    case 'InvalidRequestException': {
      const msg = (e as Error).message?.slice(0, 300) ?? '';
      return { retryable, error: `[conflict] ${operation} was refused (code ${name}): ${msg}. Check the secret's rotation configuration (rotor doctor)` };
    }
    default:
      return { retryable, error: `[configuration] ${operation} failed (code ${name}). Check the secret and the trigger function's configuration` };
  }
}
