/**
 * One end-to-end test per skip rule of the trigger function (the reasons in
 * lambda/trigger/report.ts and lambda/trigger/events/trigger-request.ts),
 * each running the BUNDLED function (dist/trigger/index.js, or the bundle
 * ROTOR_TEST_TRIGGER_BUNDLE names) as Lambda runs it, against the local
 * Secrets Manager endpoint.
 *
 * Each test asserts the reason the function reports and that it did not act
 * (no rotation started, and where AWS would have answered differently from
 * the endpoint, no request for that secret at all), so that the outcome is
 * the function's own decision, not the endpoint refusing a call AWS could
 * accept. test/invariants/prove-invariant-tests.ts removes each rule from a
 * bundle and shows its test fails (docs/reliability.md, section 8).
 */
import { randomUUID } from 'node:crypto';
import { CancelRotateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, RotateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { DEPLOYMENT, fixture, MANAGED, seed, startedRotations, startTriggerLocal, succeededRotations, type TriggerLocal } from '../trigger/trigger-test-kit';
import { recordCalls, runTriggerBundle } from './invariant-kit';

jest.setTimeout(60_000);

let t: TriggerLocal;
beforeAll(async () => {
  t = await startTriggerLocal();
});
afterAll(async () => {
  await t.local.idle();
  t.sm.destroy();
  await t.local.stop();
});

const ENV = { ROTOR_DEPLOYMENT_ID: DEPLOYMENT };

/** A "rotate now" request naming secrets (source rotor). */
const request = (secretIds: string[], id = randomUUID()) => ({ ...fixture('rotation-requested'), id, detail: { secretIds } });

async function trigger(event: unknown, env: Record<string, string> = {}) {
  const report = await runTriggerBundle(t.local, event, { ...ENV, ...env });
  await t.local.idle();
  return report;
}

/** The secret was neither rotated nor asked to be. */
function untouched(arn: string): void {
  expect(startedRotations(t, arn).size).toBe(0);
}

describe('secrets the event names', () => {
  test('not-managed: a secret without the rotor:managed-by tag, or managed by another deployment, is skipped and not rotated', async () => {
    const [untagged] = await seed(t, 'inv-untagged', 1, { tags: [] });
    const [foreign] = await seed(t, 'inv-foreign', 1, { tags: [{ Key: MANAGED.Key, Value: 'another-deployment' }] });
    const report = await trigger(request([untagged, foreign]));
    expect(report.rotated).toEqual([]);
    expect(report.skipped).toEqual(expect.arrayContaining([
      { secretArn: untagged, reason: 'not-managed', detail: 'the secret has no rotor:managed-by tag' },
      { secretArn: foreign, reason: 'not-managed', detail: 'the secret is managed by deployment "another-deployment", not this one' },
    ]));
    expect(report.skipped).toHaveLength(2);
    untouched(untagged);
    untouched(foreign);
  });

  test('not-managed: DescribeSecret denied (the deployed role reaches only its own secrets) is reported as not managed, not as a failure', async () => {
    const [arn] = await seed(t, 'inv-denied', 1);
    t.local.faults.inject({ op: 'DescribeSecret', error: 'AccessDeniedException', times: 1 });
    try {
      const report = await trigger(request([arn]));
      expect(report.failed).toEqual([]);
      expect(report.skipped).toEqual([{ secretArn: arn, reason: 'not-managed', detail: expect.stringMatching(/^DescribeSecret was denied/) }]);
    } finally {
      t.local.faults.clear();
    }
    untouched(arn);
  });

  test('scheduled-for-deletion: a secret scheduled for deletion is skipped (not a failed RotateSecret)', async () => {
    const [arn] = await seed(t, 'inv-deleted', 1);
    await t.sm.send(new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: 7 }));
    const calls = recordCalls(t.local);
    try {
      const report = await trigger(request([arn]));
      expect({ skipped: report.skipped, failed: report.failed }).toEqual({ skipped: [{ secretArn: arn, reason: 'scheduled-for-deletion', detail: 'the secret is scheduled for deletion' }], failed: [] });
      expect(calls.calls.filter((c) => c.op === 'RotateSecret')).toEqual([]);
    } finally {
      calls.stop();
    }
  });

  test('rotation-disabled: a secret whose rotation was turned off is skipped; RotateSecret (which would turn it on again) is not called', async () => {
    const [arn] = await seed(t, 'inv-disabled', 1);
    await t.sm.send(new CancelRotateSecretCommand({ SecretId: arn }));
    const report = await trigger(request([arn]));
    expect(report.skipped).toEqual([{ secretArn: arn, reason: 'rotation-disabled', detail: 'rotation is not enabled on the secret' }]);
    expect(report.rotated).toEqual([]);
    untouched(arn);
  });

  test('already-requested: the same event delivered again rotates nothing more and says so', async () => {
    const [arn] = await seed(t, 'inv-again', 1);
    const event = request([arn]);
    const first = await trigger(event);
    expect(first.rotated).toEqual([{ secretArn: arn, versionId: expect.any(String) }]);
    const again = await trigger(event);
    expect(again.rotated).toEqual([]);
    expect(again.skipped).toEqual([{ secretArn: arn, reason: 'already-requested', detail: `this event already started rotation ${first.rotated[0].versionId}` }]);
    expect(succeededRotations(t, arn)).toEqual([first.rotated[0].versionId]);
  });

  test('rotation-in-progress: AWSPENDING on another version than AWSCURRENT is skipped before any RotateSecret call', async () => {
    const [arn] = await seed(t, 'inv-pending', 1);
    const pending = randomUUID();
    await t.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: pending, SecretString: '{"engine":"postgres","host":"localhost","port":5432,"username":"user0","password":"p"}', VersionStages: ['AWSPENDING'] }));
    const calls = recordCalls(t.local);
    try {
      const report = await trigger(request([arn]));
      expect(report.skipped).toEqual([{ secretArn: arn, reason: 'rotation-in-progress', detail: `rotation ${pending} has not finished (AWSPENDING is on a version other than AWSCURRENT)` }]);
      expect(calls.calls.filter((c) => c.op === 'RotateSecret')).toEqual([]);
    } finally {
      calls.stop();
    }
    untouched(arn);
  });

  test('cool-down: an alert or request within ROTOR_TRIGGER_COOLDOWN_MINUTES of the last rotation is skipped', async () => {
    const [arn] = await seed(t, 'inv-cool', 1);
    const env = { ROTOR_TRIGGER_COOLDOWN_MINUTES: '120' };
    expect((await trigger(request([arn]), env)).rotated).toHaveLength(1);
    const again = await trigger(request([arn]), env);
    expect(again.rotated).toEqual([]);
    expect(again.skipped).toEqual([{ secretArn: arn, reason: 'cool-down', detail: expect.stringMatching(/within the 120-minute cool-down/) }]);
    expect(succeededRotations(t, arn)).toHaveLength(1);
  });

  test('cap: past ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT secrets (by ARN) of one event are skipped and not rotated', async () => {
    const arns = (await seed(t, 'inv-cap', 3)).sort();
    const report = await trigger(request(arns), { ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '2' });
    expect(report.rotated.map((r: { secretArn: string }) => r.secretArn).sort()).toEqual(arns.slice(0, 2));
    expect(report.skipped).toEqual([{ secretArn: arns[2], reason: 'cap', detail: 'past the first 2 secrets of this event (ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT)' }]);
    untouched(arns[2]);
  });

  test('not-found: a secret that does not exist is skipped, not a failure', async () => {
    const missing = `arn:aws:secretsmanager:${t.local.region}:${t.local.accountId}:secret:inv/missing-${randomUUID().slice(0, 8)}-AbCdEf`;
    const report = await trigger(request([missing]));
    expect({ skipped: report.skipped, failed: report.failed }).toEqual({
      skipped: [{ secretArn: missing, reason: 'not-found', detail: 'no such secret (deleted, or in another account or Region)' }], failed: [],
    });
  });

  test.each([
    ['other-account', 'arn:aws:secretsmanager:us-east-1:111122223333:secret:inv/elsewhere-AbCdEf', /account 111122223333, not this function's account 000000000000/],
    ['other-region', 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:inv/elsewhere-AbCdEf', /Region eu-west-1, not this function's Region us-east-1/],
  ])('%s: a secret ARN of another account or Region is skipped without being looked up', async (reason, arn, detail) => {
    const calls = recordCalls(t.local);
    try {
      const report = await trigger(request([arn]));
      expect(report.skipped).toEqual([{ secretArn: arn, reason, detail: expect.stringMatching(detail) }]);
      // AWS could answer DescribeSecret for it (a resource policy): the function must not ask.
      expect(calls.calls.filter((c) => c.secretId === arn)).toEqual([]);
    } finally {
      calls.stop();
    }
  });
});

describe('findings', () => {
  /** A managed secret of a database instance of its own, and that instance's id. */
  async function databaseSecret(prefix: string): Promise<{ arn: string; instance: string }> {
    const instance = `inv-${prefix}-${randomUUID().slice(0, 8)}`;
    const [arn] = await seed(t, `inv-${prefix}`, 1, {
      value: { engine: 'postgres', host: `${instance}.abcdefghijkl.us-east-1.rds.amazonaws.com`, port: 5432, username: 'app_user', password: 'initial', dbInstanceIdentifier: instance },
    });
    return { arn, instance };
  }

  function guardDuty(instance: string, change: (detail: Record<string, any>) => void) {
    const e = fixture('guardduty-rds-login');
    e.id = randomUUID();
    e.detail.id = randomUUID().replace(/-/g, '');
    e.detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier = instance;
    e.detail.resource.rdsDbInstanceDetails.dbInstanceArn = `arn:aws:rds:us-east-1:000000000000:db:${instance}`;
    change(e.detail);
    return e;
  }

  function securityHub(instance: string, change: (finding: Record<string, any>) => void) {
    const e = fixture('securityhub-rds-instance');
    e.id = randomUUID();
    const f = e.detail.findings[0];
    f.Id = `arn:aws:securityhub:us-east-1:000000000000:finding/${randomUUID()}`;
    f.Resources[0].Id = `arn:aws:rds:us-east-1:000000000000:db:${instance}`;
    f.Resources[0].Details.AwsRdsDbInstance.DBInstanceIdentifier = instance;
    change(f);
    return e;
  }

  test('the finding of this account and Region rotates the database\'s secret (the events below differ from it in one field each)', async () => {
    const { arn, instance } = await databaseSecret('gd-ok');
    const report = await trigger(guardDuty(instance, () => undefined));
    expect(report.rotated).toEqual([{ secretArn: arn, versionId: expect.any(String) }]);
  });

  test.each([
    ['other-account', (d: Record<string, any>) => (d.accountId = '111122223333'), /account 111122223333, not this function's account/],
    ['other-region', (d: Record<string, any>) => (d.region = 'eu-west-1'), /Region eu-west-1, not this function's Region us-east-1/],
    ['no-scope', (d: Record<string, any>) => delete d.accountId, /names no account/],
  ])('%s: a GuardDuty finding about the database of a managed secret is skipped; the secret is not rotated', async (reason, change, detail) => {
    const { arn, instance } = await databaseSecret(`gd-${reason}`);
    const event = guardDuty(instance, change);
    const report = await trigger(event);
    expect(report.rotated).toEqual([]);
    expect(report.skippedFindings).toEqual([{ finding: event.detail.id, reason, detail: expect.stringMatching(detail) }]);
    untouched(arn);
  });

  test.each([
    ['inactive', (f: Record<string, any>) => (f.RecordState = 'ARCHIVED'), /archived/],
    ['not-credential-type', (f: Record<string, any>) => (f.Types = ['Software and Configuration Checks/Vulnerabilities/CVE']), /start with none of/],
  ])('%s: a Security Hub finding about the database of a managed secret is skipped; the secret is not rotated', async (reason, change, detail) => {
    const { arn, instance } = await databaseSecret(`sh-${reason}`);
    const event = securityHub(instance, change);
    const report = await trigger(event);
    expect(report.rotated).toEqual([]);
    expect(report.skippedFindings).toEqual([{ finding: event.detail.findings[0].Id, reason, detail: expect.stringMatching(detail) }]);
    untouched(arn);
  });
});
