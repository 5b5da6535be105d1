/**
 * Issue 11 item 7: what an alert or a rotation request may make the trigger
 * do. One test per threat, each against the local Secrets Manager endpoint
 * with the real trigger handler:
 * - a finding about another account's or Region's database of the same name;
 * - a non-credential Security Hub finding;
 * - the same finding re-sent in a new EventBridge event; an updated finding
 *   inside the cool-down;
 * - a rotation request naming hundreds of secrets (cap), and one repeated
 *   (cool-down).
 */
import { randomUUID } from 'node:crypto';
import { createTriggerHandler } from '../../lambda/trigger/handler';
import type { TriggerReport } from '../../lambda/trigger/report';
import { fakeContext } from '../support/lambda-context';
import { env, fixture, MANAGED, depsWithMetrics, quietDeps, seed, startedRotations, startTriggerLocal, succeededRotations, type TriggerLocal } from './trigger-test-kit';

let t: TriggerLocal;

beforeAll(async () => {
  t = await startTriggerLocal();
});
afterAll(async () => {
  await t.local.stop();
});

const OTHER_ACCOUNT = '111122223333';

function trigger(extraEnv: Record<string, string> = {}) {
  const h = createTriggerHandler({ secretsManager: t.sm, env: env(extraEnv), ...quietDeps() });
  return (event: unknown) => h(event, fakeContext(60_000)) as Promise<TriggerReport>;
}

const arnsOf = (xs: { secretArn: string }[]) => xs.map((x) => x.secretArn).sort();

/** `count` managed secrets of one RDS instance (matched by host name), rotation configured. */
async function instanceSecrets(instance: string, count: number): Promise<string[]> {
  const arns: string[] = [];
  for (let i = 0; i < count; i++) {
    const [arn] = await seed(t, `db-${instance}`, 1, {
      value: { engine: 'postgres', host: `${instance}.abc123.${t.local.region}.rds.amazonaws.com`, port: 5432, username: `user${i}`, password: `initial-${i}` },
    });
    arns.push(arn);
  }
  return arns;
}

/** A GuardDuty RDS login finding about `instance` (every user), in this account and Region unless told otherwise. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function guardDuty(instance: string, f: { id?: string; updatedAt?: string; account?: string; region?: string } = {}): any {
  const e = fixture('guardduty-rds-login');
  const account = f.account ?? t.local.accountId;
  const region = f.region ?? t.local.region;
  e.id = randomUUID();
  e.account = account;
  e.region = region;
  e.detail.accountId = account;
  e.detail.region = region;
  e.detail.id = f.id ?? randomUUID().replace(/-/g, '');
  e.detail.updatedAt = f.updatedAt ?? '2030-01-15T09:59:00.000Z';
  e.detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier = instance;
  e.detail.resource.rdsDbInstanceDetails.dbInstanceArn = `arn:aws:rds:${region}:${account}:db:${instance}`;
  delete e.detail.resource.rdsDbUserDetails;
  return e;
}

/** A Security Hub finding (GuardDuty's, imported) about `instance`, as a cross-Region aggregator receives it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function securityHub(instance: string, f: { account?: string; region?: string } = {}): any {
  const e = fixture('securityhub-rds-instance');
  const account = f.account ?? t.local.accountId;
  const region = f.region ?? t.local.region;
  e.id = randomUUID();
  // The envelope is the aggregation Region's own: only the finding says where the resource is.
  e.account = t.local.accountId;
  e.region = t.local.region;
  const finding = e.detail.findings[0];
  finding.Id = `arn:aws:guardduty:${region}:${account}:detector/d/finding/${randomUUID()}`;
  finding.AwsAccountId = account;
  finding.Region = region;
  finding.Resources[0].Id = `arn:aws:rds:${region}:${account}:db:${instance}`;
  finding.Resources[0].Region = region;
  finding.Resources[0].Details.AwsRdsDbInstance.DBInstanceIdentifier = instance;
  return e;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function requested(detail: Record<string, unknown>): any {
  return { ...fixture('rotation-requested'), id: randomUUID(), detail: { ...detail, reason: 'test' } };
}

function noRotationStarted(arns: string[]): void {
  for (const arn of arns) expect({ arn, started: startedRotations(t, arn).size }).toEqual({ arn, started: 0 });
}

test('a GuardDuty finding about another account\'s instance of the same name rotates nothing here', async () => {
  const instance = `same-name-${randomUUID().slice(0, 8)}`;
  const arns = await instanceSecrets(instance, 2);
  const report = await trigger()(guardDuty(instance, { account: OTHER_ACCOUNT }));
  expect(report).toMatchObject({ source: 'guardduty', requested: 0, rotated: [], failed: [] });
  expect(report.skippedFindings).toEqual([expect.objectContaining({
    reason: 'other-account', detail: expect.stringMatching(new RegExp(`account ${OTHER_ACCOUNT}, not this function's account ${t.local.accountId}`)),
  })]);
  await t.local.idle();
  noRotationStarted(arns);
  // The same finding in this account does rotate them (the secrets are rotatable).
  const own = await trigger()(guardDuty(instance));
  expect(arnsOf(own.rotated)).toEqual([...arns].sort());
});

test('a Security Hub finding from another Region (cross-Region aggregation) rotates nothing here', async () => {
  const instance = `same-name-${randomUUID().slice(0, 8)}`;
  const arns = await instanceSecrets(instance, 2);
  const report = await trigger()(securityHub(instance, { region: 'eu-west-1' }));
  expect(report).toMatchObject({ source: 'securityhub', requested: 0, rotated: [], failed: [] });
  expect(report.skippedFindings).toEqual([expect.objectContaining({ reason: 'other-region', detail: expect.stringMatching(/Region eu-west-1, not this function's Region us-east-1/) })]);
  await t.local.idle();
  noRotationStarted(arns);
  const own = await trigger()(securityHub(instance));
  expect(arnsOf(own.rotated)).toEqual([...arns].sort());
});

test('a Security Hub finding that is not credential-relevant (SecretsManager.4 control) rotates nothing', async () => {
  const [arn] = await seed(t, 'sh-control', 1);
  const event = fixture('securityhub-secret');
  event.id = randomUUID();
  event.detail.findings[0].Resources[0].Id = arn;
  const report = await trigger()(event);
  expect(report).toMatchObject({ requested: 0, rotated: [], failed: [] });
  expect(report.skippedFindings).toEqual([expect.objectContaining({ reason: 'not-credential-type', detail: expect.stringMatching(/Software and Configuration Checks/) })]);
  await t.local.idle();
  noRotationStarted([arn]);
});

test('the same finding re-sent in a new EventBridge event rotates once; an updated finding is a new rotation (cool-down off)', async () => {
  const instance = `resent-${randomUUID().slice(0, 8)}`;
  const [arn] = await instanceSecrets(instance, 1);
  // Cool-down off: only the finding-derived token keeps the re-sent finding from rotating again.
  const handler = trigger({ ROTOR_TRIGGER_COOLDOWN_MINUTES: '0' });
  const first = guardDuty(instance);
  const a = await handler(first);
  expect(arnsOf(a.rotated)).toEqual([arn]);
  await t.local.idle();
  const resent = { ...structuredClone(first), id: randomUUID(), time: '2030-01-15T10:05:00Z' };
  const b = await handler(resent);
  expect(b.rotated).toEqual([]);
  expect(b.skipped).toEqual([expect.objectContaining({ secretArn: arn, reason: 'already-requested' })]);
  await t.local.idle();
  expect(startedRotations(t, arn).size).toBe(1);
  expect(succeededRotations(t, arn)).toEqual([a.rotated[0].versionId]);

  const updated = structuredClone(first);
  updated.id = randomUUID();
  updated.detail.updatedAt = '2030-01-15T16:00:00.000Z';
  const c = await handler(updated);
  expect(arnsOf(c.rotated)).toEqual([arn]);
  expect(c.rotated[0].versionId).not.toBe(a.rotated[0].versionId);
});

test('an updated finding inside the cool-down does not rotate again', async () => {
  const instance = `updated-${randomUUID().slice(0, 8)}`;
  const [arn] = await instanceSecrets(instance, 1);
  const handler = trigger(); // default cool-down: 60 minutes
  const first = guardDuty(instance);
  expect(arnsOf((await handler(first)).rotated)).toEqual([arn]);
  await t.local.idle(); // the rotation finished: LastRotatedDate is now
  const updated = structuredClone(first);
  updated.id = randomUUID();
  updated.detail.updatedAt = '2030-01-15T10:15:00.000Z';
  const again = await handler(updated);
  expect(again.rotated).toEqual([]);
  expect(again.skipped).toEqual([{ secretArn: arn, reason: 'cool-down', detail: expect.stringMatching(/within the 60-minute cool-down \(ROTOR_TRIGGER_COOLDOWN_MINUTES\)/) }]);
  await t.local.idle();
  expect(startedRotations(t, arn).size).toBe(1);
});

test('a rotation request repeated inside the cool-down is skipped; a schedule is not held back by it', async () => {
  const group = `cd-${randomUUID().slice(0, 8)}`;
  const arns = await seed(t, 'cooldown', 3, { tags: [MANAGED, { Key: 'group', Value: group }] });
  const handler = trigger({ ROTOR_TRIGGER_COOLDOWN_MINUTES: '30' });
  const first = await handler(requested({ tagFilters: [{ key: 'group', values: [group] }] }));
  expect(arnsOf(first.rotated)).toEqual([...arns].sort());
  await t.local.idle();
  const second = await handler(requested({ secretIds: arns }));
  expect(second.rotated).toEqual([]);
  expect(second.skipped.map((s) => [s.secretArn, s.reason]).sort()).toEqual(arns.map((a) => [a, 'cool-down']).sort());
  await t.local.idle();
  for (const arn of arns) expect(startedRotations(t, arn).size).toBe(1);
  // A scheduled group rotation is planned, not an alert: no cool-down.
  const schedule = { ...fixture('schedule'), tagFilters: [{ key: 'group', values: [group] }], scheduledTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  expect(arnsOf((await handler(schedule)).rotated)).toEqual([...arns].sort());
});

test('a rotation request resolving to 200 secrets rotates the first 50 by ARN and reports 150 "cap" (and an EMF metric); a redelivery rotates no more', async () => {
  const group = `cap-${randomUUID().slice(0, 8)}`;
  const arns = (await seed(t, 'cap', 200, { tags: [MANAGED, { Key: 'group', Value: group }] })).sort();
  const { deps, lines } = depsWithMetrics();
  const h = createTriggerHandler({ secretsManager: t.sm, env: env({ ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '50' }), ...deps });
  const event = requested({ tagFilters: [{ key: 'group', values: [group] }] });
  const report = (await h(event, fakeContext(60_000))) as TriggerReport;
  expect(report.requested).toBe(200);
  expect(report.failed).toEqual([]);
  expect(arnsOf(report.rotated)).toEqual(arns.slice(0, 50));
  const capped = report.skipped.filter((s) => s.reason === 'cap');
  expect(capped).toHaveLength(150);
  expect(arnsOf(capped)).toEqual(arns.slice(50));
  expect(report.notes).toEqual(expect.arrayContaining([expect.stringMatching(/resolves to 200 rotatable secrets; the first 50 by ARN are handled and 150 are skipped "cap"/)]));
  expect(JSON.parse(lines[0])).toMatchObject({ Source: 'rotor', TriggerSecretsRotated: 50, TriggerSecretsCapped: 150 });
  await t.local.idle();
  for (const arn of arns.slice(50)) expect(startedRotations(t, arn).size).toBe(0);

  // The same event again (EventBridge retry): the same 50 are chosen, and already requested.
  const again = (await h(event, fakeContext(60_000))) as TriggerReport;
  expect(again.rotated).toEqual([]);
  expect(new Set(again.skipped.map((s) => s.reason))).toEqual(new Set(['already-requested', 'cap']));
  await t.local.idle();
  const started = arns.filter((arn) => startedRotations(t, arn).size > 0);
  expect(started).toEqual(arns.slice(0, 50));
});

test('a secret ARN of another account or Region in a rotation request is not looked up', async () => {
  const [arn] = await seed(t, 'elsewhere', 1);
  const otherAccount = arn.replace(`:${t.local.accountId}:`, `:${OTHER_ACCOUNT}:`);
  const otherRegion = arn.replace(`:${t.local.region}:`, ':eu-west-1:');
  t.local.faults.inject({ op: 'DescribeSecret', error: 'InternalServiceError', times: 100 });
  try {
    const report = await trigger({ ROTOR_TRIGGER_MAX_ATTEMPTS: '1' })(requested({ secretIds: [otherAccount, otherRegion] }));
    expect(report.failed).toEqual([]);
    expect(report.skipped.map((s) => [s.secretArn, s.reason])).toEqual([[otherAccount, 'other-account'], [otherRegion, 'other-region']]);
  } finally {
    t.local.faults.clear();
  }
});

test('the cool-down is judged on a fresh DescribeSecret, not on a ListSecrets answer that lags behind a rotation', async () => {
  const group = `stale-${randomUUID().slice(0, 8)}`;
  const [arn] = await seed(t, 'stale', 1, { tags: [MANAGED, { Key: 'group', Value: group }] });
  const { RotateSecretCommand } = await import('@aws-sdk/client-secrets-manager');
  let done = false;
  // ListSecrets answers with the state before a rotation that completes before the answer is sent: a stale listing.
  t.local.faults.setInterceptor(async (call) => {
    if (done || call.op !== 'ListSecrets' || call.phase !== 'after') return;
    done = true;
    const token = randomUUID();
    await t.sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: token }));
    await t.local.waitForRotation(arn, { versionId: token });
  });
  try {
    const report = await trigger()(requested({ tagFilters: [{ key: 'group', values: [group] }] }));
    expect(done).toBe(true);
    expect(report.rotated).toEqual([]);
    expect(report.skipped).toEqual([expect.objectContaining({ secretArn: arn, reason: 'cool-down' })]);
  } finally {
    t.local.faults.clear();
  }
  await t.local.idle();
  expect(startedRotations(t, arn).size).toBe(1);
});
