import type { Logger } from '@aws-lambda-powertools/logger';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { TriggerConfig } from './config';
import type { TriggerRequest } from './events';
import { mapWithConcurrency, TokenBucket } from './rate-limiter';
import { errorName } from '../core/secret-store';
import { isThrottling, withBackoff } from './retry';
import { emptyReport, type TriggerReport } from './report';
import { rotateOne } from './rotate';
import { SecretResolver } from './secret-resolver';

export interface RunDeps {
  client: SecretsManagerClient;
  config: TriggerConfig;
  logger: Logger;
  /** Epoch ms after which no new backoff wait starts (the Lambda's deadline less a margin). */
  deadline: () => number;
}

/** Resolves the request's secrets and starts their rotations: bounded concurrency, rate-limited, with backoff. */
export async function runTrigger(request: TriggerRequest, deps: RunDeps): Promise<TriggerReport> {
  const started = Date.now();
  const { client, config, logger } = deps;
  let throttled = 0;
  const call = <T>(fn: () => Promise<T>) =>
    withBackoff(fn, {
      maxAttempts: config.maxAttempts,
      baseMs: 250,
      capMs: 8_000,
      deadline: deps.deadline,
      onRetry: (e, attempt, waitMs) => {
        if (isThrottling(e)) throttled++;
        logger.debug('retrying a Secrets Manager call', { errorType: errorName(e), attempt, waitMs });
      },
    });

  const report: TriggerReport = { ...emptyReport(), eventId: request.eventId, source: request.source, reason: request.reason, notes: [...request.notes] };
  const resolution = await new SecretResolver({ client, deploymentId: config.deploymentId, concurrency: config.concurrency, call }).resolve(request.targets);
  report.skipped.push(...resolution.skipped);
  report.failed.push(...resolution.failed);
  report.notes.push(...resolution.notes);

  const limiter = new TokenBucket(config.maxTps, Math.max(1, Math.min(config.concurrency, Math.floor(config.maxTps))));
  const outcomes = await mapWithConcurrency(resolution.candidates, config.concurrency, (secret) =>
    rotateOne(secret, request.eventId, { client, deploymentId: config.deploymentId, limiter, call }),
  );
  for (const o of outcomes) {
    if ('rotated' in o) report.rotated.push(o.rotated);
    else if ('skipped' in o) report.skipped.push(o.skipped);
    else report.failed.push(o.failed);
  }
  report.requested = report.rotated.length + report.skipped.length + report.failed.length;
  report.durationMs = Date.now() - started;
  if (throttled > 0) logger.info('Secrets Manager throttled some calls; they were retried', { throttledCalls: throttled });
  return report;
}
