import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, type InterceptedCall } from '../local';
import { startDemoServer, type DemoServer } from '../local/demo-servers';
import { newPassword, rotationRig, STRATEGIES, type BenchStrategy } from './rotation-kit';
import { median, percentile, round, timed } from './stats';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/rotation/index.js');
/** Optional second bundle (e.g. built from an older commit) measured the same way, reported as `before`. */
const BEFORE_BUNDLE = process.env.ROTOR_BENCH_BEFORE_BUNDLE;
const ROUNDS = Number(process.env.ROTOR_BENCH_ROUNDS ?? 15);
/** Only these cases, e.g. `mariadb.alternating-users,postgres.single-user` (default: every engine x strategy). */
const ONLY = process.env.ROTOR_BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
/** Added to every Secrets Manager call by the local endpoint (an AWS Region costs roughly 10-30 ms a call). */
const DELAY_MS = 15;
/** The contract's minimum sequential round trips per step (docs/architecture.md). */
const TARGET_ROUND_TRIPS = { createSecret: 2, setSecret: 1, testSecret: 1, finishSecret: 2 } as const;
const STEPS = Object.keys(TARGET_ROUND_TRIPS) as (keyof typeof TARGET_ROUND_TRIPS)[];
/** The same Secrets Manager round trips with the bare SDK and no database work (the harness part of the floor). */
const SDK_ONLY = path.join(__dirname, 'sdk-only-rotation.cjs');

type Step = (typeof STEPS)[number];

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
 * Figures per engine x strategy: the first rotation (a cold function process,
 * and the secret's first rotation) and the median of the warm ones; the target
 * is 6 round trips and a rotation within 1.2x of (6 x 15 ms + the SQL floor),
 * the SQL floor being one login, the password change and one login with the
 * new password (rotation-kit.ts). "rotation ms" runs from the driver invoking
 * createSecret to finishSecret returning (the four invocations, as Secrets
 * Manager runs them); the caller's RotateSecret to RotationSucceeded is given
 * beside it.
 *
 * That floor leaves out what the local harness costs and AWS would not charge
 * a Lambda function: four child-process invocations over IPC (the driver and
 * the endpoint share this process) and each call's own trip through the local
 * HTTP endpoint on top of the injected delay. So a second floor is measured,
 * interleaved with the rotations: `harnessMs`, a function with the bare SDK
 * making the same six round trips with no database work (sdk-only-rotation.cjs)
 * under the same delay; `ratioToHarnessFloor` = rotation / (harnessMs + SQL
 * floor). `perStepMs` splits each step into time inside Secrets Manager calls
 * (arrival to answer, at the endpoint) and the rest (invocation, SDK client
 * work, rotor's own code, SQL), for rotor and for the bare-SDK function.
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
      const strategies = STRATEGIES.filter((s) => !ONLY || ONLY.includes(`${engine}.${s}`));
      if (strategies.length === 0) continue;
      const db = await startDemoServer(engine);
      try {
        for (const strategy of strategies) {
          const byBundle = await measure(local, log, db, strategy, bundles);
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
  private current: { lambdaArn: string; step: Step; calls: Call[]; start: number } | undefined;
  /** Calls per step of the rotation being recorded. */
  steps: Partial<Record<Step, Call[]>> = {};
  /** Each step's invocation, driver's start to driver's end, of the rotation being recorded. */
  stepSpans: Partial<Record<Step, { start: number; end: number }>> = {};
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
      const now = performance.now();
      if (e.phase === 'start' && e.step === 'createSecret') this.span.start = now;
      if (e.phase === 'end' && e.step === 'finishSecret') this.span.end = now;
      if (e.phase === 'start') {
        this.current = { lambdaArn: e.lambdaArn, step: e.step as Step, calls: [], start: now };
      } else if (this.current && this.current.step === e.step) {
        (this.steps[e.step as Step] ??= []).push(...this.current.calls);
        this.stepSpans[e.step as Step] = { start: this.current.start, end: now };
        this.current = undefined;
      }
    });
  }

  reset(): void {
    this.steps = {};
    this.stepSpans = {};
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

  /** Per step: the invocation's ms, the ms some Secrets Manager call was in flight at the endpoint, and the rest. */
  stepTimes(): Record<Step, { stepMs: number; inCallsMs: number; restMs: number }> {
    const out = {} as Record<Step, { stepMs: number; inCallsMs: number; restMs: number }>;
    for (const step of STEPS) {
      const span = this.stepSpans[step];
      if (!span) throw new Error(`step ${step} not observed`);
      let busy = 0;
      let reach = -Infinity;
      for (const c of [...(this.steps[step] ?? [])].sort((a, b) => a.start - b.start)) {
        const end = c.end ?? c.start;
        if (end > reach) {
          busy += end - Math.max(c.start, reach);
          reach = end;
        }
      }
      const stepMs = span.end - span.start;
      out[step] = { stepMs, inCallsMs: busy, restMs: stepMs - busy };
    }
    return out;
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

type StepTimes = ReturnType<CallLog['stepTimes']>;

/** Median per step of each part, and of the parts summed over the four steps. */
function medianStepTimes(samples: StepTimes[]) {
  const out: Record<string, Record<string, number>> = {};
  for (const step of [...STEPS, 'all'] as const) {
    const pick = (s: StepTimes, k: 'stepMs' | 'inCallsMs' | 'restMs') => (step === 'all' ? STEPS.reduce((a, st) => a + s[st][k], 0) : s[step][k]);
    out[step] = {
      stepMs: round(median(samples.map((s) => pick(s, 'stepMs')))),
      inCallsMs: round(median(samples.map((s) => pick(s, 'inCallsMs')))),
      restMs: round(median(samples.map((s) => pick(s, 'restMs')))),
    };
  }
  return out;
}

async function measure(local: LocalSecretsManager, log: CallLog, db: DemoServer, strategy: BenchStrategy, bundles: [string, string][]) {
  const rigs = [];
  for (const [label, bundlePath] of bundles) rigs.push({ label, rig: await rotationRig(local, db, strategy, { name: 'latency', bundlePath, label }) });
  // The harness floor: the bare-SDK function on a secret of its own (no database work).
  const tag = `${db.engine}_${strategy === 'single-user' ? 'su' : 'au'}`;
  const sdkArn = local.lambdaArn(`latency-sdk-only-${tag}`);
  local.registerRotationFunction(sdkArn, { kind: 'child-process', bundlePath: SDK_ONLY });
  const sm = rigs[0].rig.sm;
  const sdkSecret = (await sm.send(new CreateSecretCommand({
    Name: `latency/sdk-only-${tag}`,
    SecretString: JSON.stringify({ engine: db.engine, host: db.host, port: db.port, dbname: db.dbname, username: 'nobody', password: newPassword() }),
  }))).ARN!;
  const sdkOnly = async () => {
    const r = await sm.send(new RotateSecretCommand({ SecretId: sdkSecret, RotationLambdaARN: sdkArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const outcome = await local.waitForRotation(sdkSecret, { versionId: r.VersionId, timeoutMs: 60_000 });
    if (outcome.eventName !== 'RotationSucceeded') throw new Error(`sdk-only rotation ${outcome.eventName}: ${outcome.errorMessage}`);
  };

  // First rotation: a cold function process (and the secret's first rotation).
  const cold = new Map<string, { ms: number; trips: ReturnType<CallLog['roundTrips']> }>();
  for (const { label, rig } of rigs) {
    log.reset();
    await rig.rotate();
    cold.set(label, { ms: log.stepsMs(), trips: log.roundTrips() });
    await rig.floor();
    await rig.rotate();
    await rig.floor();
  }
  await sdkOnly();
  await sdkOnly();

  const samples = new Map(rigs.map(({ label }) => [label, { rotationMs: [] as number[], endToEndMs: [] as number[], warm: [] as ReturnType<CallLog['roundTrips']>[], times: [] as StepTimes[] }]));
  const floorMs: number[] = [];
  const harnessMs: number[] = [];
  const harnessTimes: StepTimes[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const { label, rig } of rigs) {
      const s = samples.get(label)!;
      log.reset();
      s.endToEndMs.push(await timed(rig.rotate));
      s.rotationMs.push(log.stepsMs());
      s.warm.push(log.roundTrips());
      s.times.push(log.stepTimes());
    }
    floorMs.push(await timed(rigs[0].rig.floor));
    log.reset();
    await sdkOnly();
    harnessMs.push(log.stepsMs());
    harnessTimes.push(log.stepTimes());
  }
  for (const { rig } of rigs) local.killRotationProcess(rig.lambdaArn);
  local.killRotationProcess(sdkArn);
  const fl = median(floorMs);
  const harness = median(harnessMs);
  const out: Record<string, unknown> = {};
  for (const { label } of rigs) {
    const s = samples.get(label)!;
    const rot = median(s.rotationMs);
    const c = cold.get(label)!;
    out[label] = {
      rotationMs: round(rot),
      rotationP90Ms: round(percentile(s.rotationMs, 90)),
      // From the RotateSecret call (one more delayed call) to RotationSucceeded seen by the caller.
      rotateSecretToSucceededMs: round(median(s.endToEndMs)),
      floorMs: round(fl),
      ratioToRoundTripFloor: round(rot / (6 * DELAY_MS + fl)),
      harnessMs: round(harness),
      ratioToHarnessFloor: round(rot / (harness + fl)),
      roundTripsPerStep: Object.fromEntries(STEPS.map((st) => [st, median(s.warm.map((w) => w[st]))])),
      roundTripsTotal: median(s.warm.map((w) => w.total)),
      // Calls in each round trip of the last warm rotation (overlapping calls joined with +).
      callsPerRoundTrip: s.warm[s.warm.length - 1].calls,
      perStepMs: { rotor: medianStepTimes(s.times), sdkOnly: medianStepTimes(harnessTimes) },
      cold: { rotationMs: round(c.ms), roundTripsPerStep: Object.fromEntries(STEPS.map((st) => [st, c.trips[st]])), roundTripsTotal: c.trips.total, callsPerRoundTrip: c.trips.calls },
    };
  }
  return out;
}
