import { Aws, Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from './lambda-bundling';
import type { RotationFunction } from './rotation-function';
import type { TriggerFunction } from './trigger-function';

/**
 * Secrets Manager events that mean a rotation did not finish, including the
 * failed test rotation Secrets Manager runs when a schedule is configured.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/monitoring-eventbridge.html
 */
export const ROTATION_FAILURE_EVENTS = ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'];

export interface RotationMonitoringProps {
  /** Rotation functions to alarm on. */
  readonly rotationFunctions: RotationFunction[];
  /** The trigger function to alarm on. @default - none */
  readonly triggerFunction?: TriggerFunction;
  /** Dead-letter queues of the trigger's rules and schedules; any message alarms. @default - none */
  readonly deadLetterQueues?: sqs.IQueue[];
  /** Address subscribed to the alarm topic (confirm the e-mail AWS sends). @default - no subscription */
  readonly alarmEmail?: string;
  /** Dashboard name. @default - generated */
  readonly dashboardName?: string;
}

/**
 * Tells people when rotation breaks: an encrypted SNS topic fed by Secrets
 * Manager's RotationFailed/RotationAbandoned events and by alarms on both
 * functions and the dead-letter queues, plus a dashboard.
 */
export class RotationMonitoring extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly rotationFailedRule: events.Rule;
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RotationMonitoringProps) {
    super(scope, id);
    if (props.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(props.alarmEmail)) {
      throw new Error(`${this.node.path}: alarmEmail "${props.alarmEmail}" is not an e-mail address.`);
    }
    if (props.rotationFunctions.length === 0) throw new Error(`${this.node.path}: rotationFunctions is empty; there is nothing to monitor.`);
    const stack = Stack.of(this);
    const account = stack.account;

    // The topic has a fixed name so the key policy can name it without a
    // reference (the topic already refers to the key: a Ref back would be a cycle).
    const topicName = `${stack.stackName}-rotor-alarms`.slice(0, 256);
    const topicArn = `arn:${Aws.PARTITION}:sns:${Aws.REGION}:${Aws.ACCOUNT_ID}:${topicName}`;
    this.key = new kms.Key(this, 'TopicKey', { enableKeyRotation: true, description: 'rotor: encrypts the rotation alarm topic' });
    // EventBridge and CloudWatch publish to an encrypted topic only if they may
    // use its key; both only for this topic (SNS always puts the topic ARN in
    // the encryption context). Who may publish (this rule, these alarms, this
    // account: aws:SourceArn/aws:SourceAccount) is decided by the topic policy:
    // the KMS request SNS makes on a service's behalf is not documented to
    // carry those keys for every service (for EventBridge it does not), and a
    // condition on a missing key would drop every notification silently.
    // https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgePublishesToTheAlarmTopic',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
      }),
    );
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToTheAlarmTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'kms:EncryptionContext:aws:sns:topicArn': topicArn } },
      }),
    );
    this.topic = new sns.Topic(this, 'Topic', { topicName, masterKey: this.key, enforceSSL: true, displayName: 'rotor rotation alarms' });
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    this.rotationFailedRule = new events.Rule(this, 'RotationFailed', {
      description: 'rotor: Secrets Manager reports a failed, abandoned or failed test rotation',
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['AWS Service Event via CloudTrail'],
        detail: { eventName: ROTATION_FAILURE_EVENTS },
      },
    });
    // EventBridge may publish for this rule only (aws:SourceArn, aws:SourceAccount),
    // not for any rule of any account as SnsTopic's grant writes it.
    const topic = this.topic;
    this.rotationFailedRule.addTarget({
      bind: (rule) => {
        topic.addToResourcePolicy(
          new iam.PolicyStatement({
            sid: 'EventBridgeRulePublishes',
            principals: [new iam.ServicePrincipal('events.amazonaws.com')],
            actions: ['sns:Publish'],
            resources: [topic.topicArn],
            conditions: { StringEquals: { 'aws:SourceAccount': account }, ArnEquals: { 'aws:SourceArn': (rule as events.IRule).ruleArn } },
          }),
        );
        return { arn: topic.topicArn };
      },
    });

    const action = new cwActions.SnsAction(this.topic);
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, description: string): void => {
      const a = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      a.addAlarmAction(action);
      this.alarms.push(a);
    };
    props.rotationFunctions.forEach((fn, i) => {
      const name = `Rotation${i === 0 ? '' : i + 1}`;
      alarm(`${name}Errors`, fn.metricErrors(), `rotor rotation function (${fn.strategy}) failed a step. See docs/operations.md "Rotation function errors".`);
      alarm(`${name}Throttles`, fn.metricThrottles(), `rotor rotation function (${fn.strategy}) was throttled. See docs/operations.md "Throttles".`);
    });
    if (props.triggerFunction) {
      alarm('TriggerErrors', props.triggerFunction.metricErrors(), 'rotor trigger function failed. See docs/operations.md "Trigger function errors".');
      alarm('TriggerThrottles', props.triggerFunction.metricThrottles(), 'rotor trigger function was throttled. See docs/operations.md "Throttles".');
    }
    (props.deadLetterQueues ?? []).forEach((q, i) => {
      alarm(
        `DeadLetters${i === 0 ? '' : i + 1}`,
        q.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        'An event or schedule could not be delivered to the rotor trigger function. See docs/operations.md "Dead letters".',
      );
    });

    // A topic policy replaces SNS's default one, so CloudWatch alarms need a
    // statement of their own: these alarms, this account.
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account }, ArnEquals: { 'aws:SourceArn': this.alarms.map((a) => a.alarmArn) } },
      }),
    );

    const search = (metricName: string, stat: string, label: string): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('Namespace="${METRICS_NAMESPACE}" MetricName="${metricName}"', '${stat}', 300)`,
        label,
        period: Duration.minutes(5),
        usingMetrics: {},
      });
    const fnWidgets = [...props.rotationFunctions.map((f) => f.function), ...(props.triggerFunction ? [props.triggerFunction.function] : [])];
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Rotation steps succeeded', left: [search('RotationStepSucceeded', 'Sum', 'succeeded')], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Rotation steps failed', left: [search('RotationStepFailed', 'Sum', 'failed')], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Rotation step duration (ms, p95)', left: [search('RotationStepDurationMs', 'p95', 'p95')], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Trigger: secrets rotated', left: [search('TriggerSecretsRotated', 'Sum', 'rotated')], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Trigger: secrets skipped', left: [search('TriggerSecretsSkipped', 'Sum', 'skipped')], width: 8 }),
          new cloudwatch.GraphWidget({ title: 'Trigger: secrets failed', left: [search('TriggerSecretsFailed', 'Sum', 'failed')], width: 8 }),
        ],
        [
          new cloudwatch.GraphWidget({
            title: 'Function errors and throttles',
            left: fnWidgets.flatMap((f) => [f.metricErrors({ statistic: 'Sum' }), f.metricThrottles({ statistic: 'Sum' })]),
            width: 12,
          }),
          new cloudwatch.GraphWidget({ title: 'Function duration (p95)', left: fnWidgets.map((f) => f.metricDuration({ statistic: 'p95' })), width: 12 }),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'rotor alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }
}
