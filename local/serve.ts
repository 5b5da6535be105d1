import { existsSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { LocalSecretsManager } from './local-secrets-manager';
import type { RotationLifecycleEvent } from './secrets-manager/lifecycle-events';

/** A rotation function bundle `rotor local` runs for RotateSecret, as Lambda would. */
export interface ServedRotationFunction {
  /** A CommonJS bundle exporting `handler`, e.g. dist/rotation/index.js from `npm run build` (relative to the working directory). */
  bundlePath: string;
  /** The function name in its ARN. @default 'rotor-rotation' */
  name?: string;
  /** The function's own environment variables (ROTOR_TLS_MODE, ROTOR_STRATEGY, ...), as set on the Lambda function. */
  env?: Record<string, string>;
  /** Timeout of one step. @default 30000 */
  timeoutMs?: number;
}

export interface ServeLocalOptions {
  port: number;
  host?: string;
  statePath?: string;
  region?: string;
  accountId?: string;
  rotationFunction?: ServedRotationFunction;
}

export const DEFAULT_FUNCTION_NAME = 'rotor-rotation';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * `rotor local`: serves the endpoint (and registers the rotation function, if
 * given) until SIGINT or SIGTERM, then closes cleanly (state file written,
 * child processes stopped). Resolves after shutdown. Throws before serving
 * when the bundle does not exist.
 */
export async function serveLocal(opts: ServeLocalOptions): Promise<void> {
  const fn = opts.rotationFunction;
  const bundlePath = fn ? path.resolve(fn.bundlePath) : undefined;
  if (bundlePath && !(existsSync(bundlePath) && statSync(bundlePath).isFile())) {
    throw new Error(`the rotation function bundle ${bundlePath} does not exist: run \`npm run build\` first (it writes dist/rotation/index.js).`);
  }
  const local = await LocalSecretsManager.start({
    port: opts.port,
    host: opts.host,
    statePath: opts.statePath,
    region: opts.region,
    accountId: opts.accountId,
    // What the function prints is what CloudWatch Logs would show.
    echoFunctionLogs: true,
  });
  const say = (line: string) => process.stdout.write(`${line}\n`);
  let functionArn: string | undefined;
  if (fn && bundlePath) {
    functionArn = local.lambdaArn(fn.name ?? DEFAULT_FUNCTION_NAME);
    // The SDK's notice about its future Node 22 requirement is noise here (bin/rotor.ts silences it too).
    const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...fn.env };
    local.registerRotationFunction(functionArn, { kind: 'child-process', bundlePath, env, timeoutMs: fn.timeoutMs });
  }

  say(`rotor local: Secrets Manager endpoint on ${local.endpoint} (region ${local.region}, account ${local.accountId})`);
  if (opts.host !== undefined && !LOOPBACK.has(opts.host)) {
    say(`  warning: listening on ${opts.host}, not only on this machine; requests are still served only for Host 127.0.0.1, localhost or [::1] (a port forward keeps that).`);
  }
  say(opts.statePath ? `  state file: ${opts.statePath}` : '  state: in memory only (use --state FILE to keep it)');
  if (functionArn && bundlePath) {
    const envNames = Object.keys(fn?.env ?? {});
    say(`  rotation function: ${functionArn}`);
    say(`    runs ${path.relative(process.cwd(), bundlePath) || bundlePath} in a child process${envNames.length ? ` with ${envNames.join(', ')}` : ''}; its output goes to stderr`);
  }
  say('  use it with:');
  say(`    export AWS_ENDPOINT_URL_SECRETS_MANAGER=${local.endpoint}`);
  say(`    aws secretsmanager list-secrets --endpoint-url ${local.endpoint} --region ${local.region}`);
  if (functionArn) {
    say(`    aws secretsmanager rotate-secret --secret-id <name> --rotation-lambda-arn ${functionArn} --rotation-rules AutomaticallyAfterDays=30`);
  }
  say('  any credentials work, but requests must be SigV4-signed (the AWS CLI and SDKs do that); browsers are refused.');
  say(`  control routes: ${local.endpoint}/_rotor/health, /_rotor/events, /_rotor/faults`);
  say('  Ctrl-C to stop.');

  // Rotations run after RotateSecret has answered: say how each one goes.
  let seen = 0;
  let last: string | undefined;
  const report = () => {
    const events = local.events();
    let from = Math.min(seen, events.length);
    if (last !== undefined && from > 0 && JSON.stringify(events[from - 1]) !== last) {
      // The log keeps the latest 10,000 events and dropped older ones: find where printing stopped.
      let i = events.length - 1;
      while (i >= 0 && JSON.stringify(events[i]) !== last) i--;
      from = i + 1;
    }
    for (const e of events.slice(from)) say(describeEvent(e));
    seen = events.length;
    if (events.length > 0) last = JSON.stringify(events[events.length - 1]);
  };
  const ticker = setInterval(report, 250);
  ticker.unref();

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      say(`rotor local: ${signal}, shutting down...`);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  clearInterval(ticker);
  report();
  await local.stop();
  say('rotor local: stopped.');
}

/** One line per lifecycle event; errors are the function's own messages, which never hold a password. */
function describeEvent(e: RotationLifecycleEvent): string {
  const what = `rotation of ${e.secretName} (version ${e.versionId}, attempt ${e.attempt})`;
  const error = e.errorType ? `: ${e.step ? `${e.step}: ` : ''}${e.errorType}${e.errorMessage ? `: ${e.errorMessage}` : ''}` : '';
  return `rotor local: ${what}: ${e.eventName}${error}${e.final && e.eventName.endsWith('Failed') ? ' (no more attempts)' : ''}`;
}
