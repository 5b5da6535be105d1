import { Annotations, CfnOutput, Duration, Stack, type StackProps, Tags, Token, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { TriggerDeadLetterQueue } from './dead-letter-queue';
import { DatabaseRotation, defaultPort } from './database-rotation';
import { ExampleDatabase } from './example-database';
import { MANAGED_BY_TAG } from './lambda-bundling';
import { GroupRotationSchedule } from './group-rotation-schedule';
import { RotationFunction, type RotationStrategy } from './rotation-function';
import { RotationMonitoring } from './rotation-monitoring';
import { passwordPolicyOf, type RotorConfig } from './rotor-config';
import { HEALTH_GLOBAL_REGION, HealthEventForwarder, healthForwarderName, requestBusName, SecurityAlertRotation } from './security-alert-rotation';
import { TriggerFunction } from './trigger-function';

export interface RotorStackProps extends StackProps {
  /** The validated rotor.config.json. */
  readonly config: RotorConfig;
  /** Entry of the rotation function. @default lambda/rotation/index.ts */
  readonly rotationEntry?: string;
  /** Entry of the trigger function. @default lambda/trigger/index.ts */
  readonly triggerEntry?: string;
}

/**
 * The deployable unit: rotation function(s) (one per strategy in use), the
 * trigger function, per-secret rotations, group schedules, security-alert
 * rules and monitoring, composed from rotor.config.json.
 */
export class RotorStack extends Stack {
  /** The single-user rotation function (always present). */
  readonly rotationFunction: RotationFunction;
  readonly rotationFunctions = new Map<RotationStrategy, RotationFunction>();
  readonly triggerFunction: TriggerFunction;
  readonly rotations: DatabaseRotation[] = [];
  readonly groupSchedules: GroupRotationSchedule[] = [];
  readonly securityAlerts?: SecurityAlertRotation;
  readonly monitoring: RotationMonitoring;
  readonly deadLetterQueue: TriggerDeadLetterQueue;
  readonly example?: ExampleDatabase;
  /** The us-east-1 stack forwarding AWS Health events, when the Health rule is on outside us-east-1. */
  readonly healthForwarderStack?: Stack;
  readonly healthForwarder?: HealthEventForwarder;

  constructor(scope: Construct, id: string, props: RotorStackProps) {
    super(scope, id, props);
    const config = props.config;
    const fnConfig = config.rotationFunction ?? {};

    let vpc: ec2.IVpc | undefined;
    let vpcSubnets: ec2.SubnetSelection | undefined;
    let securityGroups: ec2.ISecurityGroup[] | undefined;
    if (config.example) {
      this.example = new ExampleDatabase(this, 'Example');
      vpc = this.example.vpc;
    } else if (config.network) {
      const n = config.network;
      vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', { vpcId: n.vpcId, availabilityZones: n.availabilityZones, privateSubnetIds: n.subnetIds });
      // Route tables are never read: rotor adds no gateway endpoints or routes.
      Annotations.of(vpc).acknowledgeWarning('@aws-cdk/aws-ec2:noSubnetRouteTableId', 'rotor places functions in the subnets and reads no route table.');
      securityGroups = n.securityGroupIds?.map((sg, i) => ec2.SecurityGroup.fromSecurityGroupId(this, `SecurityGroup${i}`, sg, { mutable: true }));
    }

    const functionFor = (strategy: RotationStrategy): RotationFunction => {
      let fn = this.rotationFunctions.get(strategy);
      if (!fn) {
        fn = new RotationFunction(this, strategy === 'single-user' ? 'RotationFunction' : `RotationFunction-${strategy}`, {
          entry: props.rotationEntry,
          strategy,
          vpc,
          vpcSubnets,
          securityGroups,
          // The example VPC has no internet route; a first function creates the endpoint, later ones reuse it.
          createSecretsManagerEndpoint: this.rotationFunctions.size === 0 && (config.example || config.network?.createSecretsManagerEndpoint) ? true : undefined,
          secretsManagerEndpoint: this.rotationFunctions.size > 0 ? this.rotationFunction?.secretsManagerEndpoint as ec2.InterfaceVpcEndpoint | undefined : undefined,
          timeout: fnConfig.timeoutSeconds !== undefined ? Duration.seconds(fnConfig.timeoutSeconds) : undefined,
          memorySize: fnConfig.memoryMb,
          tlsMode: fnConfig.tlsMode,
          allowTargetChange: fnConfig.allowTargetChange,
          tlsCaFile: fnConfig.tlsCaFile,
          passwordPolicy: passwordPolicyOf(fnConfig),
          connectTimeout: fnConfig.connectTimeoutMs !== undefined ? Duration.millis(fnConfig.connectTimeoutMs) : undefined,
          statementTimeout: fnConfig.statementTimeoutMs !== undefined ? Duration.millis(fnConfig.statementTimeoutMs) : undefined,
          logRetention: fnConfig.logRetentionDays as logs.RetentionDays | undefined,
        });
        this.rotationFunctions.set(strategy, fn);
      }
      return fn;
    };
    this.rotationFunction = functionFor('single-user');

    const secretKeys: kms.IKey[] = [];
    for (const r of config.rotations ?? []) {
      const key = r.kmsKeyArn ? kms.Key.fromKeyArn(this, `${r.name}Key`, r.kmsKeyArn) : undefined;
      if (key) secretKeys.push(key);
      const secret = secretsmanager.Secret.fromSecretAttributes(this, `${r.name}Secret`, { secretCompleteArn: r.secretArn, encryptionKey: key });
      const masterSecret = r.masterSecretArn
        ? secretsmanager.Secret.fromSecretAttributes(this, `${r.name}MasterSecret`, {
            secretCompleteArn: r.masterSecretArn,
            encryptionKey: r.masterKmsKeyArn ? kms.Key.fromKeyArn(this, `${r.name}MasterKey`, r.masterKmsKeyArn) : undefined,
          })
        : undefined;
      const database = r.databaseSecurityGroupId
        ? new ec2.Connections({
            securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(this, `${r.name}DatabaseSecurityGroup`, r.databaseSecurityGroupId)],
            defaultPort: ec2.Port.tcp(r.port ?? defaultPort(r.engine)),
          })
        : undefined;
      const s = r.schedule;
      this.rotations.push(
        new DatabaseRotation(this, `Rotation-${r.name}`, {
          secret,
          masterSecret,
          rotationFunction: functionFor(r.strategy ?? 'single-user'),
          engine: r.engine,
          strategy: r.strategy,
          database,
          port: r.port,
          dbInstanceArn: r.dbInstanceArn,
          dbClusterArn: r.dbClusterArn,
          automaticallyAfter: s.days !== undefined ? Duration.days(s.days) : s.hours !== undefined ? Duration.hours(s.hours) : undefined,
          scheduleExpression: s.expression,
          window: s.windowHours !== undefined ? Duration.hours(s.windowHours) : undefined,
          rotateImmediatelyOnUpdate: s.rotateImmediately,
          deploymentId: config.deploymentId,
        }),
      );
    }

    if (this.example) {
      const instance = this.example.instance;
      this.rotations.push(
        new DatabaseRotation(this, 'Rotation-example', {
          secret: instance.secret!,
          rotationFunction: this.rotationFunction,
          engine: 'postgres',
          database: instance,
          scheduleExpression: 'cron(0 4 ? * SUN *)',
          window: Duration.hours(3),
        }),
      );
      Tags.of(this.example.secret).add(MANAGED_BY_TAG, config.deploymentId);
    }

    const alerts = config.securityAlerts ?? {};
    const alertsEnabled = alerts.enabled ?? true;
    const busName = requestBusName(config.deploymentId);
    this.triggerFunction = new TriggerFunction(this, 'TriggerFunction', {
      deploymentId: config.deploymentId,
      entry: props.triggerEntry,
      secretKeys,
      cooldownMinutes: alerts.cooldownMinutes,
      maxSecretsPerEvent: alerts.maxSecretsPerEvent,
      requestBusName: alertsEnabled ? busName : undefined,
      healthTags: alerts.healthTags,
      iamFindingTags: alerts.iamFindingTags,
    });
    // RotateSecret, called by the trigger, needs lambda:InvokeFunction on the secret's rotation function.
    for (const fn of this.rotationFunctions.values()) this.triggerFunction.grantStartRotation(fn.function);
    this.deadLetterQueue = new TriggerDeadLetterQueue(this, 'TriggerDeadLetterQueue');

    for (const g of config.groupSchedules ?? []) {
      this.groupSchedules.push(
        new GroupRotationSchedule(this, `GroupSchedule-${g.name}`, {
          triggerFunction: this.triggerFunction,
          cron: g.cron,
          timeZone: g.timeZone,
          flexibleWindow: g.flexibleWindowMinutes !== undefined ? Duration.minutes(g.flexibleWindowMinutes) : undefined,
          tagFilters: g.tagFilters,
          reason: g.reason,
          deadLetterQueue: this.deadLetterQueue.queue,
        }),
      );
    }

    if (alertsEnabled) {
      const forward = alerts.awsHealth === true && this.region !== HEALTH_GLOBAL_REGION;
      if (forward && (Token.isUnresolved(this.region) || Token.isUnresolved(this.account))) {
        throw new Error(`${this.node.path}: securityAlerts.healthTags forwards AWS Health events from ${HEALTH_GLOBAL_REGION}, which needs a concrete account and Region: set $.account and $.region (or CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION).`);
      }
      const forwarderName = healthForwarderName(config.deploymentId);
      this.securityAlerts = new SecurityAlertRotation(this, 'SecurityAlerts', {
        triggerFunction: this.triggerFunction,
        guardDutyMinSeverity: alerts.guardDutyMinSeverity,
        guardDutyRdsFindingPrefixes: alerts.guardDutyRdsFindingPrefixes,
        guardDutyIamFindings: alerts.iamFindingTags !== undefined,
        guardDutyIamFindingPrefixes: alerts.guardDutyIamFindingPrefixes,
        securityHubSeverityLabels: alerts.securityHubSeverityLabels,
        securityHubResourceTypes: alerts.securityHubResourceTypes,
        awsHealth: alerts.awsHealth,
        requestBusName: busName,
        requestSenders: alerts.requestSenders,
        healthForwarderRoleArn: forward ? `arn:${this.partition}:iam::${this.account}:role/${forwarderName}` : undefined,
        deadLetterQueue: this.deadLetterQueue.queue,
      });
      if (forward) {
        // Health delivers AWS_RISK_CREDENTIALS_EXPOSED in us-east-1 only: a small stack there forwards it.
        this.healthForwarderStack = new Stack(scope, `${id}-HealthForwarder`, {
          env: { account: this.account, region: HEALTH_GLOBAL_REGION },
          description: `rotor: forwards AWS Health credential exposure events to ${this.region} (${config.deploymentId})`,
        });
        this.healthForwarder = new HealthEventForwarder(this.healthForwarderStack, 'HealthForwarder', {
          requestBusArn: `arn:${this.partition}:events:${this.region}:${this.account}:event-bus/${busName}`,
          name: forwarderName,
        });
      }
    }

    this.monitoring = new RotationMonitoring(this, 'Monitoring', {
      rotationFunctions: [...this.rotationFunctions.values()],
      triggerFunction: this.triggerFunction,
      deadLetterQueues: [this.deadLetterQueue.queue],
      alarmEmail: config.monitoring?.alarmEmail,
      dashboardName: config.monitoring?.dashboardName,
    });

    this.addOutputs();
    this.acknowledgeNagFindings();
  }

  /** What an operator needs after deploying: function names and ARNs, log groups, topic, dashboard, request bus. */
  private addOutputs(): void {
    const out = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };
    for (const [strategy, fn] of this.rotationFunctions) {
      const suffix = strategy === 'single-user' ? '' : strategy.replace(/(^|-)([a-z])/g, (_m, _d, c: string) => c.toUpperCase());
      out(`RotationFunction${suffix}Name`, fn.function.functionName, `rotation function (${strategy})`);
      out(`RotationFunction${suffix}Arn`, fn.function.functionArn, `rotation function (${strategy}) ARN`);
      out(`RotationFunction${suffix}LogGroup`, fn.logGroup.logGroupName, `log group of the rotation function (${strategy})`);
    }
    out('TriggerFunctionName', this.triggerFunction.function.functionName, 'trigger function');
    out('TriggerFunctionArn', this.triggerFunction.function.functionArn, 'trigger function ARN');
    out('TriggerFunctionLogGroup', this.triggerFunction.logGroup.logGroupName, 'log group of the trigger function');
    out('AlarmTopicArn', this.monitoring.topic.topicArn, 'SNS topic of rotation alarms');
    out('DashboardName', this.monitoring.dashboard.dashboardName, 'CloudWatch dashboard');
    if (this.securityAlerts) {
      out('RequestBusName', this.securityAlerts.requestBus.eventBusName, 'event bus for "Rotation Requested" events (aws events put-events --entries ... EventBusName=<this>)');
      out('RequestBusArn', this.securityAlerts.requestBus.eventBusArn, 'ARN of the request bus');
    }
  }

  /** cdk-nag findings that are the design, each with the reason. */
  private acknowledgeNagFindings(): void {
    for (const fn of this.rotationFunctions.values()) {
      const ack = (ruleId: string, reason: string): void => Validations.of(fn.role).acknowledge({ id: ruleId, reason });
      if (fn.isInVpc) {
        ack(
          'AwsSolutions-IAM5[Resource::*]',
          'ec2:DescribeNetworkInterfaces/DescribeSubnets (VPC placement) work only on "*" per the Lambda documentation. Every other action of the role is scoped to a secret, key, database, log group or network-interface ARN (the function generates passwords itself: no GetRandomPassword).',
        );
        ack(
          'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
          'Lambda creates and deletes the function\'s VPC network interfaces with the execution role; their ids are not known in advance. Creation is also limited to the function\'s subnets and security groups (https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions).',
        );
      }
    }
    const trigger = this.triggerFunction.role;
    Validations.of(trigger).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'secretsmanager:ListSecrets and BatchGetSecretValue have no resource type and can only be granted on "*"; they return metadata, and BatchGetSecretValue still needs GetSecretValue on each secret, which is limited to secrets tagged rotor:managed-by with this deployment id.',
    });
    Validations.of(trigger).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:*]',
      reason: 'The trigger rotates whichever secrets carry the tag rotor:managed-by = this deployment id; the statement has an aws:ResourceTag condition, so the ARN wildcard reaches only those secrets.',
    });
  }
}
