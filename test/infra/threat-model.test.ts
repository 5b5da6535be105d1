/**
 * The CDK rows of docs/threat-model.md: what the deployed IAM, permissions,
 * rules and buses let each actor do, read from the synthesized template and,
 * where it is about who may do what, evaluated with the IAM policy evaluator
 * (test/infra/policy-wiring.ts).
 */
import { Template } from 'aws-cdk-lib/assertions';
import { CREDENTIAL_FINDING_TYPE_PREFIXES } from '../../lambda/trigger/events/security-hub';
import { SECURITY_HUB_CREDENTIAL_TYPE_PREFIXES } from '../../lib/security-alert-rotation';
import { ACCOUNT, FULL_CONFIG, INSTANCE_ARN, REGION, RDS_MASTER_SECRET_ARN, fullStack } from './infra-fixtures';
import { WiredTemplate } from './policy-wiring';

type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Condition?: unknown };
const list = <T>(x: T | T[]): T[] => (Array.isArray(x) ? x : [x]);
const CLUSTER_ARN = `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:ledger`;
const SECOND_RDS = {
  name: 'ledger-master',
  secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:ledger-master-QwErTy`,
  engine: 'aurora-postgresql',
  strategy: 'rds-master',
  dbClusterArn: CLUSTER_ARN,
  schedule: { days: 30 },
};
const CONFIG = { ...FULL_CONFIG, rotations: [...FULL_CONFIG.rotations, SECOND_RDS] };

let template: Template;
let wired: WiredTemplate;
beforeAll(() => {
  template = Template.fromStack(fullStack(CONFIG));
  wired = new WiredTemplate(template.toJSON(), { account: ACCOUNT, region: REGION });
});

const functionWith = (vars: Record<string, string>) => {
  const id = wired.ofType('AWS::Lambda::Function').find((f) => Object.entries(vars).every(([k, v]) => (wired.props(f).Environment as { Variables: Record<string, string> }).Variables[k] === v))!;
  return { id, arn: wired.getAtt(id, 'Arn') as string, role: wired.roleArn(wired.functionRole(id)) };
};
const statementsOfRole = (roleArn: string): Statement[] => {
  const roleId = wired.ofType('AWS::IAM::Role').find((r) => wired.roleArn(r) === roleArn)!;
  return wired.identityPolicies(roleId).flatMap((p) => list(p.policy.Statement) as Statement[]);
};

describe('Secret writer: rds-master acts only on the instances/clusters it was deployed for', () => {
  test('ROTOR_RDS_RESOURCE_ARNS lists exactly the configured instance and cluster; the IAM rds actions name exactly those', () => {
    const fn = functionWith({ ROTOR_STRATEGY: 'rds-master' });
    const env = (wired.props(fn.id).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(wired.resolveString(env.ROTOR_RDS_RESOURCE_ARNS).split(',').sort()).toEqual([CLUSTER_ARN, INSTANCE_ARN].sort());
    const rds = statementsOfRole(fn.role).filter((s) => list(s.Action).some((a) => a.startsWith('rds:')));
    expect(rds).toEqual(
      expect.arrayContaining([
        { Effect: 'Allow', Action: ['rds:DescribeDBInstances', 'rds:ModifyDBInstance'], Resource: INSTANCE_ARN },
        { Effect: 'Allow', Action: ['rds:DescribeDBClusters', 'rds:ModifyDBCluster'], Resource: CLUSTER_ARN },
      ]),
    );
    expect(rds).toHaveLength(2);
    // No rds action anywhere else, and no wildcard database.
    const all = wired.ofType('AWS::IAM::Policy').flatMap((p) => list((wired.resolve(wired.props(p).PolicyDocument) as { Statement: Statement[] }).Statement));
    for (const s of all.filter((x) => list(x.Action).some((a) => a.startsWith('rds:')))) {
      for (const r of list(s.Resource)) expect(String(r)).not.toMatch(/\*/);
    }
  });

  test('the evaluator: Modify on the deployed instance/cluster Allowed, on any other Denied; other functions cannot', async () => {
    const fn = functionWith({ ROTOR_STRATEGY: 'rds-master' });
    expect(await wired.evaluate({ principal: fn.role, action: 'rds:ModifyDBInstance', resource: INSTANCE_ARN })).toBe('Allowed');
    expect(await wired.evaluate({ principal: fn.role, action: 'rds:ModifyDBCluster', resource: CLUSTER_ARN })).toBe('Allowed');
    expect(await wired.evaluate({ principal: fn.role, action: 'rds:ModifyDBInstance', resource: `arn:aws:rds:${REGION}:${ACCOUNT}:db:billing-2` })).not.toBe('Allowed');
    expect(await wired.evaluate({ principal: fn.role, action: 'rds:ModifyDBCluster', resource: `arn:aws:rds:${REGION}:${ACCOUNT}:cluster:other` })).not.toBe('Allowed');
    const single = functionWith({ ROTOR_STRATEGY: 'single-user' });
    expect(await wired.evaluate({ principal: single.role, action: 'rds:ModifyDBInstance', resource: INSTANCE_ARN })).not.toBe('Allowed');
  });
});

describe('Event sender', () => {
  test('the Security Hub rule matches exactly the credential finding types the trigger acts on', () => {
    expect(SECURITY_HUB_CREDENTIAL_TYPE_PREFIXES).toEqual([...CREDENTIAL_FINDING_TYPE_PREFIXES]);
    const rule = Object.values(template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { source: ['aws.securityhub'] } } }))[0];
    expect(rule.Properties.EventPattern.detail.findings.Types).toEqual(CREDENTIAL_FINDING_TYPE_PREFIXES.map((prefix) => ({ prefix })));
  });

  test('"Rotation Requested" is read from the request bus only; no rule on the default bus takes source rotor', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')).map((r) => r.Properties);
    const rotor = rules.filter((r) => list(r.EventPattern.source).includes('rotor'));
    expect(rotor).toHaveLength(1);
    const bus = wired.ofType('AWS::Events::EventBus');
    expect(rotor[0].EventBusName).toEqual({ Ref: bus[0] });
    for (const r of rules.filter((x) => x.EventBusName === undefined)) expect(list(r.EventPattern.source)).not.toContain('rotor');
    // The trigger knows its bus.
    const trigger = functionWith({ POWERTOOLS_SERVICE_NAME: 'rotor-trigger' });
    expect((wired.props(trigger.id).Environment as { Variables: Record<string, string> }).Variables.ROTOR_REQUEST_BUS_NAME).toBe(wired.ref(bus[0]));
  });

  test('the request bus refuses a sender of another account and a principal of this account without a grant', async () => {
    const bus = wired.getAtt(wired.ofType('AWS::Events::EventBus')[0], 'Arn') as string;
    const grant = { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus }] };
    expect(await wired.evaluate({ principal: `arn:aws:iam::${ACCOUNT}:role/ops`, action: 'events:PutEvents', resource: bus }, { identity: [grant] })).toBe('Allowed');
    expect(await wired.evaluate({ principal: `arn:aws:iam::${ACCOUNT}:role/app`, action: 'events:PutEvents', resource: bus })).not.toBe('Allowed');
    expect(await wired.evaluate({ principal: 'arn:aws:iam::999988887777:role/x', action: 'events:PutEvents', resource: bus }, { identity: [grant] })).not.toBe('Allowed');
  });
});

describe('Holders of the functions\' roles', () => {
  test('the rotation role tags only rotor:rotated-target, on its own secrets', async () => {
    const fn = functionWith({ ROTOR_STRATEGY: 'rds-master' });
    const tag = (keys: string[], resource = RDS_MASTER_SECRET_ARN) => wired.evaluate({ principal: fn.role, action: 'secretsmanager:TagResource', resource, context: { 'aws:TagKeys': keys } });
    expect(await tag(['rotor:rotated-target'])).toBe('Allowed');
    expect(await tag(['rotor:managed-by'])).not.toBe('Allowed');
    expect(await tag(['rotor:rotated-target', 'rotor:managed-by'])).not.toBe('Allowed');
    expect(await tag(['rotor:rotated-target'], `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`)).not.toBe('Allowed');
    expect(await wired.evaluate({ principal: fn.role, action: 'secretsmanager:UntagResource', resource: RDS_MASTER_SECRET_ARN, context: { 'aws:TagKeys': ['rotor:rotated-target'] } })).not.toBe('Allowed');
  });

  test('each role writes only its own log group', async () => {
    for (const fnId of wired.ofType('AWS::Lambda::Function')) {
      const role = wired.roleArn(wired.functionRole(fnId));
      const own = wired.resolveString((wired.props(fnId).LoggingConfig as Record<string, unknown>).LogGroup);
      for (const other of wired.ofType('AWS::Logs::LogGroup').map((g) => wired.ref(g)).filter((g) => g !== own)) {
        expect(await wired.evaluate({ principal: role, action: 'logs:PutLogEvents', resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${other}:log-stream:s` })).not.toBe('Allowed');
      }
      expect(await wired.evaluate({ principal: role, action: 'logs:PutLogEvents', resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${own}:log-stream:s` })).toBe('Allowed');
      expect(await wired.evaluate({ principal: role, action: 'logs:CreateLogGroup', resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:x` })).not.toBe('Allowed');
    }
  });

  test('the trigger role: RotateSecret, Describe and read on managed secrets, start the rotation functions; never write a secret', async () => {
    const trigger = functionWith({ POWERTOOLS_SERVICE_NAME: 'rotor-trigger' });
    const tagged = { 'aws:ResourceTag/rotor:managed-by': 'rotor-prod' };
    const secret = RDS_MASTER_SECRET_ARN;
    expect(await wired.evaluate({ principal: trigger.role, action: 'secretsmanager:RotateSecret', resource: secret, context: tagged })).toBe('Allowed');
    // Read: the resolver matches GuardDuty RDS findings against the secrets' host/dbname (BatchGetSecretValue).
    expect(await wired.evaluate({ principal: trigger.role, action: 'secretsmanager:GetSecretValue', resource: secret, context: tagged })).toBe('Allowed');
    for (const action of ['secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage', 'secretsmanager:TagResource', 'secretsmanager:UntagResource', 'secretsmanager:UpdateSecret', 'secretsmanager:DeleteSecret', 'secretsmanager:CancelRotateSecret']) {
      expect(await wired.evaluate({ principal: trigger.role, action, resource: secret, context: tagged })).not.toBe('Allowed');
    }
    const rotationFns = wired.ofType('AWS::Lambda::Function').filter((f) => (wired.props(f).Environment as { Variables: Record<string, string> }).Variables.ROTOR_STRATEGY);
    for (const f of rotationFns) expect(await wired.evaluate({ principal: trigger.role, action: 'lambda:InvokeFunction', resource: wired.getAtt(f, 'Arn') as string })).toBe('Allowed');
    expect(await wired.evaluate({ principal: trigger.role, action: 'lambda:InvokeFunction', resource: trigger.arn })).not.toBe('Allowed');
    expect(await wired.evaluate({ principal: trigger.role, action: 'lambda:InvokeFunction', resource: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:other` })).not.toBe('Allowed');
    const actions = new Set(statementsOfRole(trigger.role).flatMap((s) => list(s.Action)));
    expect([...actions].sort()).toEqual([
      'kms:Decrypt', 'lambda:InvokeFunction', 'logs:CreateLogStream', 'logs:PutLogEvents',
      'secretsmanager:BatchGetSecretValue', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:ListSecrets', 'secretsmanager:RotateSecret',
    ]);
  });

  test('Secrets Manager may invoke a rotation function only for the secrets it rotates, of this account', async () => {
    for (const id of wired.ofType('AWS::SecretsManager::RotationSchedule')) {
      const p = wired.resolve(wired.props(id)) as { SecretId: string; RotationLambdaARN: string };
      const invoke = (sourceArn: string, sourceAccount = ACCOUNT) =>
        wired.evaluate({ principal: 'secretsmanager.amazonaws.com', action: 'lambda:InvokeFunction', resource: p.RotationLambdaARN, context: { 'aws:SourceArn': sourceArn, 'aws:SourceAccount': sourceAccount } });
      expect(await invoke(p.SecretId)).toBe('Allowed');
      expect(await invoke(`arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:unrelated-AbCdEf`)).not.toBe('Allowed');
      expect(await invoke(p.SecretId.replace(ACCOUNT, '999988887777'), '999988887777')).not.toBe('Allowed');
    }
  });
});

describe('values that cannot deploy', () => {
  test('more secrets on one function than its 20 KB resource policy holds are refused at synth', () => {
    const many = Array.from({ length: 60 }, (_, i) => ({
      name: `app-${i}`,
      secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:application-${String(i).padStart(3, '0')}-AbCdEf`,
      engine: 'postgres',
      schedule: { days: 30 },
    }));
    expect(() => Template.fromStack(fullStack({ ...FULL_CONFIG, rotations: many }))).toThrow(/60 secrets on one rotation function need about \d+ bytes of Lambda resource policy .* Lambda allows 20480/);
    expect(() => Template.fromStack(fullStack({ ...FULL_CONFIG, rotations: many.slice(0, 30) }))).not.toThrow();
  });
});
