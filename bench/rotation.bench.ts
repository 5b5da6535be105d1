import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../local';
import { startDemoServer, type DemoServer } from '../local/demo-servers';
import { newPassword as pw, rotationRig, STRATEGIES, type BenchStrategy } from './rotation-kit';
import { median, percentile, round, timed } from './stats';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/rotation/index.js');
const ROUNDS = 25;

/**
 * Rotation speed against its floor (PostgreSQL and MariaDB, single-user and
 * alternating-users), bundle size and cold load, peak memory. Rotation and
 * floor run interleaved in one process against the same server with TLS
 * verify-full, so machine noise hits both.
 */
export async function run(): Promise<Record<string, unknown>> {
  const local = await LocalSecretsManager.start({ port: 0 });
  const figures: Record<string, unknown> = { rounds: ROUNDS, rotationToFloorTarget: 2 };
  try {
    for (const engine of ['postgres', 'mariadb'] as const) {
      const db = await startDemoServer(engine);
      try {
        for (const strategy of STRATEGIES) {
          const r = await rotationVsFloor(local, db, strategy);
          const key = `${db.engine}.${strategy}`;
          figures[key] = r;
        }
        if (db.engine === 'postgres') figures.peakRssMB = await peakRss(local, db);
      } finally {
        await db.stop();
      }
    }
  } finally {
    await local.stop();
  }
  return { ...figures, bundleBytes: statSync(BUNDLE).size, ...coldLoad(), coldLoadRatioTarget: 1.5, peakRssTargetMB: 128 };
}

async function rotationVsFloor(local: LocalSecretsManager, db: DemoServer, strategy: BenchStrategy) {
  const { sm, tag, rotate, floor } = await rotationRig(local, db, strategy, { name: 'bench', bundlePath: BUNDLE });
  const base = { engine: db.engine, host: db.host, port: db.port, dbname: db.dbname };

  for (let i = 0; i < 3; i++) {
    await rotate();
    await floor();
  }
  // The same Secrets Manager calls with no database work: what the local
  // stack, the SDK and the child-process invocations cost per rotation.
  const sdkOnlyArn = local.lambdaArn(`bench-sdk-only-${tag}`);
  local.registerRotationFunction(sdkOnlyArn, { kind: 'child-process', bundlePath: path.join(__dirname, 'sdk-only-rotation.cjs') });
  const sdkOnlySecret = await sm.send(new CreateSecretCommand({ Name: `bench/sdk-only-${tag}`, SecretString: JSON.stringify({ ...base, username: 'nobody', password: pw() }) }));
  const sdkOnly = async () => {
    const r = await sm.send(new RotateSecretCommand({ SecretId: sdkOnlySecret.ARN, RotationLambdaARN: sdkOnlyArn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const outcome = await local.waitForRotation(sdkOnlySecret.ARN!, { versionId: r.VersionId, timeoutMs: 60_000 });
    if (outcome.eventName !== 'RotationSucceeded') throw new Error(`sdk-only rotation ${outcome.eventName}: ${outcome.errorMessage}`);
  };
  await sdkOnly();

  const rotationMs: number[] = [];
  const floorMs: number[] = [];
  const sdkOnlyMs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rotationMs.push(await timed(rotate));
    floorMs.push(await timed(floor));
    sdkOnlyMs.push(await timed(sdkOnly));
  }
  const rot = median(rotationMs);
  const fl = median(floorMs);
  const stack = median(sdkOnlyMs);
  return {
    rotationMedianMs: round(rot),
    rotationP90Ms: round(percentile(rotationMs, 90)),
    floorMedianMs: round(fl),
    rotationToFloorRatio: round(rot / fl),
    stackOnlyMedianMs: round(stack),
    databasePartToFloorRatio: round((rot - stack) / fl),
  };
}

/** Peak RSS of one rotation in a fresh function process. */
async function peakRss(local: LocalSecretsManager, db: DemoServer): Promise<number> {
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  const user = 'rss_user';
  const password = pw();
  await db.createUser(user, password);
  const secret = await sm.send(new CreateSecretCommand({ Name: 'bench/rss', SecretString: JSON.stringify({ engine: db.engine, host: db.host, port: db.port, dbname: db.dbname, username: user, password }) }));
  const rssFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'rotor-bench-')), 'rss');
  const arn = local.lambdaArn('bench-rss');
  local.registerRotationFunction(arn, {
    kind: 'child-process',
    bundlePath: path.join(__dirname, 'rss-probe.cjs'),
    env: { ROTOR_TLS_CA_FILE: db.caFile, POWERTOOLS_LOG_LEVEL: 'WARN', ROTOR_BENCH_BUNDLE: BUNDLE, ROTOR_BENCH_RSS_FILE: rssFile },
  });
  const r = await sm.send(new RotateSecretCommand({ SecretId: secret.ARN, RotationLambdaARN: arn }));
  const outcome = await local.waitForRotation(secret.ARN!, { versionId: r.VersionId, timeoutMs: 60_000 });
  if (outcome.eventName !== 'RotationSucceeded') throw new Error(`rss rotation ${outcome.eventName}: ${outcome.errorMessage}`);
  return round(Number(readFileSync(rssFile, 'utf8')) / 1024, 1);
}

/** Fresh `node` processes loading the bundle vs loading only the Secrets Manager client, interleaved. */
function coldLoad(): Record<string, number> {
  const time = (code: string) => {
    const t = process.hrtime.bigint();
    execFileSync(process.execPath, ['-e', code], { cwd: ROOT });
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  const bundleMs: number[] = [];
  const sdkMs: number[] = [];
  const emptyMs: number[] = [];
  for (let i = 0; i < 15; i++) {
    bundleMs.push(time(`require(${JSON.stringify(BUNDLE)})`));
    sdkMs.push(time(`require('@aws-sdk/client-secrets-manager')`));
    emptyMs.push(time('0'));
  }
  const b = median(bundleMs);
  const s = median(sdkMs);
  const e = median(emptyMs);
  return {
    coldLoadBundleMs: round(b),
    coldLoadSdkOnlyMs: round(s),
    coldLoadEmptyNodeMs: round(e),
    coldLoadRatio: round(b / s),
    coldLoadRatioNetOfNodeStart: round((b - e) / (s - e)),
  };
}
