import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import Table from 'cli-table3';
import { Client } from 'pg';
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { LocalSecretsManager, localClientConfig } from '../../local';
import { startDemoDatabase, type DemoDatabase } from '../../local/demo-database';

const BUNDLE = path.resolve(__dirname, '../../dist/rotation/index.js');
const APP_USER = 'demo_app';

/**
 * `rotor demo`: one real rotation on this machine. Embedded PostgreSQL with
 * TLS and password auth, the local Secrets Manager endpoint, and the bundled
 * rotation function in a child process, as Lambda would run it.
 * Returns the process exit code.
 */
export async function runDemo(opts: { keep?: boolean } = {}): Promise<number> {
  const say = (line: string) => process.stdout.write(`${line}\n`);
  if (!existsSync(BUNDLE)) {
    say(`The rotation bundle ${path.relative(process.cwd(), BUNDLE)} is missing: run \`npm run build\` first (npm run demo does).`);
    return 2;
  }
  let db: DemoDatabase | undefined;
  let local: LocalSecretsManager | undefined;
  try {
    const t0 = Date.now();
    say('1/5 starting embedded PostgreSQL (scram-sha-256, TLS on, throwaway CA)...');
    db = await startDemoDatabase((line) => say(line));
    const oldPassword = randomBytes(18).toString('base64url');
    // Both values are ours (a constant and base64url), never user input.
    await db.query(`CREATE ROLE ${APP_USER} LOGIN PASSWORD '${oldPassword}'`);
    say(`    PostgreSQL on ${db.host}:${db.port}; role ${APP_USER} created`);

    say('2/5 starting the local Secrets Manager endpoint...');
    local = await LocalSecretsManager.start({ port: 0 });
    const lambdaArn = local.lambdaArn('rotor-rotation');
    local.registerRotationFunction(lambdaArn, {
      kind: 'child-process',
      bundlePath: BUNDLE,
      env: { ROTOR_TLS_CA_FILE: db.caFile, POWERTOOLS_LOG_LEVEL: process.env.POWERTOOLS_LOG_LEVEL ?? 'WARN' },
    });
    say(`    endpoint ${local.endpoint}; rotation function ${lambdaArn} (bundle in a child process)`);

    const sm = new SecretsManagerClient(localClientConfig(local.endpoint, local.region));
    const created = await sm.send(new CreateSecretCommand({
      Name: `rotor-demo/${APP_USER}`,
      SecretString: JSON.stringify({ engine: 'postgres', host: db.host, port: db.port, username: APP_USER, password: oldPassword, dbname: 'postgres' }),
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
    const checks = [
      ['new password (AWSCURRENT) logs in', await loginWorks(db, APP_USER, current.password)],
      ['old password is refused', !(await loginWorks(db, APP_USER, oldPassword))],
      ['password changed', current.password !== oldPassword],
      ['connection used verified TLS', await tlsInUse(db, APP_USER, current.password)],
    ] as const;

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

async function connect(db: DemoDatabase, user: string, password: string): Promise<Client> {
  const { readFileSync } = await import('node:fs');
  const c = new Client({
    host: db.host, port: db.port, user, password, database: 'postgres',
    ssl: { ca: readFileSync(db.caFile, 'utf8'), rejectUnauthorized: true }, connectionTimeoutMillis: 5000,
  });
  await c.connect();
  return c;
}

async function loginWorks(db: DemoDatabase, user: string, password: string): Promise<boolean> {
  try {
    const c = await connect(db, user, password);
    await c.end();
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === '28P01') return false;
    throw e;
  }
}

async function tlsInUse(db: DemoDatabase, user: string, password: string): Promise<boolean> {
  const c = await connect(db, user, password);
  try {
    const r = await c.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    return r.rows[0]?.ssl === true;
  } finally {
    await c.end();
  }
}
