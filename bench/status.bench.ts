import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../local';
import { mapWithConcurrency } from '../lambda/trigger/rate-limiter';

const SECRETS = 5_000;
/** Secrets with rotation configured (a test rotation each), and of those, how many are left mid-rotation. */
const WITH_ROTATION = 500;
const MID_ROTATION = 50;
const RUNS = 3;
const ROOT = path.resolve(__dirname, '..');

/**
 * `rotor status --json` over 5,000 managed secrets in the local endpoint,
 * timed as an operator sees it: a new `node bin/rotor.js` process each run
 * (start-up included). Target: under 5 s. ListSecrets returns the version
 * stages, so only secrets mid-rotation cost a second call.
 * Run alone: `npx tsx bench/status.bench.ts`.
 */
export async function run(): Promise<Record<string, number>> {
  const local = await LocalSecretsManager.start({ port: 0 });
  const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
  try {
    const noop = local.lambdaArn('bench-noop');
    local.registerRotationFunction(noop, { kind: 'in-process', handler: async () => undefined });
    const hang = local.lambdaArn('bench-hang');
    let release: () => void = () => undefined;
    const blocked = new Promise<void>((r) => (release = r));
    local.registerRotationFunction(hang, { kind: 'in-process', handler: async () => blocked });

    const arns: string[] = [];
    for (let i = 0; i < SECRETS; i++) {
      arns.push(local.seedSecret({
        name: `bench/status/app-${String(i).padStart(5, '0')}`,
        secretString: JSON.stringify({ engine: 'postgres', host: 'db.internal', port: 5432, username: `app${i}`, password: 'p'.repeat(32) }),
        tags: [{ Key: 'rotor:managed-by', Value: 'bench' }, { Key: 'rotor:engine', Value: 'postgres' }, { Key: 'owner', Value: `team-${i % 17}` }],
      }).arn);
    }
    await mapWithConcurrency(arns.slice(0, WITH_ROTATION), 16, (arn, i) => sm.send(new RotateSecretCommand({
      SecretId: arn, RotationLambdaARN: i < MID_ROTATION ? hang : noop, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: i < MID_ROTATION,
    })));

    const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', AWS_ENDPOINT_URL_SECRETS_MANAGER: local.endpoint, AWS_REGION: local.region, AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' };
    const wall: number[] = [];
    const inCli: number[] = [];
    let listed = 0;
    for (let r = 0; r < RUNS; r++) {
      const t0 = performance.now();
      const stdout = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, [path.join(ROOT, 'bin/rotor.js'), 'status', '--json'], { env, maxBuffer: 64 * 1024 * 1024 }, (err, out) =>
          (err && err.code !== 1 ? reject(err) : resolve(out)));
      });
      wall.push((performance.now() - t0) / 1000);
      const out = JSON.parse(stdout) as { summary: { total: number; seconds: number } };
      listed = out.summary.total;
      inCli.push(out.summary.seconds);
    }
    release();
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    return {
      secrets: SECRETS,
      listed,
      statusWallSecondsMedian: round(median(wall)),
      statusWallSecondsMax: round(Math.max(...wall)),
      listingSecondsMedian: round(median(inCli)),
      targetSeconds: 5,
    };
  } finally {
    sm.destroy();
    await local.stop();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (require.main === module) {
  run().then((f) => process.stdout.write(`${JSON.stringify(f, null, 2)}\n`), (e) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
