import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ACCOUNT, FULL_CONFIG, INSTANCE_ARN, KEY_ARN, MASTER_ARN, RDS_MASTER_SECRET_ARN, REGION, SECRET_ARN, fullStack, nagViolations } from './infra-fixtures';
import type { RotorStack } from '../../lib/rotor-stack';

type Statement = { Action: string | string[]; Resource: unknown; Condition?: unknown; Effect: string };

let stack: RotorStack;
let template: Template;

beforeAll(() => {
  stack = fullStack();
  template = Template.fromStack(stack);
});

function statementsOf(roleConstructPath: string): Statement[] {
  const policies = template.findResources('AWS::IAM::Policy');
  const out: Statement[] = [];
  for (const p of Object.values(policies)) {
    const path = (p.Metadata?.['aws:cdk:path'] as string | undefined) ?? '';
    if (path.startsWith(`Rotor/${roleConstructPath}/`)) out.push(...(p.Properties.PolicyDocument.Statement as Statement[]));
  }
  return out;
}

const actions = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const resources = (s: Statement): unknown[] => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]);
const logicalIdOf = (path: string): string => {
  const found = Object.entries(template.toJSON().Resources as Record<string, { Metadata?: Record<string, string> }>).find(([, r]) => r.Metadata?.['aws:cdk:path'] === path);
  if (!found) throw new Error(`no resource at ${path}`);
  return found[0];
};

describe('rotation functions', () => {
  test('one function per strategy in use, Node 24 on arm64, 30 s and 256 MB', () => {
    const fns = template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { ROTOR_STRATEGY: Match.anyValue() } } } });
    const strategies = Object.values(fns).map((f) => f.Properties.Environment.Variables.ROTOR_STRATEGY).sort();
    expect(strategies).toEqual(['alternating-users', 'rds-master', 'single-user']);
    for (const f of Object.values(fns)) {
      expect(f.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Timeout: 30, MemorySize: 256, Handler: 'index.handler' });
      expect(f.Properties.Environment.Variables).toMatchObject({
        ROTOR_TLS_MODE: 'verify-full',
        ROTOR_PASSWORD_LENGTH: '32',
        ROTOR_CONNECT_TIMEOUT_MS: '5000',
        ROTOR_STATEMENT_TIMEOUT_MS: '10000',
        POWERTOOLS_SERVICE_NAME: 'rotor-rotation',
        POWERTOOLS_METRICS_NAMESPACE: 'Rotor',
      });
      expect(f.Properties.VpcConfig.SubnetIds).toEqual(['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb']);
    }
  });

  test('single-user function: rotate actions and the rotated-target tag on its secret only, no GetRandomPassword, no KMS, no RDS', () => {
    const st = statementsOf('RotationFunction');
    const secretsStmts = st.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    const secret = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`;
    expect(secretsStmts).toEqual([
      {
        Effect: 'Allow',
        Action: 'secretsmanager:TagResource',
        Resource: secret,
        Condition: { 'ForAllValues:StringEquals': { 'aws:TagKeys': ['rotor:rotated-target'] }, Null: { 'aws:TagKeys': 'false' } },
      },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: secret,
      },
    ]);
    expect(st.flatMap(actions).filter((a) => a.startsWith('kms:') || a.startsWith('rds:'))).toEqual([]);
  });

  test('logs only to its own log group; no managed policy; ENI actions inline, creation limited to its subnets and security groups', () => {
    for (const name of ['RotationFunction', 'RotationFunction-alternating-users', 'RotationFunction-rds-master']) {
      const st = statementsOf(name);
      const logGroup = logicalIdOf(`Rotor/${name}/LogGroup/Resource`);
      expect(st.filter((s) => actions(s).some((a) => a.startsWith('logs:')))).toEqual([
        { Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: { 'Fn::GetAtt': [logGroup, 'Arn'] } },
      ]);
      const create = st.find((s) => actions(s).includes('ec2:CreateNetworkInterface'))!;
      const sg = logicalIdOf(`Rotor/${name}/SecurityGroup/Resource`);
      expect(create.Resource).toEqual([
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':network-interface/*']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':subnet/subnet-0aaaaaaaaaaaaaaaa']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':subnet/subnet-0bbbbbbbbbbbbbbbb']] },
        { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':security-group/', { 'Fn::GetAtt': [sg, 'GroupId'] }]] },
      ]);
      expect(st.find((s) => actions(s).includes('ec2:DescribeNetworkInterfaces'))).toEqual({
        Effect: 'Allow', Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], Resource: '*',
      });
    }
    const roles = Object.values(template.findResources('AWS::IAM::Role'));
    for (const r of roles) expect(r.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('each function is created after its inline policy (Lambda checks the ENI permissions at CreateFunction)', () => {
    for (const [id, f] of Object.entries(template.findResources('AWS::Lambda::Function'))) {
      const role = f.Properties.Role['Fn::GetAtt'][0] as string;
      const policy = Object.entries(template.findResources('AWS::IAM::Policy')).find(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === role))![0];
      expect({ id, deps: f.DependsOn }).toEqual({ id, deps: expect.arrayContaining([policy, role]) });
    }
  });

  test('environment: TLS floor, target-change guard off, rds-master bound to its instance, alternating users told their master secret', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { ROTOR_STRATEGY: Match.anyValue() } } } }));
    for (const f of fns) expect(f.Properties.Environment.Variables).toMatchObject({ ROTOR_TLS_MODE: 'verify-full', ROTOR_ALLOW_TARGET_CHANGE: 'false' });
    const byStrategy = (s: string) => fns.find((f) => f.Properties.Environment.Variables.ROTOR_STRATEGY === s)!.Properties.Environment.Variables;
    expect(byStrategy('rds-master').ROTOR_RDS_RESOURCE_ARNS).toBe(INSTANCE_ARN);
    expect(byStrategy('single-user').ROTOR_RDS_RESOURCE_ARNS).toBeUndefined();
    expect(byStrategy('alternating-users').ROTOR_MASTER_SECRET_ARNS).toBe(MASTER_ARN);
    expect(byStrategy('single-user').ROTOR_MASTER_SECRET_ARNS).toBeUndefined();
    const allowing = fullStack({ ...FULL_CONFIG, rotationFunction: { allowTargetChange: true } });
    const vars = Object.values(Template.fromStack(allowing).findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { ROTOR_STRATEGY: 'single-user' } } } }))[0].Properties.Environment.Variables;
    expect(vars.ROTOR_ALLOW_TARGET_CHANGE).toBe('true');
  });

  test('alternating-users function: master secret read-only, KMS only through Secrets Manager', () => {
    const st = statementsOf('RotationFunction-alternating-users');
    expect(st).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
      Resource: SECRET_ARN,
    });
    expect(st).toContainEqual({ Effect: 'Allow', Action: 'secretsmanager:GetSecretValue', Resource: MASTER_ARN });
    expect(st).toContainEqual({
      Effect: 'Allow',
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
    });
    expect(st.flatMap(actions).filter((a) => a.startsWith('rds:'))).toEqual([]);
  });

  test('rds-master function: Describe/Modify scoped to the instance ARN', () => {
    const st = statementsOf('RotationFunction-rds-master');
    expect(st).toContainEqual({ Effect: 'Allow', Action: ['rds:DescribeDBInstances', 'rds:ModifyDBInstance'], Resource: INSTANCE_ARN });
    // no cluster given and an instance given: the cluster statement has no resource and is dropped
    expect(st.flatMap(actions)).not.toContain('rds:ModifyDBCluster');
  });

  test('no "*" resource except VPC placement (rotation) and ListSecrets/BatchGetSecretValue (trigger)', () => {
    const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const star = all.filter((s) => resources(s).includes('*')).map((s) => actions(s).join(','));
    expect(star.sort()).toEqual([
      ...Array(3).fill('ec2:DescribeNetworkInterfaces,ec2:DescribeSubnets'),
      'secretsmanager:ListSecrets,secretsmanager:BatchGetSecretValue',
    ]);
  });

  test('Secrets Manager may invoke each rotation function for its own secrets only (SourceArn) and this account (SourceAccount)', () => {
    const perms = Object.values(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'secretsmanager.amazonaws.com' } })).map((p) => p.Properties);
    const fn = (name: string) => ({ 'Fn::GetAtt': [logicalIdOf(`Rotor/${name}/Function/Resource`), 'Arn'] });
    expect(perms).toEqual(expect.arrayContaining([
      { Action: 'lambda:InvokeFunction', Principal: 'secretsmanager.amazonaws.com', SourceAccount: ACCOUNT, SourceArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`, FunctionName: fn('RotationFunction') },
      { Action: 'lambda:InvokeFunction', Principal: 'secretsmanager.amazonaws.com', SourceAccount: ACCOUNT, SourceArn: SECRET_ARN, FunctionName: fn('RotationFunction-alternating-users') },
      { Action: 'lambda:InvokeFunction', Principal: 'secretsmanager.amazonaws.com', SourceAccount: ACCOUNT, SourceArn: RDS_MASTER_SECRET_ARN, FunctionName: fn('RotationFunction-rds-master') },
    ]));
    expect(perms).toHaveLength(3);
  });

  test('two secrets on one function: one permission each', () => {
    const two = fullStack({ ...FULL_CONFIG, rotations: [FULL_CONFIG.rotations[1], { ...FULL_CONFIG.rotations[1], name: 'orders-ro2', secretArn: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro2-AbCdEf` }] });
    const perms = Object.values(Template.fromStack(two).findResources('AWS::Lambda::Permission', { Properties: { Principal: 'secretsmanager.amazonaws.com' } }));
    expect(perms.map((p) => p.Properties.SourceArn).sort()).toEqual([
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`,
      `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro2-AbCdEf`,
    ]);
  });

  test('database security groups opened on the database port only, from the function', () => {
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0123456789abcdef0', IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432 });
    template.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: 'sg-0fedcba9876543210', IpProtocol: 'tcp', FromPort: 3306, ToPort: 3306 });
    const sgs = template.findResources('AWS::EC2::SecurityGroup');
    for (const sg of Object.values(sgs)) {
      const egress = sg.Properties.SecurityGroupEgress as { CidrIp?: string; FromPort?: number }[];
      expect(egress.filter((e) => e.CidrIp === '0.0.0.0/0').every((e) => e.FromPort === 443)).toBe(true);
    }
  });
});

describe('rotation schedules', () => {
  test('cron with window, rate in hours, rate in days; each waits for the function, policy and permission', () => {
    const schedules = Object.values(template.findResources('AWS::SecretsManager::RotationSchedule'));
    const rules = schedules.map((s) => s.Properties.RotationRules).sort((a, b) => a.ScheduleExpression.localeCompare(b.ScheduleExpression));
    expect(rules).toEqual([
      { ScheduleExpression: 'cron(0 4 ? * SUN *)', Duration: '3h' },
      { ScheduleExpression: 'rate(12 hours)', Duration: '2h' },
      { ScheduleExpression: 'rate(30 days)' },
    ]);
    for (const s of schedules) {
      const deps = s.DependsOn as string[];
      expect(deps.some((d) => d.includes('InvokedBySecretsManager'))).toBe(true);
      expect(deps.some((d) => d.includes('DefaultPolicy'))).toBe(true);
    }
  });

  test('each schedule waits for the permission of its own secret and for the security-group rules to its database', () => {
    const all = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] }>;
    const scheduleOf = (secretArn: string) => Object.values(all).find((r) => r.Type === 'AWS::SecretsManager::RotationSchedule' && r.Properties.SecretId === secretArn)!;
    const permissionOf = (secretArn: string) => Object.entries(all).find(([, r]) => r.Type === 'AWS::Lambda::Permission' && r.Properties.SourceArn === secretArn)![0];
    const ingressTo = (sg: string) => Object.entries(all).filter(([, r]) => r.Type === 'AWS::EC2::SecurityGroupIngress' && r.Properties.GroupId === sg).map(([id]) => id);
    const ordersRo = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`;
    expect(scheduleOf(ordersRo).DependsOn).toEqual(expect.arrayContaining([permissionOf(ordersRo), ...ingressTo('sg-0fedcba9876543210')]));
    expect(ingressTo('sg-0fedcba9876543210')).toHaveLength(1);
    expect(scheduleOf(SECRET_ARN).DependsOn).toEqual(expect.arrayContaining([permissionOf(SECRET_ARN), ...ingressTo('sg-0123456789abcdef0')]));
    expect(scheduleOf(SECRET_ARN).DependsOn).not.toContain(permissionOf(ordersRo));
  });
});

describe('trigger function', () => {
  test('environment and tag-scoped permissions', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ ROTOR_DEPLOYMENT_ID: 'rotor-prod', POWERTOOLS_SERVICE_NAME: 'rotor-trigger' }) },
    });
    const st = statementsOf('TriggerFunction');
    expect(st).toContainEqual({ Effect: 'Allow', Action: ['secretsmanager:ListSecrets', 'secretsmanager:BatchGetSecretValue'], Resource: '*' });
    expect(st).toContainEqual({
      Effect: 'Allow',
      Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret'],
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':secretsmanager:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':secret:*']] },
      Condition: { StringEquals: { 'aws:ResourceTag/rotor:managed-by': 'rotor-prod' } },
    });
    expect(st).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
    });
  });

  test('RotateSecret needs lambda:InvokeFunction on the rotation functions: granted on exactly those', () => {
    const st = statementsOf('TriggerFunction');
    const invoke = st.filter((s) => actions(s).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect((invoke[0].Resource as unknown[]).map((r) => (r as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).sort()).toEqual(
      ['RotationFunction', 'RotationFunction-alternating-users', 'RotationFunction-rds-master'].map((n) => logicalIdOf(`Rotor/${n}/Function/Resource`)).sort(),
    );
  });

  test('cooldown, per-event limit and request bus name reach the trigger; the config changes them', () => {
    const vars = (t: Template) => Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Environment: { Variables: { POWERTOOLS_SERVICE_NAME: 'rotor-trigger' } } } }))[0].Properties.Environment.Variables;
    expect(vars(template)).toMatchObject({ ROTOR_TRIGGER_COOLDOWN_MINUTES: '60', ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '50', ROTOR_REQUEST_BUS_NAME: 'rotor-rotor-prod-requests' });
    expect(vars(template).ROTOR_TRIGGER_HEALTH_TAGS).toBeUndefined();
    const custom = Template.fromStack(fullStack({ ...FULL_CONFIG, securityAlerts: { cooldownMinutes: 15, maxSecretsPerEvent: 5, healthTags: [{ key: 'tier', values: ['db'] }] } }));
    expect(vars(custom)).toMatchObject({ ROTOR_TRIGGER_COOLDOWN_MINUTES: '15', ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '5', ROTOR_TRIGGER_HEALTH_TAGS: '[{"key":"tier","values":["db"]}]' });
  });
});

describe('group schedule', () => {
  test('cron in a time zone, flexible window, payload with tag filters, retry policy and DLQ', () => {
    const trigger = logicalIdOf('Rotor/TriggerFunction/Function/Resource');
    const dlq = logicalIdOf('Rotor/TriggerDeadLetterQueue/Queue/Resource');
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 3 ? * SUN *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 60 },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [trigger, 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      },
    });
    const schedule = Object.values(template.findResources('AWS::Scheduler::Schedule'))[0];
    expect(JSON.parse(schedule.Properties.Target.Input)).toEqual({
      source: 'rotor.schedule',
      scheduleArn: '<aws.scheduler.schedule-arn>',
      scheduledTime: '<aws.scheduler.scheduled-time>',
      tagFilters: [{ key: 'env', values: ['prod'] }],
      reason: 'weekly',
    });
  });

  test('the scheduler role is assumable by Scheduler for this account only', () => {
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'scheduler.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } }],
      },
    });
  });
});

describe('security alert rules', () => {
  const ruleWith = (source: string, t: Template = template) => {
    const rules = t.findResources('AWS::Events::Rule', { Properties: { EventPattern: { source: [source] } } });
    const list = Object.values(rules);
    expect(list).toHaveLength(1);
    return list[0].Properties;
  };

  test('patterns', () => {
    expect(ruleWith('aws.guardduty').EventPattern).toEqual({
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: {
        type: [{ prefix: 'CredentialAccess:RDS/' }],
        severity: [{ numeric: ['>=', 7] }],
      },
    });
    expect(ruleWith('aws.securityhub').EventPattern.detail.findings).toEqual({
      Types: [
        { prefix: 'TTPs/Credential Access' },
        { prefix: 'Sensitive Data Identifications/Passwords' },
        { prefix: 'Sensitive Data Identifications/Security' },
        { prefix: 'Effects/Data Exposure' },
      ],
      Severity: { Label: ['HIGH', 'CRITICAL'] },
      Resources: { Type: ['AwsSecretsManagerSecret', 'AwsRdsDbInstance'] },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW'] },
    });
    // No Health rule without healthTags: the trigger would rotate nothing for it.
    expect(template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { source: ['aws.health'] } } })).toEqual({});
    expect(ruleWith('rotor').EventPattern).toEqual({ source: ['rotor'], 'detail-type': ['Rotation Requested'] });
  });

  test('GuardDuty IAM finding types and the Health rule only with their tags; Health forwarded from us-east-1 by a stack there', () => {
    const custom = fullStack({ ...FULL_CONFIG, securityAlerts: { healthTags: [{ key: 'env', values: ['prod'] }], iamFindingTags: [{ key: 'env', values: ['prod'] }] } });
    const t = Template.fromStack(custom);
    expect(ruleWith('aws.guardduty', t).EventPattern.detail.type).toEqual([{ prefix: 'CredentialAccess:RDS/' }, { prefix: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration' }]);
    const health = ruleWith('aws.health', t);
    expect(health.EventPattern).toEqual({ source: ['aws.health'], 'detail-type': ['AWS Health Event'], detail: { eventTypeCode: ['AWS_RISK_CREDENTIALS_EXPOSED'] } });
    // In eu-central-1 the event arrives forwarded, on the request bus.
    expect(health.EventBusName).toEqual({ Ref: Object.keys(t.findResources('AWS::Events::EventBus'))[0] });
    const fwd = custom.healthForwarderStack!;
    expect(fwd.region).toBe('us-east-1');
    const ft = Template.fromStack(fwd);
    ft.hasResourceProperties('AWS::Events::Rule', {
      Name: 'rotor-rotor-prod-health-fwd',
      EventPattern: { source: ['aws.health'], 'detail-type': ['AWS Health Event'], detail: { eventTypeCode: ['AWS_RISK_CREDENTIALS_EXPOSED'] } },
      Targets: [Match.objectLike({ Arn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:events:${REGION}:${ACCOUNT}:event-bus/rotor-rotor-prod-requests`]] }, RoleArn: Match.anyValue(), DeadLetterConfig: Match.anyValue() })],
    });
    ft.hasResourceProperties('AWS::IAM::Role', {
      RoleName: 'rotor-rotor-prod-health-fwd',
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'events.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT, 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:events:us-east-1:${ACCOUNT}:rule/rotor-rotor-prod-health-fwd`]] } } } })] },
    });
    expect(nagViolations(fwd)).toEqual([]);
    // Without healthTags there is no forwarder stack.
    expect(stack.healthForwarderStack).toBeUndefined();
  });

  test('a deployment in us-east-1 listens for Health on the default bus, without a forwarder', () => {
    const east = fullStack({ ...FULL_CONFIG, region: 'us-east-1', rotations: [], securityAlerts: { healthTags: [{ key: 'env', values: ['prod'] }] } });
    expect(ruleWith('aws.health', Template.fromStack(east)).EventBusName).toBeUndefined();
    expect(east.healthForwarderStack).toBeUndefined();
  });

  test('Rotation Requested only on the dedicated bus; its policy denies every sender but this account (default) or the named ones', () => {
    const bus = Object.entries(template.findResources('AWS::Events::EventBus'));
    expect(bus).toHaveLength(1);
    expect(bus[0][1].Properties.Name).toBe('rotor-rotor-prod-requests');
    expect(ruleWith('rotor').EventBusName).toEqual({ Ref: bus[0][0] });
    const policies = Object.values(template.findResources('AWS::Events::EventBusPolicy')).map((p) => p.Properties.Statement);
    expect(policies).toEqual([
      expect.objectContaining({ Effect: 'Deny', Action: 'events:PutEvents', Principal: { AWS: '*' }, Condition: { StringNotEquals: { 'aws:PrincipalAccount': [ACCOUNT] } } }),
    ]);
    const sender = 'arn:aws:iam::444455556666:role/deployer';
    const named = Template.fromStack(fullStack({ ...FULL_CONFIG, securityAlerts: { requestSenders: [sender, '777788889999'] } }));
    const statements = Object.values(named.findResources('AWS::Events::EventBusPolicy')).map((p) => p.Properties.Statement);
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({ Effect: 'Allow', Action: 'events:PutEvents', Principal: { AWS: [sender, { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::777788889999:root']] }] } }),
      expect.objectContaining({ Effect: 'Deny', Condition: { StringNotEquals: { 'aws:PrincipalAccount': ['777788889999'] }, ArnNotEquals: { 'aws:PrincipalArn': [sender] } } }),
    ]));
  });

  test('every trigger target has a retry policy and the encrypted DLQ', () => {
    const trigger = logicalIdOf('Rotor/TriggerFunction/Function/Resource');
    const dlq = logicalIdOf('Rotor/TriggerDeadLetterQueue/Queue/Resource');
    for (const source of ['aws.guardduty', 'aws.securityhub', 'rotor']) {
      expect(ruleWith(source).Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [trigger, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
        }),
      ]);
    }
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });
});

describe('monitoring', () => {
  test('KMS-encrypted topic with the e-mail subscription', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  test('RotationFailed/RotationAbandoned/TestRotationFailed rule to the topic', () => {
    const topic = logicalIdOf('Rotor/Monitoring/Topic/Resource');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.secretsmanager'], 'detail-type': ['AWS Service Event via CloudTrail'], detail: { eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'] } },
      Targets: [Match.objectLike({ Arn: { Ref: topic } })],
    });
  });

  test('topic policy: EventBridge for the failure rule only, CloudWatch for these alarms only, both for this account', () => {
    const topic = logicalIdOf('Rotor/Monitoring/Topic/Resource');
    const rule = logicalIdOf('Rotor/Monitoring/RotationFailed/Resource');
    const statements = Object.values(template.findResources('AWS::SNS::TopicPolicy'))[0].Properties.PolicyDocument.Statement as Record<string, unknown>[];
    expect(statements).toContainEqual({
      Sid: 'EventBridgeRulePublishes', Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sns:Publish', Resource: { Ref: topic },
      Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT }, ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
    });
    const cw = statements.find((s) => s.Sid === 'CloudWatchAlarmsPublish') as { Condition: { ArnEquals: { 'aws:SourceArn': unknown[] }; StringEquals: unknown } };
    const alarmIds = Object.keys(template.findResources('AWS::CloudWatch::Alarm')).sort();
    expect(cw.Condition.StringEquals).toEqual({ 'aws:SourceAccount': ACCOUNT });
    expect(cw.Condition.ArnEquals['aws:SourceArn'].map((a) => (a as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0]).sort()).toEqual(alarmIds);
    // No service principal may publish without a condition.
    for (const s of statements.filter((x) => x.Effect === 'Allow')) expect(Object.keys((s.Condition ?? {}) as object)).not.toEqual([]);
  });

  test('Errors and Throttles alarms on every function, DLQ alarm, all to the topic', () => {
    const topic = logicalIdOf('Rotor/Monitoring/Topic/Resource');
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties);
    const byMetric = (name: string) => alarms.filter((a) => a.MetricName === name);
    expect(byMetric('Errors')).toHaveLength(4);
    expect(byMetric('Throttles')).toHaveLength(4);
    expect(byMetric('ApproximateNumberOfMessagesVisible')).toHaveLength(1);
    for (const a of alarms) {
      expect(a).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', AlarmActions: [{ Ref: topic }] });
    }
  });

  test('dashboard shows the functions\' EMF metrics', () => {
    const dash = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0];
    const body = JSON.stringify(dash.Properties.DashboardBody);
    for (const m of ['RotationStepSucceeded', 'RotationStepFailed', 'RotationStepDurationMs', 'TriggerSecretsRotated', 'TriggerSecretsSkipped', 'TriggerSecretsFailed']) {
      expect(body).toContain(m);
    }
  });
});

describe('cdk-nag and annotations', () => {
  test('no unacknowledged AwsSolutions violations', () => {
    expect(nagViolations(stack)).toEqual([]);
  });

  test('no warnings or errors from constructs', () => {
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
  });

  test('config is what the stack was built from', () => {
    expect(FULL_CONFIG.rotations).toHaveLength(3);
  });
});

describe('outputs and the Secrets Manager endpoint', () => {
  test('outputs: function names/ARNs, log groups, topic, dashboard, request bus', () => {
    const outputs = template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual([
      'AlarmTopicArn', 'DashboardName', 'RequestBusArn', 'RequestBusName',
      'RotationFunctionAlternatingUsersArn', 'RotationFunctionAlternatingUsersLogGroup', 'RotationFunctionAlternatingUsersName',
      'RotationFunctionArn', 'RotationFunctionLogGroup', 'RotationFunctionName',
      'RotationFunctionRdsMasterArn', 'RotationFunctionRdsMasterLogGroup', 'RotationFunctionRdsMasterName',
      'TriggerFunctionArn', 'TriggerFunctionLogGroup', 'TriggerFunctionName',
    ]);
    expect(outputs.RotationFunctionName.Value).toEqual({ Ref: logicalIdOf('Rotor/RotationFunction/Function/Resource') });
    expect(outputs.TriggerFunctionLogGroup.Value).toEqual({ Ref: logicalIdOf('Rotor/TriggerFunction/LogGroup/Resource') });
    expect(outputs.AlarmTopicArn.Value).toEqual({ Ref: logicalIdOf('Rotor/Monitoring/Topic/Resource') });
    expect(outputs.RequestBusName.Value).toEqual({ Ref: logicalIdOf('Rotor/SecurityAlerts/RequestBus/Resource') });
  });

  test('with a created endpoint, every schedule waits for it', () => {
    const t = Template.fromStack(fullStack({ ...FULL_CONFIG, network: { ...FULL_CONFIG.network, createSecretsManagerEndpoint: true } }));
    const endpoint = Object.keys(t.findResources('AWS::EC2::VPCEndpoint'));
    expect(endpoint).toHaveLength(1);
    for (const s of Object.values(t.findResources('AWS::SecretsManager::RotationSchedule'))) expect(s.DependsOn).toContain(endpoint[0]);
  });
});
