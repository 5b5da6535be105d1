import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import Table from 'cli-table3';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../../local';
import { startDemoServer, type DemoServer } from '../../local/demo-servers';
import { MANAGED_BY_TAG } from '../../lambda/trigger/config';
import { ENGINE_TAG, STRATEGY_TAG } from './status';

const BUNDLE = path.resolve(__dirname, '../../dist/rotation/index.js');
const APP_USER = 'demo_app';
/** Tag on everything the demo creates, so that what `--keep` leaves running is recognisable (and `rotor status` lists it). */
export const DEMO_TAG = 'rotor:demo';

export const DEMO_ENGINES = ['postgres', 'mariadb'] as const;
export const DEMO_STRATEGIES = ['single-user', 'alternating-users'] as const;
export interface DemoOptions {
  engine?: (typeof DEMO_ENGINES)[number];
  strategy?: (typeof DEMO_STRATEGIES)[number];
  keep?: boolean;
}

/**
 * `rotor demo`: one real rotation on this machine. A throwaway database with
 * TLS and password auth (embedded PostgreSQL, or MariaDB from the installed
 * server binaries), the local Secrets Manager endpoint, and the bundled
 * rotation function in a child process, as Lambda would run it.
 * Returns the process exit code.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<number> {
  const engine = opts.engine ?? 'postgres';
  const strategy = opts.strategy ?? 'single-user';
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (!existsSync(BUNDLE)) {
    say(`The rotation bundle ${path.relative(process.cwd(), BUNDLE)} is missing: run \`npm run build\` first (npm run demo does).`);
    return 2;
  }
  let db: DemoServer | undefined;
  let local: LocalSecretsManager | undefined;
  // Ctrl-C (or SIGTERM) at any point stops the servers and removes their temporary files
  // (data directories, certificates) before the process ends; a second Ctrl-C ends at once.
  let cleaning: Promise<void> | undefined;
  const cleanUp = () => (cleaning ??= (async () => {
    await local?.stop().catch(() => undefined);
    await db?.stop().catch(() => undefined);
  })());
  let keptWaiting: (() => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (cleaning) process.exit(130);
    if (keptWaiting) return keptWaiting(); // --keep: the normal end, below
    say(`${signal}: stopping the demo database and endpoint, removing their temporary files...`);
    void cleanUp().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const startedAt = new Date().toISOString();
  const tags = [
    { Key: DEMO_TAG, Value: startedAt },
    { Key: MANAGED_BY_TAG, Value: 'rotor-demo' },
    { Key: ENGINE_TAG, Value: engine },
    { Key: STRATEGY_TAG, Value: strategy },
  ];
  try {
    const t0 = Date.now();
    say(`1/5 starting ${engine === 'postgres' ? 'embedded PostgreSQL' : 'MariaDB'} (password auth, TLS on, throwaway CA)...`);
    db = await startDemoServer(engine, say);
    const oldPassword = randomBytes(18).toString('base64url');
    await db.createUser(APP_USER, oldPassword);
    say(`    ${engine} on ${db.host}:${db.port}; user ${APP_USER} created`);

    say('2/5 starting the local Secrets Manager endpoint...');
    local = await LocalSecretsManager.start({ port: 0 });
    const lambdaArn = local.lambdaArn('rotor-rotation');
    local.registerRotationFunction(lambdaArn, {
      kind: 'child-process',
      bundlePath: BUNDLE,
      env: { ROTOR_TLS_CA_FILE: db.caFile, ROTOR_STRATEGY: strategy, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' },
    });
    say(`    endpoint ${local.endpoint}; rotation function ${lambdaArn} (bundle in a child process, strategy ${strategy})`);

    const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
    const base = { engine, host: db.host, port: db.port, dbname: db.dbname };
    let masterarn: string | undefined;
    if (strategy === 'alternating-users') {
      const master = await sm.send(new CreateSecretCommand({ Name: 'rotor-demo/master', SecretString: JSON.stringify({ ...base, username: db.admin.username, password: db.admin.password }), Tags: [{ Key: DEMO_TAG, Value: startedAt }] }));
      masterarn = master.ARN;
      say(`    master secret ${master.Name} (the admin that maintains ${APP_USER} and ${APP_USER}_clone)`);
    }
    const created = await sm.send(new CreateSecretCommand({
      Name: `rotor-demo/${APP_USER}`,
      SecretString: JSON.stringify({ ...base, username: APP_USER, password: oldPassword, ...(masterarn ? { masterarn } : {}) }),
      Tags: tags,
    }));
    const secretArn = created.ARN!;
    say(`3/5 secret ${created.Name} created (TLS verify-full by default)`);
    const before = await versionTable(sm, secretArn);

    say('4/5 RotateSecret: Secrets Manager invokes createSecret, setSecret, testSecret, finishSecret...');
    const tRotate = Date.now();
    const rotation = await sm.send(new RotateSecretCommand({
      SecretId: secretArn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 },
    }));
    const outcome = await local.waitForRotation(secretArn, { versionId: rotation.VersionId, timeoutMs: 60_000 });
    const rotateMs = Date.now() - tRotate;
    if (outcome.eventName !== 'RotationSucceeded') {
      say(`    rotation ended with ${outcome.eventName}${outcome.step ? ` in ${outcome.step}` : ''}: ${outcome.errorMessage ?? ''}`);
      return 1;
    }
    say(`    ${outcome.eventName} in ${rotateMs} ms`);

    const current = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString!);
    const after = await versionTable(sm, secretArn);
    const checks: Array<[string, boolean]> = [
      [`new credential (AWSCURRENT, ${current.username}) logs in`, await db.canLogin(current.username, current.password)],
      ['password changed', current.password !== oldPassword],
      ['connection used verified TLS', await db.tlsInUse(current.username, current.password)],
    ];
    if (strategy === 'single-user') {
      checks.push(['old password is refused', !(await db.canLogin(APP_USER, oldPassword))]);
    } else {
      checks.push([`user is now ${APP_USER}_clone`, current.username === `${APP_USER}_clone`]);
      checks.push([`previous credential (${APP_USER}) still logs in: no window`, await db.canLogin(APP_USER, oldPassword)]);
    }

    say('5/5 result');
    say('before:');
    say(before);
    say('after:');
    say(after);
    const t = new Table({ head: ['live check', 'result'], style: tableStyle() });
    for (const [name, ok] of checks) t.push([name, ok ? 'ok' : 'FAILED']);
    say(t.toString());
    const failed = checks.filter(([, ok]) => !ok).length;
    say(failed === 0 ? `demo passed in ${Date.now() - t0} ms` : `demo FAILED: ${failed} check(s) failed`);
    if (opts.keep) {
      for (const line of keepInstructions({ endpoint: local.endpoint, region: local.region, caFile: db.caFile, secretName: created.Name!, strategy })) say(line);
      await new Promise<void>((resolve) => { keptWaiting = resolve; });
    }
    return failed === 0 ? 0 : 1;
  } catch (e) {
    say(`demo FAILED: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await cleanUp();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/**
 * What `--keep` prints: where things run and the commands, as written, that point the
 * operator CLI at them (every one of them is run by test/demo.test.ts).
 */
export function keepInstructions(k: { endpoint: string; region: string; caFile: string; secretName: string; strategy: string }): string[] {
  return [
    '',
    'Kept running until Ctrl-C (then the database, the endpoint and their temporary files are removed):',
    `  Secrets Manager endpoint  ${k.endpoint} (also serves CloudTrail LookupEvents for \`rotor history\`)`,
    `  database CA certificate   ${k.caFile}`,
    `  secret                    ${k.secretName} (tagged ${DEMO_TAG}, ${MANAGED_BY_TAG}=rotor-demo)`,
    'In another terminal:',
    `  export AWS_ENDPOINT_URL_SECRETS_MANAGER=${k.endpoint} AWS_REGION=${k.region}`,
    '  npx rotor status',
    `  npx rotor history ${k.secretName}`,
    `  npx rotor doctor ${k.secretName} --ca-file ${k.caFile}`,
    `  npx rotor rotate ${k.secretName} --wait`,
    `  npx rotor usage ${k.secretName} --ca-file ${k.caFile}`,
  ];
}

/** Colour only on a terminal, so piped output and logs stay plain text. */
function tableStyle() {
  return process.stdout.isTTY ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] };
}

async function versionTable(sm: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await sm.send(new ListSecretVersionIdsCommand({ SecretId: secretId }));
  const t = new Table({ head: ['version', 'labels', 'created'], style: tableStyle() });
  for (const v of out.Versions ?? []) {
    t.push([v.VersionId ?? '', (v.VersionStages ?? []).join(', '), v.CreatedDate?.toISOString() ?? '']);
  }
  return t.toString();
}
