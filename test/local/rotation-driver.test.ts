import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  CancelRotateSecretCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local';
import { fakeRotationHandler, gate, labels, startLocal, token, uniqueName, versionWith, type StepCall } from './local-test-kit';

/*
 * RotateSecret drives the rotation function asynchronously, like Secrets
 * Manager: the four steps in order, retries of the whole rotation, lifecycle
 * events, abandonment, RotateImmediately=false.
 */

let local: LocalSecretsManager;
let sm: SecretsManagerClient;

beforeAll(async () => {
  ({ local, sm } = await startLocal({ rotation: { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 50, stepTimeoutMs: 2000 } }));
});
afterAll(async () => {
  await local.idle();
  sm.destroy();
  await local.stop();
});

async function newSecret(): Promise<{ arn: string; name: string; v1: string }> {
  const v1 = token();
  const name = uniqueName('drv');
  const out = await sm.send(new CreateSecretCommand({ Name: name, SecretString: '{"username":"app","password":"old"}', ClientRequestToken: v1 }));
  return { arn: out.ARN!, name, v1 };
}

function register(name: string, hooks: Parameters<typeof fakeRotationHandler>[1] = {}): string {
  const arn = local.lambdaArn(name);
  local.registerRotationFunction(arn, { kind: 'in-process', handler: fakeRotationHandler(sm, hooks) });
  return arn;
}

/** Starts a rotation whose function waits in setSecret until `held` is opened. */
async function rotationHeldInSetSecret(name: string) {
  const { arn } = await newSecret();
  const held = gate();
  const reached = gate();
  const calls: StepCall[] = [];
  const fn = register(name, {
    calls,
    before: async (e) => {
      if (e.Step === 'setSecret') {
        reached.open();
        await held.wait;
      }
    },
  });
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn }));
  await reached.wait;
  return { arn, held, calls, r };
}

test('a successful rotation: four steps in order, Lambda-like event and context, AWSCURRENT on the new version', async () => {
  const { arn, name, v1 } = await newSecret();
  const calls: StepCall[] = [];
  const fn = register('rotor-ok', { calls });
  const r = await sm.send(new RotateSecretCommand({ SecretId: name, RotationLambdaARN: fn }));
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'RotationSucceeded', secretArn: arn, secretName: name, versionId: r.VersionId, attempt: 1, final: true });
  expect(calls.map((c) => c.event.Step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
  for (const c of calls) {
    expect(c.event).toEqual({ Step: c.event.Step, SecretId: arn, ClientRequestToken: r.VersionId, RotationToken: expect.stringMatching(/^[a-zA-Z0-9-]{36,256}$/) });
    expect(c.functionName).toBe('rotor-ok');
    expect(c.remainingMs).toBeGreaterThan(0);
    expect(c.remainingMs).toBeLessThanOrEqual(2000);
  }
  const map = await labels(sm, arn);
  expect(versionWith(map, 'AWSCURRENT')).toBe(r.VersionId);
  expect(map[v1]).toEqual(['AWSPREVIOUS']);
  expect(JSON.parse((await sm.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString!).password).not.toBe('old');
  const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
  expect(d.LastRotatedDate).toBeInstanceOf(Date);
  expect(local.events({ secretId: name }).map((e) => e.eventName)).toEqual(['RotationStarted', 'RotationSucceeded']);
});

test('a failing step fails the attempt; the whole rotation is retried with backoff and can then succeed', async () => {
  const { arn } = await newSecret();
  const calls: StepCall[] = [];
  const fn = register('flaky', {
    calls,
    before: (e, attempt) => {
      if (e.Step === 'setSecret' && attempt < 3) throw Object.assign(new Error('connection refused'), { name: 'ConnectionError' });
    },
  });
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn }));
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'RotationSucceeded', attempt: 3 });
  const events = local.events({ secretId: arn }).map((e) => [e.eventName, e.attempt, e.step, e.errorType, e.errorMessage]);
  expect(events).toEqual([
    ['RotationStarted', 1, undefined, undefined, undefined],
    ['RotationFailed', 1, 'setSecret', 'ConnectionError', 'connection refused'],
    ['RotationStarted', 2, undefined, undefined, undefined],
    ['RotationFailed', 2, 'setSecret', 'ConnectionError', 'connection refused'],
    ['RotationStarted', 3, undefined, undefined, undefined],
    ['RotationSucceeded', 3, undefined, undefined, undefined],
  ]);
  // Every attempt starts again from createSecret with the same token.
  expect(calls.filter((c) => c.event.Step === 'createSecret').map((c) => c.event.ClientRequestToken)).toEqual([r.VersionId, r.VersionId, r.VersionId]);
});

test('after the last attempt: RotationFailed (final), AWSPENDING left on the new version, which blocks RotateSecret', async () => {
  const { arn, v1 } = await newSecret();
  const fn = register('broken', {
    before: (e) => {
      if (e.Step === 'testSecret') throw new TypeError('login failed');
    },
  });
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn }));
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'RotationFailed', attempt: 3, step: 'testSecret', errorType: 'TypeError', errorMessage: 'login failed', final: true });
  const map = await labels(sm, arn);
  expect(map[r.VersionId!]).toEqual(['AWSPENDING']);
  expect(map[v1]).toEqual(['AWSCURRENT']);
  await expect(sm.send(new RotateSecretCommand({ SecretId: arn }))).rejects.toMatchObject({ name: 'InvalidRequestException' });
});

test('finishSecret that does not move AWSCURRENT is a failed rotation', async () => {
  const { arn } = await newSecret();
  const fn = register('lazy-finish', { skipFinish: true });
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn }));
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'RotationFailed', step: 'finishSecret', errorType: 'RotationIncomplete', final: true });
});

test('a rotation function ARN nobody registered: RotateSecret succeeds, the rotation fails asynchronously', async () => {
  const { arn } = await newSecret();
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: local.lambdaArn('does-not-exist') }));
  expect(r.VersionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/); // the SDK's generated ClientRequestToken
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'RotationFailed', step: 'createSecret', errorType: 'ResourceNotFoundException', final: true });
  expect(end.errorMessage).toContain('does-not-exist');
});

test('a new version created by someone else mid-rotation abandons it: AWSPENDING removed, RotationAbandoned, no further steps', async () => {
  const { arn, held, calls, r } = await rotationHeldInSetSecret('slow');
  const manual = token();
  await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: manual, SecretString: '{"password":"set by hand"}' }));
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'RotationAbandoned', final: true });
  held.open();
  await local.idle();
  const map = await labels(sm, arn);
  expect(map[r.VersionId!]).toEqual([]);
  expect(versionWith(map, 'AWSCURRENT')).toBe(manual);
  expect(calls.map((c) => c.event.Step)).toEqual(['createSecret', 'setSecret']);
  // Nothing blocks the next rotation.
  const again = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: register('rotor-ok2') }));
  expect((await local.waitForRotation(arn, { versionId: again.VersionId })).eventName).toBe('RotationSucceeded');
});

test('RotateImmediately=false runs only testSecret on a temporary AWSPENDING version, then removes the label', async () => {
  const { arn, v1 } = await newSecret();
  const calls: StepCall[] = [];
  const fn = local.lambdaArn('tester');
  local.registerRotationFunction(fn, {
    kind: 'in-process',
    handler: async (event) => {
      calls.push({ event, remainingMs: 0, functionName: '' });
    },
  });
  const r = await sm.send(
    new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotateImmediately: false, RotationRules: { ScheduleExpression: 'rate(30 days)' } }),
  );
  const end = await local.waitForRotation(arn, { versionId: r.VersionId });
  expect(end).toMatchObject({ eventName: 'TestRotationSucceeded', final: true });
  expect(local.events({ secretId: arn }).map((e) => e.eventName)).toEqual(['TestRotationStarted', 'TestRotationSucceeded']);
  expect(calls.map((c) => c.event.Step)).toEqual(['testSecret']);
  expect(await labels(sm, arn)).toEqual({ [v1]: ['AWSCURRENT'], [r.VersionId!]: [] });
  const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
  expect(d.RotationEnabled).toBe(true);
  expect(d.NextRotationDate).toBeInstanceOf(Date);
  expect(d.LastRotatedDate).toBeUndefined();
});

test('a failing test rotation records TestRotationFailed', async () => {
  const { arn } = await newSecret();
  const fn = local.lambdaArn('bad-tester');
  local.registerRotationFunction(fn, {
    kind: 'in-process',
    handler: async () => {
      throw new Error('cannot log in with AWSPENDING');
    },
  });
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fn, RotateImmediately: false }));
  expect(await local.waitForRotation(arn, { versionId: r.VersionId })).toMatchObject({
    eventName: 'TestRotationFailed',
    step: 'testSecret',
    errorMessage: 'cannot log in with AWSPENDING',
  });
});

test('an in-process step that outlives stepTimeoutMs fails with Sandbox.Timedout', async () => {
  const { startLocal: start } = await import('./local-test-kit');
  const quick = await start({ rotation: { maxAttempts: 1, stepTimeoutMs: 150 } });
  try {
    const fn = quick.local.lambdaArn('sleepy');
    quick.local.registerRotationFunction(fn, { kind: 'in-process', handler: () => new Promise((resolve) => setTimeout(resolve, 1000).unref()) });
    const s = await quick.sm.send(new CreateSecretCommand({ Name: uniqueName(), SecretString: '{}', ClientRequestToken: token() }));
    const r = await quick.sm.send(new RotateSecretCommand({ SecretId: s.ARN, RotationLambdaARN: fn }));
    expect(await quick.local.waitForRotation(s.ARN!, { versionId: r.VersionId })).toMatchObject({
      eventName: 'RotationFailed',
      step: 'createSecret',
      errorType: 'Sandbox.Timedout',
      errorMessage: 'Task timed out after 0.15 seconds',
    });
  } finally {
    quick.sm.destroy();
    await quick.local.stop();
  }
});

test('CancelRotateSecret during a rotation stops it after the running step', async () => {
  const { arn, held, calls, r } = await rotationHeldInSetSecret('cancelled');
  const c = await sm.send(new CancelRotateSecretCommand({ SecretId: arn }));
  expect(c.VersionId).toBe(r.VersionId);
  held.open();
  // The running step sees RotationEnabled=false (and fails, as the reference functions do); nothing runs after it.
  expect(await local.waitForRotation(arn, { versionId: r.VersionId })).toMatchObject({
    eventName: 'RotationFailed',
    step: 'setSecret',
    errorMessage: 'rotation is disabled',
    final: true,
  });
  expect(calls.map((x) => x.event.Step)).toEqual(['createSecret', 'setSecret']);
});

test('waitForRotation without a version waits for the running rotation, and times out clearly', async () => {
  const { arn } = await newSecret();
  const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: register('rotor-ok3') }));
  const end = await local.waitForRotation(arn);
  expect(end.versionId).toBe(r.VersionId);
  await expect(local.waitForRotation(arn, { versionId: token(), timeoutMs: 50 })).rejects.toThrow(/No rotation of/);
});
