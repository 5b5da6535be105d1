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

const BUNDLE = path.resolve(__dirname, '../../dist/rotation/index.js');
const APP_USER = 'demo_app';

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
      const master = await sm.send(new CreateSecretCommand({ Name: 'rotor-demo/master', SecretString: JSON.stringify({ ...base, username: db.admin.username, password: db.admin.password }) }));
      masterarn = master.ARN;
      say(`    master secret ${master.Name} (the admin that maintains ${APP_USER} and ${APP_USER}_clone)`);
    }
    const created = await sm.send(new CreateSecretCommand({
      Name: `rotor-demo/${APP_USER}`,
      SecretString: JSON.stringify({ ...base, username: APP_USER, password: oldPassword, ...(masterarn ? { masterarn } : {}) }),
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
      say(`Keeping things running: AWS_ENDPOINT_URL_SECRETS_MANAGER=${local.endpoint}; Ctrl-C to stop.`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    }
    return failed === 0 ? 0 : 1;
  } catch (e) {
    say(`demo FAILED: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  } finally {
    await local?.stop().catch(() => undefined);
    await db?.stop().catch(() => undefined);
  }
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
