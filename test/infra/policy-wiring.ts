/**
 * Reads a synthesized CloudFormation template the way AWS would see it once
 * deployed: every intrinsic (Ref, Fn::GetAtt, Fn::Join, Fn::Select,
 * Fn::Split, pseudo parameters) resolved to the physical name or ARN the
 * resource gets, and every policy that takes part in a request collected:
 * identity policies of roles, trust policies, Lambda permissions, SNS topic,
 * SQS queue, event bus and KMS key policies. Requests are then evaluated with
 * @cloud-copilot/iam-simulate (a maintained IAM policy evaluator: identity
 * and resource policies, same- and cross-account rules, every condition
 * operator). It is a devDependency, used by the tests only (AGPL-3.0; never
 * bundled or shipped).
 *
 * Physical names are made up deterministically from logical ids where
 * CloudFormation would generate them; only their shape matters (ARN formats:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';

type Json = Record<string, unknown>;
export interface PolicyDocument {
  Version?: string;
  Statement: Json[] | Json;
}
interface Resource {
  Type: string;
  Properties?: Json;
}

export interface Env {
  readonly account: string;
  readonly region: string;
}

export type Verdict = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

export interface Request {
  /** An IAM principal ARN, or a service principal (`events.amazonaws.com`). */
  readonly principal: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
}

export class WiredTemplate {
  readonly resources: Record<string, Resource>;
  readonly partition = 'aws';

  constructor(template: Json, readonly env: Env) {
    this.resources = template.Resources as Record<string, Resource>;
  }

  /** Logical ids of resources of a type. */
  ofType(type: string): string[] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type).map(([id]) => id);
  }

  props(id: string): Json {
    return (this.resources[id]?.Properties ?? {}) as Json;
  }

  private arn(service: string, rest: string, region = this.env.region, account: string = this.env.account): string {
    return `arn:${this.partition}:${service}:${region}:${account}:${rest}`;
  }

  /** What Ref returns for a resource, as CloudFormation documents it per type. */
  ref(id: string): string {
    const r = this.resources[id];
    if (!r) throw new Error(`Ref to unknown resource ${id}`);
    const p = (r.Properties ?? {}) as Json;
    switch (r.Type) {
      case 'AWS::Lambda::Function':
        return (p.FunctionName as string | undefined) ?? `fn-${id}`;
      case 'AWS::IAM::Role':
        return p.RoleName ? this.resolveString(p.RoleName) : `role-${id}`;
      case 'AWS::Logs::LogGroup':
        return p.LogGroupName ? this.resolveString(p.LogGroupName) : `lg-${id}`;
      case 'AWS::SNS::Topic':
        return this.arn('sns', p.TopicName ? this.resolveString(p.TopicName) : `topic-${id}`);
      case 'AWS::KMS::Key':
        return keyId(id);
      case 'AWS::SQS::Queue':
        return `https://sqs.${this.env.region}.amazonaws.com/${this.env.account}/q-${id}`;
      case 'AWS::Events::EventBus':
        return this.resolveString(p.Name);
      case 'AWS::Events::Rule':
        return (p.Name as string | undefined) ?? `rule-${id}`;
      case 'AWS::SecretsManager::Secret':
        return this.arn('secretsmanager', `secret:${id}-AbCdEf`);
      case 'AWS::SecretsManager::SecretTargetAttachment':
        return this.resolveString(p.SecretId);
      case 'AWS::EC2::SecurityGroup':
        return `sg-${hex(id)}`;
      case 'AWS::EC2::Subnet':
        return `subnet-${hex(id)}`;
      case 'AWS::EC2::VPC':
        return `vpc-${hex(id)}`;
      case 'AWS::RDS::DBInstance':
        return id.toLowerCase();
      case 'AWS::Scheduler::ScheduleGroup':
        return id;
      default:
        return id;
    }
  }

  /** What Fn::GetAtt returns. */
  getAtt(id: string, attr: string): unknown {
    const r = this.resources[id];
    if (!r) throw new Error(`GetAtt of unknown resource ${id}`);
    const p = (r.Properties ?? {}) as Json;
    if (attr === 'Arn') {
      switch (r.Type) {
        case 'AWS::Lambda::Function':
          return this.arn('lambda', `function:${this.ref(id)}`);
        case 'AWS::IAM::Role':
          return `arn:${this.partition}:iam::${this.env.account}:role/${this.ref(id)}`;
        case 'AWS::Logs::LogGroup':
          return this.arn('logs', `log-group:${this.ref(id)}:*`);
        case 'AWS::KMS::Key':
          return this.arn('kms', `key/${keyId(id)}`);
        case 'AWS::SQS::Queue':
          return this.arn('sqs', `q-${id}`);
        case 'AWS::Events::EventBus':
          return this.arn('events', `event-bus/${this.ref(id)}`);
        case 'AWS::Events::Rule': {
          const bus = p.EventBusName === undefined ? 'default' : this.resolveString(p.EventBusName);
          return this.arn('events', bus === 'default' ? `rule/${this.ref(id)}` : `rule/${bus}/${this.ref(id)}`);
        }
        case 'AWS::CloudWatch::Alarm':
          return this.arn('cloudwatch', `alarm:alarm-${id}`);
        case 'AWS::Scheduler::Schedule':
          return this.arn('scheduler', `schedule/${p.GroupName ? this.resolveString(p.GroupName) : 'default'}/sched-${id}`);
        default:
          throw new Error(`no Arn model for ${r.Type}`);
      }
    }
    if (attr === 'GroupId') return this.ref(id);
    if (attr === 'Endpoint.Port') return this.resolve(p.Port) ?? '5432';
    if (attr === 'Endpoint.Address') return `${id.toLowerCase()}.example.${this.env.region}.rds.amazonaws.com`;
    if (attr === 'DnsEntries') return [`Z1:vpce-${hex(id)}.secretsmanager.${this.env.region}.vpce.amazonaws.com`];
    if (attr === 'QueueName') return `q-${id}`;
    if (attr === 'TopicName') return this.ref(id).split(':').pop();
    return `${id}.${attr}`;
  }

  resolve(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.resolve(x));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Json;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys;
      const a = o[k];
      if (k === 'Ref') {
        const name = a as string;
        if (name === 'AWS::Partition') return this.partition;
        if (name === 'AWS::Region') return this.env.region;
        if (name === 'AWS::AccountId') return this.env.account;
        if (name === 'AWS::URLSuffix') return 'amazonaws.com';
        if (name === 'AWS::StackName') return 'Rotor';
        return this.ref(name);
      }
      if (k === 'Fn::GetAtt') {
        const [id, attr] = Array.isArray(a) ? (a as string[]) : (a as string).split('.');
        return this.getAtt(id, attr);
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = a as [string, unknown[]];
        const resolved = this.resolve(parts);
        return (resolved as unknown[]).flat().join(sep);
      }
      if (k === 'Fn::Select') {
        const [i, list] = a as [number, unknown];
        return (this.resolve(list) as unknown[])[Number(i)];
      }
      if (k === 'Fn::Split') {
        const [sep, s] = a as [string, unknown];
        return String(this.resolve(s)).split(sep);
      }
      if (k.startsWith('Fn::')) throw new Error(`unsupported intrinsic ${k}`);
    }
    return Object.fromEntries(Object.entries(o).map(([key, x]) => [key, this.resolve(x)]));
  }

  resolveString(v: unknown): string {
    const r = this.resolve(v);
    if (typeof r !== 'string') throw new Error(`expected a string, got ${JSON.stringify(r)}`);
    return r;
  }

  /** Identity policies attached to a role (AWS::IAM::Policy with Roles, inline Policies). */
  identityPolicies(roleId: string): { name: string; policy: PolicyDocument }[] {
    const out: { name: string; policy: PolicyDocument }[] = [];
    for (const id of this.ofType('AWS::IAM::Policy')) {
      const p = this.props(id);
      const roles = (p.Roles as unknown[] | undefined) ?? [];
      if (roles.some((r) => (r as Json).Ref === roleId)) out.push({ name: id, policy: this.resolve(p.PolicyDocument) as PolicyDocument });
    }
    const role = this.props(roleId);
    for (const inline of (role.Policies as Json[] | undefined) ?? []) out.push({ name: String(inline.PolicyName), policy: this.resolve(inline.PolicyDocument) as PolicyDocument });
    if (((role.ManagedPolicyArns as unknown[] | undefined) ?? []).length > 0) throw new Error(`${roleId} has managed policies; the proof models inline policies only`);
    return out;
  }

  roleArn(roleId: string): string {
    return this.getAtt(roleId, 'Arn') as string;
  }

  /** The role a Lambda function runs with. */
  functionRole(fnId: string): string {
    const role = this.props(fnId).Role as Json;
    return (role['Fn::GetAtt'] as string[])[0];
  }

  /**
   * The resource policy AWS evaluates for `arn`: Lambda permissions of a
   * function, a topic, queue, bus or key policy, a role's trust policy.
   * Undefined when there is none in the template.
   */
  resourcePolicy(arn: string): PolicyDocument | undefined {
    const statements: Json[] = [];
    for (const id of this.ofType('AWS::Lambda::Permission')) {
      const p = this.resolve(this.props(id)) as Json;
      const fn = String(p.FunctionName);
      const fnArn = fn.startsWith('arn:') ? fn : this.arn('lambda', `function:${fn}`);
      if (fnArn !== arn) continue;
      const principal = String(p.Principal);
      const condition: Json = {};
      if (p.SourceArn) condition.ArnLike = { 'aws:SourceArn': p.SourceArn };
      if (p.SourceAccount) condition.StringEquals = { 'aws:SourceAccount': p.SourceAccount };
      statements.push({
        Effect: 'Allow',
        Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
        Action: p.Action,
        Resource: fnArn,
        ...(Object.keys(condition).length ? { Condition: condition } : {}),
      });
    }
    const add = (type: string, targets: string, doc: string): void => {
      for (const id of this.ofType(type)) {
        const p = this.props(id);
        const list = this.resolve(p[targets]);
        const named = (Array.isArray(list) ? list : [list]).map(String);
        const arns = named.map((n) => (type === 'AWS::SQS::QueuePolicy' ? this.queueArnFromUrl(n) : n));
        if (arns.includes(arn)) statements.push(...asList((this.resolve(p[doc]) as PolicyDocument).Statement));
      }
    };
    add('AWS::SNS::TopicPolicy', 'Topics', 'PolicyDocument');
    add('AWS::SQS::QueuePolicy', 'Queues', 'PolicyDocument');
    for (const id of this.ofType('AWS::Events::EventBusPolicy')) {
      const p = this.resolve(this.props(id)) as Json;
      if (this.arn('events', `event-bus/${p.EventBusName}`) === arn) statements.push(p.Statement as Json);
    }
    for (const id of this.ofType('AWS::KMS::Key')) {
      if (this.getAtt(id, 'Arn') === arn) statements.push(...asList((this.resolve(this.props(id).KeyPolicy) as PolicyDocument).Statement));
    }
    for (const id of this.ofType('AWS::IAM::Role')) {
      if (this.roleArn(id) === arn) statements.push(...asList((this.resolve(this.props(id).AssumeRolePolicyDocument) as PolicyDocument).Statement));
    }
    return statements.length ? { Version: '2012-10-17', Statement: statements } : undefined;
  }

  private queueArnFromUrl(url: string): string {
    const [, , , account, name] = url.split('/');
    return this.arn('sqs', name, this.env.region, account);
  }

  /** Every Allow statement naming a service principal, in every resource and trust policy, with where it is. */
  serviceStatements(): { where: string; statement: Json }[] {
    const out: { where: string; statement: Json }[] = [];
    const push = (where: string, doc: unknown): void => {
      for (const s of asList((doc as PolicyDocument).Statement)) {
        const principal = s.Principal as Json | undefined;
        if (s.Effect === 'Allow' && principal && typeof principal === 'object' && 'Service' in principal) out.push({ where, statement: s });
      }
    };
    for (const id of this.ofType('AWS::Lambda::Permission')) {
      const p = this.props(id);
      const principal = this.resolveString(p.Principal);
      if (principal.endsWith('.amazonaws.com')) {
        const condition: Json = {};
        if (p.SourceArn) condition['aws:SourceArn'] = this.resolve(p.SourceArn);
        if (p.SourceAccount) condition['aws:SourceAccount'] = this.resolve(p.SourceAccount);
        out.push({ where: `${id} (Lambda permission)`, statement: { Effect: 'Allow', Principal: { Service: principal }, Condition: condition } });
      }
    }
    for (const id of this.ofType('AWS::SNS::TopicPolicy')) push(`${id} (topic policy)`, this.resolve(this.props(id).PolicyDocument));
    for (const id of this.ofType('AWS::SQS::QueuePolicy')) push(`${id} (queue policy)`, this.resolve(this.props(id).PolicyDocument));
    for (const id of this.ofType('AWS::Events::EventBusPolicy')) push(`${id} (bus policy)`, { Statement: this.resolve(this.props(id).Statement) });
    for (const id of this.ofType('AWS::KMS::Key')) push(`${id} (key policy)`, this.resolve(this.props(id).KeyPolicy));
    for (const id of this.ofType('AWS::IAM::Role')) push(`${id} (trust policy)`, this.resolve(this.props(id).AssumeRolePolicyDocument));
    return out;
  }

  /**
   * Evaluates a request the way AWS does for this account: the principal's
   * identity policies (roles of this template, or `extraIdentity` for
   * principals outside it) and the resource's policy.
   */
  async evaluate(req: Request, extra: { identity?: PolicyDocument[]; resourcePolicy?: PolicyDocument } = {}): Promise<Verdict> {
    const isService = req.principal.endsWith('.amazonaws.com');
    const roleId = isService ? undefined : this.ofType('AWS::IAM::Role').find((id) => this.roleArn(id) === req.principal);
    const identity = [...(roleId ? this.identityPolicies(roleId) : []), ...(extra.identity ?? []).map((policy, i) => ({ name: `extra${i}`, policy }))];
    const resourceAccount = req.resource.split(':')[4] || this.env.account;
    const context: Record<string, string | string[]> = { 'aws:SecureTransport': 'true', ...(req.context ?? {}) };
    if (!isService) {
      context['aws:PrincipalArn'] = req.principal;
      context['aws:PrincipalAccount'] = req.principal.split(':')[4];
    }
    const result = await runSimulation(
      rewriteKeys({
        request: {
          principal: req.principal,
          action: req.action,
          resource: { resource: req.resource, accountId: resourceAccount },
          contextVariables: context,
        },
        identityPolicies: identity as never,
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        resourcePolicy: (extra.resourcePolicy ?? this.resourcePolicy(req.resource)) as never,
      }),
      {},
    );
    const r = result as unknown as { resultType?: string; errors?: unknown; result?: { analysis?: { result?: string } } };
    if (r.errors || !r.result?.analysis?.result) throw new Error(`simulation failed for ${JSON.stringify(req)}: ${JSON.stringify(r.errors ?? r)}`);
    return r.result.analysis.result as Verdict;
  }
}

/**
 * The evaluator matches variable condition keys only in the `prefix/name`
 * form (aws:PrincipalTag/x): it drops `kms:EncryptionContext:<key>` from the
 * request as an unknown context key, so a condition on it never matches.
 * The key is renamed the same way in the policies and in the request to a
 * `prefix/name` string key the evaluator reads (same StringEquals/Like
 * semantics), so the condition is still evaluated, not skipped.
 */
function rewriteKeys<T>(simulation: T): T {
  return JSON.parse(JSON.stringify(simulation).split('kms:EncryptionContext:aws:sns:topicArn').join('aws:PrincipalTag/kms-encryption-context-aws-sns-topicArn')) as T;
}

function asList(s: Json[] | Json): Json[] {
  return Array.isArray(s) ? s : [s];
}

function hex(id: string): string {
  let h = 0;
  for (const c of id) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return h.toString(16).padStart(8, '0').repeat(2).slice(0, 17);
}

function keyId(id: string): string {
  const h = hex(id).padEnd(32, '0');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
