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
  // stuck: a rotation that failed 2 hours ago left AWSPENDING behind.
  stack.setClockOffset(-2 * 3_600_000);
  expect(await stack.rotateNow(await secretFor('stuck'), stack.failingFn)).toBe('RotationFailed');
  stack.setClockOffset(0);
  // never rotated: rotation configured (tested), never run.
  await stack.configure(await secretFor('fresh'), stack.realFn);
  // rotation disabled: managed but no rotation configured.
  await secretFor('norot');
  // rotating: a rotation running right now.
  await stack.sm.send(new (require('@aws-sdk/client-secrets-manager').RotateSecretCommand)({
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
  'status/norot': 'rotation-disabled', 'status/ok': 'ok', 'status/stuck': 'stuck',
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
  expect(out.summary).toMatchObject({ total: 7, ok: 1, 'due-soon': 1, overdue: 1, stuck: 1, rotating: 1, 'rotation-disabled': 1, 'never-rotated': 1 });
  expect(r.code).toBe(1);
  for (const pw of passwords) expect(r.stdout).not.toContain(pw);
});

test('status (table): one row per secret, a summary line, no colour when not a terminal', async () => {
  const r = await rotor(['status'], stack.env);
  for (const [name, state] of Object.entries(EXPECTED)) expect(r.stdout).toMatch(new RegExp(`${name}\\s*│.*│\\s*${state}`));
  expect(r.stdout).toMatch(/7 secrets: 1 ok, 1 due-soon, 1 overdue, 1 rotating, 1 stuck, 1 rotation-disabled, 1 never-rotated \([0-9.]+ s\)/);
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
