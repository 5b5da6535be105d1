import type { Logger } from '@aws-lambda-powertools/logger';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { TriggerConfig } from './config';
import type { TriggerRequest, TriggerScope } from './events';
import { mapWithConcurrency, TokenBucket } from './rate-limiter';
import { errorName } from '../core/secret-store';
import { isThrottling, withBackoff } from './retry';
import { emptyReport, type SkippedSecret, type TriggerReport } from './report';
import { rotateOne, staticSkip } from './rotate';
import { SecretResolver, type CandidateSecret } from './secret-resolver';

export interface RunDeps {
  client: SecretsManagerClient;
  config: TriggerConfig;
  logger: Logger;
  /** Epoch ms after which no new backoff wait starts (the Lambda's deadline less a margin). */
  deadline: () => number;
  /** The function's account and Region. */
  scope: TriggerScope;
  /** @default Date.now */
  now?: () => number;
}

/**
 * Resolves the request's secrets and starts their rotations: bounded
 * concurrency, rate-limited, with backoff. Alerts and rotation requests
 * (everything but schedules) are limited: at most
 * ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT secrets per event, each re-read with
 * DescribeSecret and skipped while in its cool-down.
 */
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

  const report: TriggerReport = {
    ...emptyReport(), eventId: request.eventId, source: request.source, reason: request.reason,
    notes: [...request.notes], skippedFindings: [...request.skippedFindings],
  };
  const resolver = new SecretResolver({ client, deploymentId: config.deploymentId, concurrency: config.concurrency, scope: deps.scope, call });
  const resolution = await resolver.resolve(request.targets);
  report.skipped.push(...resolution.skipped);
  report.failed.push(...resolution.failed);
  report.notes.push(...resolution.notes);

  let candidates = resolution.candidates;
  const limited = request.source !== 'schedule';
  if (limited) {
    const { eligible, skipped } = capped(candidates, config.deploymentId, config.maxSecretsPerEvent);
    report.skipped.push(...skipped);
    const over = skipped.filter((k) => k.reason === 'cap').length;
    if (over > 0) {
      report.notes.push(`the event resolves to ${eligible.length + over} rotatable secrets; the first ${eligible.length} by ARN are handled and ${over} are skipped "cap" (ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT=${config.maxSecretsPerEvent})`);
    }
    const fresh = await resolver.refresh(eligible);
    report.skipped.push(...fresh.skipped);
    report.failed.push(...fresh.failed);
    candidates = fresh.candidates;
  }

  const limiter = new TokenBucket(config.maxTps, Math.max(1, Math.min(config.concurrency, Math.floor(config.maxTps))));
  const rotator = {
    client, deploymentId: config.deploymentId, limiter, call,
    cooldownMs: limited ? config.cooldownMinutes * 60_000 : 0,
    now: deps.now ?? Date.now,
  };
  const outcomes = await mapWithConcurrency(candidates, config.concurrency, (secret) => rotateOne(secret, request.eventId, rotator));
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

/**
 * The per-event cap: secrets that fail the static checks are skipped here
 * (they do not count), the rest are ordered by ARN, so that a redelivery of
 * the same event picks the same ones, and those past `max` are skipped "cap".
 */
export function capped(candidates: CandidateSecret[], deploymentId: string, max: number): { eligible: CandidateSecret[]; skipped: SkippedSecret[] } {
  const skipped: SkippedSecret[] = [];
  const rotatable: CandidateSecret[] = [];
  for (const c of candidates) {
    const s = staticSkip(c, deploymentId);
    if (s) skipped.push(s);
    else rotatable.push(c);
  }
  rotatable.sort((a, b) => (a.arn < b.arn ? -1 : a.arn > b.arn ? 1 : 0));
  for (const c of rotatable.slice(max)) {
    skipped.push({ secretArn: c.arn, reason: 'cap', detail: `past the first ${max} secrets of this event (ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT)` });
  }
  return { eligible: rotatable.slice(0, max), skipped };
}
