import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { token } from './local-test-kit';

/* `rotor local` as a process: prints the endpoint, serves the SDK through AWS_ENDPOINT_URL_SECRETS_MANAGER, stops on SIGTERM. */

const ROOT = path.resolve(__dirname, '../..');
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');

function startServeLocal(statePath: string): Promise<{ child: ChildProcess; endpoint: string; output: () => string }> {
  const script = `require(${JSON.stringify(path.join(ROOT, 'local/serve.ts'))}).serveLocal({ port: 0, statePath: ${JSON.stringify(statePath)} }).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });`;
  const child = spawn(TSX, ['-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d.toString()));
  child.stderr!.on('data', (d) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serveLocal did not start:\n${out}`)), 20_000);
    child.stdout!.on('data', () => {
      const m = /export AWS_ENDPOINT_URL_SECRETS_MANAGER=(\S+)/.exec(out);
      if (m && out.includes('Ctrl-C to stop.')) {
        clearTimeout(timer);
        resolve({ child, endpoint: m[1], output: () => out });
      }
    });
    child.on('exit', (code) => reject(new Error(`serveLocal exited with ${code}:\n${out}`)));
  });
}

test('serveLocal prints how to use it, serves the SDK via AWS_ENDPOINT_URL_SECRETS_MANAGER, and stops cleanly on SIGTERM', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-serve-'));
  const statePath = path.join(dir, 'state.json');
  const { child, endpoint, output } = await startServeLocal(statePath);
  const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
  try {
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(output()).toContain(`--endpoint-url ${endpoint}`);
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = endpoint;
    const sm = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'any', secretAccessKey: 'any' }, maxAttempts: 1 });
    await sm.send(new CreateSecretCommand({ Name: 'served/secret', SecretString: 'hello', ClientRequestToken: token() }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: 'served/secret' }))).SecretString).toBe('hello');
    sm.destroy();

    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output()).toContain('rotor local: stopped.');
    expect(existsSync(statePath)).toBe(true);
    expect(readFileSync(statePath, 'utf8')).toContain('served/secret');
  } finally {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
