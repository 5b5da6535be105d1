import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { DatabaseRotation, type DatabaseRotationProps } from '../../lib/database-rotation';
import { GroupRotationSchedule } from '../../lib/group-rotation-schedule';
import { RotationFunction } from '../../lib/rotation-function';
import { resolveRotationRules } from '../../lib/rotation-schedule-rules';
import { TriggerFunction } from '../../lib/trigger-function';
import { ACCOUNT, REGION, SECRET_ARN, fastApp } from './infra-fixtures';

describe('resolveRotationRules', () => {
  const ok = (o: Parameters<typeof resolveRotationRules>[0]) => resolveRotationRules(o, 'R');
  const err = (o: Parameters<typeof resolveRotationRules>[0]) => () => resolveRotationRules(o, 'R');

  test('defaults to 30 days; days and hours become rate expressions', () => {
    expect(ok({})).toEqual({ scheduleExpression: 'rate(30 days)', duration: undefined, intervalHours: 720 });
    expect(ok({ automaticallyAfter: Duration.hours(6), window: Duration.hours(2) })).toEqual({ scheduleExpression: 'rate(6 hours)', duration: '2h', intervalHours: 6 });
    expect(ok({ automaticallyAfter: Duration.days(7) }).scheduleExpression).toBe('rate(7 days)');
  });

  test('cron: daily, several times a day, weekly', () => {
    expect(ok({ scheduleExpression: 'cron(0 4 ? * SUN *)', window: Duration.hours(3) })).toMatchObject({ duration: '3h', intervalHours: 24 });
    expect(ok({ scheduleExpression: 'cron(0 0/6 * * ? *)' }).intervalHours).toBe(6);
    expect(ok({ scheduleExpression: 'cron(0 1,13 * * ? *)', window: Duration.hours(4) }).intervalHours).toBe(12);
  });

  test('a window as long as the interval is refused', () => {
    expect(err({ automaticallyAfter: Duration.hours(6), window: Duration.hours(6) })).toThrow(
      'R: window (6 hours) must be shorter than the time between rotations (6 hours), or two windows overlap.',
    );
    expect(err({ scheduleExpression: 'cron(0 0/8 * * ? *)', window: Duration.hours(10) })).toThrow(/window \(10 hours\) must be shorter than the time between rotations \(8 hours\)/);
  });

  test('a window over 24 hours or not in whole hours is refused', () => {
    expect(err({ window: Duration.hours(25) })).toThrow('R: window is 25 hours; it must be whole hours from 1 to 24.');
    expect(err({ window: Duration.minutes(90) })).toThrow(/window is 1.5 hours; it must be whole hours from 1 to 24/);
  });

  test('rotating more often than every 4 hours is refused', () => {
    expect(err({ automaticallyAfter: Duration.hours(3) })).toThrow('R: the schedule rotates every 3 hours; Secrets Manager needs at least 4 hours between rotations.');
    expect(err({ scheduleExpression: 'rate(2 hours)' })).toThrow(/every 2 hours; Secrets Manager needs at least 4 hours/);
    expect(err({ scheduleExpression: 'cron(0 0/2 * * ? *)' })).toThrow(/every 2 hours/);
    expect(err({ scheduleExpression: 'cron(0 22,23 * * ? *)' })).toThrow(/every 1 hours/);
  });

  test('cron minutes other than 0 are refused', () => {
    expect(err({ scheduleExpression: 'cron(30 4 ? * SUN *)' })).toThrow('R: cron(30 4 ? * SUN *): the minutes field is "30"; Secrets Manager requires 0 (rotation starts on the hour).');
  });

  test('both automaticallyAfter and scheduleExpression, bad expressions, bad units', () => {
    expect(err({ automaticallyAfter: Duration.days(1), scheduleExpression: 'rate(1 day)' })).toThrow('R: set either automaticallyAfter or scheduleExpression, not both.');
    expect(err({ scheduleExpression: 'every sunday' })).toThrow(/neither rate\(N hours\|days\) nor cron/);
    expect(err({ scheduleExpression: 'cron(0 4 * *)' })).toThrow(/has 4 fields; Secrets Manager expects 6/);
    expect(err({ automaticallyAfter: Duration.minutes(300) })).not.toThrow();
    expect(err({ automaticallyAfter: Duration.minutes(270) })).toThrow(/must be whole hours or days/);
  });
});

describe('construct validation', () => {
  // Constructs are created but never synthesized here, so no bundling happens.
  const setup = () => {
    const stack = new Stack(fastApp(), 'S', { env: { account: ACCOUNT, region: REGION } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
    const secret = secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', SECRET_ARN);
    return { stack, vpc, secret };
  };

  test('DatabaseRotation refuses a short window through the construct, naming the construct', () => {
    const { stack, vpc, secret } = setup();
    const fn = new RotationFunction(stack, 'Fn', { vpc });
    const props: DatabaseRotationProps = { secret, rotationFunction: fn, engine: 'postgres', automaticallyAfter: Duration.hours(8), window: Duration.hours(8) };
    expect(() => new DatabaseRotation(stack, 'Rot', props)).toThrow('S/Rot: window (8 hours) must be shorter than the time between rotations (8 hours), or two windows overlap.');
  });

  test('DatabaseRotation: strategy must match the function; alternating-users needs a master secret', () => {
    const { stack, secret } = setup();
    const single = new RotationFunction(stack, 'Single');
    expect(() => new DatabaseRotation(stack, 'A', { secret, rotationFunction: single, engine: 'postgres', strategy: 'rds-master' })).toThrow(
      "S/A: strategy is 'rds-master' but the rotation function uses 'single-user'; use one function per strategy.",
    );
    const alt = new RotationFunction(stack, 'Alt', { strategy: 'alternating-users' });
    expect(() => new DatabaseRotation(stack, 'B', { secret, rotationFunction: alt, engine: 'postgres', strategy: 'alternating-users' })).toThrow(/needs masterSecret/);
  });

  test('DatabaseRotation: a database needs the function in a VPC', () => {
    const { stack, vpc, secret } = setup();
    const fn = new RotationFunction(stack, 'Fn');
    const db = new ec2.Connections({ securityGroups: [new ec2.SecurityGroup(stack, 'Db', { vpc })] });
    expect(() => new DatabaseRotation(stack, 'R', { secret, rotationFunction: fn, engine: 'postgres', database: db })).toThrow(/database is given but the rotation function is not in a VPC/);
  });

  test('RotationFunction: password length, timeouts, endpoint without VPC', () => {
    const { stack } = setup();
    expect(() => new RotationFunction(stack, 'A', { passwordPolicy: { length: 4 } })).toThrow('S/A: passwordPolicy.length is 4; it must be an integer from 8 to 4096.');
    expect(() => new RotationFunction(stack, 'B', { timeout: Duration.seconds(5), connectTimeout: Duration.seconds(5) })).toThrow(/connectTimeout \(5000 ms\) must be shorter than the function timeout \(5000 ms\)/);
    expect(() => new RotationFunction(stack, 'C', { createSecretsManagerEndpoint: true })).toThrow(/need `vpc`/);
    expect(() => new RotationFunction(stack, 'D', { passwordPolicy: { excludeLowercase: true, excludeUppercase: true, excludeNumbers: true, excludePunctuation: true } })).toThrow(/excludes every character type/);
  });

  test('GroupRotationSchedule: cron shape, tag filters, time zone, window', () => {
    const { stack } = setup();
    const trigger = new TriggerFunction(stack, 'T', { deploymentId: 'd' });
    const base = { triggerFunction: trigger, tagFilters: [{ key: 'env', values: ['prod'] }], cron: 'cron(0 3 ? * SUN *)' };
    expect(() => new GroupRotationSchedule(stack, 'A', { ...base, cron: '0 3 * * SUN' })).toThrow(/S\/A: cron "0 3 \* \* SUN" must be cron\(minutes hours day-of-month month day-of-week year\)/);
    expect(() => new GroupRotationSchedule(stack, 'B', { ...base, tagFilters: [] })).toThrow('S/B: tagFilters is empty; a group schedule must select secrets by at least one tag.');
    expect(() => new GroupRotationSchedule(stack, 'C', { ...base, timeZone: 'Mars/Olympus' })).toThrow(/timeZone "Mars\/Olympus" is not an IANA time zone/);
    expect(() => new GroupRotationSchedule(stack, 'D', { ...base, flexibleWindow: Duration.hours(25) })).toThrow('S/D: flexibleWindow is 1500 minutes; it must be 0 (off) or 1-1440 minutes.');
  });

  test('TriggerFunction: deployment id must be a valid tag value', () => {
    const { stack } = setup();
    expect(() => new TriggerFunction(stack, 'T', { deploymentId: 'bad#id' })).toThrow(/deploymentId "bad#id" must be 1-256 characters valid in a tag value/);
  });
});

describe('values that cannot work are refused at synth, naming the config path', () => {
  const { FULL_CONFIG, INSTANCE_ARN } = require('./infra-fixtures') as typeof import('./infra-fixtures');
  const { parseRotorConfig, RotorConfigError } = require('../../lib/rotor-config') as typeof import('../../lib/rotor-config');
  const rds = FULL_CONFIG.rotations[2];
  const withRotations = (rotations: unknown[], extra: Record<string, unknown> = {}) => () => parseRotorConfig({ ...FULL_CONFIG, rotations, ...extra }, 'rotor.config.json');
  const expectError = (run: () => unknown, message: string | RegExp) => {
    expect(run).toThrow(RotorConfigError);
    expect(run).toThrow(message);
  };

  test('rds-master without an instance or cluster ARN', () => {
    const { dbInstanceArn: _drop, ...unbound } = rds;
    expectError(withRotations([FULL_CONFIG.rotations[0], FULL_CONFIG.rotations[1], unbound]), /^rotor\.config\.json: \$\.rotations\[2\]\.dbInstanceArn \(or dbClusterArn\) is required by strategy 'rds-master'/);
    expectError(withRotations([{ ...rds, dbClusterArn: INSTANCE_ARN.replace(':db:', ':cluster:') }]), /\$\.rotations\[0\]\.dbClusterArn is set together with dbInstanceArn/);
    expectError(withRotations([{ ...rds, engine: 'aurora-mysql' }]), /\$\.rotations\[0\]\.dbInstanceArn names an instance, but aurora-mysql keeps the master password on the cluster/);
  });

  test('password length beyond what RDS accepts for the engine (rds-master)', () => {
    const fnLen = (n: number) => ({ rotationFunction: { passwordLength: n } });
    expectError(withRotations([{ ...rds, engine: 'mysql' }], fnLen(42)), /\$\.rotationFunction\.passwordLength is 42, but RDS accepts a mysql instance master password of 8-41 characters.*\$\.rotations\[0\] "billing-master"/);
    expectError(withRotations([{ ...rds, engine: 'mariadb' }], fnLen(64)), /passwordLength is 64, but RDS accepts a mariadb instance master password of 8-41/);
    expect(withRotations([{ ...rds, engine: 'mysql' }], fnLen(41))).not.toThrow();
    expect(withRotations([rds], fnLen(128))).not.toThrow();
    expectError(withRotations([rds], fnLen(129)), /passwordLength is 129, but RDS accepts a postgres instance master password of 8-128/);
    const cluster = { ...rds, engine: 'aurora-postgresql', dbInstanceArn: undefined, dbClusterArn: INSTANCE_ARN.replace(':db:', ':cluster:') };
    expectError(withRotations([cluster], fnLen(64)), /passwordLength is 64, but RDS accepts a aurora-postgresql cluster master password of 8-41/);
    // The same length is fine for a single-user rotation.
    expect(withRotations([FULL_CONFIG.rotations[1]], fnLen(64))).not.toThrow();
    expectError(withRotations([], fnLen(5000)), /\$\.rotationFunction\.passwordLength is 5000; it must be an integer from 8 to 4096/);
  });

  test('excludeCharacters that RDS needs excluded, or that empty a required character class', () => {
    expectError(withRotations([rds], { rotationFunction: { excludeCharacters: '/"' } }), /\$\.rotationFunction\.excludeCharacters must contain "@": RDS refuses them in a master password/);
    expect(withRotations([rds], { rotationFunction: { excludeCharacters: '/"@' } })).not.toThrow();
    expect(withRotations([rds], { rotationFunction: { excludeCharacters: '', excludePunctuation: true } })).not.toThrow();
    const digits = '0123456789';
    expectError(withRotations([], { rotationFunction: { excludeCharacters: digits } }), /\$\.rotationFunction\.excludeCharacters excludes every numbers character while numbers is included and requireEachIncludedType is on/);
    expect(withRotations([], { rotationFunction: { excludeCharacters: digits, excludeNumbers: true } })).not.toThrow();
    expect(withRotations([], { rotationFunction: { excludeCharacters: digits, requireEachIncludedType: false } })).not.toThrow();
    expectError(
      withRotations([], { rotationFunction: { excludeCharacters: 'abcdefghijklmnopqrstuvwxyz', excludeUppercase: true, excludeNumbers: true, excludePunctuation: true } }),
      /\$\.rotationFunction\.excludeCharacters excludes every character of the included types/,
    );
    expectError(withRotations([], { rotationFunction: { excludeLowercase: true, excludeUppercase: true, excludeNumbers: true, excludePunctuation: true } }), /\$\.rotationFunction\.excludeLowercase is true.*excludes every character type/);
  });

  test('an ARN of another Region or account than the deployment', () => {
    const other = `arn:aws:secretsmanager:us-west-2:111122223333:secret:x-AbCdEf`;
    expectError(withRotations([{ ...FULL_CONFIG.rotations[1], secretArn: other }]), /\$\.rotations\[0\]\.secretArn is in us-west-2, but the deployment is in \$\.region eu-central-1/);
    expectError(withRotations([{ ...rds, dbInstanceArn: INSTANCE_ARN.replace('111122223333', '999988887777') }]), /\$\.rotations\[0\]\.dbInstanceArn is in account 999988887777, but the deployment is in \$\.account 111122223333/);
  });

  test('timeouts longer than the function', () => {
    expectError(withRotations([], { rotationFunction: { timeoutSeconds: 5, connectTimeoutMs: 5000 } }), /\$\.rotationFunction\.connectTimeoutMs \(5000\) must be shorter than timeoutSeconds \(5 s\)/);
  });

  test('security alerts: Health and GuardDuty-IAM need the tags they rotate; senders and limits are checked', () => {
    const alerts = (a: Record<string, unknown>) => withRotations([], { securityAlerts: a });
    expectError(alerts({ awsHealth: true }), /\$\.securityAlerts\.awsHealth is true but \$\.securityAlerts\.healthTags is not set/);
    expectError(alerts({ guardDutyIamFindingPrefixes: ['UnauthorizedAccess:IAMUser/'] }), /\$\.securityAlerts\.guardDutyIamFindingPrefixes needs \$\.securityAlerts\.iamFindingTags/);
    expectError(alerts({ healthTags: [] }), /\$\.securityAlerts\.healthTags is empty/);
    expectError(alerts({ iamFindingTags: [{ key: 'env', values: [] }] }), /\$\.securityAlerts\.iamFindingTags\[0\]\.values is empty/);
    expectError(alerts({ requestSenders: ['arn:aws:iam::111122223333:group/ops'] }), /\$\.securityAlerts\.requestSenders\[0\] is ".*"; expected an account id \(12 digits\) or an IAM role, user or root ARN/);
    expectError(alerts({ cooldownMinutes: -1 }), /\$\.securityAlerts\.cooldownMinutes is -1; it must be an integer from 0 to 10080/);
    expectError(alerts({ maxSecretsPerEvent: 0 }), /\$\.securityAlerts\.maxSecretsPerEvent is 0; it must be an integer from 1 to 10000/);
    const ok = parseRotorConfig({ ...FULL_CONFIG, securityAlerts: { healthTags: [{ key: 'env', values: ['prod'] }] } }).securityAlerts!;
    expect(ok.awsHealth).toBe(true);
  });
});

describe('constructs refuse the same values', () => {
  const setupStack = () => {
    const stack = new Stack(fastApp(), 'S', { env: { account: ACCOUNT, region: REGION } });
    return { stack, secret: secretsmanager.Secret.fromSecretCompleteArn(stack, 'Secret', SECRET_ARN) };
  };

  test('rds-master DatabaseRotation needs an instance or cluster; grantRdsMaster has no account-wide default', () => {
    const { stack, secret } = setupStack();
    const fn = new RotationFunction(stack, 'Rds', { strategy: 'rds-master' });
    expect(() => new DatabaseRotation(stack, 'R', { secret, rotationFunction: fn, engine: 'postgres', strategy: 'rds-master' })).toThrow(
      "S/R: strategy 'rds-master' needs dbInstanceArn or dbClusterArn: the function may change the master password of exactly the databases it is deployed for.",
    );
    expect(() => fn.grantRdsMaster({})).toThrow(/grantRdsMaster\(\) needs dbInstanceArn or dbClusterArn/);
  });

  test('rds-master DatabaseRotation refuses a password policy RDS would reject', () => {
    const { stack, secret } = setupStack();
    const fn = new RotationFunction(stack, 'Rds', { strategy: 'rds-master', passwordPolicy: { length: 64 } });
    expect(() => new DatabaseRotation(stack, 'R', { secret, rotationFunction: fn, engine: 'mysql', strategy: 'rds-master', dbInstanceArn: `arn:aws:rds:${REGION}:${ACCOUNT}:db:x` })).toThrow(
      /S\/R: the rotation function's passwordPolicy\.length is 64, but RDS accepts a mysql instance master password of 8-41 characters/,
    );
  });

  test('RotationFunction: excludeCharacters emptying an included class; statement timeout beyond the function', () => {
    const { stack } = setupStack();
    expect(() => new RotationFunction(stack, 'A', { passwordPolicy: { excludeCharacters: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' } })).toThrow(/S\/A: passwordPolicy\.excludeCharacters excludes every uppercase character/);
    expect(() => new RotationFunction(stack, 'B', { timeout: Duration.seconds(10), statementTimeout: Duration.seconds(10) })).toThrow(/statementTimeout \(10000 ms\) must be shorter than the function timeout/);
  });

  test('TriggerFunction: cooldown and per-event limit ranges', () => {
    const { stack } = setupStack();
    expect(() => new TriggerFunction(stack, 'T1', { deploymentId: 'd', cooldownMinutes: 1.5 })).toThrow(/cooldownMinutes is 1.5/);
    expect(() => new TriggerFunction(stack, 'T2', { deploymentId: 'd', maxSecretsPerEvent: 0 })).toThrow(/maxSecretsPerEvent is 0/);
  });
});

describe('names derived from the deployment id', () => {
  const { requestBusName, healthForwarderName } = require('../../lib/security-alert-rotation') as typeof import('../../lib/security-alert-rotation');
  test('bus, rule and role names are valid for any valid deployment id', () => {
    expect(requestBusName('team/a:b=c+d@e')).toBe('rotor-team-a-b-c-d-e-requests');
    const long = 'x'.repeat(128);
    expect(requestBusName(long)).toMatch(/^[A-Za-z0-9._-]{1,256}$/);
    const fwd = healthForwarderName(long);
    expect(fwd.length).toBeLessThanOrEqual(64);
    expect(fwd).toMatch(/^[A-Za-z0-9._-]+-health-fwd$/);
    expect(healthForwarderName('rotor-prod')).toBe('rotor-rotor-prod-health-fwd');
  });
});
