import {
  DescribeSecretCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { MANAGED, password, rotor, startCliStack, type CliStack } from './cli-kit';

/**
 * `rotor history` reads the events from CloudTrail LookupEvents; the local endpoint serves them
 * (AWS_ENDPOINT_URL_CLOUDTRAIL unset: the CLI uses the loopback Secrets Manager endpoint).
 */
let stack: CliStack;
const passwords: string[] = [];
let mixedArn: string;

async function secret(name: string): Promise<string> {
  const pw = password();
  passwords.push(pw);
  return stack.createSecret(name, { engine: 'postgres', host: 'db.internal', port: 5432, username: 'app', password: pw, dbname: 'app' });
}

async function rotate(arn: string, fn: string): Promise<string> {
  const r = await stack.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: 30 } }));
  return (await stack.local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 20_000 })).eventName;
}

beforeAll(async () => {
  stack = await startCliStack({});
  // A function that rotates without a database (writes the pending value, moves AWSCURRENT).
  const okFn = stack.local.lambdaArn('history-ok');
  stack.local.registerRotationFunction(okFn, {
    kind: 'in-process',
    handler: async (e) => {
      const ev = e as { Step: string; SecretId: string; ClientRequestToken: string };
      if (ev.Step === 'createSecret') {
        const pw = password();
        passwords.push(pw);
        await stack.sm.send(new PutSecretValueCommand({ SecretId: ev.SecretId, ClientRequestToken: ev.ClientRequestToken, SecretString: JSON.stringify({ password: pw }), VersionStages: ['AWSPENDING'] }));
      } else if (ev.Step === 'finishSecret') {
        const d = await stack.sm.send(new DescribeSecretCommand({ SecretId: ev.SecretId }));
        const current = Object.entries(d.VersionIdsToStages ?? {}).find(([, st]) => st.includes('AWSCURRENT'))![0];
        await stack.sm.send(new UpdateSecretVersionStageCommand({ SecretId: ev.SecretId, VersionStage: 'AWSCURRENT', MoveToVersionId: ev.ClientRequestToken, RemoveFromVersionId: current }));
      }
    },
  });
  const netFn = stack.local.lambdaArn('history-net');
  stack.local.registerRotationFunction(netFn, {
    kind: 'in-process',
    handler: async (e) => {
      if ((e as { Step: string }).Step === 'setSecret') throw new Error('setSecret: [network] could not reach db.internal:5432 (code ECONNREFUSED). Allow the function\'s security group on the database port.');
    },
  });

  // mixed: tested, rotated, then a failed rotation (the latest outcome).
  // mixed: tested and rotated 20 days ago (the endpoint's clock set back), then a failed rotation now (the latest outcome).
  mixedArn = await secret('history/mixed');
  stack.setClockOffset(-20 * 86_400_000);
  await stack.configure(mixedArn, okFn);
  expect(await rotate(mixedArn, okFn)).toBe('RotationSucceeded');
  // ancient: rotated 100 days ago, beyond CloudTrail's 90 days.
  stack.setClockOffset(-100 * 86_400_000);
  expect(await rotate(await secret('history/ancient'), okFn)).toBe('RotationSucceeded');
  stack.setClockOffset(0);
  expect(await rotate(mixedArn, netFn)).toBe('RotationFailed');
  // good: one successful rotation.
  expect(await rotate(await secret('history/good'), okFn)).toBe('RotationSucceeded');
  // busy: 51 rotations, more RotationStarted/RotationSucceeded events than one LookupEvents page (50).
  const busy = await secret('history/busy');
  for (let i = 0; i < 51; i++) expect(await rotate(busy, okFn)).toBe('RotationSucceeded');
  // quiet: never rotated.
  await secret('history/quiet');
  void MANAGED;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
});

interface Ev { time: string; event: string; step?: string; category?: string; message?: string; eventId: string }

test('history --json: the secret\'s events only, newest first, with step/category/message of the failure; exit 1 because the latest outcome failed', async () => {
  const r = await rotor(['history', 'history/mixed', '--json'], stack.env);
  expect(r.stderr).toBe('');
  const out = JSON.parse(r.stdout) as { secret: { name: string; arn: string }; days: number; events: Ev[]; summary: Record<string, unknown> };
  expect(out.secret).toEqual({ name: 'history/mixed', arn: mixedArn });
  expect(out.days).toBe(90);
  expect(out.events.map((e) => e.event)).toEqual([
    'RotationFailed', 'RotationStarted', 'RotationSucceeded', 'RotationStarted', 'TestRotationSucceeded', 'TestRotationStarted',
  ]);
  expect(out.events[0]).toMatchObject({
    step: 'setSecret', category: 'network',
    message: expect.stringMatching(/^Error when executing lambda during setSecret step: setSecret: \[network\] could not reach db\.internal:5432/),
  });
  const times = out.events.map((e) => Date.parse(e.time));
  expect([...times].sort((a, b) => b - a)).toEqual(times);
  expect(new Set(out.events.map((e) => e.eventId)).size).toBe(6);
  expect(out.summary).toMatchObject({ total: 6, RotationStarted: 2, RotationSucceeded: 1, RotationFailed: 1, TestRotationStarted: 1, TestRotationSucceeded: 1, lastOutcome: { event: 'RotationFailed' } });
  expect(r.code).toBe(1);
  for (const pw of passwords) expect(r.stdout).not.toContain(pw);
});

test('history (table) by ARN; a secret whose last rotation succeeded exits 0; one never rotated has no events', async () => {
  const [table, good, quiet] = await Promise.all([
    rotor(['history', mixedArn], stack.env),
    rotor(['history', 'history/good'], stack.env),
    rotor(['history', 'history/quiet', '--json'], stack.env),
  ]);
  expect(table.stdout).toMatch(/│ RotationFailed\s*│ setSecret │ network\s*│ Error when executing lambda/);
  expect(table.stdout).toMatch(/│ TestRotationStarted\s*│ -\s*│ -\s*│/);
  expect(table.stdout).toMatch(/history\/mixed: 6 rotation events in the last 90 days; last outcome RotationFailed at \d{4}-\d\d-\d\d \d\d:\d\d \([0-9.]+ s\)/);
  expect(table.code).toBe(1);
  expect(good.stdout).toMatch(/│ RotationSucceeded/);
  expect(good.stdout).not.toMatch(/RotationFailed|TestRotation/);
  expect(good.stdout).toMatch(/history\/good: 2 rotation events in the last 90 days; last outcome RotationSucceeded/);
  expect(good.code).toBe(0);
  expect(JSON.parse(quiet.stdout)).toMatchObject({ events: [], summary: { total: 0, lastOutcome: null } });
  expect(quiet.code).toBe(0);
  for (const pw of passwords) expect(table.stdout + good.stdout + quiet.stdout).not.toContain(pw);
});

test('history: --days narrows the window, nothing beyond 90 days; unknown secret exit 1; bad --days exit 2; AWS_ENDPOINT_URL_CLOUDTRAIL is honoured', async () => {
  const [recent, wide, ancient] = await Promise.all([
    rotor(['history', 'history/mixed', '--days', '5', '--json'], stack.env),
    rotor(['history', 'history/mixed', '--days', '21', '--json'], stack.env),
    rotor(['history', 'history/ancient', '--json'], stack.env),
  ]);
  expect(JSON.parse(recent.stdout).events.map((e: Ev) => e.event)).toEqual(['RotationFailed', 'RotationStarted']);
  expect(JSON.parse(recent.stdout).days).toBe(5);
  expect(JSON.parse(wide.stdout).events).toHaveLength(6);
  expect(JSON.parse(ancient.stdout).events).toEqual([]);
  const missing = await rotor(['history', 'history/nope'], stack.env);
  expect(missing.code).toBe(1);
  expect(missing.stderr).toMatch(/secret history\/nope not found/);
  const bad = await rotor(['history', 'history/mixed', '--days', '91'], stack.env);
  expect(bad.code).toBe(2);
  const elsewhere = await rotor(['history', 'history/mixed'], { ...stack.env, AWS_ENDPOINT_URL_CLOUDTRAIL: 'http://127.0.0.1:9' });
  expect(elsewhere.code).toBe(1);
  expect(elsewhere.stderr).toMatch(/^rotor: .*(ECONNREFUSED|connect)/);
});

test('history follows LookupEvents pages (NextToken): 51 rotations are 102 events', async () => {
  const r = await rotor(['history', 'history/busy', '--json'], stack.env);
  const out = JSON.parse(r.stdout);
  expect(out.summary).toMatchObject({ total: 102, RotationStarted: 51, RotationSucceeded: 51 });
  expect(r.code).toBe(0);
});
