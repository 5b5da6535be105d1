import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { DEPLOYMENT, fixture, seed, startTriggerLocal, succeededRotations, type TriggerLocal } from './trigger-test-kit';

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

(existsSync(BUNDLE) ? test : test.skip)('the bundle dist/trigger/index.js rotates what the event names (run `npm run build` first)', async () => {
  const arns = await seed(t, 'bundle', 2);
  const event = { ...fixture('rotation-requested'), id: randomUUID(), detail: { secretIds: arns } };
  const { stdout } = await promisify(execFile)(process.execPath, ['-e', RUNNER], {
    env: {
      PATH: process.env.PATH ?? '',
      BUNDLE, EVENT: JSON.stringify(event),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: t.local.endpoint, AWS_REGION: t.local.region,
      AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local',
      ROTOR_DEPLOYMENT_ID: DEPLOYMENT, POWERTOOLS_LOG_LEVEL: 'WARN', POWERTOOLS_METRICS_DISABLED: 'true',
    },
    timeout: 20_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('REPORT '));
  expect(line).toBeDefined();
  const report = JSON.parse(line!.slice('REPORT '.length));
  expect(report).toMatchObject({ source: 'rotor', requested: 2, skipped: [], failed: [] });
  expect(report.rotated.map((r: { secretArn: string }) => r.secretArn).sort()).toEqual([...arns].sort());
  await t.local.idle();
  for (const arn of arns) expect(succeededRotations(t, arn)).toHaveLength(1);
});
