import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseTriggerEvent, InvalidTriggerEventError, type EventParseOptions } from '../../lambda/trigger/events';

/**
 * Whole TriggerRequests for the event sources the trigger acts on, so that a
 * stray note, target or skipped finding shows (lambda/trigger/events/*.ts).
 * Fixtures: test/fixtures/events (shapes from the AWS documentation cited in each).
 */
const fixture = (name: string) => JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'events', `${name}.json`), 'utf8'));
const SCOPE = { partition: 'aws', account: '000000000000', region: 'us-east-1' };
const ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:prod/app-AbCdEf';
const parse = (e: unknown, o: Partial<EventParseOptions> = {}) => parseTriggerEvent(e, { scope: SCOPE, ...o });
const TAGS = [{ key: 'env', values: ['prod'] }];

function refusal(e: unknown): InvalidTriggerEventError {
  try {
    parse(e);
  } catch (x) {
    if (x instanceof InvalidTriggerEventError) return x;
    throw x;
  }
  throw new Error('accepted');
}

describe('routing', () => {
  test('a source that is only an inherited property name, or not a string, is not routed', () => {
    for (const source of ['__proto__', 'constructor', 'toString', 5, undefined]) {
      const e = refusal({ source, id: 'x', detail: {} });
      expect(e.category).toBe('configuration');
    }
    expect(refusal({ source: 'x'.repeat(300), id: 'x' }).message).toContain(`"${'x'.repeat(128)}"`);
    expect(refusal({ source: 'x'.repeat(300), id: 'x' }).message).not.toContain('x'.repeat(129));
  });

  test('the detail-type is checked for sources that have one, and shortened in the message', () => {
    const e = fixture('rotation-requested');
    e['detail-type'] = 'y'.repeat(300);
    const err = refusal(e);
    expect(err.category).toBe('configuration');
    expect(err.message).toContain(`"${'y'.repeat(128)}"`);
    expect(err.message).not.toContain('y'.repeat(129));
    e['detail-type'] = 5;
    expect(refusal(e).message).toMatch(/detail-type \(none\) are not handled \(expected "Rotation Requested"\)/);
    // A schedule has no detail-type of its own: any is accepted.
    const s = fixture('schedule');
    s['detail-type'] = 'Scheduled Event';
    expect(parse(s).source).toBe('schedule');
  });
});

describe('Rotation Requested', () => {
  test('tag filters only, or null tag filters with ids', () => {
    const e = fixture('rotation-requested');
    e.detail = { tagFilters: TAGS };
    expect(parse(e)).toEqual({ eventId: e.id, source: 'rotor', reason: undefined, targets: [{ kind: 'tags', filters: TAGS }], notes: [], skippedFindings: [] });
    e.detail = { secretIds: [ARN], tagFilters: null, reason: 'leak' };
    expect(parse(e)).toEqual({ eventId: e.id, source: 'rotor', reason: 'leak', targets: [{ kind: 'secret', secretId: ARN }], notes: [], skippedFindings: [] });
  });
});

describe('GuardDuty', () => {
  test('an RDS finding: the whole request', () => {
    const e = fixture('guardduty-rds-login');
    const r = parse(e);
    expect(r).toEqual({
      eventId: e.id, source: 'guardduty', reason: `GuardDuty ${e.detail.type}`, notes: [], skippedFindings: [],
      targets: [{ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined, user: 'app_user', key: `guardduty:${e.detail.id}@${e.detail.updatedAt}` }],
    });
  });

  test('an RDS finding without user details names no user; one without RDS details is refused', () => {
    const e = fixture('guardduty-rds-login');
    delete e.detail.resource.rdsDbUserDetails;
    expect(parse(e).targets).toEqual([expect.objectContaining({ user: undefined })]);
    const typed = fixture('guardduty-rds-login');
    delete typed.detail.resource.rdsDbInstanceDetails;
    expect(refusal(typed).message).toMatch(/rdsDbInstanceDetails is missing from an RDS finding/);
    // RDS details decide even when the resource type says otherwise.
    const untyped = fixture('guardduty-rds-login');
    untyped.detail.resource.resourceType = 'Other';
    expect(parse(untyped).targets).toEqual([expect.objectContaining({ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1' })]);
  });

  test('IAM findings: by resource type AccessKey or an IAMUser finding type; with tags, or a note', () => {
    const e = fixture('guardduty-iam');
    const key = `guardduty:${e.detail.id}@${e.detail.updatedAt ?? ''}`;
    expect(parse(e, { iamFindingTags: TAGS })).toEqual({ eventId: e.id, source: 'guardduty', reason: `GuardDuty ${e.detail.type}`, targets: [{ kind: 'tags', filters: TAGS, key }], notes: [], skippedFindings: [] });
    const byType = fixture('guardduty-iam');
    byType.detail.resource.resourceType = 'Instance';
    byType.detail.type = 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS';
    expect(parse(byType, { iamFindingTags: TAGS }).targets).toEqual([{ kind: 'tags', filters: TAGS, key: expect.any(String) }]);
    const noTags = parse(fixture('guardduty-iam'));
    expect(noTags).toMatchObject({ targets: [], skippedFindings: [] });
    expect(noTags.notes).toEqual([expect.stringMatching(/is an IAM credential finding and names no database; set ROTOR_TRIGGER_IAM_FINDING_TAGS/)]);
  });

  test('another resource: a note naming the type, nothing to rotate', () => {
    const e = fixture('guardduty-iam');
    e.detail.resource.resourceType = 'S3Bucket';
    e.detail.type = 'Policy:S3/BucketBlockPublicAccessDisabled';
    expect(parse(e, { iamFindingTags: TAGS })).toEqual({
      eventId: e.id, source: 'guardduty', reason: 'GuardDuty Policy:S3/BucketBlockPublicAccessDisabled', targets: [], skippedFindings: [],
      notes: ['Policy:S3/BucketBlockPublicAccessDisabled (resource type S3Bucket) concerns no database credential; nothing to rotate'],
    });
    delete e.detail.resource.resourceType;
    expect(parse(e).notes).toEqual(['Policy:S3/BucketBlockPublicAccessDisabled (resource type unknown) concerns no database credential; nothing to rotate']);
  });

  test('a skipped finding: no target, no note, only the skip', () => {
    const e = fixture('guardduty-rds-login');
    e.detail.accountId = '111122223333';
    expect(parse(e)).toEqual({ eventId: e.id, source: 'guardduty', reason: `GuardDuty ${e.detail.type}`, targets: [], notes: [], skippedFindings: [expect.objectContaining({ reason: 'other-account' })] });
  });
});

describe('Security Hub', () => {
  const hub = (edit: (f: any) => void = () => undefined) => {
    const e = fixture('securityhub-rds-instance');
    edit(e.detail.findings[0]);
    return e;
  };

  test('the whole request: title as reason, no note', () => {
    const e = hub();
    const f = e.detail.findings[0];
    expect(parse(e)).toEqual({
      eventId: e.id, source: 'securityhub', reason: `Security Hub: ${f.Title}`, notes: [], skippedFindings: [],
      targets: [{ kind: 'database', dbInstanceIdentifier: 'rotor-trigger-db1', dbClusterIdentifier: undefined, key: `securityhub:${f.Id}@${f.UpdatedAt}` }],
    });
    const untitled = hub((x) => { delete x.Title; });
    expect(parse(untitled).reason).toBe('Security Hub finding');
    const two = hub();
    two.detail.findings.push({ ...structuredClone(two.detail.findings[0]), Id: 'second', Title: 'Second' });
    expect(parse(two).reason).toBe(`Security Hub: ${f.Title}; Second`);
  });

  test('suppressed and resolved findings are inactive; other workflow states act', () => {
    expect(parse(hub((f) => { f.Workflow = { Status: 'SUPPRESSED' }; })).skippedFindings).toEqual([expect.objectContaining({ reason: 'inactive', detail: 'the finding is suppressed' })]);
    expect(parse(hub((f) => { f.Workflow = { Status: 'RESOLVED' }; })).skippedFindings).toEqual([expect.objectContaining({ reason: 'inactive', detail: 'the finding is resolved' })]);
    for (const w of [{ Status: 'NEW' }, { Status: 'NOTIFIED' }, undefined]) {
      expect(parse(hub((f) => { f.Workflow = w; f.RecordState = 'ACTIVE'; })).targets).toHaveLength(1);
    }
  });

  test('the not-credential-type skip names the types, or none', () => {
    const r = parse(hub((f) => { f.Types = ['A/B', 'C/D']; }));
    expect(r.skippedFindings[0].detail).toMatch(/^the finding's Types \(A\/B, C\/D\) start with none of TTPs\/Credential Access, /);
    expect(parse(hub((f) => { delete f.Types; })).skippedFindings[0].detail).toMatch(/^the finding's Types \(none\) start with none of/);
  });

  test('the Region falls back to the one in ProductArn', () => {
    expect(parse(hub((f) => { delete f.Region; f.ProductArn = 'arn:aws:securityhub:us-east-1::product/aws/guardduty'; })).targets).toHaveLength(1);
    expect(parse(hub((f) => { delete f.Region; f.ProductArn = 'arn:aws:securityhub:eu-west-1::product/aws/guardduty'; })).skippedFindings).toEqual([expect.objectContaining({ reason: 'other-region' })]);
    expect(parse(hub((f) => { delete f.Region; delete f.ProductArn; })).skippedFindings).toEqual([expect.objectContaining({ reason: 'no-scope' })]);
  });

  test('resources: secrets by ARN, RDS clusters by details or ARN, other types ignored; a note when a finding names nothing', () => {
    const e = hub((f) => {
      f.Resources = [
        { Type: 'AwsSecretsManagerSecret', Id: ARN },
        { Type: 'AwsSecretsManagerSecret', Id: 'not-an-arn' },
        { Type: 'AwsRdsDbCluster', Id: 'arn:aws:rds:us-east-1:000000000000:cluster:c-by-arn' },
        { Type: 'AwsRdsDbCluster', Id: 'x', Details: { AwsRdsDbCluster: { DbClusterIdentifier: 'c-by-details' } } },
        { Type: 'AwsRdsDbCluster', Id: 'arn:aws:rds:us-east-1:000000000000:db:an-instance' },
        { Type: 'AwsRdsDbInstance', Id: 'arn:aws:rds:us-east-1:000000000000:cluster:a-cluster' },
        { Type: 'AwsRdsDbInstance', Id: 'y', Details: { AwsRdsDbInstance: { DBClusterIdentifier: 'member-of' } } },
        { Type: 'AwsEc2Instance', Id: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-1' },
      ];
    });
    const f = e.detail.findings[0];
    const key = `securityhub:${f.Id}@${f.UpdatedAt}`;
    const r = parse(e);
    expect(r.targets).toEqual([
      { kind: 'secret', secretId: ARN, key },
      { kind: 'database', dbClusterIdentifier: 'c-by-arn', key },
      { kind: 'database', dbClusterIdentifier: 'c-by-details', key },
      { kind: 'database', dbInstanceIdentifier: undefined, dbClusterIdentifier: 'member-of', key },
    ]);
    expect(r.notes).toEqual([
      'detail.findings[0].Resources[1].Id is not a secret ARN; ignored',
      'detail.findings[0].Resources[4] names no DB cluster identifier; ignored',
      'detail.findings[0].Resources[5] names no DB instance identifier; ignored',
    ]);
    expect(r.skippedFindings).toEqual([]);
    const nothing = parse(hub((x) => { x.Resources = [{ Type: 'AwsEc2Instance', Id: 'i-1' }]; }));
    expect(nothing.notes).toEqual([`finding ${e.detail.findings[0].Id} names no secret or database; nothing to rotate for it`]);
    // A finding whose only resource was skipped gets the skip, not the note.
    const skippedOnly = parse(hub((x) => { x.Resources[0].Region = 'eu-west-1'; }));
    expect(skippedOnly.notes).toEqual([]);
    expect(skippedOnly.skippedFindings).toHaveLength(1);
    // The note is per finding: a second finding that names nothing gets one even after a first that acted.
    const mixed = hub();
    mixed.detail.findings.push({ ...structuredClone(mixed.detail.findings[0]), Id: 'empty', Resources: [] });
    expect(parse(mixed).notes).toEqual(['finding empty names no secret or database; nothing to rotate for it']);
  });

  test('a finding without Id is keyed by the event and its position', () => {
    const e = hub((f) => { delete f.Id; });
    expect(parse(e).targets).toEqual([expect.objectContaining({ key: `securityhub-event:${e.id}#0` })]);
  });
});

describe('AWS Health', () => {
  const health = (edit: (e: any) => void = () => undefined) => {
    const e = fixture('health-credentials-exposed');
    edit(e);
    return e;
  };

  test('another event type: a note, nothing else', () => {
    const e = health((x) => { x.detail.eventTypeCode = 'AWS_EC2_MAINTENANCE'; });
    expect(parse(e, { healthTags: TAGS })).toEqual({ eventId: e.id, source: 'health', reason: 'AWS Health AWS_EC2_MAINTENANCE', targets: [], skippedFindings: [], notes: ['AWS Health event type AWS_EC2_MAINTENANCE is not a credential exposure; nothing to rotate'] });
  });

  test('the whole request with tags, and with no tags', () => {
    const e = health();
    const key = `health:000000000000:${e.detail.eventArn}@${e.detail.lastUpdatedTime}`;
    expect(parse(e, { healthTags: TAGS })).toEqual({ eventId: e.id, source: 'health', reason: 'AWS Health AWS_RISK_CREDENTIALS_EXPOSED', targets: [{ kind: 'tags', filters: TAGS, key }], notes: [], skippedFindings: [] });
    expect(parse(e)).toEqual({ eventId: e.id, source: 'health', reason: 'AWS Health AWS_RISK_CREDENTIALS_EXPOSED', targets: [], skippedFindings: [], notes: ['the exposed credential is not a secret; set ROTOR_TRIGGER_HEALTH_TAGS to rotate a group of secrets on such events'] });
  });

  test('secrets named in resources or entities; when every named secret is elsewhere, nothing is rotated (not even by tags)', () => {
    const e = health((x) => { x.resources = [ARN]; x.detail.affectedEntities = [{ entityValue: 'AKIA' }, {}, null]; });
    const key = `health:000000000000:${e.detail.eventArn}@${e.detail.lastUpdatedTime}`;
    expect(parse(e, { healthTags: TAGS })).toEqual({ eventId: e.id, source: 'health', reason: 'AWS Health AWS_RISK_CREDENTIALS_EXPOSED', targets: [{ kind: 'secret', secretId: ARN, key }], notes: [], skippedFindings: [] });
    const elsewhere = health((x) => { x.detail.affectedEntities = [{ entityValue: ARN.replace('000000000000', '111122223333') }]; });
    const r = parse(elsewhere, { healthTags: TAGS });
    expect(r.targets).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(r.skippedFindings).toEqual([expect.objectContaining({ reason: 'other-account' })]);
  });

  test('scope: a skipped event has no target and no note; the Region comes from eventRegion, else the event ARN', () => {
    const other = health((x) => { x.detail.affectedAccount = '111122223333'; });
    expect(parse(other, { healthTags: TAGS })).toEqual({ eventId: other.id, source: 'health', reason: 'AWS Health AWS_RISK_CREDENTIALS_EXPOSED', targets: [], notes: [], skippedFindings: [expect.objectContaining({ reason: 'other-account', finding: other.detail.eventArn })] });
    const regional = health((x) => { x.detail.eventArn = 'arn:aws:health:eu-west-1::event/RISK/X/Y'; });
    expect(parse(regional, { healthTags: TAGS }).skippedFindings).toEqual([expect.objectContaining({ reason: 'other-region' })]);
    expect(parse(regional, { healthTags: TAGS, scope: { ...SCOPE, region: 'eu-west-1' } }).targets).toHaveLength(1);
    // No eventRegion and no event ARN: the event says nowhere, so it is not acted on.
    const nowhere = health((x) => { delete x.detail.eventArn; });
    const n = parse(nowhere, { healthTags: TAGS });
    expect(n.targets).toEqual([]);
    expect(n.skippedFindings).toEqual([{ finding: `(event ${nowhere.id})`, reason: 'no-scope', detail: expect.stringMatching(/names no Region/) }]);
    // An event ARN without a Region is global; an empty eventRegion is malformed.
    expect(parse(health((x) => { x.detail.eventArn = 'arn:aws:health:::event/RISK/X/Y'; }), { healthTags: TAGS, scope: { ...SCOPE, region: 'eu-west-1' } }).targets).toHaveLength(1);
    expect(refusal(health((x) => { x.detail.eventRegion = ''; })).message).toMatch(/detail\.eventRegion must be a non-empty string/);
  });
});

describe('edges', () => {
  test('GuardDuty: resource type AccessKey is an IAM finding whatever its type name', () => {
    const e = fixture('guardduty-iam');
    e.detail.resource.resourceType = 'AccessKey';
    e.detail.type = 'CredentialAccess:Kubernetes/MaliciousIPCaller';
    expect(parse(e, { iamFindingTags: TAGS }).targets).toEqual([{ kind: 'tags', filters: TAGS, key: expect.any(String) }]);
  });

  test('AWS Health: an eventArn that is not an ARN, and no resources or entities at all', () => {
    const bad = fixture('health-credentials-exposed');
    bad.detail.eventArn = 'not-an-arn';
    expect(parse(bad, { healthTags: TAGS }).skippedFindings).toEqual([expect.objectContaining({ finding: 'not-an-arn', reason: 'no-scope' })]);
    const bare = fixture('health-credentials-exposed');
    delete bare.resources;
    delete bare.detail.affectedEntities;
    expect(parse(bare, { healthTags: TAGS }).targets).toEqual([{ kind: 'tags', filters: TAGS, key: expect.any(String) }]);
  });

  test('schedule: a scheduledTime that Date.parse reads but is not ISO 8601 is refused', () => {
    const e = fixture('schedule');
    e.scheduledTime = 'Tue, 15 Jan 2030 10:00:00 GMT';
    expect(refusal(e).message).toMatch(/scheduledTime is not an ISO 8601 time/);
  });

  test('Security Hub: long type lists and titles are cut to 512 characters; a cluster resource with a plain Id is ignored with a note', () => {
    const e = fixture('securityhub-rds-instance');
    e.detail.findings[0].Types = ['T/'.padEnd(400, 'a'), 'U/'.padEnd(400, 'b')];
    const detail = parse(e).skippedFindings[0].detail;
    expect(detail).toContain(`(${`${'T/'.padEnd(400, 'a')}, ${'U/'.padEnd(400, 'b')}`.slice(0, 512)})`);
    expect(detail).not.toContain('b'.repeat(398));
    const t = fixture('securityhub-rds-instance');
    t.detail.findings[0].Title = 'x'.repeat(400);
    t.detail.findings.push({ ...structuredClone(t.detail.findings[0]), Id: 'two', Title: 'y'.repeat(400) });
    expect(parse(t).reason).toBe(`Security Hub: ${`${'x'.repeat(400)}; ${'y'.repeat(400)}`.slice(0, 512)}`);
    const c = fixture('securityhub-rds-instance');
    c.detail.findings[0].Resources = [{ Type: 'AwsRdsDbCluster', Id: 'plain' }];
    expect(parse(c).notes).toEqual([
      'detail.findings[0].Resources[0] names no DB cluster identifier; ignored',
      `finding ${c.detail.findings[0].Id} names no secret or database; nothing to rotate for it`,
    ]);
  });
});
