import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventTargets from 'aws-cdk-lib/aws-events-targets';
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
export const HEALTH_EVENT_TYPE_CODES = ['AWS_RISK_CREDENTIALS_EXPOSED'];
/** The "rotate now" event operators (or their tooling) put on the default bus. */
export const ROTATION_REQUESTED = { source: 'rotor', detailType: 'Rotation Requested' } as const;

export interface SecurityAlertRotationProps {
  /** The trigger function the rules invoke. */
  readonly triggerFunction: TriggerFunction;
  /** GuardDuty finding type prefixes about database credentials. @default ['CredentialAccess:RDS/'] */
  readonly guardDutyRdsFindingPrefixes?: string[];
  /** GuardDuty finding type prefixes about IAM credential exfiltration; [] disables. @default ['UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration'] */
  readonly guardDutyIamFindingPrefixes?: string[];
  /** Lowest GuardDuty severity (1-10) that rotates. @default 7 (High) */
  readonly guardDutyMinSeverity?: number;
  /** Security Hub severity labels that rotate; [] disables the Security Hub rule. @default ['HIGH', 'CRITICAL'] */
  readonly securityHubSeverityLabels?: string[];
  /** Security Hub resource types that rotate. @default ['AwsSecretsManagerSecret', 'AwsRdsDbInstance'] */
  readonly securityHubResourceTypes?: string[];
  /** Rotate on AWS Health AWS_RISK_CREDENTIALS_EXPOSED. @default true */
  readonly awsHealth?: boolean;
  /** Rotate on `rotor` / `Rotation Requested` events. @default true */
  readonly rotationRequested?: boolean;
  /** Bus of the `Rotation Requested` events. @default - the default event bus */
  readonly eventBus?: events.IEventBus;
  /** Delivery attempts beyond the first. @default 4 */
  readonly retryAttempts?: number;
  /** How long EventBridge keeps retrying. @default Duration.hours(2) */
  readonly maxEventAge?: Duration;
  /** Queue for events never delivered. @default - a new encrypted queue */
  readonly deadLetterQueue?: sqs.IQueue;
}

/**
 * EventBridge rules that rotate secrets when a security service says
 * credentials may be exposed, plus the operators' "rotate now" event.
 */
export class SecurityAlertRotation extends Construct {
  readonly rules: events.Rule[] = [];
  readonly guardDutyRule: events.Rule;
  readonly securityHubRule?: events.Rule;
  readonly healthRule?: events.Rule;
  readonly rotationRequestedRule?: events.Rule;
  readonly deadLetterQueue: sqs.IQueue;

  constructor(scope: Construct, id: string, props: SecurityAlertRotationProps) {
    super(scope, id);
    const fail = (msg: string): never => {
      throw new Error(`${this.node.path}: ${msg}`);
    };
    const minSeverity = props.guardDutyMinSeverity ?? 7;
    if (!(minSeverity >= 1 && minSeverity <= 10)) fail(`guardDutyMinSeverity is ${minSeverity}; GuardDuty severities run from 1 to 10.`);
    const prefixes = [...(props.guardDutyRdsFindingPrefixes ?? DEFAULT_GUARDDUTY_RDS_PREFIXES), ...(props.guardDutyIamFindingPrefixes ?? DEFAULT_GUARDDUTY_IAM_PREFIXES)];
    if (prefixes.length === 0 || prefixes.some((p) => p.trim() === '')) fail('GuardDuty finding type prefixes must be non-empty strings, and at least one is needed.');
    const labels = props.securityHubSeverityLabels ?? DEFAULT_SECURITY_HUB_SEVERITIES;
    const known = ['INFORMATIONAL', 'LOW', 'MEDIUM', 'HIGH', 'CRITICAL'];
    for (const l of labels) if (!known.includes(l)) fail(`securityHubSeverityLabels has "${l}", not one of ${known.join(', ')}.`);
    const resourceTypes = props.securityHubResourceTypes ?? DEFAULT_SECURITY_HUB_RESOURCE_TYPES;
    if (labels.length > 0 && resourceTypes.length === 0) fail('securityHubResourceTypes is empty; name at least one resource type or disable the rule with securityHubSeverityLabels: [].');
    const retryAttempts = props.retryAttempts ?? 4;
    if (!Number.isInteger(retryAttempts) || retryAttempts < 0 || retryAttempts > 185) fail(`retryAttempts is ${retryAttempts}; it must be 0-185.`);

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

    this.guardDutyRule = rule('GuardDutyFindings', `rotor: rotate on GuardDuty credential findings, severity >= ${minSeverity}`, {
      source: ['aws.guardduty'],
      detailType: ['GuardDuty Finding'],
      detail: {
        type: prefixes.map((prefix) => ({ prefix })),
        severity: [{ numeric: ['>=', minSeverity] }],
      },
    });
    if (labels.length > 0) {
      this.securityHubRule = rule('SecurityHubFindings', `rotor: rotate on Security Hub findings (${labels.join(', ')})`, {
        source: ['aws.securityhub'],
        detailType: ['Security Hub Findings - Imported'],
        detail: {
          findings: {
            Severity: { Label: labels },
            Resources: { Type: resourceTypes },
            RecordState: ['ACTIVE'],
            Workflow: { Status: ['NEW'] },
          },
        },
      });
    }
    if (props.awsHealth ?? true) {
      this.healthRule = rule('HealthCredentialsExposed', 'rotor: rotate on AWS Health AWS_RISK_CREDENTIALS_EXPOSED', {
        source: ['aws.health'],
        detailType: ['AWS Health Event'],
        detail: { eventTypeCode: HEALTH_EVENT_TYPE_CODES },
      });
    }
    if (props.rotationRequested ?? true) {
      this.rotationRequestedRule = rule(
        'RotationRequested',
        'rotor: rotate on a rotor "Rotation Requested" event',
        { source: [ROTATION_REQUESTED.source], detailType: [ROTATION_REQUESTED.detailType] },
        props.eventBus,
      );
    }
  }
}
