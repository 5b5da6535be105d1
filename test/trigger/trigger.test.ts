import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { createTriggerHandler } from '../../lambda/trigger/handler';
import type { TriggerReport } from '../../lambda/trigger/report';
import { fakeContext } from '../support/lambda-context';
import {
  depsWithMetrics, env, fixture, MANAGED, quietDeps, seed, startedRotations, startTriggerLocal, succeededRotations, type TriggerLocal,
} from './trigger-test-kit';

let t: TriggerLocal;

beforeAll(async () => {
  t = await startTriggerLocal();
});
afterAll(async () => {
  await t.local.stop();
});
afterEach(() => t.local.faults.clear());

function trigger(extraEnv: Record<string, string> = {}) {
  const h = createTriggerHandler({ secretsManager: t.sm, env: env(extraEnv), ...quietDeps() });
  return (event: unknown) => h(event, fakeContext(60_000)) as Promise<TriggerReport>;
}

function requested(extra: Record<string, unknown>): Record<string, any> {
  const e = fixture('rotation-requested');
  e.id = randomUUID();
  e.detail = { ...extra, reason: 'test' };
  return e;
}

const arnsOf = (xs: { secretArn: string }[]) => xs.map((x) => x.secretArn).sort();

test('schedule: tag filter over a few hundred secrets (paginated ListSecrets) rotates exactly the matching ones', async () => {
  const group = `g-${randomUUID().slice(0, 8)}`;
  const matching = await seed(t, 'tags', 240, { tags: [MANAGED, { Key: 'group', Value: group }] });
  // Same key, other value; and a value that is a prefix match only: neither may rotate.
  await seed(t, 'tags-other', 30, { tags: [MANAGED, { Key: 'group', Value: `${group}-x` }] });
  const event = { ...fixture('schedule'), tagFilters: [{ key: 'group', values: [group] }], scheduledTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const report = await trigger()(event);
  expect(report.error).toBeUndefined();
  expect(report.requested).toBe(240);
  expect(report.skipped).toEqual([]);
  expect(report.failed).toEqual([]);
  expect(arnsOf(report.rotated)).toEqual([...matching].sort());
  await t.local.idle();
  for (const arn of matching) expect(succeededRotations(t, arn)).toHaveLength(1);
});

test('GuardDuty RDS finding rotates the managed secrets of that instance and user only', async () => {
  const db = (username: string, id = 'rotor-trigger-db1') => ({ engine: 'postgres', host: `${id}.abc123.us-east-1.rds.amazonaws.com`, port: 5432, username, password: 'x-initial-1' });
  const [target] = await seed(t, 'gd', 1, { value: db('app_user') });
  const [otherUser] = await seed(t, 'gd', 1, { value: db('reporting') });
  const [otherDb] = await seed(t, 'gd', 1, { value: { ...db('app_user', 'rotor-trigger-db2'), dbInstanceIdentifier: 'rotor-trigger-db2' } });
  const [unmanaged] = await seed(t, 'gd', 1, { value: db('app_user'), tags: [{ Key: 'rotor:managed-by', Value: 'someone-else' }] });
  const event = { ...fixture('guardduty-rds-login'), id: randomUUID() };
  const report = await trigger()(event);
  expect(report).toMatchObject({ source: 'guardduty', requested: 1, skipped: [], failed: [] });
  expect(arnsOf(report.rotated)).toEqual([target]);
  await t.local.idle();
  expect(succeededRotations(t, target)).toHaveLength(1);
  for (const arn of [otherUser, otherDb, unmanaged]) expect(startedRotations(t, arn).size).toBe(0);

  // Without a user in the finding, every managed secret of the instance (another finding; no cool-down here).
  const noUser = { ...fixture('guardduty-rds-login'), id: randomUUID() };
  noUser.detail.id = randomUUID().replace(/-/g, '');
  delete noUser.detail.resource.rdsDbUserDetails;
  const all = await trigger({ ROTOR_TRIGGER_COOLDOWN_MINUTES: '0' })(noUser);
  expect(arnsOf(all.rotated)).toEqual(expect.arrayContaining([target, otherUser]));
  expect(arnsOf(all.rotated)).not.toContain(otherDb);
  expect(arnsOf(all.rotated)).not.toContain(unmanaged);
});

test('Security Hub finding: secret by ARN; an RDS instance resource finds its secrets', async () => {
  const [arn] = await seed(t, 'sh', 1);
  const event = fixture('securityhub-secret');
  event.id = randomUUID();
  event.detail.findings[0].Types = ['Sensitive Data Identifications/Passwords/SecretsInCode'];
  event.detail.findings[0].Resources[0].Id = arn;
  const report = await trigger()(event);
  expect(report.rotated).toEqual([{ secretArn: arn, versionId: expect.stringMatching(/^[0-9a-f-]{36}$/) }]);
  await t.local.idle();
  expect(succeededRotations(t, arn)).toEqual([report.rotated[0].versionId]);

  const [byDb] = await seed(t, 'sh-db', 1, { value: { engine: 'postgres', host: 'h', username: 'u', password: 'pw-123456', dbInstanceIdentifier: 'rotor-sh-db9' } });
  const rds = fixture('securityhub-rds-instance');
  rds.id = randomUUID();
  rds.detail.findings[0].Resources[0].Details.AwsRdsDbInstance.DBInstanceIdentifier = 'rotor-sh-db9';
  const r2 = await trigger()(rds);
  expect(arnsOf(r2.rotated)).toEqual([byDb]);
});

test('AWS Health credential exposure falls back to the configured tag filter', async () => {
  const group = `h-${randomUUID().slice(0, 8)}`;
  const arns = await seed(t, 'health', 3, { tags: [MANAGED, { Key: 'exposure', Value: group }] });
  const event = { ...fixture('health-credentials-exposed'), id: randomUUID() };
  const none = await trigger()(event);
  expect(none).toMatchObject({ requested: 0, rotated: [], notes: [expect.stringMatching(/ROTOR_TRIGGER_HEALTH_TAGS/)] });
  const report = await trigger({ ROTOR_TRIGGER_HEALTH_TAGS: JSON.stringify([{ key: 'exposure', values: [group] }]) })({ ...event, id: randomUUID() });
  expect(arnsOf(report.rotated)).toEqual([...arns].sort());
});

test('unmanaged, rotation-disabled, mid-rotation and missing secrets are skipped with reasons', async () => {
  const [managed] = await seed(t, 'skip', 1);
  const [foreign] = await seed(t, 'skip', 1, { tags: [{ Key: 'rotor:managed-by', Value: 'other-deployment' }] });
  const [untagged] = await seed(t, 'skip', 1, { tags: [{ Key: 'team', Value: 'x' }] });
  const [disabled] = await seed(t, 'skip', 1, { rotation: false });
  const [inProgress] = await seed(t, 'skip', 1);
  await t.sm.send(new PutSecretValueCommand({ SecretId: inProgress, ClientRequestToken: randomUUID(), SecretString: '{"p":1}', VersionStages: ['AWSPENDING'] }));
  const missing = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:does/not/exist-AbCdEf';
  const report = await trigger()(requested({ secretIds: [managed, foreign, untagged, disabled, inProgress, missing] }));
  expect(report.requested).toBe(6);
  expect(report.failed).toEqual([]);
  expect(arnsOf(report.rotated)).toEqual([managed]);
  const reasons = Object.fromEntries(report.skipped.map((s) => [s.secretArn, s.reason]));
  expect(reasons).toEqual({
    [foreign]: 'not-managed', [untagged]: 'not-managed', [disabled]: 'rotation-disabled',
    [inProgress]: 'rotation-in-progress', [missing]: 'not-found',
  });
  expect(report.skipped.find((s) => s.secretArn === foreign)!.detail).toMatch(/managed by deployment "other-deployment"/);
  await t.local.idle();
  for (const arn of [foreign, untagged, disabled, inProgress]) expect(startedRotations(t, arn).size).toBe(0);
});

test('the same event delivered twice, in sequence and in parallel, rotates each secret once', async () => {
  const group = `d-${randomUUID().slice(0, 8)}`;
  const arns = await seed(t, 'dup', 20, { tags: [MANAGED, { Key: 'group', Value: group }] });
  const event = requested({ tagFilters: [{ key: 'group', values: [group] }] });
  const handler = trigger();
  const [a, b] = await Promise.all([handler(event), trigger()(event)]);
  expect(a.rotated.length + b.rotated.length + a.skipped.length + b.skipped.length).toBe(40);
  expect([...a.failed, ...b.failed]).toEqual([]);
  await t.local.idle();
  const again = await handler(event);
  expect(again.rotated).toEqual([]);
  expect(new Set(again.skipped.map((s) => s.reason))).toEqual(new Set(['already-requested']));
  await t.local.idle();
  for (const arn of arns) {
    expect(startedRotations(t, arn).size).toBe(1);
    expect(succeededRotations(t, arn)).toHaveLength(1);
  }
  // The tokens are the event's: a new event is a new rotation (once the cool-down allows it).
  const next = await trigger({ ROTOR_TRIGGER_COOLDOWN_MINUTES: '0' })({ ...event, id: randomUUID() });
  expect(next.rotated).toHaveLength(20);
});

test('the local endpoint treats a repeated RotateSecret token as idempotent, even after the rotation finished', async () => {
  const { RotateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
  const [arn] = await seed(t, 'idem', 1);
  const token = randomUUID();
  const first = await t.sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: token }));
  await t.local.waitForRotation(arn, { versionId: token });
  const second = await t.sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: token }));
  expect(second.VersionId).toBe(first.VersionId);
  await t.local.idle();
  expect(startedRotations(t, arn).size).toBe(1);
});

test('RotateSecret rate-limited to 20/s and injected ThrottlingExceptions: everything still rotates, once', async () => {
  const group = `th-${randomUUID().slice(0, 8)}`;
  const arns = await seed(t, 'throttle', 60, { tags: [MANAGED, { Key: 'group', Value: group }] });
  t.local.faults.setRateLimit('RotateSecret', 20);
  t.local.faults.inject({ op: 'RotateSecret', error: 'ThrottlingException', probability: 0.2 });
  t.local.faults.inject({ op: 'ListSecrets', error: 'ThrottlingException', times: 2 });
  const started = Date.now();
  const report = await trigger({ ROTOR_TRIGGER_MAX_ATTEMPTS: '12', ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '100' })(requested({ tagFilters: [{ key: 'group', values: [group] }] }));
  expect(report.failed).toEqual([]);
  expect(report.rotated).toHaveLength(60);
  expect(Date.now() - started).toBeGreaterThan(1000); // 60 calls at <= 20/s, less the bucket's initial burst
  await t.local.idle();
  for (const arn of arns) expect(startedRotations(t, arn).size).toBe(1);
});

test('throttling that outlasts the retries fails the invocation, and the retry completes the rest', async () => {
  const [arn] = await seed(t, 'exhaust', 1);
  t.local.faults.inject({ op: 'RotateSecret', error: 'ThrottlingException' });
  const event = requested({ secretIds: [arn] });
  const handler = trigger({ ROTOR_TRIGGER_MAX_ATTEMPTS: '2' });
  await expect(handler(event)).rejects.toMatchObject({
    name: 'TriggerIncompleteError',
    report: { failed: [{ secretArn: arn, retryable: true, error: expect.stringMatching(/RotateSecret failed \(code ThrottlingException\)/) }] },
  });
  t.local.faults.clear();
  const retried = await handler(event);
  expect(arnsOf(retried.rotated)).toEqual([arn]);
});

test('invalid and unknown events give a report with a clear error and do not throw', async () => {
  const handler = trigger();
  const bad = await handler({ ...fixture('schedule'), tagFilters: 'env=prod' });
  expect(bad).toMatchObject({ requested: 0, rotated: [], error: { category: 'invalid-event', message: expect.stringMatching(/tagFilters must be an array/) } });
  const unknown = await handler({ source: 'aws.s3', 'detail-type': 'Object Created', id: '1', detail: {} });
  expect(unknown).toMatchObject({ source: 'aws.s3', error: { category: 'configuration', message: expect.stringMatching(/not handled by the trigger function/) } });
  await expect(createTriggerHandler({ secretsManager: t.sm, env: {}, ...quietDeps() })(fixture('schedule'), fakeContext()))
    .rejects.toThrow(/ROTOR_DEPLOYMENT_ID is not set/);
});

test('EMF metrics: counts with the Source dimension', async () => {
  const [arn] = await seed(t, 'emf', 1);
  const { deps, lines } = depsWithMetrics();
  const h = createTriggerHandler({ secretsManager: t.sm, env: env(), ...deps });
  await h(requested({ secretIds: [arn, arn.replace(/-\w{6}$/, '-zzzzzz')] }), fakeContext());
  const emf = JSON.parse(lines[0]);
  expect(emf._aws.CloudWatchMetrics[0].Namespace).toBe('Rotor');
  expect(emf._aws.CloudWatchMetrics[0].Dimensions[0]).toEqual(expect.arrayContaining(['Source']));
  expect(emf).toMatchObject({ Source: 'rotor', TriggerSecretsRotated: 1, TriggerSecretsSkipped: 1, TriggerSecretsFailed: 0 });
});

test('secret values never reach the logs', async () => {
  const { Logger } = await import('@aws-lambda-powertools/logger');
  const out: string[] = [];
  const logger = new Logger({ serviceName: 't', logLevel: 'DEBUG' });
  (logger as unknown as { console: { info: (s: string) => void; error: (s: string) => void; warn: (s: string) => void; debug: (s: string) => void } }).console = {
    info: (s) => out.push(s), error: (s) => out.push(s), warn: (s) => out.push(s), debug: (s) => out.push(s),
  };
  await t.sm.send(new CreateSecretCommand({
    Name: `leak/${randomUUID()}`, Tags: [MANAGED],
    SecretString: JSON.stringify({ engine: 'postgres', host: 'leak-db.abc.us-east-1.rds.amazonaws.com', username: 'app_user', password: 'SUPER-SECRET-PASSWORD-42' }),
  }));
  const h = createTriggerHandler({ secretsManager: t.sm, env: env(), logger, metrics: quietDeps().metrics });
  const e = { ...fixture('guardduty-rds-login'), id: randomUUID() };
  e.detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier = 'leak-db';
  const report = await h(e, fakeContext());
  expect(report.skipped.map((s) => s.reason)).toEqual(['rotation-disabled']);
  expect(out.join('\n')).toContain('trigger finished');
  expect(out.join('\n')).not.toContain('SUPER-SECRET-PASSWORD-42');
  const d = await t.sm.send(new DescribeSecretCommand({ SecretId: report.skipped[0].secretArn }));
  expect(d.RotationEnabled).toBeFalsy();
  void TagResourceCommand;
});

test('DescribeSecret denied (the role only reaches managed secrets) is a not-managed skip, not a failure', async () => {
  const [arn] = await seed(t, 'denied', 1);
  t.local.faults.inject({ op: 'DescribeSecret', error: 'AccessDeniedException', times: 1 });
  const report = await trigger()(requested({ secretIds: [arn] }));
  expect(report.failed).toEqual([]);
  expect(report.skipped).toEqual([{ secretArn: arn, reason: 'not-managed', detail: expect.stringMatching(/DescribeSecret was denied/) }]);
});

test('the function\'s Region is AWS_REGION (a finding of the ARN\'s Region is then another Region\'s); no function ARN is a configuration error', async () => {
  const e = { ...fixture('guardduty-rds-login'), id: randomUUID() };
  const report = await trigger({ AWS_REGION: 'eu-west-1' })(e);
  expect(report).toMatchObject({ rotated: [], skippedFindings: [{ reason: 'other-region', detail: expect.stringMatching(/Region us-east-1, not this function's Region eu-west-1/) }] });
  const h = createTriggerHandler({ secretsManager: t.sm, env: env(), ...quietDeps() });
  const noArn = { ...fakeContext(), invokedFunctionArn: '' };
  await expect(h({ ...fixture('guardduty-rds-login'), id: randomUUID() }, noArn)).rejects.toThrow(/no function ARN \(context\.invokedFunctionArn\)/);
  await expect(createTriggerHandler({ secretsManager: t.sm, env: env({ AWS_REGION: 'nowhere' }), ...quietDeps() })(fixture('schedule'), fakeContext()))
    .rejects.toThrow(/AWS_REGION is not a Region name/);
});
