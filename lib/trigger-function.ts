import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MANAGED_BY_TAG, METRICS_NAMESPACE, ROTOR_ARCHITECTURE, ROTOR_RUNTIME, rotorFunctionCode } from './lambda-bundling';

/** Tag filter in the trigger's input (`{ key, values }`, values OR-ed). */
export interface TagFilter {
  readonly key: string;
  readonly values: string[];
}

export interface TriggerFunctionProps {
  /** Deployment id: the function only rotates secrets tagged `rotor:managed-by` = this. */
  readonly deploymentId: string;
  /**
   * Entry file of the handler, bundled with rotor's esbuild settings (CommonJS, everything bundled,
   * `import()` compiled to `require()`: an `import()` of a module esbuild cannot see is then a
   * `require`, which on Node 24 loads ES modules too, but not one with top-level await).
   * @default lambda/trigger/index.ts
   */
  readonly entry?: string;
  /** Function timeout. @default Duration.minutes(5) */
  readonly timeout?: Duration;
  /** Memory in MB. @default 256 */
  readonly memorySize?: number;
  /** Customer managed keys of the managed secrets (decrypt through Secrets Manager only). @default - none */
  readonly secretKeys?: kms.IKey[];
  /** Secrets to rotate on a GuardDuty IAM credential finding (`ROTOR_TRIGGER_IAM_FINDING_TAGS`). @default - the function's own default */
  readonly iamFindingTags?: TagFilter[];
  /** Secrets to rotate on AWS_RISK_CREDENTIALS_EXPOSED naming no secret (`ROTOR_TRIGGER_HEALTH_TAGS`). @default - the function's own default */
  readonly healthTags?: TagFilter[];
  /** RotateSecret calls per second, below Secrets Manager's quota. @default - the function's default (48) */
  readonly maxTps?: number;
  /**
   * `ROTOR_TRIGGER_COOLDOWN_MINUTES`: a secret rotated by the trigger is not
   * rotated again by another event within this many minutes (0 = off).
   * @default 60
   */
  readonly cooldownMinutes?: number;
  /**
   * `ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT`: an event that resolves to more
   * secrets than this rotates none of them and reports it.
   * @default 50
   */
  readonly maxSecretsPerEvent?: number;
  /** Name of the bus "Rotation Requested" events must arrive on (`ROTOR_REQUEST_BUS_NAME`). @default - none */
  readonly requestBusName?: string;
  /** Powertools log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Retention of the function's log group. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The function EventBridge calls on schedules and security alerts; it calls
 * RotateSecret on the managed secrets an event concerns.
 */
export class TriggerFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly deploymentId: string;
  private readonly startable = new Set<string>();
  private invokeStatement?: iam.PolicyStatement;

  constructor(scope: Construct, id: string, props: TriggerFunctionProps) {
    super(scope, id);
    if (!/^[A-Za-z0-9_.:/=+\-@ ]{1,256}$/.test(props.deploymentId)) {
      throw new Error(`${this.node.path}: deploymentId "${props.deploymentId}" must be 1-256 characters valid in a tag value (letters, digits, spaces, _ . : / = + - @).`);
    }
    const cooldown = props.cooldownMinutes ?? 60;
    if (!Number.isInteger(cooldown) || cooldown < 0 || cooldown > 10080) {
      throw new Error(`${this.node.path}: cooldownMinutes is ${cooldown}; it must be an integer from 0 to 10080 (one week).`);
    }
    const maxSecrets = props.maxSecretsPerEvent ?? 50;
    if (!Number.isInteger(maxSecrets) || maxSecrets < 1 || maxSecrets > 10000) {
      throw new Error(`${this.node.path}: maxSecretsPerEvent is ${maxSecrets}; it must be an integer from 1 to 10000.`);
    }
    if (props.maxTps !== undefined && !(props.maxTps >= 0.1 && props.maxTps <= 1000)) {
      throw new Error(`${this.node.path}: maxTps is ${props.maxTps}; it must be between 0.1 and 1000 (Secrets Manager allows 50 RotateSecret calls per second).`);
    }
    this.deploymentId = props.deploymentId;
    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR });
    this.role = new iam.Role(this, 'Role', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description: 'rotor trigger function' });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
    );
    // ListSecrets and BatchGetSecretValue have no resource type: "*" is the only
    // possible resource. BatchGetSecretValue still needs GetSecretValue on each
    // secret, which the tag-scoped statement below limits to managed secrets.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:ListSecrets', 'secretsmanager:BatchGetSecretValue'], resources: ['*'] }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue', 'secretsmanager:RotateSecret'],
        resources: [`arn:${Aws.PARTITION}:secretsmanager:${Aws.REGION}:${Aws.ACCOUNT_ID}:secret:*`],
        // The global aws:ResourceTag key: the Service Authorization Reference lists it for
        // DescribeSecret, GetSecretValue and RotateSecret, while secretsmanager:ResourceTag
        // appears there only as the literal "tag-key" (and policy evaluators reject it).
        // https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_BY_TAG}`]: props.deploymentId } },
      }),
    );
    for (const key of props.secretKeys ?? []) this.grantDecryptThroughSecretsManager(key);

    const environment: Record<string, string> = {
      ROTOR_DEPLOYMENT_ID: props.deploymentId,
      ROTOR_TRIGGER_COOLDOWN_MINUTES: String(cooldown),
      ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: String(maxSecrets),
      POWERTOOLS_SERVICE_NAME: 'rotor-trigger',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.iamFindingTags) environment.ROTOR_TRIGGER_IAM_FINDING_TAGS = JSON.stringify(props.iamFindingTags);
    if (props.healthTags) environment.ROTOR_TRIGGER_HEALTH_TAGS = JSON.stringify(props.healthTags);
    if (props.maxTps !== undefined) environment.ROTOR_TRIGGER_MAX_TPS = String(props.maxTps);
    if (props.requestBusName !== undefined) environment.ROTOR_REQUEST_BUS_NAME = props.requestBusName;

    this.function = new NodejsFunction(this, 'Function', {
      ...rotorFunctionCode('trigger', props.entry),
      runtime: ROTOR_RUNTIME,
      architecture: ROTOR_ARCHITECTURE,
      timeout: props.timeout ?? Duration.minutes(5),
      memorySize: props.memorySize ?? 256,
      description: 'rotor: rotates managed secrets on schedules and security alerts',
      role: this.role,
      logGroup: this.logGroup,
      environment,
    });
  }

  /**
   * Lets RotateSecret (called by this function) start `fn`: Secrets Manager
   * requires the caller of RotateSecret to hold lambda:InvokeFunction on the
   * secret's rotation function.
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_RotateSecret.html
   */
  grantStartRotation(fn: lambda.IFunction): void {
    if (this.startable.has(fn.node.path)) return;
    this.startable.add(fn.node.path);
    if (!this.invokeStatement) {
      this.invokeStatement = new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'] });
      this.role.addToPrincipalPolicy(this.invokeStatement);
    }
    this.invokeStatement.addResources(fn.functionArn);
  }

  /** Lets the function read secrets encrypted with `key`, through Secrets Manager only. */
  grantDecryptThroughSecretsManager(key: kms.IKey): void {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  metricErrors(): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' });
  }

  metricThrottles(): cloudwatch.Metric {
    return this.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' });
  }
}
