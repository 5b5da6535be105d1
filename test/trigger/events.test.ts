import { CREDENTIAL_FINDING_TYPE_PREFIXES, parseTriggerEvent, InvalidTriggerEventError, type EventParseOptions } from '../../lambda/trigger/events';
import { rotationToken } from '../../lambda/trigger/client-request-token';
import { readTriggerConfig } from '../../lambda/trigger/config';
import { matchesDatabase } from '../../lambda/trigger/secret-resolver';
import { fixture } from './trigger-test-kit';

const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/app-AbCdEf';
/** The fixtures' account and Region (the local endpoint's defaults). */
const SCOPE = { partition: 'aws', account: '000000000000', region: 'us-east-1' };
const parse = (event: unknown, opts: Omit<EventParseOptions, 'scope'> & { scope?: EventParseOptions['scope'] } = {}) => parseTriggerEvent(event, { scope: SCOPE, ...opts });

function expectInvalid(event: unknown, category: string, text: RegExp): void {
  let err: unknown;
  try {
    parse(event);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidTriggerEventError);
  expect((err as InvalidTriggerEventError).category).toBe(category);
  expect((err as Error).message).toMatch(text);
}

describe('event parsing', () => {
  test('schedule payload: tag filters, idempotency key from schedule ARN and scheduled time', () => {
    const r = parse(fixture('schedule'));
    expect(r).toEqual({
      eventId: 'schedule:arn:aws:scheduler:us-east-1:000000000000:schedule/rotor/prod-weekly:2030-01-15T10:00:00Z',
      source: 'schedule',
      reason: 'weekly rotation of prod databases',
      targets: [{ kind: 'tags', filters: [{ key: 'env', values: ['prod'] }] }],
      notes: [],
      skippedFindings: [],
    });
  });

  test('Rotation Requested: secret ids and tag filters, keyed by the event id', () => {
    const e = fixture('rotation-requested');
    e.detail.secretIds = [ARN, 'plain/name'];
    e.detail.tagFilters = [{ key: 'team', values: ['payments', 'billing'] }];
    const r = parse(e);
    expect(r.eventId).toBe(e.id);
    expect(r.targets).toEqual([
      { kind: 'secret', secretId: ARN },
      { kind: 'secret', secretId: 'plain/name' },
      { kind: 'tags', filters: [{ key: 'team', values: ['payments', 'billing'] }] },
    ]);
  });

  test('GuardDuty RDS finding names the instance and the user; keyed by finding id + updatedAt', () => {
    const r = parse(fixture('guardduty-rds-login'));
    expect(r.source).toBe('guardduty');
    expect(r.reason).toBe('GuardDuty CredentialAccess:RDS/AnomalousBehavior.SuccessfulLogin');
    expect(r.targets).toEqual([{
      kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined, user: 'app_user',
      key: 'guardduty:16afba5c5c43e07c9e3e5e2e544e95df@2030-01-15T09:59:00.000Z',
    }]);
    expect(r.skippedFindings).toEqual([]);
  });

  test('GuardDuty IAM finding: configured tag filters, or a note', () => {
    const e = fixture('guardduty-iam');
    const none = parse(e);
    expect(none.targets).toEqual([]);
    expect(none.notes[0]).toMatch(/ROTOR_TRIGGER_IAM_FINDING_TAGS/);
    const tags = [{ key: 'exposure-group', values: ['app'] }];
    expect(parse(e, { iamFindingTags: tags }).targets).toEqual([{ kind: 'tags', filters: tags, key: 'guardduty:8cb7b4d0a1f2e3d4c5b6a7980f1e2d3c@2030-01-15T09:59:00.000Z' }]);
  });

  test('GuardDuty: a finding of another account or Region, or a database ARN elsewhere, is skipped with its reason', () => {
    const otherAccount = fixture('guardduty-rds-login');
    otherAccount.detail.accountId = '111122223333';
    expect(parse(otherAccount)).toMatchObject({
      targets: [],
      skippedFindings: [{ finding: '16afba5c5c43e07c9e3e5e2e544e95df', reason: 'other-account', detail: expect.stringMatching(/account 111122223333, not this function's account 000000000000/) }],
    });
    const otherRegion = fixture('guardduty-rds-login');
    otherRegion.detail.region = 'eu-west-1';
    expect(parse(otherRegion)).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-region' }] });
    const dbElsewhere = fixture('guardduty-rds-login');
    dbElsewhere.detail.resource.rdsDbInstanceDetails.dbInstanceArn = 'arn:aws:rds:us-east-1:444455556666:db:rotor-trigger-db1';
    expect(parse(dbElsewhere)).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-account' }] });
    const unscoped = fixture('guardduty-rds-login');
    delete unscoped.detail.accountId;
    expect(parse(unscoped)).toMatchObject({ targets: [], skippedFindings: [{ reason: 'no-scope' }] });
    // The same finding in the function's own account and Region acts.
    expect(parse(fixture('guardduty-rds-login'), { scope: { ...SCOPE } }).targets).toHaveLength(1);
  });

  test('Security Hub: credential finding types act (secret by ARN, RDS instance by details); archived findings are skipped', () => {
    const e = fixture('securityhub-secret');
    e.detail.findings[0].Types = ['Sensitive Data Identifications/Passwords/SecretsInCode'];
    e.detail.findings[0].Resources[0].Id = ARN;
    const key = `securityhub:${e.detail.findings[0].Id}@2030-01-15T09:59:00.000Z`;
    expect(parse(e).targets).toEqual([{ kind: 'secret', secretId: ARN, key }]);
    const rds = parse(fixture('securityhub-rds-instance'));
    expect(rds.targets).toEqual([{
      kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined,
      key: 'securityhub:arn:aws:guardduty:us-east-1:000000000000:detector/123456789012345678901234567890ab/finding/aa11bb22cc33@2030-01-15T09:59:00.000Z',
    }]);
    const archived = fixture('securityhub-rds-instance');
    archived.detail.findings[0].RecordState = 'ARCHIVED';
    const a = parse(archived);
    expect(a.targets).toEqual([]);
    expect(a.skippedFindings).toEqual([{ finding: archived.detail.findings[0].Id, reason: 'inactive', detail: 'the finding is archived' }]);
    const byArn = fixture('securityhub-rds-instance');
    delete byArn.detail.findings[0].Resources[0].Details;
    expect(parse(byArn).targets).toMatchObject([{ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined }]);
  });

  test('Security Hub: only the documented credential type prefixes act', () => {
    expect(CREDENTIAL_FINDING_TYPE_PREFIXES).toEqual([
      'TTPs/Credential Access', 'Sensitive Data Identifications/Passwords', 'Sensitive Data Identifications/Security', 'Effects/Data Exposure',
    ]);
    const typed = (types: string[]) => {
      const e = fixture('securityhub-rds-instance');
      e.detail.findings[0].Types = types;
      return parse(e);
    };
    for (const t of ['TTPs/Credential Access/x', 'Sensitive Data Identifications/Passwords/y', 'Sensitive Data Identifications/Security/AWSSecretKey', 'Effects/Data Exposure']) {
      expect({ t, n: typed([t]).targets.length }).toEqual({ t, n: 1 });
    }
    // The real SecretsManager.4 control finding ("should be rotated within N days") is compliance, not exposure.
    const control = parse(fixture('securityhub-secret'));
    expect(control.targets).toEqual([]);
    expect(control.skippedFindings).toEqual([expect.objectContaining({ reason: 'not-credential-type' })]);
    for (const t of ['Software and Configuration Checks/Vulnerabilities/CVE', 'Sensitive Data Identifications/PII', 'TTPs/Discovery', 'Effects/Data Destruction']) {
      expect({ t, r: typed([t]).skippedFindings.map((f) => f.reason) }).toEqual({ t, r: ['not-credential-type'] });
    }
    expect(typed(['Unusual Behaviors/User', 'TTPs/Credential Access/z']).targets).toHaveLength(1);
    expect(typed([]).skippedFindings[0].reason).toBe('not-credential-type');
  });

  test('Security Hub: a finding or resource of another account or Region is skipped with its reason', () => {
    const at = (edit: (f: any) => void) => {
      const e = fixture('securityhub-rds-instance');
      edit(e.detail.findings[0]);
      return parse(e);
    };
    expect(at((f) => { f.AwsAccountId = '111122223333'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-account' }] });
    expect(at((f) => { f.Region = 'eu-central-1'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-region' }] });
    expect(at((f) => { f.Resources[0].Region = 'eu-central-1'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-region' }] });
    expect(at((f) => { f.Resources[0].Id = 'arn:aws:rds:us-east-1:111122223333:db:rotor-trigger-db1'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-account' }] });
    expect(at((f) => { delete f.AwsAccountId; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'no-scope' }] });
    // One event, two findings: only this account's acts.
    const e = fixture('securityhub-rds-instance');
    e.detail.findings.push({ ...structuredClone(e.detail.findings[0]), Id: 'other', AwsAccountId: '111122223333' });
    const r = parse(e);
    expect(r.targets).toHaveLength(1);
    expect(r.skippedFindings).toEqual([expect.objectContaining({ finding: 'other', reason: 'other-account' })]);
  });

  test('AWS Health: secret ARNs among the affected entities, else the configured tags, else a note; keyed by eventArn + lastUpdatedTime', () => {
    const e = fixture('health-credentials-exposed');
    expect(parse(e).notes[0]).toMatch(/ROTOR_TRIGGER_HEALTH_TAGS/);
    const tags = [{ key: 'env', values: ['prod'] }];
    const key = `health:000000000000:${e.detail.eventArn}@Tue, 15 Jan 2030 09:59:00 GMT`;
    expect(parse(e, { healthTags: tags }).targets).toEqual([{ kind: 'tags', filters: tags, key }]);
    e.detail.affectedEntities.push({ entityValue: ARN });
    expect(parse(e, { healthTags: tags }).targets).toEqual([{ kind: 'secret', secretId: ARN, key }]);
    const other = fixture('health-credentials-exposed');
    other.detail.eventTypeCode = 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED';
    expect(parse(other).notes[0]).toMatch(/not a credential exposure/);
  });

  test('AWS Health: global events ("global" or us-east-1) act in any Region of this account; other accounts and Regions do not', () => {
    const tags = [{ key: 'env', values: ['prod'] }];
    const inRegion = (region: string, edit: (e: any) => void = () => undefined) => {
      const e = fixture('health-credentials-exposed');
      edit(e);
      return parse(e, { healthTags: tags, scope: { ...SCOPE, region } });
    };
    // The fixture's eventArn is arn:aws:health:global::event/...; delivered in us-east-1.
    expect(inRegion('eu-west-1').targets).toHaveLength(1);
    expect(inRegion('eu-west-1', (e) => { e.detail.eventRegion = 'global'; }).targets).toHaveLength(1);
    expect(inRegion('eu-west-1', (e) => { e.detail.eventRegion = 'us-east-1'; }).targets).toHaveLength(1);
    expect(inRegion('eu-west-1', (e) => { e.detail.eventRegion = 'eu-west-1'; }).targets).toHaveLength(1);
    expect(inRegion('eu-west-1', (e) => { e.detail.eventRegion = 'ap-southeast-2'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-region' }] });
    expect(inRegion('us-east-1', (e) => { e.detail.affectedAccount = '111122223333'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-account' }] });
    expect(inRegion('us-east-1', (e) => { e.account = '111122223333'; })).toMatchObject({ targets: [], skippedFindings: [{ reason: 'other-account' }] });
    // A named secret of another account is skipped; this account's is rotated.
    const mixed = inRegion('us-east-1', (e) => {
      e.detail.affectedEntities = [{ entityValue: ARN }, { entityValue: ARN.replace('000000000000', '111122223333') }];
    });
    expect(mixed.targets).toEqual([expect.objectContaining({ secretId: ARN })]);
    expect(mixed.skippedFindings).toEqual([expect.objectContaining({ reason: 'other-account' })]);
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
      cooldownMinutes: 60, maxSecretsPerEvent: 50, requestBusName: undefined, region: undefined,
    });
    expect(readTriggerConfig({
      ROTOR_DEPLOYMENT_ID: 'p', ROTOR_TRIGGER_COOLDOWN_MINUTES: '0', ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '10000',
      ROTOR_REQUEST_BUS_NAME: 'rotor-requests', AWS_REGION: 'eu-west-1',
    })).toMatchObject({ cooldownMinutes: 0, maxSecretsPerEvent: 10000, requestBusName: 'rotor-requests', region: 'eu-west-1' });
    for (const [name, bad] of [
      ['ROTOR_TRIGGER_COOLDOWN_MINUTES', '-1'], ['ROTOR_TRIGGER_COOLDOWN_MINUTES', '10081'], ['ROTOR_TRIGGER_COOLDOWN_MINUTES', '1.5'],
      ['ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT', '0'], ['ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT', '10001'], ['ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT', 'many'],
    ]) {
      expect(() => readTriggerConfig({ ROTOR_DEPLOYMENT_ID: 'p', [name]: bad })).toThrow(new RegExp(`${name} must be an integer between`));
    }
    expect(() => readTriggerConfig({ ROTOR_DEPLOYMENT_ID: 'p', ROTOR_REQUEST_BUS_NAME: 'bad bus' })).toThrow(/ROTOR_REQUEST_BUS_NAME is not an event bus name/);
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
    // Alternating users: a finding about app (now AWSPREVIOUS) or app_clone concerns the secret whose AWSCURRENT is the other.
    const alt = { dbInstanceIdentifier: 'db', username: 'app_clone', masterarn: 'arn:master' };
    expect(matchesDatabase(alt, { dbInstanceIdentifier: 'db', user: 'app' })).toBe(true);
    expect(matchesDatabase({ ...alt, username: 'app' }, { dbInstanceIdentifier: 'db', user: 'app_clone' })).toBe(true);
    expect(matchesDatabase(alt, { dbInstanceIdentifier: 'db', user: 'other' })).toBe(false);
    // Without a master the secret is single-user: app_clone is another user.
    expect(matchesDatabase({ dbInstanceIdentifier: 'db', username: 'app_clone' }, { dbInstanceIdentifier: 'db', user: 'app' })).toBe(false);
  });
});
