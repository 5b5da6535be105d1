import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { Logger } from '@aws-lambda-powertools/logger';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RDSClient } from '@aws-sdk/client-rds';
import type { RdsDirectory } from '../core/rds-directory';
import type { Context } from 'aws-lambda';
import { RotationError, deadlineError, isRotationError } from '../core/errors';
import { readFunctionConfig, type FunctionConfig } from '../core/function-config';
import { createLogger } from '../core/logger';
import { AWSCURRENT, SecretStore } from '../core/secret-store';
import { VersionCache } from './version-cache';
import { parseRotationEvent, type RotationEvent } from './event';
import { RotationContext, closeUntakenLogins, startEarlyLogins } from './rotation-context';
import { checkContract, runStep } from './steps';
import { ROTATED_TARGET_TAG } from './rotated-target';
import { strategyNamed } from './strategies';
import type { RotationStrategy } from './strategies/strategy';

export interface RotationHandlerDeps {
  /** Defaults to a client built from the environment (AWS_ENDPOINT_URL_SECRETS_MANAGER is honoured by the SDK). */
  secretsManager?: SecretsManagerClient;
  /** Defaults to a client built from the environment (AWS_ENDPOINT_URL_RDS is honoured by the SDK). */
  rds?: RDSClient;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** EMF metrics (namespace Rotor): RotationStepSucceeded / RotationStepFailed / RotationStepDurationMs by Step and Engine. */
  metrics?: Metrics;
}

/**
 * Builds the Lambda handler. Configuration is read once (a bad environment
 * fails every invocation with a configuration error, never silently).
 */
export function createRotationHandler(deps: RotationHandlerDeps = {}) {
  const logger = deps.logger ?? createLogger('rotor-rotation');
  const env = deps.env ?? process.env;
  const metrics = deps.metrics ?? new Metrics({ namespace: 'Rotor', serviceName: 'rotor-rotation' });
  let client = deps.secretsManager;
  let rds: RdsDirectory | undefined;
  // Loaded on first use: most rotations never call RDS, and its client is large.
  const rdsDirectory = () => {
    if (!rds) {
      const { RdsDirectory } = require('../core/rds-directory') as typeof import('../core/rds-directory');
      const { RDSClient } = require('@aws-sdk/client-rds') as typeof import('@aws-sdk/client-rds');
      rds = new RdsDirectory(deps.rds ?? new RDSClient({ maxAttempts: 5 }));
    }
    return rds;
  };
  let setup: { config: FunctionConfig; strategy: RotationStrategy } | undefined;
  const versions = new VersionCache();

  /** One step: the reads, the contract checks, the step. `onContext` hands the context to the caller's metrics. */
  const runOneStep = async (
    event: RotationEvent, store: SecretStore, run: { config: FunctionConfig; strategy: RotationStrategy },
    remaining: () => number, onContext: (c: RotationContext) => void, stopped: () => boolean,
  ) => {
    // Every step reads AWSCURRENT and the token's AWSPENDING value (finishSecret re-validates
    // before promoting): read them concurrently with DescribeSecret, one round trip for all
    // three, or none where the container's cache already holds them.
    const prefetched = versions.prefetch(store, event.token);
    if (run.strategy.name === 'alternating-users' && (event.step === 'createSecret' || event.step === 'setSecret')) {
      // The master's AWSCURRENT is read in the same round trip when the cached current value names
      // it, or (a container's first rotation) when the deployment granted exactly one master
      // secret: RotationContext.currentOf uses the read only for the ARN `masterarn` names.
      const granted = run.config.masterSecretArns.length === 1 ? run.config.masterSecretArns[0] : undefined;
      const masterarn = prefetched.speculativeCurrent ? masterArnOf(prefetched.speculativeCurrent.secretString) : granted;
      if (masterarn) {
        const value = store.withSecretId(masterarn).get(AWSCURRENT);
        value.catch(() => undefined);
        prefetched.master = { secretId: masterarn, value };
      }
    }
    if (event.step === 'finishSecret') {
      // The first rotation of a secret records its target (rotated-target.ts) before AWSCURRENT
      // moves. When testSecret proved that target in this container, the tag is written in the
      // round trip of DescribeSecret; finishSecret still promotes only once the write succeeded.
      const fingerprint = versions.takeTargetToRecord(store.secretId, event.token);
      if (fingerprint) {
        const written = store.tag(ROTATED_TARGET_TAG, fingerprint);
        written.catch(() => undefined);
        prefetched.targetRecord = { fingerprint, written };
      }
    }
    // setSecret / testSecret after this container's previous step of the token: the step's first
    // login (with a value that step read and checked) starts now, in the round trip of
    // DescribeSecret. The step takes the session only if DescribeSecret and its checks agree.
    prefetched.logins = startEarlyLogins(versions.takeNextLogin(store.secretId, event.token, event.step), run.config, remaining());
    try {
      const metadata = await store.describe();
      const count = (name: string) => metrics.addMetric(name, MetricUnit.Count, 1);
      const ctx = new RotationContext(event, store, run.config, logger, metadata, remaining, rdsDirectory, prefetched, count, versions, stopped);
      onContext(ctx);
      logger.debug('step started', { strategy: run.strategy.name, earlyLogins: prefetched.logins.length });
      if (checkContract(ctx) === 'nothing-to-do') return 'nothing-to-do';
      const outcome = await runStep(event.step, ctx, run.strategy);
      if (outcome === 'done') await rememberNextLogins(event, store, run.strategy, ctx);
      return outcome;
    } finally {
      // No write outlives the invocation (a refused step may not have waited for it), and no
      // session: an early login the step did not take is closed.
      await Promise.all([prefetched.targetRecord?.written.catch(() => undefined), closeUntakenLogins(prefetched.logins)]);
    }
  };

  /** After a step did its work: what the next step logs in with first, as this step checked it (VersionCache.setNextLogin). */
  const rememberNextLogins = async (event: RotationEvent, store: SecretStore, strategy: RotationStrategy, ctx: RotationContext) => {
    try {
      const credentials = event.step === 'createSecret' ? await strategy.setSecretLogins?.(ctx)
        : event.step === 'setSecret' ? [{ secret: await ctx.pending() }]
          : undefined;
      if (credentials?.length) versions.setNextLogin(store.secretId, event.token, { step: event.step === 'createSecret' ? 'setSecret' : 'testSecret', credentials });
    } catch {
      // Only a speed-up: the next step logs in after its DescribeSecret.
    }
  };

  const base = async (rawEvent: unknown, context: Context): Promise<void> => {
    const started = Date.now();
    let event: RotationEvent | undefined;
    let ctx: RotationContext | undefined;
    const record = (ok: boolean) => {
      metrics.addDimensions({ Step: event?.step ?? 'invalid', Engine: ctx?.engineName ?? 'unknown' });
      metrics.addMetric(ok ? 'RotationStepSucceeded' : 'RotationStepFailed', MetricUnit.Count, 1);
      metrics.addMetric('RotationStepDurationMs', MetricUnit.Milliseconds, Date.now() - started);
    };
    try {
      event = parseRotationEvent(rawEvent);
      logger.appendKeys({ secretArn: event.secretId, step: event.step, token: event.token });
      setup ??= { config: readFunctionConfig(env), strategy: strategyNamed(env.ROTOR_STRATEGY) };
      client ??= new SecretsManagerClient({ maxAttempts: 5 });
      const store = new SecretStore(client, event.secretId);
      const remaining = () => (typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 60_000);
      // Once the deadline error is reported the step may still be waiting on an answer; when it
      // comes, the step changes nothing more (RotationContext refuses writes and logins).
      const deadline = { passed: false };
      const outcome = await beforeDeadline(runOneStep(event, store, setup, remaining, (c) => (ctx = c), () => deadline.passed), remaining(), deadline);
      logger.info('step finished', { outcome, durationMs: Date.now() - started });
      record(true);
    } catch (e) {
      const err = isRotationError(e)
        ? event ? e.inStep(event.step) : e
        : new RotationError({
            category: 'configuration',
            message: 'unexpected internal error',
            action: 'This is a bug in rotor; report it with the log line above.',
            code: (e as Error)?.name,
            step: event?.step,
          });
      // For an unexpected error only its type and stack frames are logged: its
      // message could quote data we do not control.
      const frames = !isRotationError(e) && e instanceof Error ? e.stack?.split('\n').slice(1, 6).join('\n') : undefined;
      logger.error('step failed', { error: err.toLog(), frames, durationMs: Date.now() - started });
      record(false);
      throw err;
    }
  };

  // middy's own early timeout is off: it would throw an uncategorized AbortError. The step's
  // deadline (beforeDeadline) ends it with a categorized error instead, in time to log it.
  return middy(base, { timeoutEarlyInMillis: 0 }).use(injectLambdaContext(logger, { resetKeys: true })).use(logMetrics(metrics));
}

/** Time kept to log, count and throw the deadline error before Lambda stops the invocation. */
const REPORT_MS = 100;

/**
 * The step's result, or a categorized timeout error when the step would run
 * into the Lambda deadline. Logins and statements are already bounded by the
 * remaining time; this also covers waits nothing else bounds (a slow
 * Secrets Manager or RDS answer, a connect the driver does not time out).
 * When it passes, `state.passed` is set: the step, still waiting on an answer, then changes
 * nothing more when that answer comes (RotationContext refuses its writes and logins).
 */
async function beforeDeadline<T>(work: Promise<T>, remainingMs: number, state: { passed: boolean }): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      state.passed = true;
      reject(deadlineError('the step did not finish'));
    }, Math.max(0, remainingMs - REPORT_MS));
  });
  work.catch(() => undefined);
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** `masterarn` of a cached secret value, if it has one (a hint only: the value is parsed and checked where it is used). */
function masterArnOf(secretString: string | undefined): string | undefined {
  try {
    const m = (JSON.parse(secretString ?? 'null') as { masterarn?: unknown } | null)?.masterarn;
    return typeof m === 'string' && m.length > 0 ? m : undefined;
  } catch {
    return undefined;
  }
}
