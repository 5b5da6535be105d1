import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnDBInstance } from 'aws-cdk-lib/aws-rds';
import { parseRotorConfig, RotorConfigError } from '../../lib/rotor-config';
import { loadRotorConfig } from '../../lib/rotor-config-file';
import { RotorStack } from '../../lib/rotor-stack';
import { FULL_CONFIG, nagViolations } from './infra-fixtures';

const ROOT = path.resolve(__dirname, '../..');

describe('rotor.config.json validation names the bad field', () => {
  const bad = (patch: Record<string, unknown>) => () => parseRotorConfig({ ...FULL_CONFIG, ...patch }, 'rotor.config.json');
  const badRotation = (patch: Record<string, unknown>) => bad({ rotations: [{ ...FULL_CONFIG.rotations[1], ...patch }] });

  test.each<[string, () => unknown, RegExp]>([
    ['missing deploymentId', bad({ deploymentId: undefined }), /^rotor\.config\.json: \$\.deploymentId must be a string .*not missing\.$/],
    ['unknown field', bad({ rotatons: [] }), /\$\.rotatons is not a known field \(known: deploymentId,/],
    ['partial secret ARN', badRotation({ secretArn: 'arn:aws:secretsmanager:eu-central-1:111122223333:secret:orders' }), /\$\.rotations\[0\]\.secretArn is ".*"; expected the complete secret ARN, ending in the 6-character suffix/],
    ['unknown engine', badRotation({ engine: 'oracle' }), /\$\.rotations\[0\]\.engine is "oracle"; it must be one of postgres, aurora-postgresql, mysql, mariadb, aurora-mysql\./],
    ['two schedule kinds', badRotation({ schedule: { days: 7, expression: 'rate(7 days)' } }), /\$\.rotations\[0\]\.schedule needs exactly one of days, hours, expression \(has days, expression\)\./],
    ['hours under 4', badRotation({ schedule: { hours: 2 } }), /\$\.rotations\[0\]\.schedule\.hours is 2; it must be an integer from 4 to 23\./],
    ['window over 24', badRotation({ schedule: { days: 7, windowHours: 30 } }), /\$\.rotations\[0\]\.schedule\.windowHours is 30; it must be an integer from 1 to 24\./],
    ['alternating without master', badRotation({ strategy: 'alternating-users' }), /\$\.rotations\[0\]\.masterSecretArn is required by strategy 'alternating-users'\./],
    ['bad group cron', bad({ groupSchedules: [{ ...FULL_CONFIG.groupSchedules[0], cron: 'cron(0 3 * *)' }] }), /\$\.groupSchedules\[0\]\.cron is "cron\(0 3 \* \*\)"; expected cron\(minutes hours/],
    ['bad e-mail', bad({ monitoring: { alarmEmail: 'ops' } }), /\$\.monitoring\.alarmEmail is "ops"; expected an e-mail address\./],
    ['zones vs subnets', bad({ network: { ...FULL_CONFIG.network, availabilityZones: ['eu-central-1a'] } }), /\$\.network\.availabilityZones has 1 entries but subnetIds has 2/],
  ])('%s', (_name, run, message) => {
    expect(run).toThrow(RotorConfigError);
    expect(run).toThrow(message);
  });

  test('a cron minute other than 0 fails at synth with the construct path', () => {
    const config = parseRotorConfig({ ...FULL_CONFIG, rotations: [{ ...FULL_CONFIG.rotations[1], schedule: { expression: 'cron(15 4 * * ? *)' } }] });
    expect(() => new RotorStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Rotor', { config })).toThrow(
      'Rotor/Rotation-orders-ro: cron(15 4 * * ? *): the minutes field is "15"; Secrets Manager requires 0 (rotation starts on the hour).',
    );
  });

  test('the file loader reports bad JSON and falls back to the example', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'rotor-config-'));
    expect(() => loadRotorConfig(dir)).toThrow(/not found: create rotor\.config\.json/);
    writeFileSync(path.join(dir, 'rotor.config.example.json'), readFileSync(path.join(ROOT, 'rotor.config.example.json')));
    expect(path.basename(loadRotorConfig(dir).file)).toBe('rotor.config.example.json');
    writeFileSync(path.join(dir, 'rotor.config.json'), '{ "deploymentId": ');
    expect(() => loadRotorConfig(dir)).toThrow(/^rotor\.config\.json: \$ is not valid JSON/);
  });
});

describe('the example deployment (rotor.config.example.json), bundled for real', () => {
  let stack: RotorStack;
  let template: Template;
  let outdir: string;
  beforeAll(() => {
    const { config } = loadRotorConfig(ROOT, 'rotor.config.example.json');
    outdir = mkdtempSync(path.join(tmpdir(), 'rotor-app-out-'));
    stack = new RotorStack(new App({ outdir, context: { 'aws:cdk:enable-path-metadata': true } }), 'Rotor', { config, env: { account: '111122223333', region: 'eu-central-1' } });
    template = Template.fromStack(stack);
  });

  test('VPC without NAT, PostgreSQL with a generated secret, endpoint, weekly rotation in a window', () => {
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    template.hasResourceProperties('AWS::RDS::DBInstance', { Engine: 'postgres', StorageEncrypted: true, PubliclyAccessible: false });
    template.hasResourceProperties('AWS::EC2::VPCEndpoint', { VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { RotationRules: { ScheduleExpression: 'cron(0 4 ? * SUN *)', Duration: '3h' } });
    const port = { 'Fn::GetAtt': [stack.getLogicalId(stack.example!.instance.node.defaultChild as CfnDBInstance), 'Endpoint.Port'] };
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { FromPort: port, ToPort: port, IpProtocol: 'tcp' });
    const secret = Object.values(template.findResources('AWS::SecretsManager::Secret'))[0];
    expect(secret.Properties.Tags).toEqual(expect.arrayContaining([{ Key: 'rotor:managed-by', Value: 'rotor-example' }, { Key: 'env', Value: 'demo' }]));
  });

  test('the functions are real bundles', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function'));
    expect(fns).toHaveLength(2);
    for (const f of fns) expect(f.Properties.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
  });

  test('the deployed rotation function is the tested build (npm run build): index.js and its side files, byte for byte', () => {
    const rotation = Object.values(template.findResources('AWS::Lambda::Function')).find((f) => String(f.Properties.Description).includes('rotates database credentials'))!;
    const asset = path.join(outdir, `asset.${String(rotation.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    const built = path.join(ROOT, 'dist/rotation');
    const js = (dir: string) => readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
    expect(js(asset)).toEqual(['client-rds.js', 'index.js', 'mysql2.js', 'pg.js']);
    expect(js(asset)).toEqual(js(built));
    // A file listed here differs: run `npm run build` (npm test does) so dist/ holds the sources' build.
    expect(js(asset).filter((f) => !readFileSync(path.join(asset, f)).equals(readFileSync(path.join(built, f))))).toEqual([]);
    expect(rotation.Properties.Handler).toBe('index.handler');
  });

  test('no deployed bundle keeps an import(): the first one a process runs starts the ES-module loader (about 60 ms of cold start on Node 24)', () => {
    const files = Object.values(template.findResources('AWS::Lambda::Function')).flatMap((f) => {
      const asset = path.join(outdir, `asset.${String(f.Properties.Code.S3Key).replace(/\.zip$/, '')}`);
      return readdirSync(asset).filter((n) => n.endsWith('.js')).map((n) => path.join(asset, n));
    });
    expect(files.length).toBeGreaterThanOrEqual(5); // the trigger's index.js, the rotation's four
    expect(files.filter((f) => /\bimport\(/.test(readFileSync(f, 'utf8')))).toEqual([]);
  });

  test('cdk-nag: no unacknowledged violations, and every acknowledgement has a reason', () => {
    expect(nagViolations(stack)).toEqual([]);
    const acks = stack.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:acknowledged-rules').map((m) => m.data as Record<string, string>));
    expect(acks.length).toBeGreaterThan(5);
    for (const a of acks) for (const reason of Object.values(a)) expect(String(reason).length).toBeGreaterThan(40);
  });
});

test('bin/app.ts prints a config error naming the field and exits 1', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'rotor-app-'));
  const file = path.join(dir, 'bad.json');
  writeFileSync(file, JSON.stringify({ deploymentId: 'x', rotations: [{ name: 'a' }] }));
  let out = '';
  try {
    execFileSync(process.execPath, [require.resolve('tsx/cli'), path.join(ROOT, 'bin/app.ts')], {
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ rotorConfig: file }), CDK_OUTDIR: dir },
      encoding: 'utf8',
      stdio: 'pipe',
    });
  } catch (e) {
    const err = e as { status: number; stderr: string };
    expect(err.status).toBe(1);
    out = err.stderr;
  }
  expect(out.trim()).toBe('bad.json: $.rotations[0].secretArn must be a string (the complete secret ARN, ending in the 6-character suffix (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf)), not missing.');
});
