import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
    expect(arn).toBeDefined();
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

test('rotor local refuses a missing bundle, and --function-env without --rotation-function', async () => {
  await expect(rotorLocal(['--port', '0', '--rotation-function', path.join(dir, 'nothing.js')])).rejects.toThrow(/exited with 1:[\s\S]*does not exist: run `npm run build`/);
  await expect(rotorLocal(['--port', '0', '--function-env', 'ROTOR_TLS_MODE=disable'])).rejects.toThrow(/exited with 2:[\s\S]*need --rotation-function/);
  await expect(rotorLocal(['--port', '0', '--rotation-function', BUNDLE, '--function-env', 'no-equals-sign'])).rejects.toThrow(/exited with 2:[\s\S]*KEY=VALUE/);
});
