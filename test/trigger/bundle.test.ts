import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { runTriggerBundle, TRIGGER_BUNDLE } from '../invariants/invariant-kit';
import { DEPLOYMENT, fixture, seed, startTriggerLocal, succeededRotations, type TriggerLocal } from './trigger-test-kit';

/* eslint-disable @typescript-eslint/no-explicit-any */

const BUNDLE = TRIGGER_BUNDLE;


let t: TriggerLocal;
beforeAll(async () => {
  t = await startTriggerLocal();
});
afterAll(async () => {
  await t.local.stop();
});

/** Runs the bundle with `event` and the given extra environment; returns the report it returned (test/invariants' runner). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function runBundle(event: unknown, extraEnv: Record<string, string> = {}): Promise<any> {
  return runTriggerBundle(t.local, event, { ROTOR_DEPLOYMENT_ID: DEPLOYMENT, ...extraEnv });
}

const bundleTest = existsSync(BUNDLE) ? test : test.skip;

bundleTest('the bundle dist/trigger/index.js rotates what the event names (run `npm run build` first)', async () => {
  const arns = await seed(t, 'bundle', 2);
  const event = { ...fixture('rotation-requested'), id: randomUUID(), detail: { secretIds: arns } };
  const report = await runBundle(event);
  expect(report).toMatchObject({ source: 'rotor', requested: 2, skipped: [], failed: [] });
  expect(report.rotated.map((r: { secretArn: string }) => r.secretArn).sort()).toEqual([...arns].sort());
  await t.local.idle();
  for (const arn of arns) expect(succeededRotations(t, arn)).toHaveLength(1);
});

bundleTest('the bundle reads ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT and ROTOR_TRIGGER_COOLDOWN_MINUTES, and takes its account from the invocation context', async () => {
  const arns = (await seed(t, 'bundle-cap', 3)).sort();
  const env = { ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '2', ROTOR_TRIGGER_COOLDOWN_MINUTES: '120', ROTOR_REQUEST_BUS_NAME: 'rotor-requests' };
  const capped = await runBundle({ ...fixture('rotation-requested'), id: randomUUID(), detail: { secretIds: arns } }, env);
  expect(capped.rotated.map((r: { secretArn: string }) => r.secretArn)).toEqual(arns.slice(0, 2));
  expect(capped.skipped).toEqual([expect.objectContaining({ secretArn: arns[2], reason: 'cap' })]);
  await t.local.idle();
  const again = await runBundle({ ...fixture('rotation-requested'), id: randomUUID(), detail: { secretIds: arns.slice(0, 1) } }, env);
  expect(again.skipped).toEqual([expect.objectContaining({ secretArn: arns[0], reason: 'cool-down', detail: expect.stringMatching(/120-minute cool-down/) })]);

  // The runner's context says account 000000000000: a finding of another account is skipped.
  const finding = { ...fixture('guardduty-rds-login'), id: randomUUID() };
  finding.detail.accountId = '111122223333';
  const other = await runBundle(finding, env);
  expect(other).toMatchObject({ source: 'guardduty', rotated: [], skippedFindings: [{ reason: 'other-account' }] });
});
