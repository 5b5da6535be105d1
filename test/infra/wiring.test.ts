/**
 * The wiring proof: every interaction of the deployed stack, evaluated from
 * the synthesized template with an IAM policy evaluator (identity policies,
 * Lambda permissions, topic/queue/bus/key policies, trust policies; all
 * CloudFormation references resolved). Each edge must be Allowed; the
 * refusals below must be Denied. The table in docs/deploying.md
 * ("Who may call what") is this test's output and is checked against it.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { parseRotorConfig } from '../../lib/rotor-config';
import { RotorStack } from '../../lib/rotor-stack';
import { ACCOUNT, FULL_CONFIG, INSTANCE_ARN, KEY_ARN, MASTER_ARN, REGION, SECRET_ARN, fastApp } from './infra-fixtures';
import { type PolicyDocument, type Request, type Verdict, WiredTemplate } from './policy-wiring';

const ROOT = path.resolve(__dirname, '../..');
const OTHER_ACCOUNT = '999988887777';
const SENDER = 'arn:aws:iam::444455556666:role/deployer';

/** Imported VPC, security groups, instance, secrets and key; every alert rule on; one named cross-account sender. */
const REALISTIC = {
  ...FULL_CONFIG,
  securityAlerts: {
    healthTags: [{ key: 'env', values: ['prod'] }],
    iamFindingTags: [{ key: 'env', values: ['prod'] }],
    requestSenders: [SENDER],
  },
};

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly request: Request;
  readonly expected: Verdict | 'Denied';
  /** Identity policies of a principal outside the template (another account's sender). */
  readonly identity?: PolicyDocument[];
  /** The template whose resource policy applies, when it is another stack's. */
  readonly resourceFrom?: WiredTemplate;
  verdict?: Verdict;
}

const DEFAULT_KEY_POLICY: PolicyDocument = {
  // An imported customer managed key: its policy is not in the template. The
  // default key policy (the account delegates to IAM) is assumed; a stricter
  // one must name the rotation and trigger roles itself.
  Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }],
};

function buildStack(config: unknown): { stack: RotorStack; wired: WiredTemplate; forwarder?: WiredTemplate } {
  const parsed = parseRotorConfig(config, 'test');
  const stack = new RotorStack(fastApp(), 'Rotor', { config: parsed, env: { account: ACCOUNT, region: REGION } });
  const wired = new WiredTemplate(Template.fromStack(stack).toJSON(), { account: ACCOUNT, region: REGION });
  const forwarder = stack.healthForwarderStack
    ? new WiredTemplate(Template.fromStack(stack.healthForwarderStack).toJSON(), { account: ACCOUNT, region: 'us-east-1' })
    : undefined;
  return { stack, wired, forwarder };
}

/** Every interaction the template sets up, derived from its resources. */
function edgesOf(w: WiredTemplate, config: { deploymentId: string; rotations?: { secretArn: string; kmsKeyArn?: string; masterSecretArn?: string }[] }, label: (id: string) => string): Edge[] {
  const edges: Edge[] = [];
  const acct = w.env.account;
  const fnName = (fnArn: string) => label(w.ofType('AWS::Lambda::Function').find((id) => w.getAtt(id, 'Arn') === fnArn) ?? fnArn);
  const topicKey = (topicArn: string): string => {
    const topicId = w.ofType('AWS::SNS::Topic').find((id) => w.ref(id) === topicArn)!;
    const keyRef = w.props(topicId).KmsMasterKeyId as Record<string, string[]>;
    return w.getAtt(keyRef['Fn::GetAtt'][0], 'Arn') as string;
  };

  // CloudWatch alarms -> topic and its key
  for (const id of w.ofType('AWS::CloudWatch::Alarm')) {
    const alarmArn = w.getAtt(id, 'Arn') as string;
    for (const topic of (w.resolve(w.props(id).AlarmActions) as string[]) ?? []) {
      const ctx = { 'aws:SourceArn': alarmArn, 'aws:SourceAccount': acct };
      edges.push({ from: 'each CloudWatch alarm', to: 'alarm topic', request: { principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic, context: ctx }, expected: 'Allowed' });
      for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
        edges.push({
          from: 'each CloudWatch alarm', to: 'alarm topic key',
          // Only the topic is assumed in the KMS request (SNS's encryption context), not the alarm.
          request: { principal: 'cloudwatch.amazonaws.com', action, resource: topicKey(topic), context: { 'kms:EncryptionContext:aws:sns:topicArn': topic } },
          expected: 'Allowed',
        });
      }
    }
  }

  // EventBridge rules -> targets and dead-letter queues
  for (const id of w.ofType('AWS::Events::Rule')) {
    const ruleArn = w.getAtt(id, 'Arn') as string;
    const ctx = { 'aws:SourceArn': ruleArn, 'aws:SourceAccount': acct };
    for (const t of w.resolve(w.props(id).Targets) as { Arn: string; RoleArn?: string; DeadLetterConfig?: { Arn: string } }[]) {
      if (t.Arn.includes(':lambda:')) {
        edges.push({ from: `rule ${label(id)}`, to: fnName(t.Arn), request: { principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', resource: t.Arn, context: ctx }, expected: 'Allowed' });
      } else if (t.Arn.includes(':sns:')) {
        edges.push({ from: `rule ${label(id)}`, to: 'alarm topic', request: { principal: 'events.amazonaws.com', action: 'sns:Publish', resource: t.Arn, context: ctx }, expected: 'Allowed' });
        // The KMS request SNS makes for an EventBridge delivery carries the topic, not the rule.
        edges.push({
          from: `rule ${label(id)}`, to: 'alarm topic key',
          request: { principal: 'events.amazonaws.com', action: 'kms:GenerateDataKey', resource: topicKey(t.Arn), context: { 'kms:EncryptionContext:aws:sns:topicArn': t.Arn } },
          expected: 'Allowed',
        });
      } else if (t.Arn.includes(':event-bus/')) {
        edges.push({ from: `rule ${label(id)}`, to: `role ${label(t.RoleArn!.split('/').pop()!)}`, request: { principal: 'events.amazonaws.com', action: 'sts:AssumeRole', resource: t.RoleArn!, context: ctx }, expected: 'Allowed' });
      } else {
        throw new Error(`unmodelled target ${t.Arn}`);
      }
      if (t.DeadLetterConfig) {
        edges.push({ from: `rule ${label(id)}`, to: 'dead-letter queue', request: { principal: 'events.amazonaws.com', action: 'sqs:SendMessage', resource: t.DeadLetterConfig.Arn, context: ctx }, expected: 'Allowed' });
      }
    }
  }

  // Scheduler -> its role -> trigger and DLQ
  for (const id of w.ofType('AWS::Scheduler::Schedule')) {
    const t = w.resolve(w.props(id).Target) as { Arn: string; RoleArn: string; DeadLetterConfig?: { Arn: string } };
    const ctx = { 'aws:SourceArn': w.getAtt(id, 'Arn') as string, 'aws:SourceAccount': acct };
    edges.push({ from: `schedule ${label(id)}`, to: 'its scheduler role', request: { principal: 'scheduler.amazonaws.com', action: 'sts:AssumeRole', resource: t.RoleArn, context: ctx }, expected: 'Allowed' });
    edges.push({ from: `scheduler role of ${label(id)}`, to: fnName(t.Arn), request: { principal: t.RoleArn, action: 'lambda:InvokeFunction', resource: t.Arn }, expected: 'Allowed' });
    if (t.DeadLetterConfig) edges.push({ from: `scheduler role of ${label(id)}`, to: 'dead-letter queue', request: { principal: t.RoleArn, action: 'sqs:SendMessage', resource: t.DeadLetterConfig.Arn }, expected: 'Allowed' });
  }

  // Lambda permissions of the trigger (other than rules): none expected; every function's role -> its own log group
  for (const id of w.ofType('AWS::Lambda::Function')) {
    const role = w.roleArn(w.functionRole(id));
    const logGroup = w.resolveString((w.props(id).LoggingConfig as Record<string, unknown>).LogGroup);
    const stream = `arn:aws:logs:${w.env.region}:${acct}:log-group:${logGroup}:log-stream:2030/01/01/[$LATEST]abc`;
    for (const action of ['logs:CreateLogStream', 'logs:PutLogEvents']) {
      edges.push({ from: label(id), to: 'its log group', request: { principal: role, action, resource: stream }, expected: 'Allowed' });
    }
    const vpc = w.resolve(w.props(id).VpcConfig) as { SubnetIds: string[]; SecurityGroupIds: string[] } | undefined;
    if (vpc) {
      const ec2 = (r: string) => `arn:aws:ec2:${w.env.region}:${acct}:${r}`;
      for (const r of [`subnet/${vpc.SubnetIds[0]}`, `security-group/${vpc.SecurityGroupIds[0]}`, 'network-interface/*']) {
        edges.push({ from: label(id), to: `its ${r.split('/')[0]}`, request: { principal: role, action: 'ec2:CreateNetworkInterface', resource: ec2(r === 'network-interface/*' ? 'network-interface/eni-0123456789abcdef0' : r) }, expected: 'Allowed' });
      }
      edges.push({ from: label(id), to: 'another subnet', request: { principal: role, action: 'ec2:CreateNetworkInterface', resource: ec2('subnet/subnet-0ffffffffffffffff') }, expected: 'Denied' });
    }
    edges.push({ from: label(id), to: 'another log group', request: { principal: role, action: 'logs:PutLogEvents', resource: `arn:aws:logs:${w.env.region}:${acct}:log-group:/aws/lambda/other:log-stream:x` }, expected: 'Denied' });
  }

  // Secrets Manager -> rotation function; rotation function -> secret, key, RDS; trigger -> RotateSecret + invoke
  const triggerId = w.ofType('AWS::Lambda::Function').find((id) => (w.props(id).Environment as { Variables: Record<string, unknown> }).Variables.POWERTOOLS_SERVICE_NAME === 'rotor-trigger');
  if (!triggerId) return edges;
  const triggerRole = w.roleArn(w.functionRole(triggerId));
  for (const id of w.ofType('AWS::SecretsManager::RotationSchedule')) {
    const p = w.resolve(w.props(id)) as { SecretId: string; RotationLambdaARN: string };
    const secret = p.SecretId;
    const fnId = w.ofType('AWS::Lambda::Function').find((f) => w.getAtt(f, 'Arn') === p.RotationLambdaARN)!;
    const role = w.roleArn(w.functionRole(fnId));
    const name = secret.split(':').pop()!;
    const fn = label(fnId);
    edges.push({ from: 'Secrets Manager', to: `${fn} (for ${name})`, request: { principal: 'secretsmanager.amazonaws.com', action: 'lambda:InvokeFunction', resource: p.RotationLambdaARN, context: { 'aws:SourceArn': secret, 'aws:SourceAccount': acct } }, expected: 'Allowed' });
    for (const action of ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:UpdateSecretVersionStage']) {
      edges.push({ from: fn, to: `secret ${name}`, request: { principal: role, action, resource: secret }, expected: 'Allowed' });
    }
    edges.push({ from: fn, to: `secret ${name}`, request: { principal: role, action: 'secretsmanager:TagResource', resource: secret, context: { 'aws:TagKeys': ['rotor:rotated-target'] } }, expected: 'Allowed' });
    edges.push({ from: fn, to: `secret ${name} (tag rotor:managed-by)`, request: { principal: role, action: 'secretsmanager:TagResource', resource: secret, context: { 'aws:TagKeys': ['rotor:managed-by'] } }, expected: 'Denied' });
    // The function generates passwords itself: it holds no grant on "*" for that.
    edges.push({ from: fn, to: 'GetRandomPassword', request: { principal: role, action: 'secretsmanager:GetRandomPassword', resource: '*' }, expected: 'Denied' });
    const tagged = { [`aws:ResourceTag/rotor:managed-by`]: config.deploymentId };
    edges.push({ from: 'trigger', to: `secret ${name} (tagged)`, request: { principal: triggerRole, action: 'secretsmanager:RotateSecret', resource: secret, context: tagged }, expected: 'Allowed' });
    // The resolver reads AWSCURRENT of managed secrets to match GuardDuty RDS findings (BatchGetSecretValue).
    edges.push({ from: 'trigger', to: `secret ${name} (tagged)`, request: { principal: triggerRole, action: 'secretsmanager:GetSecretValue', resource: secret, context: tagged }, expected: 'Allowed' });
    edges.push({ from: 'trigger', to: `secret ${name} (untagged)`, request: { principal: triggerRole, action: 'secretsmanager:GetSecretValue', resource: secret }, expected: 'Denied' });
    edges.push({ from: 'trigger', to: `secret ${name} (tagged)`, request: { principal: triggerRole, action: 'secretsmanager:PutSecretValue', resource: secret, context: tagged }, expected: 'Denied' });
    edges.push({ from: 'trigger', to: `${fn} (RotateSecret starts it)`, request: { principal: triggerRole, action: 'lambda:InvokeFunction', resource: p.RotationLambdaARN }, expected: 'Allowed' });
    const rotation = config.rotations?.find((r) => r.secretArn === secret);
    if (rotation?.kmsKeyArn) {
      for (const action of ['kms:Decrypt', 'kms:GenerateDataKey']) {
        edges.push({
          from: fn, to: 'secret key (via Secrets Manager)',
          request: { principal: role, action, resource: rotation.kmsKeyArn, context: { 'kms:ViaService': `secretsmanager.${w.env.region}.amazonaws.com` } },
          expected: 'Allowed', resourceFrom: undefined,
        });
      }
      edges.push({ from: 'trigger', to: 'secret key (via Secrets Manager)', request: { principal: triggerRole, action: 'kms:Decrypt', resource: rotation.kmsKeyArn, context: { 'kms:ViaService': `secretsmanager.${w.env.region}.amazonaws.com` } }, expected: 'Allowed' });
      edges.push({ from: fn, to: 'secret key (directly)', request: { principal: role, action: 'kms:Decrypt', resource: rotation.kmsKeyArn }, expected: 'Denied' });
    }
    if (rotation?.masterSecretArn) {
      edges.push({ from: fn, to: 'master secret (read)', request: { principal: role, action: 'secretsmanager:GetSecretValue', resource: rotation.masterSecretArn }, expected: 'Allowed' });
      edges.push({ from: fn, to: 'master secret (write)', request: { principal: role, action: 'secretsmanager:PutSecretValue', resource: rotation.masterSecretArn }, expected: 'Denied' });
    }
    const rdsArns = (w.props(fnId).Environment as { Variables: Record<string, unknown> }).Variables.ROTOR_RDS_RESOURCE_ARNS;
    for (const arn of rdsArns ? w.resolveString(rdsArns).split(',') : []) {
      const kind = arn.includes(':cluster:') ? 'Cluster' : 'Instance';
      for (const action of [`rds:Modify${kind === 'Cluster' ? 'DBCluster' : 'DBInstance'}`, `rds:Describe${kind === 'Cluster' ? 'DBClusters' : 'DBInstances'}`]) {
        edges.push({ from: fn, to: `its ${kind.toLowerCase()} ${arn.split(':').pop()}`, request: { principal: role, action, resource: arn }, expected: 'Allowed' });
      }
      edges.push({ from: fn, to: 'another DB instance', request: { principal: role, action: 'rds:ModifyDBInstance', resource: `arn:aws:rds:${w.env.region}:${acct}:db:other` }, expected: 'Denied' });
    }
    // Refusals around this secret
    edges.push({ from: 'Secrets Manager', to: `${fn} (for another secret)`, request: { principal: 'secretsmanager.amazonaws.com', action: 'lambda:InvokeFunction', resource: p.RotationLambdaARN, context: { 'aws:SourceArn': `arn:aws:secretsmanager:${w.env.region}:${acct}:secret:other-ZzZzZz`, 'aws:SourceAccount': acct } }, expected: 'Denied' });
    edges.push({ from: 'Secrets Manager', to: `${fn} (another account's secret)`, request: { principal: 'secretsmanager.amazonaws.com', action: 'lambda:InvokeFunction', resource: p.RotationLambdaARN, context: { 'aws:SourceArn': secret.replace(acct, OTHER_ACCOUNT), 'aws:SourceAccount': OTHER_ACCOUNT } }, expected: 'Denied' });
    edges.push({ from: fn, to: "another account's secret", request: { principal: role, action: 'secretsmanager:GetSecretValue', resource: secret.replace(acct, OTHER_ACCOUNT) }, expected: 'Denied' });
    edges.push({ from: 'trigger', to: `secret ${name} (untagged)`, request: { principal: triggerRole, action: 'secretsmanager:RotateSecret', resource: secret }, expected: 'Denied' });
    edges.push({ from: 'trigger', to: `secret ${name} (another deployment's tag)`, request: { principal: triggerRole, action: 'secretsmanager:RotateSecret', resource: secret, context: { [`aws:ResourceTag/rotor:managed-by`]: 'someone-else' } }, expected: 'Denied' });
  }
  edges.push({ from: 'trigger', to: 'ListSecrets', request: { principal: triggerRole, action: 'secretsmanager:ListSecrets', resource: '*' }, expected: 'Allowed' });
  edges.push({ from: 'trigger', to: 'BatchGetSecretValue', request: { principal: triggerRole, action: 'secretsmanager:BatchGetSecretValue', resource: '*' }, expected: 'Allowed' });

  // Refusals at the doors
  const trigger = w.getAtt(triggerId, 'Arn') as string;
  edges.push({ from: "another account's rule", to: 'trigger', request: { principal: 'events.amazonaws.com', action: 'lambda:InvokeFunction', resource: trigger, context: { 'aws:SourceArn': `arn:aws:events:${w.env.region}:${OTHER_ACCOUNT}:rule/x`, 'aws:SourceAccount': OTHER_ACCOUNT } }, expected: 'Denied' });
  for (const topicId of w.ofType('AWS::SNS::Topic')) {
    const topic = w.ref(topicId);
    edges.push({ from: "another account's alarm", to: 'alarm topic', request: { principal: 'cloudwatch.amazonaws.com', action: 'sns:Publish', resource: topic, context: { 'aws:SourceArn': `arn:aws:cloudwatch:${w.env.region}:${OTHER_ACCOUNT}:alarm:x`, 'aws:SourceAccount': OTHER_ACCOUNT } }, expected: 'Denied' });
    edges.push({ from: 'another rule of this account', to: 'alarm topic', request: { principal: 'events.amazonaws.com', action: 'sns:Publish', resource: topic, context: { 'aws:SourceArn': `arn:aws:events:${w.env.region}:${acct}:rule/unrelated`, 'aws:SourceAccount': acct } }, expected: 'Denied' });
    edges.push({ from: 'CloudWatch for another topic', to: 'alarm topic key', request: { principal: 'cloudwatch.amazonaws.com', action: 'kms:GenerateDataKey', resource: topicKey(topic), context: { 'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:${w.env.region}:${acct}:other` } }, expected: 'Denied' });
    edges.push({ from: 'EventBridge for another topic', to: 'alarm topic key', request: { principal: 'events.amazonaws.com', action: 'kms:GenerateDataKey', resource: topicKey(topic), context: { 'kms:EncryptionContext:aws:sns:topicArn': `arn:aws:sns:${w.env.region}:${acct}:other` } }, expected: 'Denied' });
  }
  return edges;
}

function busEdges(w: WiredTemplate, forwarder?: WiredTemplate): Edge[] {
  const busId = w.ofType('AWS::Events::EventBus')[0];
  const bus = w.getAtt(busId, 'Arn') as string;
  const put = (principal: string): Request => ({ principal, action: 'events:PutEvents', resource: bus });
  const theirGrant: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus }] };
  const admin: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };
  const edges: Edge[] = [
    { from: `named sender ${SENDER}`, to: 'request bus', request: put(SENDER), identity: [theirGrant], expected: 'Allowed' },
    { from: 'an admin of this account, not named', to: 'request bus', request: put(`arn:aws:iam::${ACCOUNT}:role/admin`), identity: [admin], expected: 'Denied' },
    { from: "another account's role, not named", to: 'request bus', request: put(`arn:aws:iam::${OTHER_ACCOUNT}:role/x`), identity: [theirGrant], expected: 'Denied' },
  ];
  if (forwarder) {
    const roleId = forwarder.ofType('AWS::IAM::Role')[0];
    const role = forwarder.roleArn(roleId);
    edges.push({ from: 'Health forwarder role (us-east-1)', to: 'request bus', request: put(role), identity: forwarder.identityPolicies(roleId).map((p) => p.policy), expected: 'Allowed' });
  }
  return edges;
}

function defaultBusEdges(w: WiredTemplate): Edge[] {
  const busId = w.ofType('AWS::Events::EventBus')[0];
  const bus = w.getAtt(busId, 'Arn') as string;
  const theirGrant: PolicyDocument = { Statement: [{ Effect: 'Allow', Action: 'events:PutEvents', Resource: bus }] };
  return [
    { from: 'a role of this account granted PutEvents', to: 'request bus', request: { principal: `arn:aws:iam::${ACCOUNT}:role/ops`, action: 'events:PutEvents', resource: bus }, identity: [theirGrant], expected: 'Allowed' },
    { from: 'a role of this account without a grant', to: 'request bus', request: { principal: `arn:aws:iam::${ACCOUNT}:role/app`, action: 'events:PutEvents', resource: bus }, expected: 'Denied' },
    { from: "another account's role, not named", to: 'request bus', request: { principal: `arn:aws:iam::${OTHER_ACCOUNT}:role/x`, action: 'events:PutEvents', resource: bus }, identity: [theirGrant], expected: 'Denied' },
  ];
}

async function evaluateAll(w: WiredTemplate, edges: Edge[]): Promise<Edge[]> {
  for (const e of edges) {
    const resourcePolicy = e.request.resource.startsWith('arn:aws:kms:') && !(e.resourceFrom ?? w).resourcePolicy(e.request.resource) ? DEFAULT_KEY_POLICY : undefined;
    e.verdict = await (e.resourceFrom ?? w).evaluate(e.request, { identity: e.identity, resourcePolicy });
  }
  return edges;
}

const ok = (e: Edge) => (e.expected === 'Denied' ? e.verdict !== 'Allowed' : e.verdict === e.expected);
const row = (e: Edge) => `| ${e.from} | ${e.to} | \`${e.request.action}\` | ${e.verdict === 'Allowed' ? 'Allowed' : 'Denied'} |`;

function labeller(w: WiredTemplate, stack: RotorStack): (id: string) => string {
  return (id: string) => {
    const p = w.props(id);
    const env = (p.Environment as { Variables?: Record<string, string> } | undefined)?.Variables;
    if (env?.ROTOR_STRATEGY) return `rotation function (${env.ROTOR_STRATEGY})`;
    if (env?.POWERTOOLS_SERVICE_NAME === 'rotor-trigger') return 'trigger';
    const r = w.resources[id];
    if (r?.Type === 'AWS::Events::Rule') return String((p.Description as string | undefined)?.replace(/^rotor: /, '') ?? id);
    if (r?.Type === 'AWS::CloudWatch::Alarm') return id.replace(/^Monitoring/, '').replace(/[0-9A-F]{8}$/, '');
    if (r?.Type === 'AWS::Scheduler::Schedule') return id.replace(/^GroupSchedule/, '').replace(/Schedule[0-9A-F]{8}$/, '');
    return id;
  };
  void stack;
}

describe('wiring proof: the realistic deployment (imported VPC, instance, secrets, key; all alert rules; a named sender)', () => {
  let edges: Edge[];
  let wired: WiredTemplate;
  beforeAll(async () => {
    const built = buildStack(REALISTIC);
    wired = built.wired;
    const parsed = parseRotorConfig(REALISTIC, 'test');
    edges = [...edgesOf(wired, parsed, labeller(wired, built.stack)), ...busEdges(wired, built.forwarder)];
    const fwd = built.forwarder!;
    edges.push(...edgesOf(fwd, { deploymentId: parsed.deploymentId }, labeller(fwd, built.stack)).map((e) => ({ ...e, from: `${e.from} (us-east-1)`, resourceFrom: fwd })));
    await evaluateAll(wired, edges);
  }, 120_000);

  test('every edge the deployment needs is Allowed, every refusal is Denied', () => {
    const wrong = edges.filter((e) => !ok(e)).map((e) => `${row(e)} expected ${e.expected}: ${JSON.stringify(e.request)}`);
    expect(wrong).toEqual([]);
    expect(edges.filter((e) => e.expected === 'Allowed').length).toBeGreaterThan(60);
    expect(edges.filter((e) => e.expected === 'Denied').length).toBeGreaterThan(20);
  });

  test('the edges cover the interactions named in the threat model', () => {
    const has = (from: RegExp, to: RegExp, action: string, verdict: 'Allowed' | 'Denied') =>
      edges.some((e) => from.test(e.from) && to.test(e.to) && e.request.action === action && (verdict === 'Allowed' ? e.verdict === 'Allowed' : e.verdict !== 'Allowed'));
    expect(has(/^each CloudWatch alarm$/, /^alarm topic$/, 'sns:Publish', 'Allowed')).toBe(true);
    expect(has(/^each CloudWatch alarm$/, /^alarm topic key$/, 'kms:GenerateDataKey', 'Allowed')).toBe(true);
    expect(has(/^rule .*failed/, /^alarm topic$/, 'sns:Publish', 'Allowed')).toBe(true);
    expect(has(/^rule .*GuardDuty/, /^trigger$/, 'lambda:InvokeFunction', 'Allowed')).toBe(true);
    expect(has(/^rule .*Rotation Requested/, /^dead-letter queue$/, 'sqs:SendMessage', 'Allowed')).toBe(true);
    expect(has(/^schedule /, /^its scheduler role$/, 'sts:AssumeRole', 'Allowed')).toBe(true);
    expect(has(/^scheduler role/, /^trigger$/, 'lambda:InvokeFunction', 'Allowed')).toBe(true);
    expect(has(/^Secrets Manager$/, /rds-master/, 'lambda:InvokeFunction', 'Allowed')).toBe(true);
    expect(has(/^rotation function \(alternating-users\)$/, /^secret key \(via Secrets Manager\)$/, 'kms:GenerateDataKey', 'Allowed')).toBe(true);
    expect(has(/rds-master/, /^its instance billing$/, 'rds:ModifyDBInstance', 'Allowed')).toBe(true);
    expect(has(/^trigger$/, /RotateSecret starts it/, 'lambda:InvokeFunction', 'Allowed')).toBe(true);
    expect(has(/^trigger$/, /\(tagged\)$/, 'secretsmanager:RotateSecret', 'Allowed')).toBe(true);
    expect(has(/^rule .*forward/, /^role /, 'sts:AssumeRole', 'Allowed')).toBe(true);
    expect(has(/^Health forwarder role/, /^request bus$/, 'events:PutEvents', 'Allowed')).toBe(true);
    // and the refusals
    expect(has(/^rotation function/, /^another account's secret$/, 'secretsmanager:GetSecretValue', 'Denied')).toBe(true);
    expect(has(/^trigger$/, /\(untagged\)$/, 'secretsmanager:RotateSecret', 'Denied')).toBe(true);
    expect(has(/not named/, /^request bus$/, 'events:PutEvents', 'Denied')).toBe(true);
    expect(has(/^rotation function/, /^another log group$/, 'logs:PutLogEvents', 'Denied')).toBe(true);
  });

  test('every service-principal statement carries a confused-deputy condition', () => {
    const keys = ['aws:SourceArn', 'aws:SourceAccount', 'kms:EncryptionContext:aws:sns:topicArn'];
    const conditionKeys = (s: Record<string, unknown>) => {
      const c = (s.Condition ?? {}) as Record<string, unknown>;
      // Lambda permissions are rendered as a flat map of keys; policies as operator -> keys.
      return Object.entries(c).flatMap(([k, v]) => (k.includes(':') && !k.includes('Equals') && !k.includes('Like') ? [k] : Object.keys(v as object)));
    };
    const missing = wired
      .serviceStatements()
      // Execution roles are assumed by Lambda for this account's functions; the role can only be attached by iam:PassRole.
      .filter(({ statement }) => JSON.stringify(statement.Principal) !== JSON.stringify({ Service: 'lambda.amazonaws.com' }))
      .filter(({ statement }) => !conditionKeys(statement).some((k) => keys.includes(k)))
      .map(({ where, statement }) => `${where}: ${JSON.stringify(statement)}`);
    expect(missing).toEqual([]);
  });

  test('docs/deploying.md carries this edge table', () => {
    const doc = readFileSync(path.join(ROOT, 'docs/deploying.md'), 'utf8');
    const rows = [...new Set(edges.map(row))];
    const absent = rows.filter((r) => !doc.includes(r));
    if (absent.length && process.env.ROTOR_PRINT_EDGES) require('node:fs').writeFileSync(process.env.ROTOR_PRINT_EDGES, `${rows.join('\n')}\n`);
    expect(absent).toEqual([]);
  });
});

describe('wiring proof: the example deployment (rotor.config.example.json)', () => {
  let edges: Edge[];
  beforeAll(async () => {
    const raw = JSON.parse(readFileSync(path.join(ROOT, 'rotor.config.example.json'), 'utf8'));
    const built = buildStack({ ...raw, account: ACCOUNT, region: REGION });
    const parsed = parseRotorConfig(raw, 'example');
    edges = [...edgesOf(built.wired, parsed, labeller(built.wired, built.stack)), ...defaultBusEdges(built.wired)];
    await evaluateAll(built.wired, edges);
  }, 120_000);

  test('every edge is Allowed, every refusal Denied (no named senders: this account only)', () => {
    const wrong = edges.filter((e) => !ok(e)).map((e) => `${row(e)} expected ${e.expected}: ${JSON.stringify(e.request)}`);
    expect(wrong).toEqual([]);
    expect(edges.some((e) => e.from === 'Secrets Manager' && e.verdict === 'Allowed')).toBe(true);
  });
});

void [INSTANCE_ARN, KEY_ARN, MASTER_ARN, SECRET_ARN];
