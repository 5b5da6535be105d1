import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { escapeLiteral } from 'pg';
import { canLogin, startPostgres, type PgServer } from '../support/postgres-server';

/*
 * The README's local flow, end to end: `rotor local --rotation-function
 * dist/rotation/index.js` as a child process (the CLI itself, bin/rotor.js),
 * a real throwaway PostgreSQL, the real SDK calling CreateSecret and
 * RotateSecret with the ARN rotor local printed; the bundled function rotates
 * the password, which then logs in while the old one no longer does.
 */

const ROOT = path.resolve(__dirname, '../..');
const ROTOR = path.join(ROOT, 'bin/rotor.js');
const BUNDLE = 'dist/rotation/index.js';

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs `rotor local ...args` and resolves once it printed "Ctrl-C to stop." (or rejects when it exits first). */
function rotorLocal(args: string[]): Promise<Running> {
  const child = spawn(process.execPath, [ROTOR, 'local', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (out.includes('Ctrl-C to stop.')) resolve({ child, output: () => out, exited });
    });
    void exited.then((code) => reject(new Error(`rotor local exited with ${code}:\n${out}`)));
  });
}

/** Resolves when `text` appears in the output, or rejects when the process exits first. */
function waitForOutput(r: Running, text: RegExp): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const m = text.exec(r.output());
      if (!m) return false;
      r.child.stdout!.off('data', check);
      resolve(m);
      return true;
    };
    if (check()) return;
    r.child.stdout!.on('data', check);
    void r.exited.then(() => reject(new Error(`rotor local exited before printing ${text}:\n${r.output()}`)));
  });
}

/** The HTTP status of GET / with this Host header (DNS rebinding: a foreign name resolving to 127.0.0.1). */
function statusForHost(endpoint: string, host: string): Promise<number> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    http
      .get({ host: url.hostname, port: Number(url.port), path: '/', headers: { Host: host }, setHost: false, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on('error', reject);
  });
}

let pg: PgServer;
let dir: string;
const initialPassword = `Initial-${Math.random().toString(36).slice(2)}-pw`;

beforeAll(async () => {
  expect(existsSync(path.join(ROOT, BUNDLE))).toBe(true); // npm run build
  pg = await startPostgres();
  await pg.query(`CREATE ROLE app LOGIN PASSWORD ${escapeLiteral(initialPassword)}`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-local-fn-'));
});
afterAll(async () => {
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('rotor local --rotation-function: RotateSecret with the printed ARN rotates a real PostgreSQL password with the bundled function', async () => {
  const r = await rotorLocal([
    '--port', '0',
    '--state', path.join(dir, 'secrets.json'),
    '--rotation-function', BUNDLE,
    '--function-env', 'ROTOR_TLS_MODE=disable',
  ]);
  let sm: SecretsManagerClient | undefined;
  try {
    const endpoint = /export AWS_ENDPOINT_URL_SECRETS_MANAGER=(\S+)/.exec(r.output())![1];
    const arn = /rotation function: (arn:aws:lambda:us-east-1:000000000000:function:rotor-rotation)\n/.exec(r.output())?.[1];
    expect(arn).toBe('arn:aws:lambda:us-east-1:000000000000:function:rotor-rotation');
    expect(r.output()).toContain(`--rotation-lambda-arn ${arn}`);
    sm = new SecretsManagerClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

    // The README's secret, pointed at the throwaway server.
    await sm.send(
      new CreateSecretCommand({
        Name: 'demo',
        SecretString: JSON.stringify({ engine: 'postgres', host: 'localhost', port: pg.port, username: 'app', password: initialPassword }),
      }),
    );
    const { VersionId } = await sm.send(new RotateSecretCommand({ SecretId: 'demo', RotationLambdaARN: arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const end = await waitForOutput(r, new RegExp(`rotation of demo \\(version ${VersionId}, attempt \\d+\\): (RotationSucceeded|RotationFailed.*\\(no more attempts\\)|RotationAbandoned)`));
    expect(end[1]).toBe('RotationSucceeded');

    const versions = (await sm.send(new ListSecretVersionIdsCommand({ SecretId: 'demo' }))).Versions ?? [];
    expect(versions.find((v) => v.VersionId === VersionId)?.VersionStages).toContain('AWSCURRENT');
    const rotated = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: 'demo' }))).SecretString!) as { password: string };
    expect(rotated.password).not.toBe(initialPassword);
    const server = { host: '127.0.0.1', port: pg.port, database: 'postgres' };
    expect(await canLogin(server, 'app', rotated.password)).toBe(true);
    expect(await canLogin(server, 'app', initialPassword)).toBe(false);

    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.output()).toContain('rotor local: stopped.');
    // Neither password in anything rotor local or the function printed.
    expect(r.output()).not.toContain(initialPassword);
    expect(r.output()).not.toContain(rotated.password);
  } finally {
    sm?.destroy();
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
  }
});

test('rotor local --rds-port --rds-instance: the rds-master strategy rotates a master password through the local RDS endpoint', async () => {
  const masterPassword = `Master-${Math.random().toString(36).slice(2)}-pw`;
  await pg.query(`CREATE ROLE app_master LOGIN PASSWORD ${escapeLiteral(masterPassword)}`);
  const dbArn = 'arn:aws:rds:us-east-1:000000000000:db:app-db';
  const r = await rotorLocal([
    '--port', '0',
    '--rds-port', '0',
    '--rds-instance', `app-db=postgres://app_master@localhost:${pg.port}`,
    '--rotation-function', BUNDLE,
    '--function-env', 'ROTOR_TLS_MODE=disable',
    '--function-env', 'ROTOR_STRATEGY=rds-master',
    '--function-env', `ROTOR_RDS_RESOURCE_ARNS=${dbArn}`,
  ]);
  let sm: SecretsManagerClient | undefined;
  let rds: RDSClient | undefined;
  try {
    const endpoint = /export AWS_ENDPOINT_URL_SECRETS_MANAGER=(\S+)/.exec(r.output())![1];
    const rdsEndpoint = /RDS endpoint on (http:\/\/127\.0\.0\.1:\d+)/.exec(r.output())![1];
    expect(r.output()).toContain(`DB instance app-db: postgres, master user app_master at localhost:${pg.port} (${dbArn})`);
    const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
    sm = new SecretsManagerClient({ endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    rds = new RDSClient({ endpoint: rdsEndpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
    const described = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'app-db' }))).DBInstances?.[0];
    expect({ id: described?.DBInstanceIdentifier, status: described?.DBInstanceStatus, user: described?.MasterUsername }).toEqual({ id: 'app-db', status: 'available', user: 'app_master' });
    // Both servers rotor local runs answer local clients only (test/local/local-only-requests.test.ts has the rest).
    for (const url of [endpoint, rdsEndpoint]) expect(await statusForHost(url, 'attacker.example')).toBe(403);

    await sm.send(
      new CreateSecretCommand({
        Name: 'master',
        SecretString: JSON.stringify({ engine: 'postgres', host: 'localhost', port: pg.port, username: 'app_master', password: masterPassword, dbInstanceIdentifier: 'app-db' }),
      }),
    );
    const arn = 'arn:aws:lambda:us-east-1:000000000000:function:rotor-rotation';
    const { VersionId } = await sm.send(new RotateSecretCommand({ SecretId: 'master', RotationLambdaARN: arn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    const end = await waitForOutput(r, new RegExp(`rotation of master \\(version ${VersionId}, attempt \\d+\\): (RotationSucceeded|RotationFailed.*\\(no more attempts\\)|RotationAbandoned)`));
    expect(end[1]).toBe('RotationSucceeded');
    // The change went through ModifyDBInstance: rotor local's RDS endpoint applied it.
    expect(r.output()).toContain('rotor local RDS: master password of app-db changed (logged in with AWSCURRENT)');

    const rotated = JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: 'master' }))).SecretString!) as { password: string };
    const server = { host: '127.0.0.1', port: pg.port, database: 'postgres' };
    expect(await canLogin(server, 'app_master', rotated.password)).toBe(true);
    expect(await canLogin(server, 'app_master', masterPassword)).toBe(false);

    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
    expect(r.output()).not.toContain(masterPassword);
    expect(r.output()).not.toContain(rotated.password);
    // The server logs every statement: the change was sent as a SCRAM verifier, never in plaintext.
    const serverLog = readFileSync(pg.logFile, 'utf8');
    expect(serverLog).toMatch(/ALTER ROLE CURRENT_USER PASSWORD 'SCRAM-SHA-256\$/);
    expect(serverLog).not.toContain(rotated.password);
  } finally {
    sm?.destroy();
    rds?.destroy();
    if (r.child.exitCode === null) r.child.kill('SIGKILL');
  }
});

test('rotor local refuses a missing bundle, --function-env without --rotation-function, and bad --rds-instance', async () => {
  await expect(rotorLocal(['--port', '0', '--rotation-function', path.join(dir, 'nothing.js')])).rejects.toThrow(/exited with 1:[\s\S]*does not exist: run `npm run build`/);
  await expect(rotorLocal(['--port', '0', '--function-env', 'ROTOR_TLS_MODE=disable'])).rejects.toThrow(/exited with 2:[\s\S]*need --rotation-function/);
  await expect(rotorLocal(['--port', '0', '--rotation-function', BUNDLE, '--function-env', 'no-equals-sign'])).rejects.toThrow(/exited with 2:[\s\S]*KEY=VALUE/);
  await expect(rotorLocal(['--port', '0', '--rds-instance', 'app-db=postgres://m@localhost:5432'])).rejects.toThrow(/exited with 2:[\s\S]*needs --rds-port/);
  await expect(rotorLocal(['--port', '0', '--rds-port', '0', '--rds-instance', 'app-db=postgres://m@localhost'])).rejects.toThrow(/exited with 2:[\s\S]*not a DB instance/);
  await expect(rotorLocal(['--port', '0', '--rds-port', '0', '--rds-instance', 'app-db=mariadb://m@localhost:3306'])).rejects.toThrow(/exited with 2:[\s\S]*only postgres/);
});
