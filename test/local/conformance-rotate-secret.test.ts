import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local';
import {
  DAY,
  expectRejectedWithoutChange,
  fakeRotationHandler,
  gate,
  labels,
  startLocal,
  TestClock,
  token,
  uniqueName,
  versionWith,
} from './local-test-kit';

/*
 * The contract's "RotateSecret" section (and the rotation event's
 * preconditions): validation, the rotation-in-progress rule, idempotency,
 * scheduling bookkeeping, CancelRotateSecret.
 */

let local: LocalSecretsManager;
let sm: SecretsManagerClient;
let lambdaArn: string;
const clock = new TestClock(Date.parse('2030-03-10T10:30:00.000Z'));

beforeAll(async () => {
  ({ local, sm } = await startLocal({ clock: clock.now, rotation: { maxAttempts: 1, initialBackoffMs: 1 } }));
  lambdaArn = local.lambdaArn('conformance-rotation');
  local.registerRotationFunction(lambdaArn, { kind: 'in-process', handler: fakeRotationHandler(sm) });
});
afterAll(async () => {
  await local.idle();
  sm.destroy();
  await local.stop();
});

async function newSecret(): Promise<{ arn: string; v1: string }> {
  const v1 = token();
  const out = await sm.send(new CreateSecretCommand({ Name: uniqueName('rot'), SecretString: '{"username":"u","password":"p"}', ClientRequestToken: v1 }));
  return { arn: out.ARN!, v1 };
}

describe('RotateSecret validation', () => {
  test('ClientRequestToken has 32-64 characters', async () => {
    const { arn } = await newSecret();
    for (const bad of ['x'.repeat(31), 'x'.repeat(65)]) {
      await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
        sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: bad, RotationLambdaARN: lambdaArn })),
      );
    }
  });

  test('RotationLambdaARN is needed unless one is already configured (InvalidRequestException)', async () => {
    const { arn } = await newSecret();
    await expectRejectedWithoutChange(sm, arn, 'InvalidRequestException', () => sm.send(new RotateSecretCommand({ SecretId: arn })));
  });

  test('AutomaticallyAfterDays is 1-1000', async () => {
    const { arn } = await newSecret();
    for (const days of [0, 1001]) {
      await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
        sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: days } })),
      );
    }
  });

  test('AutomaticallyAfterDays and ScheduleExpression are mutually exclusive', async () => {
    const { arn } = await newSecret();
    const e = await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(
        new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 7, ScheduleExpression: 'rate(7 days)' } }),
      ),
    );
    expect(e.message).toBe('You cannot specify both rotation frequency and schedule expression together.');
  });

  test.each([
    ['rate(3 hours)', 'InvalidParameterException'], // at least four hours apart
    ['rate(0 days)', 'InvalidParameterException'],
    ['rate(5 minutes)', 'InvalidParameterException'],
    ['cron(30 10 * * ? *)', 'InvalidParameterException'], // minutes must be 0
    ['cron(0 */2 * * ? *)', 'InvalidParameterException'], // every 2 hours
    ['cron(0 0,3 * * ? *)', 'InvalidParameterException'], // 3 hours apart
    ['cron(0 10 * * * *)', 'InvalidParameterException'], // day-of-month and day-of-week both set
    ['cron(0 10 * * ? 2031)', 'InvalidParameterException'], // year must be *
    ['cron(0 10 * *)', 'InvalidParameterException'], // 6 fields
    ['cron(0 25 * * ? *)', 'InvalidParameterException'],
    ['every day', 'InvalidParameterException'], // allowed characters, but neither rate() nor cron()
    ['rate(7 days);', 'ValidationException'], // ';' is outside the allowed characters
  ])('ScheduleExpression %s is refused with %s', async (expression, errorName) => {
    const { arn } = await newSecret();
    await expectRejectedWithoutChange(sm, arn, errorName, () =>
      sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { ScheduleExpression: expression } })),
    );
  });

  test.each([
    ['cron(0 20 * * ? *)', '5h', 'InvalidParameterException'], // runs past midnight UTC
    ['rate(4 hours)', '5h', 'InvalidParameterException'], // runs into the next window
    ['cron(0 */6 * * ? *)', '7h', 'InvalidParameterException'],
    ['rate(10 days)', '0h', 'InvalidParameterException'],
    ['rate(10 days)', '25h', 'InvalidParameterException'],
    ['rate(10 days)', '100h', 'ValidationException'], // longer than 3 characters
    ['rate(10 days)', '3', 'ValidationException'], // pattern [0-9]+h
  ])('ScheduleExpression %s with Duration %s is refused with %s', async (expression, duration, errorName) => {
    const { arn } = await newSecret();
    await expectRejectedWithoutChange(sm, arn, errorName, () =>
      sm.send(
        new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { ScheduleExpression: expression, Duration: duration } }),
      ),
    );
  });

  test.each([
    ['rate(4 hours)', undefined],
    ['rate(10 days)', '3h'],
    ['cron(0 */4 * * ? *)', '4h'],
    ['cron(0 16 1,15 * ? *)', '2h'],
    ['cron(0 1 ? * SUN#1 *)', undefined],
    ['cron(0 17 L * ? *)', '7h'],
    ['cron(0 8 ? * MON-FRI *)', undefined],
  ])('ScheduleExpression %s (Duration %s) is accepted', async (expression, duration) => {
    const { arn } = await newSecret();
    const out = await sm.send(
      new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { ScheduleExpression: expression, Duration: duration } }),
    );
    await local.waitForRotation(arn, { versionId: out.VersionId });
    const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(d.RotationRules?.ScheduleExpression).toBe(expression);
    expect(d.RotationRules?.Duration).toBe(duration);
    // AWS reports AutomaticallyAfterDays computed from the schedule too.
    expect(d.RotationRules?.AutomaticallyAfterDays).toBeGreaterThanOrEqual(1);
    expect(d.NextRotationDate!.getTime()).toBeGreaterThan(clock.now().getTime());
  });
});

describe('RotateSecret behaviour', () => {
  test('answers ARN, Name and VersionId at once; the version exists with AWSPENDING and no value before the first step', async () => {
    const { arn, v1 } = await newSecret();
    const held = gate();
    const seen: string[] = [];
    const fnArn = local.lambdaArn('held');
    local.registerRotationFunction(fnArn, {
      kind: 'in-process',
      handler: fakeRotationHandler(sm, {
        before: async (event) => {
          if (event.Step !== 'createSecret') return;
          // The placeholder: AWSPENDING, no value yet.
          try {
            await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' }));
            seen.push('value');
          } catch (e) {
            seen.push((e as Error).name);
          }
          await held.wait;
        },
      }),
    });
    const out = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: fnArn }));
    expect(out).toMatchObject({ ARN: arn, VersionId: expect.any(String) });
    expect(out.Name).toMatch(/^rot\/[a-z0-9]{1,8}$/);
    expect(arn).toMatch(new RegExp(`:secret:${out.Name}-[A-Za-z0-9]{6}$`));
    const map = await labels(sm, arn);
    expect(map[out.VersionId!]).toEqual(['AWSPENDING']);
    expect(map[v1]).toEqual(['AWSCURRENT']);
    held.open();
    const end = await local.waitForRotation(arn, { versionId: out.VersionId });
    expect(end.eventName).toBe('RotationSucceeded');
    expect(seen).toEqual(['ResourceNotFoundException']);
  });

  test('the same ClientRequestToken again does not create a second version or a second rotation', async () => {
    const { arn } = await newSecret();
    const t = token();
    const first = await sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: t, RotationLambdaARN: lambdaArn }));
    const second = await sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: t, RotationLambdaARN: lambdaArn }));
    expect(second.VersionId).toBe(first.VersionId);
    await local.idle();
    expect(Object.keys(await labels(sm, arn))).toHaveLength(2);
    expect(local.events({ secretId: arn }).filter((e) => e.eventName === 'RotationStarted')).toHaveLength(1);
  });

  test('AWSPENDING on a version other than AWSCURRENT blocks RotateSecret: "A previous rotation isn\'t complete"', async () => {
    const { arn } = await newSecret();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'left over', VersionStages: ['AWSPENDING'] }));
    const e = await expectRejectedWithoutChange(sm, arn, 'InvalidRequestException', () =>
      sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn })),
    );
    expect(e.message).toBe("A previous rotation isn't complete. That rotation will be reattempted.");
  });

  test('AWSPENDING on the AWSCURRENT version (a finished rotation) does not block', async () => {
    const { arn } = await newSecret();
    const r1 = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn }));
    await local.waitForRotation(arn, { versionId: r1.VersionId });
    expect((await labels(sm, arn))[r1.VersionId!].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    const r2 = await sm.send(new RotateSecretCommand({ SecretId: arn }));
    expect((await local.waitForRotation(arn, { versionId: r2.VersionId })).eventName).toBe('RotationSucceeded');
    const map = await labels(sm, arn);
    expect(map[r2.VersionId!].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect(map[r1.VersionId!]).toEqual(['AWSPREVIOUS']);
  });

  test('sets RotationEnabled, RotationRules, RotationLambdaARN; success sets LastRotatedDate and moves NextRotationDate', async () => {
    const { arn } = await newSecret();
    const before = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(before.RotationEnabled).toBeUndefined();
    const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 10 } }));
    await local.waitForRotation(arn, { versionId: r.VersionId });
    const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(d).toMatchObject({ RotationEnabled: true, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 10 } });
    expect(d.LastRotatedDate).toEqual(clock.now());
    // Ten days after the rotation's date, by the end of that UTC day.
    const day = Math.floor(clock.now().getTime() / DAY) * DAY;
    expect(d.NextRotationDate).toEqual(new Date(day + 10 * DAY + DAY - 1000));
  });

  test('a manual PutSecretValue counts as a rotation for scheduling', async () => {
    const { arn } = await newSecret();
    const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 2 } }));
    await local.waitForRotation(arn, { versionId: r.VersionId });
    const first = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).NextRotationDate!;
    clock.advance(DAY);
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: '{"password":"manual"}' }));
    const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(d.NextRotationDate!.getTime()).toBe(first.getTime() + DAY);
  });

  test('CancelRotateSecret turns rotation off and returns the incomplete version; its AWSPENDING blocks rotation until removed', async () => {
    const { arn } = await newSecret();
    const failing = local.lambdaArn('always-fails');
    local.registerRotationFunction(failing, {
      kind: 'in-process',
      handler: fakeRotationHandler(sm, {
        before: (e) => {
          if (e.Step === 'setSecret') throw new Error('database unreachable');
        },
      }),
    });
    const r = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: failing, RotationRules: { AutomaticallyAfterDays: 30 } }));
    expect((await local.waitForRotation(arn, { versionId: r.VersionId })).eventName).toBe('RotationFailed');
    const cancelled = await sm.send(new CancelRotateSecretCommand({ SecretId: arn }));
    expect(cancelled.VersionId).toBe(r.VersionId);
    const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(d.RotationEnabled).toBe(false);
    expect(d.NextRotationDate).toBeUndefined();
    expect(d.RotationRules).toEqual({ AutomaticallyAfterDays: 30 }); // kept, as AWS shows the previous schedule
    await expectRejectedWithoutChange(sm, arn, 'InvalidRequestException', () =>
      sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn })),
    );
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: r.VersionId }));
    const again = await sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn }));
    expect((await local.waitForRotation(arn, { versionId: again.VersionId })).eventName).toBe('RotationSucceeded');
    expect(versionWith(await labels(sm, arn), 'AWSCURRENT')).toBe(again.VersionId);
  });

  test('a secret scheduled for deletion cannot be rotated (InvalidRequestException)', async () => {
    const { arn } = await newSecret();
    const { DeleteSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    await sm.send(new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: 7 }));
    await expectRejectedWithoutChange(sm, arn, 'InvalidRequestException', () =>
      sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn })),
    );
    await expectRejectedWithoutChange(sm, arn, 'InvalidRequestException', () => sm.send(new CancelRotateSecretCommand({ SecretId: arn })));
  });
});
