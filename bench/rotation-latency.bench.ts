import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig, type InterceptedCall } from '../local';
import { startDemoServer, type DemoServer } from '../local/demo-servers';
import { median, percentile, round, timed } from './stats';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/rotation/index.js');
/** Optional second bundle (e.g. built from an older commit) measured the same way, reported as `before`. */
const BEFORE_BUNDLE = process.env.ROTOR_BENCH_BEFORE_BUNDLE;
const ROUNDS = Number(process.env.ROTOR_BENCH_ROUNDS ?? 15);
/** Added to every Secrets Manager call by the local endpoint (an AWS Region costs roughly 10-30 ms a call). */
const DELAY_MS = 15;
/** The contract's minimum sequential round trips per step (docs/architecture.md). */
const TARGET_ROUND_TRIPS = { createSecret: 2, setSecret: 1, testSecret: 1, finishSecret: 2 } as const;
const STEPS = Object.keys(TARGET_ROUND_TRIPS) as (keyof typeof TARGET_ROUND_TRIPS)[];
const pw = () => randomBytes(16).toString('hex');

type Step = (typeof STEPS)[number];
type Strategy = 'single-user' | 'alternating-users';

/**
 * Rotation at real-world latency: every Secrets Manager call answered by the
 * local endpoint after an injected 15 ms delay (its `*` delay fault), and the
 * sequential round trips of each step counted from the endpoint's call log.
 *
 * A call's interval runs from its arrival (the fault's delay is applied first,
 * so arrival = the interceptor's `before` minus the delay) to the interceptor's
 * `after` (applied, answer about to be sent). Calls of one step whose
 * intervals overlap were in flight together and count as one round trip.
 * Steps are told apart by the rotation driver's invocation observer.
 *
 * Figures per engine x strategy: the first rotation (a cold function process)
 * and the median of the warm ones; the target is 6 round trips and a rotation
 * within 1.2x of (6 x 15 ms + the SQL floor), the floor being one login, the
 * password change and one login with the new password. "rotation ms" runs
 * from the driver invoking createSecret to finishSecret returning (the four
 * invocations, as Secrets Manager runs them); the caller's RotateSecret to
 * RotationSucceeded is given beside it.
 */
export async function run(): Promise<Record<string, unknown>> {
  const local = await LocalSecretsManager.start({ port: 0 });
  local.faults.inject({ op: '*', delayMs: DELAY_MS });
  const log = new CallLog(local);
  const bundles: [string, string][] = [['after', BUNDLE]];
  if (BEFORE_BUNDLE) {
    if (!existsSync(BEFORE_BUNDLE)) throw new Error(`ROTOR_BENCH_BEFORE_BUNDLE: no such file ${BEFORE_BUNDLE}`);
    bundles.push(['before', BEFORE_BUNDLE]);
  }
  const figures: Record<string, unknown> = {
    rounds: ROUNDS,
    delayPerCallMs: DELAY_MS,
    targetRoundTripsPerStep: TARGET_ROUND_TRIPS,
    targetRatioToRoundTripFloor: 1.2,
    // What `before` is: ROTOR_BENCH_BEFORE_LABEL, e.g. the commit the bundle was built from.
    ...(BEFORE_BUNDLE ? { before: process.env.ROTOR_BENCH_BEFORE_LABEL ?? BEFORE_BUNDLE } : {}),
  };
  try {
    for (const engine of ['postgres', 'mariadb'] as const) {
      const db = await startDemoServer(engine);
      try {
        for (const strategy of ['single-user', 'alternating-users'] as const) {
          const byBundle: Record<string, unknown> = {};
          for (const [label, bundle] of bundles) byBundle[label] = await measure(local, log, db, strategy, bundle, label);
          figures[`${db.engine}.${strategy}`] = bundles.length === 1 ? byBundle.after : byBundle;
        }
      } finally {
        await db.stop();
      }
    }
  } finally {
    log.stop();
    await local.stop();
  }
  // Shared machines: the load while measuring, to read the milliseconds with.
  figures.loadAverage1m = round(os.loadavg()[0], 1);
  return figures;
}

interface Call {
  op: string;
  start: number;
  end?: number;
}

/** The endpoint's calls, attributed to the step being invoked when they arrived. */
class CallLog {
  private readonly open = new Map<Record<string, unknown>, Call>();
  private current: { lambdaArn: string; step: Step; calls: Call[] } | undefined;
  /** Calls per step of the rotation being recorded. */
  steps: Partial<Record<Step, Call[]>> = {};
  /** When the driver invoked createSecret and when finishSecret returned, for the rotation being recorded. */
  span: { start?: number; end?: number } = {};

  constructor(private readonly local: LocalSecretsManager) {
    local.faults.setInterceptor((call: InterceptedCall) => {
      const now = performance.now();
      if (call.phase === 'before') {
        const c: Call = { op: call.op, start: now - DELAY_MS };
        // The same parsed input object is passed to both phases of one request.
        this.open.set(call.input, c);
        this.current?.calls.push(c);
      } else {
        const c = this.open.get(call.input);
        this.open.delete(call.input);
        if (c) c.end = now;
      }
    });
    local.observeInvocations((e) => {
      if (e.phase === 'start' && e.step === 'createSecret') this.span.start = performance.now();
      if (e.phase === 'end' && e.step === 'finishSecret') this.span.end = performance.now();
      if (e.phase === 'start') {
        this.current = { lambdaArn: e.lambdaArn, step: e.step as Step, calls: [] };
      } else if (this.current && this.current.step === e.step) {
        (this.steps[e.step as Step] ??= []).push(...this.current.calls);
        this.current = undefined;
      }
    });
  }

  reset(): void {
    this.steps = {};
    this.span = {};
  }

  stop(): void {
    this.local.faults.setInterceptor(undefined);
    this.local.observeInvocations(undefined);
  }

  /** createSecret invoked to finishSecret returned, in ms. */
  stepsMs(): number {
    if (this.span.start === undefined || this.span.end === undefined) throw new Error('no whole rotation observed');
    return this.span.end - this.span.start;
  }

  /** Sequential round trips per step: calls whose intervals overlap count once. */
  roundTrips(): Record<Step, number> & { total: number; calls: Record<Step, string[]> } {
    const out = { total: 0, calls: {} } as Record<Step, number> & { total: number; calls: Record<Step, string[]> };
    for (const step of STEPS) {
      const calls = [...(this.steps[step] ?? [])].sort((a, b) => a.start - b.start);
      let trips = 0;
      let reach = -Infinity;
      const groups: string[][] = [];
      for (const c of calls) {
        if (c.start >= reach) {
          trips++;
          groups.push([]);
        }
        groups[groups.length - 1].push(c.op);
        reach = Math.max(reach, c.end ?? c.start);
      }
      out[step] = trips;
      out.total += trips;
      out.calls[step] = groups.map((g) => g.join('+'));
    }
    return out;
  }
}

async function measure(local: LocalSecretsManager, log: CallLog, db: DemoServer, strategy: Strategy, bundle: string, label: string) {
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const tag = `${db.engine}_${strategy === 'single-user' ? 'su' : 'au'}_${label}`;
  const arn = local.lambdaArn(`latency-${tag}`);
  local.registerRotationFunction(arn, {
    kind: 'child-process',
    bundlePath: bundle,
    env: { ROTOR_TLS_CA_FILE: db.caFile, ROTOR_STRATEGY: strategy, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
  });
  const base = { engine: db.engine, host: db.host, port: db.port, dbname: db.dbname };
  const rotUser = `lat_${tag}`;
  const rotPassword = pw();
  await db.createUser(rotUser, rotPassword);
  let masterarn: string | undefined;
  if (strategy === 'alternating-users') {
    masterarn = (await sm.send(new CreateSecretCommand({ Name: `latency/master-${tag}`, SecretString: JSON.stringify({ ...base, username: db.admin.username, password: db.admin.password }) }))).ARN;
  }
  const secret = await sm.send(new CreateSecretCommand({
    Name: `latency/${tag}`,
    SecretString: JSON.stringify({ ...base, username: rotUser, password: rotPassword, ...(masterarn ? { masterarn } : {}) }),
  }));
  const rotate = async () => {
    const r = await sm.send(new RotateSecretCommand({ SecretId: secret.ARN, RotationLambdaARN: arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const outcome = await local.waitForRotation(secret.ARN!, { versionId: r.VersionId, timeoutMs: 60_000 });
    if (outcome.eventName !== 'RotationSucceeded') throw new Error(`${tag} rotation ${outcome.eventName}: ${outcome.errorMessage}`);
  };
  const floorUser = `lfl_${tag}`;
  let floorPassword = pw();
  await db.createUser(floorUser, floorPassword);
  const floor = async () => {
    const next = pw();
    const as = strategy === 'single-user' ? { user: floorUser, password: floorPassword } : { user: db.admin.username, password: db.admin.password };
    await db.changePasswordAndLogin(as, floorUser, next);
    floorPassword = next;
  };

  // First rotation: a cold function process.
  log.reset();
  await rotate();
  const coldMs = log.stepsMs();
  const cold = log.roundTrips();
  await floor();
  await rotate();
  await floor();

  const rotationMs: number[] = [];
  const endToEndMs: number[] = [];
  const floorMs: number[] = [];
  const warm: ReturnType<CallLog['roundTrips']>[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    log.reset();
    endToEndMs.push(await timed(rotate));
    rotationMs.push(log.stepsMs());
    warm.push(log.roundTrips());
    floorMs.push(await timed(floor));
  }
  local.killRotationProcess(arn);
  const rot = median(rotationMs);
  const fl = median(floorMs);
  const perStep = Object.fromEntries(STEPS.map((s) => [s, median(warm.map((w) => w[s]))])) as Record<Step, number>;
  return {
    rotationMs: round(rot),
    rotationP90Ms: round(percentile(rotationMs, 90)),
    // From the RotateSecret call (one more delayed call) to RotationSucceeded seen by the caller.
    rotateSecretToSucceededMs: round(median(endToEndMs)),
    floorMs: round(fl),
    ratioToRoundTripFloor: round(rot / (6 * DELAY_MS + fl)),
    roundTripsPerStep: perStep,
    roundTripsTotal: median(warm.map((w) => w.total)),
    // Calls in each round trip of the last warm rotation (overlapping calls joined with +).
    callsPerRoundTrip: warm[warm.length - 1].calls,
    cold: { rotationMs: round(coldMs), roundTripsPerStep: Object.fromEntries(STEPS.map((s) => [s, cold[s]])), roundTripsTotal: cold.total, callsPerRoundTrip: cold.calls },
  };
}
