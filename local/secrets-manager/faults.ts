import { namedServiceError, ThrottlingException } from './errors';

/** A fault to inject into matching requests. */
export interface FaultSpec {
  /** Operation name (e.g. `GetSecretValue`), or `*` for every operation. */
  op: string;
  /** AWS error name to answer with, e.g. `InternalServiceError`, `ThrottlingException`. Omit for a delay only. */
  error?: string;
  message?: string;
  /** How many requests it applies to; unlimited when omitted. */
  times?: number;
  /** Chance (0-1) that a matching request is affected; 1 when omitted. */
  probability?: number;
  /** Delay before answering (or before failing), in milliseconds. */
  delayMs?: number;
}

/** One Secrets Manager request as an interceptor sees it. */
export interface InterceptedCall {
  /** Operation name, e.g. `PutSecretValue`. */
  op: string;
  /** `before`: the request is parsed but not applied; `after`: applied, the answer not yet sent. */
  phase: 'before' | 'after';
  /** The parsed request (SecretId, VersionStage, ...). */
  input: Record<string, unknown>;
  /** Lower-cased request headers (the SDK's `amz-sdk-invocation-id` is the same on its retries of one call). */
  headers: Record<string, string | string[] | undefined>;
}

/**
 * Called before and after every operation is applied. It may wait, or throw
 * a ServiceError to answer with it (after `after`, the change stays made: the
 * caller sees a failure of a call that took effect, as after a lost answer).
 * For crash-point tests.
 */
export type CallInterceptor = (call: InterceptedCall) => Promise<void> | void;

interface Bucket {
  tps: number;
  tokens: number;
  last: number;
}

/**
 * Rate limits (a token bucket per operation, off by default) and injected
 * faults. Throttling answers ThrottlingException, as AWS does when a TPS
 * quota is exceeded: https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html
 */
export class FaultInjector {
  private readonly buckets = new Map<string, Bucket>();
  private faults: (FaultSpec & { remaining?: number })[] = [];
  private interceptor: CallInterceptor | undefined;

  /** Installs (or, with undefined, removes) the interceptor of every operation. */
  setInterceptor(fn: CallInterceptor | undefined): void {
    this.interceptor = fn;
  }

  /** Runs the interceptor, if any, for one phase of a request. */
  async intercept(call: InterceptedCall): Promise<void> {
    if (this.interceptor) await this.interceptor(call);
  }

  /** Limits an operation (or `*`) to `tps` requests per second; `undefined` removes the limit. */
  setRateLimit(op: string, tps: number | undefined): void {
    if (tps === undefined) {
      this.buckets.delete(op);
      return;
    }
    if (typeof tps !== 'number' || !(tps > 0) || !Number.isFinite(tps)) throw new Error(`tps must be a positive number, got ${String(tps)}`);
    this.buckets.set(op, { tps, tokens: Math.max(1, tps), last: Date.now() });
  }

  inject(f: FaultSpec): void {
    if (!f || typeof f.op !== 'string' || f.op.length === 0) throw new Error('a fault needs an op (an operation name or "*")');
    if (f.error !== undefined && (typeof f.error !== 'string' || !/^[A-Za-z]+$/.test(f.error))) throw new Error('error must be an AWS error name');
    if (f.times !== undefined && !(Number.isInteger(f.times) && f.times > 0)) throw new Error('times must be a positive integer');
    if (f.probability !== undefined && !(typeof f.probability === 'number' && f.probability >= 0 && f.probability <= 1)) {
      throw new Error('probability must be between 0 and 1');
    }
    if (f.delayMs !== undefined && !(typeof f.delayMs === 'number' && f.delayMs >= 0 && f.delayMs <= 600_000)) {
      throw new Error('delayMs must be between 0 and 600000');
    }
    if (f.error === undefined && f.delayMs === undefined) throw new Error('a fault needs an error, a delayMs, or both');
    this.faults.push({ ...f, remaining: f.times });
  }

  /** Removes every fault and rate limit. */
  clear(): void {
    this.faults = [];
    this.buckets.clear();
    this.interceptor = undefined;
  }

  describe(): { rateLimits: Record<string, number>; faults: FaultSpec[] } {
    return {
      rateLimits: Object.fromEntries([...this.buckets].map(([op, b]) => [op, b.tps])),
      faults: this.faults.map(({ remaining, ...f }) => ({ ...f, ...(remaining !== undefined ? { times: remaining } : {}) })),
    };
  }

  /** Applies rate limits and faults for one request: may wait, may throw a ServiceError. */
  async apply(op: string): Promise<void> {
    for (const key of [op, '*']) {
      const b = this.buckets.get(key);
      if (!b) continue;
      const now = Date.now();
      b.tokens = Math.min(Math.max(1, b.tps), b.tokens + ((now - b.last) / 1000) * b.tps);
      b.last = now;
      if (b.tokens < 1) throw new ThrottlingException('Rate exceeded');
      b.tokens -= 1;
    }
    for (const f of [...this.faults]) {
      if (f.op !== op && f.op !== '*') continue;
      if (f.probability !== undefined && Math.random() >= f.probability) continue;
      if (f.remaining !== undefined) {
        f.remaining--;
        if (f.remaining <= 0) this.faults = this.faults.filter((x) => x !== f);
      }
      if (f.delayMs) await new Promise((resolve) => setTimeout(resolve, f.delayMs));
      if (f.error) throw namedServiceError(f.error, f.message);
    }
  }
}
