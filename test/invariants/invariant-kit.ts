import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { LocalSecretsManager } from '../../local';
import { LambdaInvoker } from '../../local/lambda/invoker';
import { InvocationError, type RotationEvent } from '../../local/lambda/types';
import type { ReliabilityBed } from '../reliability/support/reliability-kit';

/**
 * What the invariant tests run: the bundles `npm run build` writes, unless
 * ROTOR_TEST_ROTATION_BUNDLE / ROTOR_TEST_TRIGGER_BUNDLE name another build
 * (an absolute path). test/invariants/prove-invariant-tests.ts points them at
 * bundles with one planted bug each (test/invariants/mutant-bundle.ts) to
 * show that every test fails when the check it guards is gone.
 */
export const ROTATION_BUNDLE = process.env.ROTOR_TEST_ROTATION_BUNDLE ?? path.resolve(__dirname, '../../dist/rotation/index.js');
export const TRIGGER_BUNDLE = process.env.ROTOR_TEST_TRIGGER_BUNDLE ?? path.resolve(__dirname, '../../dist/trigger/index.js');

function requireBundle(p: string): string {
  if (!path.isAbsolute(p) || !existsSync(p)) throw new Error(`${p} is missing (run npm run build, or give an absolute path)`);
  return p;
}

/** Environment of every rotation bundle: the bed's (the test CA), quiet logs. */
function bundleEnv(bed: ReliabilityBed, env: Record<string, string> = {}): Record<string, string> {
  return { ...bed.baseEnv, POWERTOOLS_LOG_LEVEL: 'WARN', ...env };
}

/** The rotation bundle registered with the bed's endpoint, which invokes it in a child process as Secrets Manager invokes Lambda. */
export function registerRotationBundle(bed: ReliabilityBed, name: string, env: Record<string, string> = {}): string {
  const arn = bed.local.lambdaArn(name);
  bed.local.registerRotationFunction(arn, { kind: 'child-process', bundlePath: requireBundle(ROTATION_BUNDLE), env: bundleEnv(bed, env) });
  return arn;
}

export type StepResult = { ok: true } | { ok: false; errorType: string; errorMessage: string };

/**
 * The rotation bundle in a warm child process of its own, invoked by the
 * local endpoint's own invoker (local/lambda/invoker.ts) with any event:
 * steps out of order, or the same step again.
 */
export class BundleRunner {
  private readonly invoker: LambdaInvoker;
  private readonly arn: string;

  constructor(bed: ReliabilityBed, name: string, env: Record<string, string> = {}) {
    this.invoker = new LambdaInvoker({ region: bed.local.region, endpoint: () => bed.local.endpoint, defaultTimeoutMs: 30_000 });
    this.arn = bed.local.lambdaArn(name);
    this.invoker.register(this.arn, { kind: 'child-process', bundlePath: requireBundle(ROTATION_BUNDLE), env: bundleEnv(bed, env) });
  }

  async invoke(event: RotationEvent): Promise<StepResult> {
    try {
      await this.invoker.invoke(this.arn, event);
      return { ok: true };
    } catch (e) {
      if (e instanceof InvocationError) return { ok: false, errorType: e.errorType, errorMessage: e.errorMessage };
      throw e;
    }
  }

  stop(): void {
    this.invoker.kill(this.arn);
  }
}

/**
 * A function for the endpoint that runs each step on the bundle (a
 * BundleRunner) and lets the test act around it: `before` may change the
 * world between steps, as another principal or an operator could.
 * Failures reach the endpoint as the bundle's own errorType / errorMessage.
 */
export function registerAroundBundle(
  bed: ReliabilityBed,
  name: string,
  opts: { env?: Record<string, string>; before?: (event: RotationEvent) => Promise<void>; run?: (event: RotationEvent, runner: BundleRunner) => Promise<StepResult> } = {},
): { arn: string; runner: BundleRunner } {
  const runner = new BundleRunner(bed, `${name}-bundle`, opts.env);
  const arn = bed.local.lambdaArn(name);
  bed.local.registerRotationFunction(arn, {
    kind: 'in-process',
    handler: async (event) => {
      await opts.before?.(event);
      const r = opts.run ? await opts.run(event, runner) : await runner.invoke(event);
      if (!r.ok) throw new InvocationError(r.errorType, r.errorMessage);
    },
  });
  return { arn, runner };
}

/**
 * DESIGN invariant 7: "step: [category] what failed (code X). What to do."
 * Groups: step, category, what failed, action.
 */
export const CATEGORIZED = /^(createSecret|setSecret|testSecret|finishSecret): \[(network|tls|authentication|permission|configuration|conflict|timeout)\] (.+?)\. ([A-Z].+)$/s;

/** Every Secrets Manager request that reached the endpoint (operation and SecretId), from any process. */
export function recordCalls(local: LocalSecretsManager): { calls: Array<{ op: string; secretId?: string }>; stop(): void } {
  const calls: Array<{ op: string; secretId?: string }> = [];
  local.faults.setInterceptor((c) => {
    if (c.phase === 'before') calls.push({ op: c.op, secretId: typeof c.input.SecretId === 'string' ? c.input.SecretId : undefined });
  });
  return { calls, stop: () => local.faults.setInterceptor(undefined) };
}

/** Runs the trigger bundle as Lambda would: a plain Node process, `require()` and `handler(event, context)`. */
const TRIGGER_RUNNER = `
const { handler } = require(process.env.BUNDLE);
const event = JSON.parse(process.env.EVENT);
const context = { functionName: 'rotor-trigger', awsRequestId: 'r-1', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:rotor-trigger',
  memoryLimitInMB: '256', getRemainingTimeInMillis: () => 60000 };
handler(event, context).then(
  (r) => { process.stdout.write('\\nREPORT ' + JSON.stringify(r) + '\\n'); },
  (e) => { process.stdout.write('\\nERROR ' + e.name + ': ' + e.message + '\\n'); process.exitCode = 1; });
`;

/** Invokes the trigger bundle with `event` against the endpoint; returns the report it returned. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function runTriggerBundle(local: LocalSecretsManager, event: unknown, env: Record<string, string>): Promise<any> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', TRIGGER_RUNNER], {
    env: {
      PATH: process.env.PATH ?? '',
      BUNDLE: requireBundle(TRIGGER_BUNDLE), EVENT: JSON.stringify(event),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: local.endpoint, AWS_REGION: local.region,
      AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
      POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true',
      ...env,
    },
    timeout: 20_000,
  }).catch((e: { stdout?: string; message: string }) => ({ stdout: e.stdout ?? `\nERROR ${e.message}\n` }));
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT ') || l.startsWith('ERROR '));
  if (!line?.startsWith('REPORT ')) throw new Error(`the trigger bundle returned no report: ${line ?? '(no output)'}`);
  return JSON.parse(line.slice('REPORT '.length));
}
