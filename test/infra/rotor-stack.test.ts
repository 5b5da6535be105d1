import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ACCOUNT, FULL_CONFIG, INSTANCE_ARN, KEY_ARN, MASTER_ARN, REGION, SECRET_ARN, fullStack, nagViolations } from './infra-fixtures';
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

  test('single-user function: GetRandomPassword on *, rotate actions on its secret only, no KMS, no RDS', () => {
    const st = statementsOf('RotationFunction');
    const secretsStmts = st.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    expect(secretsStmts).toEqual([
      { Effect: 'Allow', Action: 'secretsmanager:GetRandomPassword', Resource: '*' },
      {
        Effect: 'Allow',
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage'],
        Resource: `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders-ro-StUvWx`,
      },
    ]);
    expect(st.flatMap(actions).filter((a) => a.startsWith('kms:') || a.startsWith('rds:'))).toEqual([]);
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

  test('no "*" resource except GetRandomPassword (rotation) and ListSecrets/BatchGetSecretValue (trigger)', () => {
    const all = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const star = all.filter((s) => resources(s).includes('*')).map((s) => actions(s).join(','));
    expect(star.sort()).toEqual(['secretsmanager:GetRandomPassword', 'secretsmanager:GetRandomPassword', 'secretsmanager:GetRandomPassword', 'secretsmanager:ListSecrets,secretsmanager:BatchGetSecretValue']);
  });

  test('Secrets Manager may invoke each rotation function, from this account only', () => {
    const perms = template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'secretsmanager.amazonaws.com' } });
    expect(Object.keys(perms)).toHaveLength(3);
    for (const p of Object.values(perms)) expect(p.Properties).toMatchObject({ Action: 'lambda:InvokeFunction', SourceAccount: ACCOUNT });
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
      Condition: { StringEquals: { 'secretsmanager:ResourceTag/rotor:managed-by': 'rotor-prod' } },
    });
    expect(st).toContainEqual({
      Effect: 'Allow',
      Action: 'kms:Decrypt',
      Resource: KEY_ARN,
      Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com` } },
    });
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
  const ruleWith = (source: string) => {
    const rules = template.findResources('AWS::Events::Rule', { Properties: { EventPattern: { source: [source] } } });
    const list = Object.values(rules);
    expect(list).toHaveLength(1);
    return list[0].Properties;
  };

  test('patterns', () => {
    expect(ruleWith('aws.guardduty').EventPattern).toEqual({
      source: ['aws.guardduty'],
      'detail-type': ['GuardDuty Finding'],
      detail: {
        type: [{ prefix: 'CredentialAccess:RDS/' }, { prefix: 'UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration' }],
        severity: [{ numeric: ['>=', 7] }],
      },
    });
    expect(ruleWith('aws.securityhub').EventPattern.detail.findings).toEqual({
      Severity: { Label: ['HIGH', 'CRITICAL'] },
      Resources: { Type: ['AwsSecretsManagerSecret', 'AwsRdsDbInstance'] },
      RecordState: ['ACTIVE'],
      Workflow: { Status: ['NEW'] },
    });
    expect(ruleWith('aws.health').EventPattern).toEqual({
      source: ['aws.health'],
      'detail-type': ['AWS Health Event'],
      detail: { eventTypeCode: ['AWS_RISK_CREDENTIALS_EXPOSED'] },
    });
    expect(ruleWith('rotor').EventPattern).toEqual({ source: ['rotor'], 'detail-type': ['Rotation Requested'] });
  });

  test('every trigger target has a retry policy and the encrypted DLQ', () => {
    const trigger = logicalIdOf('Rotor/TriggerFunction/Function/Resource');
    const dlq = logicalIdOf('Rotor/TriggerDeadLetterQueue/Queue/Resource');
    for (const source of ['aws.guardduty', 'aws.securityhub', 'aws.health', 'rotor']) {
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

  test('RotationFailed/RotationAbandoned rule to the topic', () => {
    const topic = logicalIdOf('Rotor/Monitoring/Topic/Resource');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.secretsmanager'], 'detail-type': ['AWS Service Event via CloudTrail'], detail: { eventName: ['RotationFailed', 'RotationAbandoned'] } },
      Targets: [Match.objectLike({ Arn: { Ref: topic } })],
    });
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
