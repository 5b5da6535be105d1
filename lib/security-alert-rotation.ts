import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { TriggerDeadLetterQueue } from './dead-letter-queue';
import type { TriggerFunction } from './trigger-function';

/** GuardDuty finding types about database credentials being used by someone else. */
export const DEFAULT_GUARDDUTY_RDS_PREFIXES = ['CredentialAccess:RDS/'];
/** GuardDuty finding types about instance credentials used from elsewhere (they may have read secrets). */
export const DEFAULT_GUARDDUTY_IAM_PREFIXES = ['UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration'];
export const DEFAULT_SECURITY_HUB_SEVERITIES = ['HIGH', 'CRITICAL'];
export const DEFAULT_SECURITY_HUB_RESOURCE_TYPES = ['AwsSecretsManagerSecret', 'AwsRdsDbInstance'];
/**
 * Security Hub finding types (ASFF `Types`, "namespace/category/classifier")
 * that concern credentials; the trigger filters the same list.
 * https://docs.aws.amazon.com/securityhub/latest/userguide/securityhub-findings-format-type-taxonomy.html
 */
export const SECURITY_HUB_CREDENTIAL_TYPE_PREFIXES = [
  'TTPs/Credential Access',
  'Sensitive Data Identifications/Passwords',
  'Sensitive Data Identifications/Security',
  'Effects/Data Exposure',
];
export const HEALTH_EVENT_TYPE_CODES = ['AWS_RISK_CREDENTIALS_EXPOSED'];
/** AWS Health delivers events about global services (IAM access keys) in this Region only. */
export const HEALTH_GLOBAL_REGION = 'us-east-1';
/** The "rotate now" event operators (or their tooling) put on the deployment's request bus. */
export const ROTATION_REQUESTED = { source: 'rotor', detailType: 'Rotation Requested' } as const;

/** Name of the dedicated bus of a deployment's "Rotation Requested" events. */
export function requestBusName(deploymentId: string): string {
  return `rotor-${deploymentId.replace(/[^A-Za-z0-9._-]/g, '-')}-requests`;
}

/** Name of the us-east-1 Health forwarder's rule and of its role (valid as both, at most 64 characters). */
export function healthForwarderName(deploymentId: string): string {
  return `rotor-${deploymentId.replace(/[^A-Za-z0-9._-]/g, '-')}`.slice(0, 53) + '-health-fwd';
}

export interface SecurityAlertRotationProps {
  /** The trigger function the rules invoke. */
  readonly triggerFunction: TriggerFunction;
  /** GuardDuty finding type prefixes about database credentials. @default ['CredentialAccess:RDS/'] */
  readonly guardDutyRdsFindingPrefixes?: string[];
  /**
   * Also rotate on GuardDuty IAM credential findings. They name no database:
   * the trigger rotates the secrets of `ROTOR_TRIGGER_IAM_FINDING_TAGS`, so turn
   * this on together with the trigger's `iamFindingTags`.
   * @default false
   */
  readonly guardDutyIamFindings?: boolean;
  /** GuardDuty finding type prefixes about IAM credential exfiltration. @default ['UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration'] */
  readonly guardDutyIamFindingPrefixes?: string[];
  /** Lowest GuardDuty severity (1-10) that rotates. @default 7 (High) */
  readonly guardDutyMinSeverity?: number;
  /** Security Hub severity labels that rotate; [] disables the Security Hub rule. @default ['HIGH', 'CRITICAL'] */
  readonly securityHubSeverityLabels?: string[];
  /** Security Hub resource types that rotate. @default ['AwsSecretsManagerSecret', 'AwsRdsDbInstance'] */
  readonly securityHubResourceTypes?: string[];
  /**
   * Rotate on AWS Health AWS_RISK_CREDENTIALS_EXPOSED. It names an IAM key, not
   * a secret: the trigger rotates `ROTOR_TRIGGER_HEALTH_TAGS`, so turn this on
   * together with the trigger's `healthTags`. Health delivers it in us-east-1
   * only: outside us-east-1 the rule listens on the request bus, and
   * `HealthEventForwarder` (a us-east-1 stack) forwards the events there.
   * @default false
   */
  readonly awsHealth?: boolean;
  /** Rotate on `rotor` / `Rotation Requested` events on the request bus. @default true */
  readonly rotationRequested?: boolean;
  /** Name of the dedicated bus for `Rotation Requested` (and forwarded Health) events. */
  readonly requestBusName: string;
  /**
   * Who may put events on the request bus: IAM principal ARNs (role, user,
   * account root) or 12-digit account ids. Anyone else is denied by the bus
   * policy, even with an IAM grant. Empty: principals of this account whose
   * IAM policies grant events:PutEvents on the bus; no other account.
   * @default []
   */
  readonly requestSenders?: string[];
  /** Role ARN of the us-east-1 Health forwarder, allowed to put events on the request bus. @default - none */
  readonly healthForwarderRoleArn?: string;
  /** Delivery attempts beyond the first. @default 4 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying. @default Duration.hours(2) */
  readonly maxEventAge?: Duration;
  /** Queue for events never delivered. @default - a new encrypted queue */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * EventBridge rules that rotate secrets when a security service says
 * credentials may be exposed, plus the operators' "rotate now" event, which
 * is accepted only on a dedicated bus whose policy names the senders.
 */
export class SecurityAlertRotation extends Construct {
  readonly rules: events.Rule[] = [];
  readonly guardDutyRule: events.Rule;
  readonly securityHubRule?: events.Rule;
  readonly healthRule?: events.Rule;
  readonly rotationRequestedRule?: events.Rule;
  readonly requestBus: events.EventBus;
  readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: SecurityAlertRotationProps) {
    super(scope, id);
    const fail = (msg: string): never => {
      throw new Error(`${this.node.path}: ${msg}`);
    };
    const stack = Stack.of(this);
    const minSeverity = props.guardDutyMinSeverity ?? 7;
    if (!(minSeverity >= 1 && minSeverity <= 10)) fail(`guardDutyMinSeverity is ${minSeverity}; GuardDuty severities run from 1 to 10.`);
    const prefixes = [
      ...(props.guardDutyRdsFindingPrefixes ?? DEFAULT_GUARDDUTY_RDS_PREFIXES),
      ...(props.guardDutyIamFindings ? (props.guardDutyIamFindingPrefixes ?? DEFAULT_GUARDDUTY_IAM_PREFIXES) : []),
    ];
    if (props.guardDutyIamFindingPrefixes && !props.guardDutyIamFindings) fail('guardDutyIamFindingPrefixes is set but guardDutyIamFindings is off; the prefixes would be ignored.');
    if (prefixes.length === 0 || prefixes.some((p) => p.trim() === '')) fail('GuardDuty finding type prefixes must be non-empty strings, and at least one is needed.');
    const labels = props.securityHubSeverityLabels ?? DEFAULT_SECURITY_HUB_SEVERITIES;
    const known = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
    for (const l of labels) if (!known.includes(l)) fail(`securityHubSeverityLabels has "${l}", not one of ${known.join(', ')}.`);
    const resourceTypes = props.securityHubResourceTypes ?? DEFAULT_SECURITY_HUB_RESOURCE_TYPES;
    if (labels.length > 0 && resourceTypes.length === 0) fail('securityHubResourceTypes is empty; name at least one resource type or disable the rule with securityHubSeverityLabels: [].');
    const retryAttempts = props.retryAttempts ?? 4;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) fail(`retryAttempts is ${retryAttempts}; it must be 0-185.`);
    if (!/^[A-Za-z0-9._-]{1,256}$/.test(props.requestBusName) || props.requestBusName.startsWith('aws.')) fail(`requestBusName "${props.requestBusName}" is not a custom event bus name.`);
    const senders = props.requestSenders ?? [];
    const principalArn = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+|user\/.+)$/;
    for (const s of senders) if (!/^\d{12}$/.test(s) && !principalArn.test(s)) fail(`requestSenders has "${s}", neither an account id (12 digits) nor an IAM role/user/root ARN.`);

    this.deadLetterQueue = props.deadLetterQueue ?? new TriggerDeadLetterQueue(this, 'DeadLetterQueue').queue;
    const target = new eventTargets.LambdaFunction(props.triggerFunction.function, {
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts,
      maxEventAge: props.maxEventAge ?? Duration.hours(2),
    });
    const rule = (ruleId: string, description: string, eventPattern: events.EventPattern, eventBus?: events.IEventBus): events.Rule => {
      const r = new events.Rule(this, ruleId, { description, eventPattern, eventBus, targets: [target] });
      this.rules.push(r);
      return r;
    };

    this.requestBus = new events.EventBus(this, 'RequestBus', {
      eventBusName: props.requestBusName,
      description: 'rotor: Rotation Requested events (and AWS Health events forwarded from us-east-1)',
    });
    this.restrictSenders(senders, props.healthForwarderRoleArn);

    this.guardDutyRule = rule('GuardDutyFindings', `rotor: rotate on GuardDuty credential findings, severity >= ${minSeverity}`, {
      source: ['aws.guardduty'],
      detailType: ['GuardDuty Finding'],
      detail: {
        type: prefixes.map((prefix) => ({ prefix })),
        severity: [{ numeric: ['>=', minSeverity] }],
      },
    });
    if (labels.length > 0) {
      this.securityHubRule = rule('SecurityHubFindings', `rotor: rotate on Security Hub credential findings (${labels.join(', ')})`, {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Imported'],
        detail: {
          findings: {
            Types: SECURITY_HUB_CREDENTIAL_TYPE_PREFIXES.map((prefix) => ({ prefix })),
            Severity: { Label: labels },
            Resources: { Type: resourceTypes },
            RecordState: ['ACTIVE'],
            Workflow: { Status: ['NEW'] },
          },
        },
      });
    }
    if (props.awsHealth) {
      // In us-east-1 Health puts the event on the default bus here; elsewhere
      // it arrives on the request bus, forwarded by the us-east-1 stack.
      const local = !Token.isUnresolved(stack.region) && stack.region === HEALTH_GLOBAL_REGION;
      this.healthRule = rule(
        'HealthCredentialsExposed',
        `rotor: rotate on AWS Health AWS_RISK_CREDENTIALS_EXPOSED${local ? '' : ' (forwarded from us-east-1)'}`,
        { source: ['aws.health'], detailType: ['AWS Health Event'], detail: { eventTypeCode: HEALTH_EVENT_TYPE_CODES } },
        local ? undefined : this.requestBus,
      );
    }
    if (props.rotationRequested ?? true) {
      this.rotationRequestedRule = rule(
        'RotationRequested',
        'rotor: rotate on a rotor "Rotation Requested" event on the request bus',
        { source: [ROTATION_REQUESTED.source], detailType: [ROTATION_REQUESTED.detailType] },
        this.requestBus,
      );
    }
  }

  /**
   * Bus policy: named senders are allowed; everyone else is denied, even
   * with an IAM grant of their own (a Deny in a resource policy wins).
   * Without named senders, only principals of this account may send (those
   * whose IAM policies grant events:PutEvents on the bus).
   */
  private restrictSenders(senders: string[], forwarderRoleArn?: string): void {
    const account = Stack.of(this).account;
    const arns = senders.filter((s) => s.startsWith('arn:'));
    const accounts = senders.filter((s) => !s.startsWith('arn:'));
    if (senders.length > 0) {
      this.requestBus.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'NamedSendersMayRequestRotation',
          principals: senders.map((s) => (s.startsWith('arn:') ? new iam.ArnPrincipal(s) : new iam.AccountPrincipal(s))),
          actions: ['events:PutEvents'],
          resources: [this.requestBus.eventBusArn],
        }),
      );
    }
    const exemptArns = [...arns, ...(forwarderRoleArn ? [forwarderRoleArn] : [])];
    const exemptAccounts = senders.length === 0 ? [account] : accounts;
    const conditions: Record<string, Record<string, string[]>> = {};
    if (exemptAccounts.length > 0) conditions.StringNotEquals = { 'aws:PrincipalAccount': exemptAccounts };
    if (exemptArns.length > 0) conditions.ArnNotEquals = { 'aws:PrincipalArn': exemptArns };
    this.requestBus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'NobodyElseMayRequestRotation',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.requestBus.eventBusArn],
        conditions,
      }),
    );
  }
}

export interface HealthEventForwarderProps {
  /** ARN of the request bus in the deployment's Region. */
  readonly requestBusArn: string;
  /** Name of the rule and of the role EventBridge puts events on the request bus with (`healthForwarderName`). */
  readonly name: string;
}

/**
 * In us-east-1: forwards AWS Health AWS_RISK_CREDENTIALS_EXPOSED events (which
 * Health delivers in us-east-1 only) to the deployment's request bus in its
 * own Region, where the trigger's Health rule listens.
 * https://docs.aws.amazon.com/health/latest/ug/choosing-a-region.html
 */
export class HealthEventForwarder extends Construct {
  readonly rule: events.Rule;
  readonly role: iam.Role;
  readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: HealthEventForwarderProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.rule = new events.Rule(this, 'Rule', {
      ruleName: props.name,
      description: 'rotor: forward AWS Health AWS_RISK_CREDENTIALS_EXPOSED to the request bus',
      eventPattern: { source: ['aws.health'], detailType: ['AWS Health Event'], detail: { eventTypeCode: HEALTH_EVENT_TYPE_CODES } },
    });
    // Named, not referenced: the rule refers to the role, a Ref back would be a cycle.
    const ruleArn = `arn:${stack.partition}:events:${stack.region}:${stack.account}:rule/${props.name}`;
    this.role = new iam.Role(this, 'Role', {
      roleName: props.name,
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': ruleArn } },
      }),
      description: 'rotor: EventBridge forwards AWS Health events to the request bus',
    });
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['events:PutEvents'], resources: [props.requestBusArn] }));
    this.deadLetterQueue = new TriggerDeadLetterQueue(this, 'DeadLetterQueue').queue;
    this.rule.addTarget(
      new eventTargets.EventBus(events.EventBus.fromEventBusArn(this, 'RequestBus', props.requestBusArn), {
        role: this.role,
        deadLetterQueue: this.deadLetterQueue,
      }),
    );
  }
}
