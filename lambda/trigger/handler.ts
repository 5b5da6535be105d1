import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { configurationError, isRotationError, RotationError } from '../core/errors';
import { createLogger } from '../core/logger';
import { readTriggerConfig, type TriggerConfig } from './config';
import { InvalidTriggerEventError, parseTriggerEvent, scopeFromFunctionArn, type TriggerRequest, type TriggerScope } from './events';
import { emptyReport, type TriggerReport } from './report';
import { runTrigger } from './run-trigger';

export interface TriggerHandlerDeps {
  /**
   * Defaults to a client built from the environment (AWS_ENDPOINT_URL_SECRETS_MANAGER
   * is honoured by the SDK) with few SDK retries: the function's own token
   * bucket and backoff pace the calls.
   */
  secretsManager?: SecretsManagerClient;
  env?: Record<string, string | undefined>;
  logger?: Logger;
  /** EMF metrics (namespace Rotor); defaults to a Powertools Metrics instance writing to stdout. */
  metrics?: Metrics;
}

/** Stop starting backoff waits this long before the Lambda times out. */
const DEADLINE_MARGIN_MS = 5_000;

/** Thrown when secrets are left unrotated for reasons a retry can fix; EventBridge then retries the same event. */
export class TriggerIncompleteError extends Error {
  constructor(readonly report: TriggerReport) {
    const n = report.failed.filter((f) => f.retryable).length;
    super(`${n} secret(s) or lookups failed with throttling or network errors after retries; the invocation fails so the event is retried (each secret still rotates once per event)`);
    this.name = 'TriggerIncompleteError';
  }
}

/**
 * Builds the trigger Lambda handler. The configuration is read once per
 * container; a bad environment fails every invocation (the event then goes
 * to the function's retry / on-failure destination, to be redriven once the
 * configuration is fixed). A bad or unknown event does not fail the
 * invocation: retrying it cannot help, so the report carries the error.
 */
export function createTriggerHandler(deps: TriggerHandlerDeps = {}) {
  const logger = deps.logger ?? createLogger('rotor-trigger');
  const metrics = deps.metrics ?? new Metrics({ namespace: 'Rotor', serviceName: 'rotor-trigger' });
  const env = deps.env ?? process.env;
  let client = deps.secretsManager;
  let config: TriggerConfig | undefined;

  const base = async (rawEvent: unknown, context: Context): Promise<TriggerReport> => {
    const started = Date.now();
    try {
      config ??= readTriggerConfig(env);
    } catch (e) {
      logger.error('configuration error', { error: isRotationError(e) ? e.toLog() : { type: (e as Error)?.name } });
      throw e;
    }
    client ??= new SecretsManagerClient({ maxAttempts: 2 });
    let scope: TriggerScope;
    try {
      scope = ownScope(context, config);
    } catch (e) {
      logger.error('configuration error', { error: isRotationError(e) ? e.toLog() : { type: (e as Error)?.name } });
      throw e;
    }

    let request: TriggerRequest;
    try {
      request = parseTriggerEvent(rawEvent, { ...config, scope });
    } catch (e) {
      if (!(e instanceof InvalidTriggerEventError)) throw unexpected(e, logger);
      const source = typeof (rawEvent as { source?: unknown })?.source === 'string' ? String((rawEvent as { source: string }).source).slice(0, 64) : undefined;
      const report: TriggerReport = { ...emptyReport(), source, error: { category: e.category, message: e.message }, durationMs: Date.now() - started };
      logger.warn('event not usable', { report });
      publish(metrics, report);
      return report;
    }

    logger.appendKeys({ eventId: request.eventId, source: request.source });
    if (request.source === 'rotor' && config.requestBusName) logger.appendKeys({ requestBus: config.requestBusName });
    const remaining = () => (typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : 15 * 60_000);
    const deadline = Date.now() + remaining() - DEADLINE_MARGIN_MS;
    let report: TriggerReport;
    try {
      report = await runTrigger(request, { client, config, logger, scope, deadline: () => deadline });
    } catch (e) {
      throw unexpected(e, logger);
    }
    publish(metrics, report);
    const retryable = report.failed.some((f) => f.retryable);
    (report.failed.length > 0 ? logger.error : logger.info).call(logger, 'trigger finished', { report });
    if (retryable) throw new TriggerIncompleteError(report);
    return report;
  };

  return middy(base).use(injectLambdaContext(logger, { resetKeys: true }));
}

function publish(metrics: Metrics, report: TriggerReport): void {
  metrics.addDimension('Source', report.source ?? 'unknown');
  metrics.addMetric('TriggerSecretsRotated', MetricUnit.Count, report.rotated.length);
  metrics.addMetric('TriggerSecretsSkipped', MetricUnit.Count, report.skipped.length);
  metrics.addMetric('TriggerSecretsFailed', MetricUnit.Count, report.failed.length);
  metrics.addMetric('TriggerSecretsCapped', MetricUnit.Count, report.skipped.filter((k) => k.reason === 'cap').length);
  metrics.addMetric('TriggerFindingsSkipped', MetricUnit.Count, report.skippedFindings.length);
  metrics.publishStoredMetrics();
}

/**
 * The function's own account (from the ARN it was invoked by) and Region
 * (AWS_REGION, else that ARN's): findings about any other are not acted on.
 * Lambda always supplies both; without them no finding could be checked, so
 * the invocation fails as a configuration error.
 */
function ownScope(context: Context | undefined, config: TriggerConfig): TriggerScope {
  const fromArn = scopeFromFunctionArn(context?.invokedFunctionArn);
  if (!fromArn) {
    throw configurationError(
      'the invocation context carries no function ARN (context.invokedFunctionArn), so the function\'s own account is unknown',
      'Invoke the handler as Lambda does, with a context whose invokedFunctionArn is arn:aws:lambda:REGION:ACCOUNT:function:NAME',
    );
  }
  return { ...fromArn, region: config.region ?? fromArn.region };
}

/** For an unexpected error only its type and stack frames are logged: its message could quote data we do not control. */
function unexpected(e: unknown, logger: Logger): RotationError {
  const frames = e instanceof Error ? e.stack?.split('\n').slice(1, 6).join('\n') : undefined;
  logger.error('unexpected error', { errorType: (e as Error)?.name, frames });
  return new RotationError({
    category: 'configuration',
    message: 'unexpected internal error in the trigger function',
    action: 'This is a bug in rotor; report it with the log line above.',
    code: (e as Error)?.name,
  });
}
