import { RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startPostgres, type PgServer } from '../support/postgres-server';
import { MANAGED, password, rotor, startCliStack, type CliStack } from './cli-kit';

let pg: PgServer;
let stack: CliStack;
const passwords: string[] = [];
const DAY = 86_400_000;

async function secretFor(name: string, tags = [MANAGED]): Promise<string> {
  const user = name.replace(/[^a-z0-9]/g, '_');
  const pw = password();
  passwords.push(pw);
  await pg.query(`CREATE ROLE ${user} LOGIN PASSWORD '${pw}'`);
  return stack.createSecret(`status/${name}`, { engine: 'postgres', host: 'localhost', port: pg.port, username: user, password: pw, dbname: pg.database }, tags);
}

beforeAll(async () => {
  pg = await startPostgres({ tls: true });
  stack = await startCliStack({ ROTOR_TLS_CA_FILE: pg.caFile! });

  // ok: rotated now, next in 30 days; tagged engine/strategy/owner.
  const ok = await secretFor('ok', [MANAGED, { Key: 'rotor:engine', Value: 'postgres' }, { Key: 'rotor:strategy', Value: 'single-user' }, { Key: 'owner', Value: 'team-a' }, { Key: 'env', Value: 'prod' }]);
  expect(await stack.rotateNow(ok, stack.realFn)).toBe('RotationSucceeded');
  // due soon: rotated, next in 3 days.
  expect(await stack.rotateNow(await secretFor('due'), stack.realFn, 3)).toBe('RotationSucceeded');
  // overdue: rotated 40 days ago on a 30-day schedule (the endpoint's clock set back).
  stack.setClockOffset(-40 * DAY);
  expect(await stack.rotateNow(await secretFor('late', [MANAGED, { Key: 'team', Value: 'payments' }]), stack.realFn)).toBe('RotationSucceeded');
  // failed: a rotation that failed 2 hours ago left AWSPENDING behind; CloudTrail has its RotationFailed.
  stack.setClockOffset(-2 * 3_600_000);
  expect(await stack.rotateNow(await secretFor('failed'), stack.failingFn)).toBe('RotationFailed');
  // stuck: a rotation started 2 hours ago that has neither ended nor failed.
  await stack.sm.send(new RotateSecretCommand({ SecretId: await secretFor('stuck'), RotationLambdaARN: stack.hangingFn, RotationRules: { AutomaticallyAfterDays: 30 } }));
  // inventory only (not managed by rotor): created, tested and last read 100 days ago, never rotated, next rotation in 265 days.
  stack.setClockOffset(-100 * DAY);
  await stack.configure(await secretFor('old', [{ Key: 'inv', Value: 'old' }]), stack.realFn, 365);
  stack.setClockOffset(0);
  // never rotated: rotation configured (tested), never run.
  await stack.configure(await secretFor('fresh'), stack.realFn);
  // rotation disabled: managed but no rotation configured.
  await secretFor('norot');
  // rotating: a rotation running right now.
  await stack.sm.send(new RotateSecretCommand({
    SecretId: await secretFor('busy'), RotationLambdaARN: stack.hangingFn, RotationRules: { AutomaticallyAfterDays: 30 },
  }));
  // not managed by rotor: not listed.
  await secretFor('other', [{ Key: 'env', Value: 'prod' }]);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await pg?.stop();
});

const EXPECTED: Record<string, string> = {
  'status/busy': 'rotating', 'status/due': 'due-soon', 'status/fresh': 'never-rotated', 'status/late': 'overdue',
  'status/norot': 'rotation-disabled', 'status/ok': 'ok', 'status/stuck': 'stuck', 'status/failed': 'failed',
};

test('status --json: every state, produced for real; exit 1 because something is overdue/stuck', async () => {
  const r = await rotor(['status', '--json', '--owner-tag', 'owner'], stack.env);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  const states = Object.fromEntries(out.secrets.map((s: { name: string; state: string }) => [s.name, s.state]));
  expect(states).toEqual(EXPECTED);
  const ok = out.secrets.find((s: { name: string }) => s.name === 'status/ok');
  expect(ok).toMatchObject({ engine: 'postgres', strategy: 'single-user', owner: 'team-a' });
  expect(Date.parse(ok.nextRotation) - Date.now()).toBeGreaterThan(29 * DAY);
  const stuck = out.secrets.find((s: { name: string }) => s.name === 'status/stuck');
  expect(stuck.detail).toMatch(/AWSPENDING on version [0-9a-f-]{36} for 2 h/);
  // The failed rotation, with when (from its CloudTrail RotationFailed event), step and message.
  const failed = out.secrets.find((s: { name: string }) => s.name === 'status/failed');
  expect(failed.failure).toMatchObject({ event: 'RotationFailed', step: 'createSecret', message: expect.stringMatching(/injected failure: setSecret cannot reach the database/) });
  expect(Math.abs(Date.now() - 2 * 3_600_000 - Date.parse(failed.failure.time))).toBeLessThan(10 * 60_000);
  expect(failed.detail).toMatch(/^rotation failed 2h ago \(.*\) in createSecret: .*injected failure.*; run rotor doctor status\/failed$/);
  expect(out.summary).toMatchObject({ total: 8, ok: 1, 'due-soon': 1, overdue: 1, stuck: 1, failed: 1, rotating: 1, 'rotation-disabled': 1, 'never-rotated': 1 });
  expect(out.summary.controls).toBeUndefined();
  expect(r.code).toBe(1);
  for (const pw of passwords) expect(r.stdout).not.toContain(pw);
});

test('status (table): one row per secret, a summary line, no colour when not a terminal', async () => {
  const r = await rotor(['status'], stack.env);
  for (const [name, state] of Object.entries(EXPECTED)) expect(r.stdout).toMatch(new RegExp(`${name}\\s*│.*│\\s*${state}`));
  expect(r.stdout).toMatch(/8 secrets: 1 ok, 1 due-soon, 1 overdue, 1 rotating, 1 stuck, 1 failed, 1 rotation-disabled, 1 never-rotated \([0-9.]+ s\)/);
  expect(r.stdout).toMatch(/status\/failed\s*│.*│\s*failed 2h ago/);
  expect(r.stdout).toMatch(/^status\/failed: rotation failed 2h ago .* in createSecret: .*injected failure/m);
  expect(r.stdout).not.toMatch(/\u001b\[/);
  expect(r.code).toBe(1);
});

test('status --overdue, --tag and --owner-tag filter; --values reads engines without printing values', async () => {
  const [overdue, prod, team, values] = await Promise.all([
    rotor(['status', '--overdue', '--json'], stack.env),
    rotor(['status', '--tag', 'env=prod', '--json'], stack.env),
    rotor(['status', '--tag', 'team=payments', '--owner-tag', 'team', '--json'], stack.env),
    rotor(['status', '--values', '--json'], stack.env),
  ]);
  expect(JSON.parse(overdue.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(['status/late']);
  expect(overdue.code).toBe(1);
  expect(JSON.parse(prod.stdout).secrets.map((s: { name: string }) => s.name)).toEqual(['status/ok']);
  expect(prod.code).toBe(0);
  expect(JSON.parse(team.stdout).secrets).toEqual([expect.objectContaining({ name: 'status/late', owner: 'payments', state: 'overdue' })]);
  const v = JSON.parse(values.stdout).secrets;
  expect(v.every((s: { engine: string }) => s.engine === 'postgres')).toBe(true);
  for (const pw of passwords) expect(values.stdout).not.toContain(pw);
});

const C = ['SecretsManager.1', 'SecretsManager.2', 'SecretsManager.3', 'SecretsManager.4'];
const P = 'PASSED';
const F = 'FAILED';
const NA = 'NOT_APPLICABLE';

test('status --all: the inventory of every secret whatever its rotation state, with Security Hub\'s SecretsManager.1-.4; exit 1 when a control fails', async () => {
  const r = await rotor(['status', '--all', '--json'], stack.env);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout);
  const controls = Object.fromEntries(out.secrets.map((s: { name: string; controls: Record<string, string> }) => [s.name, C.map((c) => s.controls[c])]));
  expect(controls).toEqual({
    'status/busy': [P, P, P, P],
    'status/due': [P, P, P, P],
    'status/failed': [P, F, P, P], // last rotation failed
    'status/fresh': [P, P, P, P],
    'status/late': [P, F, P, P], // not rotating as scheduled
    'status/norot': [F, NA, P, P], // rotation not enabled
    'status/ok': [P, P, P, P],
    'status/old': [P, P, F, F], // unused and not rotated for 100 days
    'status/other': [F, NA, P, P], // not managed by rotor, listed all the same
    'status/stuck': [P, P, P, P],
  });
  expect(out.secrets.find((s: { name: string }) => s.name === 'status/old')).toMatchObject({ state: 'never-rotated' });
  expect(out.summary.controls).toEqual({
    'SecretsManager.1': { passed: 8, failed: 2, notApplicable: 0 },
    'SecretsManager.2': { passed: 6, failed: 2, notApplicable: 2 },
    'SecretsManager.3': { passed: 9, failed: 1, notApplicable: 0 },
    'SecretsManager.4': { passed: 9, failed: 1, notApplicable: 0 },
  });
  expect(out.summary).toMatchObject({ total: 10, thresholds: { unusedDays: 90, maxAgeDays: 90 } });
  expect(r.code).toBe(1);
  for (const pw of passwords) expect(r.stdout).not.toContain(pw);
});

test('status --all thresholds: --unused-days/--max-age-days move SecretsManager.3/.4; exit 0 only when every control passes; table shows the failed controls', async () => {
  const [strict, lenient, table] = await Promise.all([
    rotor(['status', '--all', '--tag', 'inv=old', '--json'], stack.env),
    rotor(['status', '--all', '--tag', 'inv=old', '--unused-days', '101', '--max-age-days', '101', '--json'], stack.env),
    rotor(['status', '--all'], stack.env),
  ]);
  expect(JSON.parse(strict.stdout).secrets.map((s: { controls: Record<string, string> }) => C.map((c) => s.controls[c]))).toEqual([[P, P, F, F]]);
  expect(strict.code).toBe(1); // only controls fail: the state (never-rotated) alone would exit 0
  expect(JSON.parse(lenient.stdout).secrets.map((s: { controls: Record<string, string> }) => C.map((c) => s.controls[c]))).toEqual([[P, P, P, P]]);
  expect(JSON.parse(lenient.stdout).summary.thresholds).toEqual({ unusedDays: 101, maxAgeDays: 101 });
  expect(lenient.code).toBe(0);
  expect(table.stdout).toMatch(/status\/old\s*│.*│\s*SM\.3 SM\.4\s*│/);
  expect(table.stdout).toMatch(/status\/other\s*│.*│\s*rotation-disabled\s*│\s*SM\.1\s*│/);
  expect(table.stdout).toMatch(/status\/ok\s*│.*│\s*ok\s*│\s*-\s*│/);
  expect(table.stdout).toMatch(/controls \(unused > 90 d, not rotated > 90 d\): SecretsManager\.1 2 failed \(8 passed\); SecretsManager\.2 2 failed \(6 passed, 2 n\/a\); SecretsManager\.3 1 failed \(9 passed\); SecretsManager\.4 1 failed \(9 passed\)/);
  expect(table.code).toBe(1);
});
