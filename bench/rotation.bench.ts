import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { LocalSecretsManager, localClientConfig } from '../local';
import { startDemoDatabase, type DemoDatabase } from '../local/demo-database';
import { median, percentile, round, timed } from './stats';

const ROOT = path.resolve(__dirname, '..');
const BUNDLE = path.join(ROOT, 'dist/rotation/index.js');
const ROUNDS = 25;

/**
 * Rotation speed against its floor, bundle size and cold load, peak memory.
 * Rotation and floor run interleaved in one process against the same
 * embedded PostgreSQL (TLS verify-full for both), so machine noise hits both.
 */
export async function run(): Promise<Record<string, unknown>> {
  const db = await startDemoDatabase();
  const local = await LocalSecretsManager.start({ port: 0 });
  try {
    const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
    const ca = readFileSync(db.caFile, 'utf8');
    const arn = local.lambdaArn('bench-rotation');
    local.registerRotationFunction(arn, { kind: 'child-process', bundlePath: BUNDLE, env: { ROTOR_TLS_CA_FILE: db.caFile, POWERTOOLS_LOG_LEVEL: 'WARN' } });

    // The rotated user, and a second one for the floor.
    const pw = () => randomBytes(16).toString('hex');
    const rotUser = 'bench_rot';
    const floorUser = 'bench_floor';
    let floorPassword = pw();
    const rotPassword = pw();
    // Names are constants and passwords hex: nothing here needs escaping.
    await db.query(`CREATE ROLE ${rotUser} LOGIN PASSWORD '${rotPassword}'`);
    await db.query(`CREATE ROLE ${floorUser} LOGIN PASSWORD '${floorPassword}'`);
    const secret = await sm.send(new CreateSecretCommand({
      Name: 'bench/rotation',
      SecretString: JSON.stringify({ engine: 'postgres', host: db.host, port: db.port, username: rotUser, password: rotPassword, dbname: 'postgres' }),
    }));

    const rotate = async () => {
      const r = await sm.send(new RotateSecretCommand({ SecretId: secret.ARN, RotationLambdaARN: arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
      const outcome = await local.waitForRotation(secret.ARN!, { versionId: r.VersionId, timeoutMs: 60_000 });
      if (outcome.eventName !== 'RotationSucceeded') throw new Error(`rotation ${outcome.eventName}: ${outcome.errorMessage}`);
    };
    const login = async (user: string, password: string) => {
      const c = new Client({ host: db.host, port: db.port, user, password, database: 'postgres', ssl: { ca, rejectUnauthorized: true } });
      await c.connect();
      return c;
    };
    // The least any rotation must do: log in with the old password, change it, log in with the new one.
    const floor = async () => {
      const next = pw();
      const c = await login(floorUser, floorPassword);
      await c.query(`ALTER ROLE ${c.escapeIdentifier(floorUser)} WITH PASSWORD ${c.escapeLiteral(next)}`);
      await c.end();
      floorPassword = next;
      await (await login(floorUser, floorPassword)).end();
    };

    for (let i = 0; i < 3; i++) {
      await rotate();
      await floor();
    }
    const rotationMs: number[] = [];
    const floorMs: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      rotationMs.push(await timed(rotate));
      floorMs.push(await timed(floor));
    }

    // Peak RSS: one rotation in a fresh function process.
    const rssFile = path.join(mkdtempSync(path.join(os.tmpdir(), 'rotor-bench-')), 'rss');
    const rssArn = local.lambdaArn('bench-rss');
    local.registerRotationFunction(rssArn, {
      kind: 'child-process',
      bundlePath: path.join(__dirname, 'rss-probe.cjs'),
      env: { ROTOR_TLS_CA_FILE: db.caFile, POWERTOOLS_LOG_LEVEL: 'WARN', ROTOR_BENCH_BUNDLE: BUNDLE, ROTOR_BENCH_RSS_FILE: rssFile },
    });
    const r = await sm.send(new RotateSecretCommand({ SecretId: secret.ARN, RotationLambdaARN: rssArn }));
    const outcome = await local.waitForRotation(secret.ARN!, { versionId: r.VersionId, timeoutMs: 60_000 });
    if (outcome.eventName !== 'RotationSucceeded') throw new Error(`rss rotation ${outcome.eventName}: ${outcome.errorMessage}`);
    const peakRssMB = Number(readFileSync(rssFile, 'utf8')) / 1024;

    const load = coldLoad();
    const rotationMedianMs = median(rotationMs);
    const floorMedianMs = median(floorMs);
    return {
      rounds: ROUNDS,
      rotationMedianMs: round(rotationMedianMs),
      rotationP90Ms: round(percentile(rotationMs, 90)),
      floorMedianMs: round(floorMedianMs),
      rotationToFloorRatio: round(rotationMedianMs / floorMedianMs),
      rotationToFloorTarget: 2,
      bundleBytes: statSync(BUNDLE).size,
      ...load,
      coldLoadRatioTarget: 1.5,
      peakRssMB: round(peakRssMB, 1),
      peakRssTargetMB: 128,
    };
  } finally {
    await local.stop();
    await db.stop();
  }
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
