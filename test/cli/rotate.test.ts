import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { startPostgres, canLogin, type PgServer } from '../support/postgres-server';
import { MANAGED, password, rotor, startCliStack, type CliStack } from './cli-kit';

let pg: PgServer;
let stack: CliStack;
const passwords: Record<string, string> = {};
const arns: Record<string, string> = {};

async function secretFor(name: string, tags = [MANAGED, { Key: 'group', Value: 'g1' }]): Promise<string> {
  const user = `rot_${name}`;
  passwords[name] = password();
  await pg.query(`CREATE ROLE ${user} LOGIN PASSWORD '${passwords[name]}'`);
  arns[name] = await stack.createSecret(`rotate/${name}`, { engine: 'postgres', host: 'localhost', port: pg.port, username: user, password: passwords[name], dbname: pg.database }, tags);
  return arns[name];
}

beforeAll(async () => {
  pg = await startPostgres({ tls: true });
  stack = await startCliStack({ ROTOR_TLS_CA_FILE: pg.caFile! });
  await stack.configure(await secretFor('a'), stack.realFn);
  await stack.configure(await secretFor('b'), stack.realFn);
  await stack.configure(await secretFor('bad'), stack.failingFn); // every rotation of this one fails
  await secretFor('unmanaged', [{ Key: 'group', Value: 'g1' }]);
  await stack.configure(arns.unmanaged, stack.realFn);
  // A function that fails in setSecret the way the rotation function reports it: step, [category], message, action.
  const netFn = stack.local.lambdaArn('rotor-net-failure');
  stack.local.registerRotationFunction(netFn, {
    kind: 'in-process',
    handler: async (e) => {
      if ((e as { Step: string }).Step === 'setSecret') throw new Error('setSecret: [network] could not reach db.internal:5432 (code ECONNREFUSED). Allow the function\'s security group on the database port.');
    },
  });
  await stack.configure(await secretFor('cat', [MANAGED]), netFn);
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await pg?.stop();
});

test('rotate --wait: two rotated for real, the injected failure reported as soon as it happened (with its event), the unmanaged one skipped; exit 1; the same --request-id starts nothing twice', async () => {
  // --timeout 3600: the command only ends this test in time (the child is killed at 40 s) by
  // returning when the failure is known, not when the wait times out.
  const startedSecond = Math.floor(Date.now() / 1000) * 1000;
  const r = await rotor(['rotate', 'rotate/a', 'rotate/b', 'rotate/bad', 'rotate/unmanaged', 'rotate/missing', '--wait', '--timeout', '3600', '--request-id', 'ticket-42', '--json'], stack.env);
  const endedAt = Date.now();
  expect(r.code).toBe(1);
  const out = JSON.parse(r.stdout);
  const by = Object.fromEntries(out.results.map((x: { secret: string }) => [x.secret, x]));
  expect(by['rotate/a']).toMatchObject({ outcome: 'rotated' });
  expect(by['rotate/b']).toMatchObject({ outcome: 'rotated' });
  expect(by['rotate/bad']).toMatchObject({
    outcome: 'failed',
    event: { event: 'RotationFailed', step: 'createSecret', message: expect.stringMatching(/injected failure: setSecret cannot reach the database/) },
  });
  // The event is this command's: it happened while the command ran (no wall-clock tolerance).
  const failedAt = Date.parse(by['rotate/bad'].event.time);
  expect(failedAt).toBeGreaterThanOrEqual(startedSecond);
  expect(failedAt).toBeLessThanOrEqual(endedAt);
  expect(by['rotate/bad'].detail).toMatch(/^RotationFailed at .* in createSecret: .*injected failure.*; run rotor doctor rotate\/bad$/);
  expect(by['rotate/unmanaged']).toMatchObject({ outcome: 'skipped', reason: 'not-managed' });
  expect(by['rotate/missing']).toMatchObject({ outcome: 'failed', reason: 'not-found' });
  expect(out.summary).toMatchObject({ rotated: 2, failed: 2, timedOut: 0, skipped: 1 });
  // The passwords really changed, and none was printed.
  expect(await canLogin({ ...pg, host: 'localhost' }, 'rot_a', passwords.a)).toBe(false);
  for (const pw of Object.values(passwords)) expect(r.stdout + r.stderr).not.toContain(pw);

  const d = await stack.sm.send(new DescribeSecretCommand({ SecretId: arns.a }));
  const versionsBefore = Object.keys(d.VersionIdsToStages ?? {}).length;
  const again = await rotor(['rotate', 'rotate/a', '--request-id', 'ticket-42', '--json'], stack.env);
  expect(JSON.parse(again.stdout).results).toEqual([expect.objectContaining({ secret: 'rotate/a', outcome: 'skipped', reason: 'already-requested' })]);
  expect(again.code).toBe(0);
  const after = await stack.sm.send(new DescribeSecretCommand({ SecretId: arns.a }));
  expect(Object.keys(after.VersionIdsToStages ?? {}).length).toBe(versionsBefore);
}, 60_000);

test('rotate --wait (table) prints the failure\'s event: step, category, message', async () => {
  await stack.local.idle();
  const r = await rotor(['rotate', 'rotate/cat', '--wait', '--timeout', '3600'], stack.env);
  expect(r.stdout).toMatch(/rotate\/cat\s*│\s*failed\s*│/);
  expect(r.stdout.replace(/\s*│\s*/g, ' ').replace(/\s+/g, ' ')).toMatch(/RotationFailed at \S+ in setSecret \[network\]: Error when executing lambda during setSecret step: .*could not reach db\.internal:5432/);
  expect(r.code).toBe(1);
  for (const pw of Object.values(passwords)) expect(r.stdout + r.stderr).not.toContain(pw);
}, 60_000);

test('rotate --tag (table): the stuck secret is skipped as in progress, the others start', async () => {
  const r = await rotor(['rotate', '--tag', 'group=g1'], stack.env);
  expect(r.stdout).toMatch(/rotate\/a\s*│\s*started/);
  expect(r.stdout).toMatch(/rotate\/bad\s*│\s*skipped.*rotation-in-progress/);
  expect(r.stdout).toMatch(/rotate\/unmanaged\s*│\s*skipped.*not-managed/);
  expect(r.stdout).toMatch(/4 secrets: 2 started, 2 skipped \(request id rotor-cli:/);
  expect(r.code).toBe(0);
  await stack.local.idle();
});

test('bad arguments exit 2', async () => {
  const results = await Promise.all([
    rotor(['rotate'], stack.env),
    rotor(['rotate', 'x', '--concurrency', '0'], stack.env),
    rotor(['status', '--tag', 'novalue'], stack.env),
    rotor(['doctor'], stack.env),
    rotor(['frobnicate'], stack.env),
    rotor(['status', '--bogus'], stack.env),
  ]);
  expect(results.map((x) => x.code)).toEqual([2, 2, 2, 2, 2, 2]);
  expect(results[0].stderr).toMatch(/name at least one secret or --tag/);
  expect(results[2].stderr).toMatch(/a tag filter is key=value/);
  const help = await rotor(['rotate', '--help']);
  expect(help.code).toBe(0);
  expect(help.stdout).toMatch(/--request-id/);
});
