import { randomUUID } from 'node:crypto';
import type { LambdaInvoker } from '../lambda/invoker';
import { toInvocationError, type RotationEvent } from '../lambda/types';
import type { LifecycleLog, RotationLifecycleEvent } from './lifecycle-events';
import { AWSCURRENT, AWSPENDING, type SecretRecord, type VersionRecord } from './model';
import { nextRotationDateFor } from './schedule';
import type { SecretStore } from './store';

export interface RotationRetryOptions {
  /** Attempts of a whole rotation (first run included). */
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** A step invocation as the rotation driver makes it. */
export interface ObservedInvocation {
  phase: 'start' | 'end';
  secretArn: string;
  lambdaArn: string;
  step: RotationEvent['Step'];
  attempt: number;
  /** On `end`, the error type when the invocation failed. */
  errorType?: string;
}
export type InvocationObserver = (e: ObservedInvocation) => void;

const STEPS: RotationEvent['Step'][] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

interface ActiveRotation {
  secretArn: string;
  secretName: string;
  token: string;
  lambdaArn: string;
  mode: 'rotate' | 'test';
  attempt: number;
  cancelled: boolean;
  abandoned: boolean;
  stopped: boolean;
  done: boolean;
  wake?: () => void;
  promise?: Promise<void>;
}

/**
 * Runs rotations the way Secrets Manager does, after RotateSecret returned:
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotate-secrets_how.html
 * - invokes createSecret, setSecret, testSecret, finishSecret in order with
 *   {Step, SecretId: <ARN>, ClientRequestToken, RotationToken};
 * - a rotation succeeded only if AWSCURRENT is on the token's version afterwards;
 * - "If rotation fails, Secrets Manager retries the entire rotation process
 *   multiple times" (NextRotationDate in
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html#API_DescribeSecret_ResponseSyntax).
 *   AWS does not document how many times or how far apart; here it is
 *   `maxAttempts` with exponential backoff (configurable);
 * - a new version created by someone else mid-rotation abandons it: AWSPENDING
 *   is removed and RotationAbandoned recorded
 *   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/cloudtrail_log_entries.html);
 * - RotateImmediately=false runs only testSecret against a temporary
 *   AWSPENDING version, then removes the label
 *   (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html#SecretsManager-RotateSecret-request-RotateImmediately).
 */
export class RotationDriver {
  private readonly active = new Map<string, ActiveRotation>();
  /** Told of every step invocation (tests). */
  observer: InvocationObserver | undefined;

  constructor(
    private readonly store: SecretStore,
    private readonly invoker: LambdaInvoker,
    private readonly log: LifecycleLog,
    private readonly retry: RotationRetryOptions,
  ) {
    store.onVersionCreated((secret, version) => this.abandonIfForeign(secret, version));
  }

  /** A rotation of this secret is running (its terminal event not yet recorded). */
  isActive(secretArn: string): boolean {
    const rot = this.active.get(secretArn);
    return rot !== undefined && !rot.done;
  }

  activeToken(secretArn: string): string | undefined {
    return this.isActive(secretArn) ? this.active.get(secretArn)!.token : undefined;
  }

  start(secret: SecretRecord, token: string, lambdaArn: string, mode: 'rotate' | 'test'): void {
    const rot: ActiveRotation = {
      secretArn: secret.arn,
      secretName: secret.name,
      token,
      lambdaArn,
      mode,
      attempt: 0,
      cancelled: false,
      abandoned: false,
      stopped: false,
      done: false,
    };
    this.active.set(secret.arn, rot);
    // Asynchronous, as in AWS: RotateSecret has already answered.
    rot.promise = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => (mode === 'rotate' ? this.rotate(rot) : this.testRotation(rot)))
      .catch((e: unknown) => {
        // A bug in the driver must not leave a rotation without an end.
        if (!rot.done) this.finish(rot, { eventName: 'RotationFailed', errorType: 'InternalError', errorMessage: String(e) });
      })
      .finally(() => {
        rot.done = true;
        if (this.active.get(rot.secretArn) === rot) this.active.delete(rot.secretArn);
      });
  }

  /** CancelRotateSecret: no further steps or retries. */
  cancel(secretArn: string): void {
    const rot = this.active.get(secretArn);
    if (!rot) return;
    rot.cancelled = true;
    rot.wake?.();
  }

  /** Resolves when no rotation is running. */
  async idle(): Promise<void> {
    while (this.active.size > 0) {
      await Promise.all([...this.active.values()].map((r) => r.promise));
    }
  }

  /** Server shutdown: stop between steps, record nothing more. */
  async stopAll(graceMs: number): Promise<void> {
    for (const r of this.active.values()) {
      r.stopped = true;
      r.wake?.();
    }
    const all = Promise.all([...this.active.values()].map((r) => r.promise));
    await Promise.race([all, new Promise((resolve) => setTimeout(resolve, graceMs).unref())]);
  }

  private async rotate(rot: ActiveRotation): Promise<void> {
    for (let attempt = 1; attempt <= this.retry.maxAttempts; attempt++) {
      rot.attempt = attempt;
      this.record(rot, { eventName: 'RotationStarted' });
      const rotationToken = randomUUID();
      let failure: { step: string; errorType: string; errorMessage: string } | undefined;

      for (const step of STEPS) {
        const gone = this.interruption(rot);
        if (gone) {
          failure = { step, ...gone };
          break;
        }
        const seen = { secretArn: rot.secretArn, lambdaArn: rot.lambdaArn, step, attempt };
        this.observer?.({ ...seen, phase: 'start' });
        try {
          await this.invoker.invoke(rot.lambdaArn, {
            Step: step,
            SecretId: rot.secretArn,
            ClientRequestToken: rot.token,
            RotationToken: rotationToken,
          });
          this.observer?.({ ...seen, phase: 'end' });
        } catch (e) {
          const err = toInvocationError(e);
          this.observer?.({ ...seen, phase: 'end', errorType: err.errorType });
          failure = { step, errorType: err.errorType, errorMessage: err.errorMessage };
          break;
        }
      }
      if (rot.stopped || rot.abandoned) return;

      const secret = this.secret(rot);
      const tokenVersion = secret && this.store.version(secret, rot.token);
      if (!failure && secret && tokenVersion?.stages.includes(AWSCURRENT)) {
        const now = this.store.now();
        secret.lastRotatedDate = now;
        if (secret.rotationEnabled) secret.nextRotationDate = nextRotationDateFor(secret.rotationRules, now);
        this.store.changed();
        this.finish(rot, { eventName: 'RotationSucceeded' });
        return;
      }
      if (!failure) {
        failure = {
          step: 'finishSecret',
          errorType: 'RotationIncomplete',
          errorMessage: `finishSecret returned, but AWSCURRENT is not on version ${rot.token}; the rotation function must move AWSCURRENT to it.`,
        };
      }
      const final = attempt === this.retry.maxAttempts || rot.cancelled || !secret || secret.deletedDate !== undefined;
      this.record(rot, { eventName: 'RotationFailed', ...failure, ...(final ? { final: true } : {}) });
      if (final) return;
      await this.sleep(rot, Math.min(this.retry.maxBackoffMs, this.retry.initialBackoffMs * 2 ** (attempt - 1)));
      if (rot.stopped || rot.abandoned) return;
      if (rot.cancelled) {
        this.finish(rot, { eventName: 'RotationFailed', errorType: 'RotationCancelled', errorMessage: 'CancelRotateSecret was called; no more attempts.' });
        return;
      }
    }
  }

  private async testRotation(rot: ActiveRotation): Promise<void> {
    rot.attempt = 1;
    this.record(rot, { eventName: 'TestRotationStarted' });
    let outcome: Partial<RotationLifecycleEvent> = { eventName: 'TestRotationSucceeded' };
    const gone = this.interruption(rot);
    if (gone) {
      outcome = { eventName: 'TestRotationFailed', step: 'testSecret', ...gone };
    } else {
      try {
        await this.invoker.invoke(rot.lambdaArn, {
          Step: 'testSecret',
          SecretId: rot.secretArn,
          ClientRequestToken: rot.token,
          RotationToken: randomUUID(),
        });
      } catch (e) {
        const err = toInvocationError(e);
        outcome = { eventName: 'TestRotationFailed', step: 'testSecret', errorType: err.errorType, errorMessage: err.errorMessage };
      }
    }
    if (rot.stopped) return;
    // "This test creates an AWSPENDING version of the secret and then removes it."
    const secret = this.secret(rot);
    const version = secret && this.store.version(secret, rot.token);
    if (version && version.stages.includes(AWSPENDING) && !version.stages.includes(AWSCURRENT)) {
      this.store.detachStage(version, AWSPENDING);
      this.store.changed();
    }
    this.finish(rot, outcome);
  }

  /** Why the rotation cannot go on, or undefined. */
  private interruption(rot: ActiveRotation): { errorType: string; errorMessage: string } | undefined {
    if (rot.cancelled) return { errorType: 'RotationCancelled', errorMessage: 'CancelRotateSecret was called; the rotation stopped.' };
    const secret = this.secret(rot);
    if (!secret) return { errorType: 'ResourceNotFoundException', errorMessage: "Secrets Manager can't find the specified secret." };
    if (secret.deletedDate !== undefined) {
      return { errorType: 'InvalidRequestException', errorMessage: 'The secret was scheduled for deletion during the rotation.' };
    }
    return undefined;
  }

  private abandonIfForeign(secret: SecretRecord, version: VersionRecord): void {
    const rot = this.active.get(secret.arn);
    if (!rot || rot.mode !== 'rotate' || rot.done || rot.abandoned || version.versionId === rot.token) return;
    rot.abandoned = true;
    const pending = this.store.version(secret, rot.token);
    if (pending?.stages.includes(AWSPENDING)) this.store.detachStage(pending, AWSPENDING);
    this.store.changed();
    this.finish(rot, {
      eventName: 'RotationAbandoned',
      errorMessage: `A new version (${version.versionId}) was created during the rotation; AWSPENDING was removed from version ${rot.token}.`,
    });
    rot.wake?.();
  }

  private secret(rot: ActiveRotation): SecretRecord | undefined {
    return this.store.get(rot.secretArn);
  }

  private finish(rot: ActiveRotation, e: Partial<RotationLifecycleEvent>): void {
    rot.done = true;
    this.record(rot, { ...e, final: true });
  }

  private record(rot: ActiveRotation, e: Partial<RotationLifecycleEvent>): void {
    this.log.record({
      time: new Date(this.store.now()).toISOString(),
      eventName: e.eventName!,
      secretArn: rot.secretArn,
      secretName: rot.secretName,
      versionId: rot.token,
      attempt: Math.max(1, rot.attempt),
      ...(e.step ? { step: e.step } : {}),
      ...(e.errorType ? { errorType: e.errorType } : {}),
      ...(e.errorMessage ? { errorMessage: e.errorMessage } : {}),
      ...(e.final ? { final: true } : {}),
    });
  }

  private sleep(rot: ActiveRotation, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        rot.wake = undefined;
        resolve();
      }
      rot.wake = done;
    });
  }
}
