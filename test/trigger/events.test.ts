import { parseTriggerEvent, InvalidTriggerEventError } from '../../lambda/trigger/events';
import { rotationToken } from '../../lambda/trigger/client-request-token';
import { readTriggerConfig } from '../../lambda/trigger/config';
import { matchesDatabase } from '../../lambda/trigger/secret-resolver';
import { fixture } from './trigger-test-kit';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/app-AbCdEf';

function expectInvalid(event: unknown, category: string, text: RegExp): void {
  let err: unknown;
  try {
    parseTriggerEvent(event);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidTriggerEventError);
  expect((err as InvalidTriggerEventError).category).toBe(category);
  expect((err as Error).message).toMatch(text);
}

describe('event parsing', () => {
  test('schedule payload: tag filters, idempotency key from schedule ARN and scheduled time', () => {
    const r = parseTriggerEvent(fixture('schedule'));
    expect(r).toEqual({
      eventId: 'schedule:arn:aws:scheduler:us-east-1:000000000000:schedule/rotor/prod-weekly:2030-01-15T10:00:00Z',
      source: 'schedule',
      reason: 'weekly rotation of prod databases',
      targets: [{ kind: 'tags', filters: [{ key: 'env', values: ['prod'] }] }],
      notes: [],
    });
  });

  test('Rotation Requested: secret ids and tag filters', () => {
    const e = fixture('rotation-requested');
    e.detail.secretIds = [ARN, 'plain/name'];
    e.detail.tagFilters = [{ key: 'team', values: ['payments', 'billing'] }];
    const r = parseTriggerEvent(e);
    expect(r.eventId).toBe(e.id);
    expect(r.targets).toEqual([
      { kind: 'secret', secretId: ARN },
      { kind: 'secret', secretId: 'plain/name' },
      { kind: 'tags', filters: [{ key: 'team', values: ['payments', 'billing'] }] },
    ]);
  });

  test('GuardDuty RDS finding names the instance and the user', () => {
    const r = parseTriggerEvent(fixture('guardduty-rds-login'));
    expect(r.source).toBe('guardduty');
    expect(r.reason).toBe('GuardDuty CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin');
    expect(r.targets).toEqual([{ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined, user: 'app_user' }]);
  });

  test('GuardDuty IAM finding: configured tag filters, or a note', () => {
    const e = fixture('guardduty-iam');
    const none = parseTriggerEvent(e);
    expect(none.targets).toEqual([]);
    expect(none.notes[0]).toMatch(/ROTOR_TRIGGER_IAM_FINDING_TAGS/);
    const tags = [{ key: 'exposure-group', values: ['app'] }];
    expect(parseTriggerEvent(e, { iamFindingTags: tags }).targets).toEqual([{ kind: 'tags', filters: tags }]);
  });

  test('Security Hub: secret by ARN, RDS instance by details, archived findings ignored', () => {
    const e = fixture('securityhub-secret');
    e.detail.findings[0].Resources[0].Id = ARN;
    expect(parseTriggerEvent(e).targets).toEqual([{ kind: 'secret', secretId: ARN }]);
    const rds = parseTriggerEvent(fixture('securityhub-rds-instance'));
    expect(rds.targets).toEqual([{ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined }]);
    const archived = fixture('securityhub-rds-instance');
    archived.detail.findings[0].RecordState = 'ARCHIVED';
    const a = parseTriggerEvent(archived);
    expect(a.targets).toEqual([]);
    expect(a.notes[0]).toMatch(/archived; ignored/);
    const byArn = fixture('securityhub-rds-instance');
    delete byArn.detail.findings[0].Resources[0].Details;
    expect(parseTriggerEvent(byArn).targets).toEqual([{ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined }]);
  });

  test('AWS Health: secret ARNs among the affected entities, else the configured tags, else a note', () => {
    const e = fixture('health-credentials-exposed');
    expect(parseTriggerEvent(e).notes[0]).toMatch(/ROTOR_TRIGGER_HEALTH_TAGS/);
    const tags = [{ key: 'env', values: ['prod'] }];
    expect(parseTriggerEvent(e, { healthTags: tags }).targets).toEqual([{ kind: 'tags', filters: tags }]);
    e.detail.affectedEntities.push({ entityValue: ARN });
    expect(parseTriggerEvent(e, { healthTags: tags }).targets).toEqual([{ kind: 'secret', secretId: ARN }]);
    const other = fixture('health-credentials-exposed');
    other.detail.eventTypeCode = 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED';
    expect(parseTriggerEvent(other).notes[0]).toMatch(/not a credential exposure/);
  });

  test('invalid events say which field is wrong', () => {
    expectInvalid('hello', 'invalid-event', /not a JSON object/);
    expectInvalid({ ...fixture('schedule'), scheduledTime: '<aws.scheduler.scheduled-time>' }, 'invalid-event', /scheduledTime is not an ISO 8601 time/);
    expectInvalid({ ...fixture('schedule'), tagFilters: [] }, 'invalid-event', /tagFilters must name at least one tag filter/);
    expectInvalid({ ...fixture('schedule'), tagFilters: [{ key: 'env', values: 'prod' }] }, 'invalid-event', /tagFilters\[0\]\.values must be an array/);
    const noTargets = fixture('rotation-requested');
    noTargets.detail = { reason: 'x' };
    expectInvalid(noTargets, 'invalid-event', /detail names no secret/);
    const badId = fixture('rotation-requested');
    badId.detail.secretIds = ['has spaces'];
    expectInvalid(badId, 'invalid-event', /detail\.secretIds\[0\] is not a secret name or ARN/);
    const noId = fixture('rotation-requested');
    delete noId.id;
    expectInvalid(noId, 'invalid-event', /^\[invalid-event\] id must be a non-empty string/);
    const gd = fixture('guardduty-rds-login');
    gd.detail.resource.rdsDbInstanceDetails = { engine: 'postgres' };
    expectInvalid(gd, 'invalid-event', /names neither dbInstanceIdentifier nor dbClusterIdentifier/);
    const sh = fixture('securityhub-secret');
    sh.detail.findings = 'nope';
    expectInvalid(sh, 'invalid-event', /detail\.findings must be an array/);
  });

  test('an unknown source or detail-type is a configuration error', () => {
    expectInvalid({ source: 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification', id: 'x', detail: {} }, 'configuration', /source "aws\.ec2" are not handled.*check the EventBridge rules/);
    expectInvalid({ ...fixture('rotation-requested'), 'detail-type': 'Something Else' }, 'configuration', /detail-type "Something Else" are not handled/);
    expectInvalid({ id: 'x' }, 'configuration', /source \(none\)/);
  });
});

describe('ClientRequestToken', () => {
  test('deterministic, UUID-shaped, different per event and per secret', () => {
    const a = rotationToken('event-1', ARN);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a).toHaveLength(36);
    expect(rotationToken('event-1', ARN)).toBe(a);
    expect(rotationToken('event-2', ARN)).not.toBe(a);
    expect(rotationToken('event-1', `${ARN}x`)).not.toBe(a);
  });
});

describe('configuration', () => {
  test('defaults and validation', () => {
    expect(readTriggerConfig({ ROTOR_DEPLOYMENT_ID: 'prod' })).toEqual({
      deploymentId: 'prod', maxTps: 48, concurrency: 8, maxAttempts: 8, iamFindingTags: undefined, healthTags: undefined,
    });
    expect(() => readTriggerConfig({})).toThrow(/ROTOR_DEPLOYMENT_ID is not set/);
    expect(() => readTriggerConfig({ ROTOR_DEPLOYMENT_ID: 'p', ROTOR_TRIGGER_MAX_TPS: 'fast' })).toThrow(/ROTOR_TRIGGER_MAX_TPS must be a number/);
    expect(() => readTriggerConfig({ ROTOR_DEPLOYMENT_ID: 'p', ROTOR_TRIGGER_IAM_FINDING_TAGS: '{"env":"prod"}' })).toThrow(/ROTOR_TRIGGER_IAM_FINDING_TAGS is not a valid list/);
    expect(readTriggerConfig({ ROTOR_DEPLOYMENT_ID: 'p', ROTOR_TRIGGER_HEALTH_TAGS: '[{"key":"env","values":["prod"]}]' }).healthTags)
      .toEqual([{ key: 'env', values: ['prod'] }]);
  });
});

describe('database matching', () => {
  test('by identifier field or RDS host name, and user when named', () => {
    const secret = { host: 'Rotor-Trigger-DB1.abc123.us-east-1.rds.amazonaws.com', username: 'app_user' };
    expect(matchesDatabase(secret, { dbInstanceIdentifier: 'rotor-trigger-db1' })).toBe(true);
    expect(matchesDatabase(secret, { dbInstanceIdentifier: 'rotor-trigger-db1', user: 'app_user' })).toBe(true);
    expect(matchesDatabase(secret, { dbInstanceIdentifier: 'rotor-trigger-db1', user: 'other' })).toBe(false);
    expect(matchesDatabase(secret, { dbInstanceIdentifier: 'rotor-trigger-db' })).toBe(false);
    expect(matchesDatabase({ host: 'db.internal', username: 'a' }, { dbInstanceIdentifier: 'db' })).toBe(false);
    expect(matchesDatabase({ host: 'x', dbClusterIdentifier: 'c1' }, { dbInstanceIdentifier: 'i1', dbClusterIdentifier: 'c1' })).toBe(true);
    expect(matchesDatabase({ host: 'c1.cluster-abc.eu-west-1.rds.amazonaws.com' }, { dbClusterIdentifier: 'c1' })).toBe(true);
  });
});
