import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DEPLOYMENT, fixture, seed, startTriggerLocal, succeededRotations, type TriggerLocal } from './trigger-test-kit';

/* eslint-disable @typescript-eslint/no-explicit-any */

const BUNDLE = path.resolve(__dirname, '../../dist/trigger/index.js');

/** Runs the esbuild bundle as Lambda would: a plain node process, `require()` and `handler(event, context)`. */
const RUNNER = `
const { handler } = require(process.env.BUNDLE);
const event = JSON.parse(process.env.EVENT);
const context = { functionName: 'rotor-trigger', awsRequestId: 'r-1', invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:rotor-trigger',
  memoryLimitInMB: '256', getRemainingTimeInMillis: () => 60000 };
handler(event, context).then(
  (r) => { process.stdout.write('\\nREPORT ' + JSON.stringify(r) + '\\n'); },
  (e) => { process.stdout.write('\\nERROR ' + e.name + ': ' + e.message + '\\n'); process.exitCode = 1; });
`;

let t: TriggerLocal;
beforeAll(async () => {
  t = await startTriggerLocal();
});
afterAll(async () => {
  await t.local.stop();
});

/** Runs the bundle with `event` and the given extra environment; returns the report it printed. */
async function runBundle(event: unknown, extraEnv: Record<string, string> = {}): Promise<any> {
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', RUNNER], {
    env: {
      PATH: process.env.PATH ?? '',
      BUNDLE, EVENT: JSON.stringify(event),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: t.local.endpoint, AWS_REGION: t.local.region,
      AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
      ROTOR_DEPLOYMENT_ID: DEPLOYMENT, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true',
      ...extraEnv,
    },
    timeout: 20_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  expect(line).toMatch(/^REPORT \{/);
  return JSON.parse(line!.slice('REPORT '.length));
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
