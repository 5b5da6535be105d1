import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { matchesPattern } from './event-pattern-matcher';
import { fullStack } from './infra-fixtures';

type Pattern = Record<string, unknown>;
type Event = Record<string, unknown>;

const FIXTURES = path.resolve(__dirname, '../fixtures/events');
const fixture = (name: string): Event => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as Event;
const clone = (e: Event): Event => JSON.parse(JSON.stringify(e)) as Event;

let patterns: Pattern[];
let customPatterns: Pattern[];

beforeAll(() => {
  const template = Template.fromStack(fullStack());
  patterns = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern as Pattern);
  // A second stack with Security Hub MEDIUM included, severity 5, and the Health and
  // GuardDuty-IAM rules turned on by naming the secrets they rotate, to show the knobs work.
  const custom = Template.fromStack(
    fullStack({
      ...require('./infra-fixtures').FULL_CONFIG,
      securityAlerts: {
        guardDutyMinSeverity: 5,
        securityHubSeverityLabels: ['MEDIUM', 'HIGH', 'CRITICAL'],
        healthTags: [{ key: 'env', values: ['prod'] }],
        iamFindingTags: [{ key: 'env', values: ['prod'] }],
      },
    }),
  );
  customPatterns = Object.values(custom.findResources('AWS::Events::Rule')).map((r) => r.Properties.EventPattern as Pattern);
});

const matchingRules = (event: Event, ps = patterns) => ps.filter((p) => matchesPattern(p, event)).map((p) => (p.source as string[])[0]);

describe('the pattern matcher itself', () => {
  test('exact, prefix, numeric, anything-but, exists, nested arrays', () => {
    const e = { source: 'a', detail: { n: 7, s: 'CredentialAccess:RDS/X', list: [{ T: 'x' }, { T: 'y' }] } };
    expect(matchesPattern({ source: ['a'] }, e)).toBe(true);
    expect(matchesPattern({ source: ['b'] }, e)).toBe(false);
    expect(matchesPattern({ detail: { s: [{ prefix: 'CredentialAccess:' }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>=', 7, '<', 8] }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { n: [{ numeric: ['>', 7] }] } }, e)).toBe(false);
    expect(matchesPattern({ source: [{ 'anything-but': ['a'] }] }, e)).toBe(false);
    expect(matchesPattern({ detail: { missing: [{ exists: false }] } }, e)).toBe(true);
    expect(matchesPattern({ detail: { list: { T: ['y'] } } }, e)).toBe(true);
  });
});

describe('fixture events reach exactly their rule', () => {
  test.each([
    ['guardduty-rds-login.json', 'aws.guardduty'],
    ['securityhub-rds-instance.json', 'aws.securityhub'],
    ['rotation-requested.json', 'rotor'],
  ])('%s -> %s', (file, source) => {
    expect(matchingRules(fixture(file))).toEqual([source]);
  });

  test('GuardDuty IAM findings and AWS Health exposure events reach a rule only when their tags are configured', () => {
    // The trigger rotates nothing for them without ROTOR_TRIGGER_IAM_FINDING_TAGS / ROTOR_TRIGGER_HEALTH_TAGS.
    expect(matchingRules(fixture('guardduty-iam.json'))).toEqual([]);
    expect(matchingRules(fixture('health-credentials-exposed.json'))).toEqual([]);
    expect(matchingRules(fixture('guardduty-iam.json'), customPatterns)).toEqual(['aws.guardduty']);
    expect(matchingRules(fixture('health-credentials-exposed.json'), customPatterns)).toEqual(['aws.health']);
  });

  test('Security Hub: only credential finding types rotate; a MEDIUM one only when MEDIUM is configured', () => {
    const medium = fixture('securityhub-secret.json');
    // A best-practice check finding is not about credentials: never, whatever the severity.
    expect(matchingRules(medium)).toEqual([]);
    expect(matchingRules(medium, customPatterns)).toEqual([]);
    for (const type of ['TTPs/Credential Access/X', 'Sensitive Data Identifications/Passwords/Y', 'Sensitive Data Identifications/Security/Z', 'Effects/Data Exposure/W']) {
      const credential = clone(medium);
      ((credential.detail as Event).findings as Record<string, unknown>[])[0].Types = ['Software and Configuration Checks/Vulnerabilities', type];
      expect(matchingRules(credential)).toEqual([]);
      expect(matchingRules(credential, customPatterns)).toEqual(['aws.securityhub']);
    }
    const hub = clone(fixture('securityhub-rds-instance.json'));
    ((hub.detail as Event).findings as Record<string, unknown>[])[0].Types = ['Software and Configuration Checks/AWS Security Best Practices'];
    expect(matchingRules(hub)).toEqual([]);
  });
});

describe('near misses do not match', () => {
  test('GuardDuty severity just under 7, an unrelated finding type, another detail-type', () => {
    const low = clone(fixture('guardduty-rds-login.json'));
    (low.detail as Event).severity = 6.9;
    expect(matchingRules(low)).toEqual([]);
    expect(matchingRules(low, customPatterns)).toEqual(['aws.guardduty']);
    const other = clone(fixture('guardduty-rds-login.json'));
    (other.detail as Event).type = 'Recon:EC2/PortProbeUnprotectedPort';
    expect(matchingRules(other)).toEqual([]);
    const wrongType = clone(fixture('guardduty-iam.json'));
    wrongType['detail-type'] = 'GuardDuty Runtime Protection Health';
    expect(matchingRules(wrongType)).toEqual([]);
  });

  test('Security Hub: archived, already resolved, other resource type', () => {
    const base = fixture('securityhub-rds-instance.json');
    const mutate = (f: (finding: Record<string, unknown>) => void): Event => {
      const e = clone(base);
      f(((e.detail as Event).findings as Record<string, unknown>[])[0]);
      return e;
    };
    expect(matchingRules(mutate((f) => (f.RecordState = 'ARCHIVED')))).toEqual([]);
    expect(matchingRules(mutate((f) => (f.Workflow = { Status: 'RESOLVED' })))).toEqual([]);
    expect(matchingRules(mutate((f) => (f.Resources = [{ Type: 'AwsS3Bucket', Id: 'arn:aws:s3:::b' }])))).toEqual([]);
  });

  test('Health: another event type; custom: another detail-type or a spoofed source', () => {
    const health = clone(fixture('health-credentials-exposed.json'));
    (health.detail as Event).eventTypeCode = 'AWS_EC2_INSTANCE_RETIREMENT_SCHEDULED';
    expect(matchingRules(health, customPatterns)).toEqual([]);
    const req = clone(fixture('rotation-requested.json'));
    req['detail-type'] = 'Rotation Completed';
    expect(matchingRules(req)).toEqual([]);
    const spoof = clone(fixture('rotation-requested.json'));
    spoof.source = 'rotor.evil';
    expect(matchingRules(spoof)).toEqual([]);
  });

  test('Secrets Manager rotation failures reach only the alarm rule', () => {
    const failed = { source: 'aws.secretsmanager', 'detail-type': 'AWS Service Event via CloudTrail', detail: { eventName: 'RotationFailed' } };
    expect(matchingRules(failed)).toEqual(['aws.secretsmanager']);
    // The test rotation Secrets Manager runs when a schedule is set up fails with its own event name.
    expect(matchingRules({ ...failed, detail: { eventName: 'TestRotationFailed' } })).toEqual(['aws.secretsmanager']);
    expect(matchingRules({ ...failed, detail: { eventName: 'RotationAbandoned' } })).toEqual(['aws.secretsmanager']);
    expect(matchingRules({ ...failed, detail: { eventName: 'RotationSucceeded' } })).toEqual([]);
    expect(matchingRules({ ...failed, detail: { eventName: 'TestRotationSucceeded' } })).toEqual([]);
  });
});
