import { errorName } from '../core/secret-store';
import { delay } from './rate-limiter';

/** Errors a later attempt can get past: throttling, server faults, the network. */
export function isRetryable(e: unknown): boolean {
  const name = errorName(e) ?? '';
  if (/Throttl|TooManyRequests|RequestLimitExceeded|SlowDown/.test(name)) return true;
  if (['InternalServiceError', 'InternalFailure', 'ServiceUnavailable', 'TimeoutError', 'RequestTimeout', 'RequestTimeoutException'].includes(name)) return true;
  if (['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED'].includes(name)) return true;
  const status = (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 500;
}

export function isThrottling(e: unknown): boolean {
  return /Throttl|TooManyRequests|RequestLimitExceeded/.test(errorName(e) ?? '');
}

export interface RetryPolicy {
  maxAttempts: number;
  /** First backoff ceiling; doubles per attempt ("full jitter": a random wait up to the ceiling). */
  baseMs: number;
  capMs: number;
  /** Called before each wait: a limiter token is taken again by `fn` itself. */
  onRetry?: (e: unknown, attempt: number, waitMs: number) => void;
  /** Stop retrying when waiting would run past this (the Lambda's remaining time). */
  deadline?: () => number;
}

/**
 * Calls `fn` until it succeeds, fails with a non-retryable error, or runs out
 * of attempts (or time): exponential backoff with full jitter
 * (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/).
 * The SDK client's own retries are kept low so that this, together with the
 * token bucket, is what paces the calls.
 */
export async function withBackoff<T>(fn: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isRetryable(e) || attempt >= policy.maxAttempts) throw e;
      const wait = Math.round(Math.random() * Math.min(policy.capMs, policy.baseMs * 2 ** (attempt - 1)));
      if (policy.deadline && Date.now() + wait > policy.deadline()) throw e;
      policy.onRetry?.(e, attempt, wait);
      await delay(wait);
    }
  }
}
