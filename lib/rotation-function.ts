import { Aws, Duration, Fn, Lazy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, ROTATED_TARGET_TAG, ROTOR_ARCHITECTURE, ROTOR_RUNTIME, rotorFunctionCode } from './lambda-bundling';

/** How the rotation function changes a password (`ROTOR_STRATEGY`). */
export type RotationStrategy = 'single-user' | 'alternating-users' | 'rds-master';
export const ROTATION_STRATEGIES: readonly RotationStrategy[] = ['single-user', 'alternating-users', 'rds-master'];

/** TLS modes, weakest last (`ROTOR_TLS_MODE`: the deployment-wide floor). */
export type TlsMode = 'verify-full' | 'require' | 'disable';
export const TLS_MODES: readonly TlsMode[] = ['verify-full', 'require', 'disable'];

/** Password policy of the passwords the function generates, with GetRandomPassword's semantics (`ROTOR_PASSWORD_LENGTH`, `ROTOR_EXCLUDE_*`). */
export interface PasswordPolicy {
  /** @default 32 */
  readonly length?: number;
  /** Characters the password must not contain; `''` allows all. @default - the engine's default set (PostgreSQL ``:/@"'\``, MySQL ``/@"'\``) */
  readonly excludeCharacters?: string;
  /** @default false */
  readonly excludeNumbers?: boolean;
  /** @default false */
  readonly excludePunctuation?: boolean;
  /** @default false */
  readonly excludeUppercase?: boolean;
  /** @default false */
  readonly excludeLowercase?: boolean;
  /** @default true */
  readonly requireEachIncludedType?: boolean;
}

export interface RotationFunctionProps {
  /**
   * Entry file of the handler, bundled with rotor's esbuild settings (CommonJS, everything bundled,
   * `import()` compiled to `require()`: an `import()` of a module esbuild cannot see is then a
   * `require`, which on Node 24 loads ES modules too, but not one with top-level await).
   * @default lambda/rotation/index.ts
   */
  readonly entry?: string;
  /** Rotation strategy of every secret this function rotates. @default 'single-user' */
  readonly strategy?: RotationStrategy;
  /**
   * Function timeout. A rotation step does 0.1-0.2 s of database work; RDS
   * waits (rds-master) take longer and are bounded inside the function.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /** Memory in MB (peak RSS measured at ~77 MB). @default 256 */
  readonly memorySize?: number;
  /** VPC to place the function in; needed to reach a private database. @default - not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** Subnets within `vpc`. @default - the VPC's private subnets (isolated when there are none) */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups. @default - a new security group with all outbound traffic allowed */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Create a Secrets Manager interface VPC endpoint (private DNS) in `vpc`, for
   * subnets without a route to the internet. Mutually exclusive with `secretsManagerEndpoint`.
   * @default false
   */
  readonly createSecretsManagerEndpoint?: boolean;
  /**
   * An existing Secrets Manager interface endpoint the function reaches. When
   * it has private DNS the SDK finds it by itself; otherwise set
   * `secretsManagerEndpointPrivateDns: false` and the function gets
   * `AWS_ENDPOINT_URL_SECRETS_MANAGER` pointing at the endpoint's DNS name
   * (an `InterfaceVpcEndpoint` of this app only: an imported endpoint has no
   * DNS entries to read, so it must have private DNS).
   * @default - none
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /** Whether `secretsManagerEndpoint` has private DNS enabled. @default true */
  readonly secretsManagerEndpointPrivateDns?: boolean;
  /** Password policy. @default - 32 characters, all types, engine default exclusions */
  readonly passwordPolicy?: PasswordPolicy;
  /**
   * Deployment-wide TLS floor (`ROTOR_TLS_MODE`): the weakest TLS mode any
   * rotation of this function may use. A secret's `ssl` field may raise it
   * (e.g. `require` -> `verify-full`) but never lower it; a secret asking for
   * less is refused. Plaintext is never a fallback.
   * @default 'verify-full'
   */
  readonly tlsMode?: TlsMode;
  /**
   * `ROTOR_ALLOW_TARGET_CHANGE`: let a rotation proceed when the secret now
   * names a different host, port, user or database than the target it was
   * last rotated against (recorded in the secret's `rotor:rotated-target`
   * tag). Off, such a rotation is refused, so a secret edited to point at
   * another server cannot make the function change a password there.
   * @default false
   */
  readonly allowTargetChange?: boolean;
  /** PEM bundle in the deployment package for verify-full. @default - Lambda's /var/runtime/ca-cert.pem (includes the RDS CAs) */
  readonly tlsCaFile?: string;
  /** Database connect timeout. @default Duration.seconds(5) */
  readonly connectTimeout?: Duration;
  /** Statement and lock timeout. @default Duration.seconds(10) */
  readonly statementTimeout?: Duration;
  /** Powertools log level. @default 'INFO' */
  readonly logLevel?: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Retention of the function's log group. @default logs.RetentionDays.ONE_YEAR */
  readonly logRetention?: logs.RetentionDays;
}

/** Where a rotation using the rds-master strategy may change the master password. */
export interface RdsMasterTarget {
  /** ARN of the DB instance. */
  readonly dbInstanceArn?: string;
  /** ARN of the DB cluster. */
  readonly dbClusterArn?: string;
}

/**
 * The Lambda function Secrets Manager calls with the four rotation steps.
 * One function serves one strategy; grant it each secret with `grantRotate`.
 */
export class RotationFunction extends Construct implements ec2.IConnectable {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly strategy: RotationStrategy;
  readonly connections: ec2.Connections;
  /** Whether the function runs in a VPC (and so has security groups). */
  readonly isInVpc: boolean;
  /** The Secrets Manager interface endpoint, when created or given. */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  private readonly granted = new Set<string>();
  private readonly grantedKeys = new Set<string>();
  private readonly rdsStatements: { instances?: iam.PolicyStatement; clusters?: iam.PolicyStatement } = {};
  private readonly rdsResourceArns: string[] = [];
  /** Master secrets granted by grantRotate (alternating users), for `ROTOR_MASTER_SECRET_ARNS`. */
  private readonly masterSecretArns: string[] = [];
  private readonly invokePermissionsBySecret = new Map<string, lambda.CfnPermission>();
  private tagStatement?: iam.PolicyStatement;
  /** The password policy the function generates passwords with. */
  readonly passwordPolicy: PasswordPolicy;

  constructor(scope: Construct, id: string, props: RotationFunctionProps = {}) {
    super(scope, id);
    this.strategy = props.strategy ?? 'single-user';
    validateProps(this, props);
    this.passwordPolicy = props.passwordPolicy ?? {};
    this.node.addValidation({ validate: () => this.validatePolicySize() });
    const timeout = props.timeout ?? Duration.seconds(30);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', { retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR });
    // A role of our own: logs only to its log group, no AWSLambdaBasicExecutionRole (logs:* on every group).
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `rotor rotation function (${this.strategy})`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [this.logGroup.logGroupArn] }),
    );

    const environment: Record<string, string> = {
      ROTOR_STRATEGY: this.strategy,
      ROTOR_TLS_MODE: props.tlsMode ?? 'verify-full',
      ROTOR_ALLOW_TARGET_CHANGE: String(props.allowTargetChange ?? false),
      ...passwordEnvironment(props.passwordPolicy),
      ROTOR_CONNECT_TIMEOUT_MS: String((props.connectTimeout ?? Duration.seconds(5)).toMilliseconds()),
      ROTOR_STATEMENT_TIMEOUT_MS: String((props.statementTimeout ?? Duration.seconds(10)).toMilliseconds()),
      POWERTOOLS_SERVICE_NAME: 'rotor-rotation',
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    };
    if (props.tlsCaFile !== undefined) environment.ROTOR_TLS_CA_FILE = props.tlsCaFile;
    // rds-master: the instances/clusters the function may change a master password
    // of; the function refuses any other identifier. Filled as rotations are added.
    if (this.strategy === 'rds-master') {
      environment.ROTOR_RDS_RESOURCE_ARNS = Lazy.string({ produce: () => Fn.join(',', this.rdsResourceArns) });
    }
    // alternating-users: the master secret granted below, only when there is exactly one (a hint
    // that saves a container's first rotation one round trip; the function uses the read only for
    // the master the secret names, and IAM decides what it may read). Never a list, which could
    // outgrow Lambda's 4 KB environment with many rotations.
    if (this.strategy === 'alternating-users') {
      environment.ROTOR_MASTER_SECRET_ARNS = Lazy.string({ produce: () => (new Set(this.masterSecretArns).size === 1 ? this.masterSecretArns[0] : '') });
    }

    // Outbound is opened per destination: HTTPS to AWS APIs here, the database
    // port by DatabaseRotation. A given security group is used as it is.
    let securityGroups = props.securityGroups;
    if (props.vpc && !securityGroups) {
      const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
        vpc: props.vpc,
        allowAllOutbound: false,
        description: `rotor rotation function (${this.strategy})`,
      });
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs (Secrets Manager, RDS)');
      securityGroups = [sg];
    }
    this.function = new NodejsFunction(this, 'Function', {
      ...rotorFunctionCode('rotation', props.entry),
      runtime: ROTOR_RUNTIME,
      architecture: ROTOR_ARCHITECTURE,
      timeout,
      memorySize: props.memorySize ?? 256,
      description: `rotor: rotates database credentials for Secrets Manager (${this.strategy})`,
      role: this.role,
      logGroup: this.logGroup,
      environment,
      vpc: props.vpc,
      vpcSubnets: props.vpc ? (props.vpcSubnets ?? defaultSubnets(props.vpc)) : undefined,
      securityGroups,
    });
    this.isInVpc = props.vpc !== undefined;
    // Outside a VPC the function has no security groups; Connections without any keeps allowTo() a no-op.
    this.connections = this.isInVpc ? this.function.connections : new ec2.Connections();

    if (props.createSecretsManagerEndpoint) {
      this.secretsManagerEndpoint = new ec2.InterfaceVpcEndpoint(this, 'SecretsManagerEndpoint', {
        vpc: props.vpc!,
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: props.vpcSubnets ?? defaultSubnets(props.vpc!),
        privateDnsEnabled: true,
        open: false,
      });
    } else if (props.secretsManagerEndpoint) {
      this.secretsManagerEndpoint = props.secretsManagerEndpoint;
      if (props.secretsManagerEndpointPrivateDns === false) {
        if (!(props.secretsManagerEndpoint instanceof ec2.InterfaceVpcEndpoint)) {
          throw new Error(`${this.node.path}: secretsManagerEndpointPrivateDns: false needs the endpoint's DNS name, which only an InterfaceVpcEndpoint created in this app has; an imported endpoint must have private DNS enabled.`);
        }
        // Entries read "<hosted zone id>:<dns name>"; the first is the Regional name.
        const dnsName = Fn.select(1, Fn.split(':', Fn.select(0, props.secretsManagerEndpoint.vpcEndpointDnsEntries)));
        this.function.addEnvironment('AWS_ENDPOINT_URL_SECRETS_MANAGER', `https://${dnsName}`);
      }
    }
    if (this.secretsManagerEndpoint) this.secretsManagerEndpoint.connections.allowDefaultPortFrom(this.function, 'rotor rotation function');
    if (props.vpc) this.grantNetworkInterfaces(props.vpc.selectSubnets(props.vpcSubnets ?? defaultSubnets(props.vpc)).subnetIds);

    // No secretsmanager:GetRandomPassword (grantable only on "*"): the function draws passwords
    // itself with node:crypto (lambda/core/password-generator.ts).
  }

  /**
   * A function's resource-based policy holds at most 20 KB; with one
   * permission per secret that bounds the secrets one function can serve.
   * Refused at synth (estimated from the statements Lambda stores) instead of
   * a deployment failing with PolicyLengthExceededException.
   * https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
   */
  private validatePolicySize(): string[] {
    const estimate = [...this.invokePermissionsBySecret.values()].reduce((sum, p) => {
      const arn = Token.isUnresolved(p.sourceArn) ? 2048 / 8 : (p.sourceArn ?? '').length;
      return sum + INVOKE_STATEMENT_BYTES + arn;
    }, 0);
    if (estimate <= LAMBDA_POLICY_LIMIT_BYTES) return [];
    return [
      `${this.invokePermissionsBySecret.size} secrets on one rotation function need about ${estimate} bytes of Lambda resource policy (one invoke permission per secret); Lambda allows ${LAMBDA_POLICY_LIMIT_BYTES}. Split the secrets over several deployments (deploymentId) or fewer secrets per strategy.`,
    ];
  }

  /**
   * Lambda's ENI actions for VPC placement, inline instead of the managed
   * AWSLambdaVPCAccessExecutionRole (which also grants logs:* on every group).
   * DescribeNetworkInterfaces/DescribeSubnets work only on "*"; creating an
   * ENI is limited to this function's subnets and security groups, deleting
   * and (un)assigning addresses to ENIs of this account and Region.
   * https://docs.aws.amazon.com/lambda/latest/dg/configuration-vpc.html#configuration-vpc-permissions
   */
  private grantNetworkInterfaces(subnetIds: string[]): void {
    const arn = (resource: string): string => `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:${resource}`;
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'], resources: ['*'] }));
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface'],
        resources: [
          arn('network-interface/*'),
          ...subnetIds.map((id) => arn(`subnet/${id}`)),
          ...this.function.connections.securityGroups.map((sg) => arn(`security-group/${sg.securityGroupId}`)),
        ],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses'],
        resources: [arn('network-interface/*')],
      }),
    );
  }

  /**
   * The permission resources letting Secrets Manager invoke the function, one
   * per rotated secret (aws:SourceArn = the secret, aws:SourceAccount = this account).
   */
  get invokePermissions(): lambda.CfnPermission[] {
    return [...this.invokePermissionsBySecret.values()];
  }

  /** The permission letting Secrets Manager invoke the function for `secret`, once `grantRotate` made it. */
  invokePermissionFor(secret: secretsmanager.ISecret): lambda.CfnPermission | undefined {
    return this.invokePermissionsBySecret.get(secret.node.path);
  }

  /** The instance and cluster ARNs of rds-master rotations (`ROTOR_RDS_RESOURCE_ARNS`). */
  get rdsResourceArnList(): readonly string[] {
    return this.rdsResourceArns;
  }

  get functionArn(): string {
    return this.function.functionArn;
  }

  /**
   * Lets the function rotate `secret`: read it, write AWSPENDING, move the
   * staging labels, record the rotated target in its `rotor:rotated-target`
   * tag (that tag key only). With a customer managed key, decrypt/encrypt
   * through Secrets Manager only. `masterSecret` (alternating-users) is
   * read-only. Secrets Manager may invoke the function for `secret` only.
   */
  grantRotate(secret: secretsmanager.ISecret, masterSecret?: secretsmanager.ISecret): void {
    this.once(`rotate:${secret.node.path}`, () => {
      this.grantTagRotatedTarget(secret);
      const n = this.invokePermissionsBySecret.size;
      this.function.addPermission(n === 0 ? 'InvokedBySecretsManager' : `InvokedBySecretsManager${n + 1}`, {
        principal: new iam.ServicePrincipal('secretsmanager.amazonaws.com'),
        action: 'lambda:InvokeFunction',
        sourceAccount: Stack.of(this).account,
        // A rotation function with SourceArn can only be used for that secret:
        // https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotating-secrets-required-permissions-function.html
        sourceArn: secret.secretArn,
      });
      this.invokePermissionsBySecret.set(
        secret.node.path,
        this.function.node.findChild(n === 0 ? 'InvokedBySecretsManager' : `InvokedBySecretsManager${n + 1}`) as lambda.CfnPermission,
      );
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: [
            'secretsmanager:DescribeSecret',
            'secretsmanager:GetSecretValue',
            'secretsmanager:PutSecretValue',
            'secretsmanager:UpdateSecretVersionStage',
          ],
          resources: [secret.secretArn],
        }),
      );
      if (secret.encryptionKey) this.grantKeyThroughSecretsManager(secret.encryptionKey, true);
    });
    if (masterSecret) {
      this.once(`master:${masterSecret.node.path}`, () => {
        this.masterSecretArns.push(masterSecret.secretArn);
        this.role.addToPrincipalPolicy(
          new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [masterSecret.secretArn] }),
        );
        if (masterSecret.encryptionKey) this.grantKeyThroughSecretsManager(masterSecret.encryptionKey, false);
      });
    }
  }

  /**
   * Lets the function change the master password of exactly this DB instance
   * or cluster (rds-master strategy): Describe/Modify on its ARN, and the ARN
   * is added to `ROTOR_RDS_RESOURCE_ARNS`, outside which the function refuses.
   * There is no account-wide default: an ARN is required.
   */
  grantRdsMaster(target: RdsMasterTarget): void {
    if (this.strategy !== 'rds-master') {
      throw new Error(`${this.node.path}: grantRdsMaster() is only for a function with strategy 'rds-master' (this one is '${this.strategy}').`);
    }
    if (!target.dbInstanceArn && !target.dbClusterArn) {
      throw new Error(`${this.node.path}: grantRdsMaster() needs dbInstanceArn or dbClusterArn; rds-master is bound to the databases it is deployed for.`);
    }
    if (target.dbInstanceArn) this.addRdsResource('instances', target.dbInstanceArn);
    if (target.dbClusterArn) this.addRdsResource('clusters', target.dbClusterArn);
  }

  /**
   * secretsmanager:TagResource on the rotated secrets, for the
   * `rotor:rotated-target` tag key only (finishSecret records the target it
   * rotated against there).
   */
  private grantTagRotatedTarget(secret: secretsmanager.ISecret): void {
    if (!this.tagStatement) {
      this.tagStatement = new iam.PolicyStatement({
        actions: ['secretsmanager:TagResource'],
        conditions: {
          'ForAllValues:StringEquals': { 'aws:TagKeys': [ROTATED_TARGET_TAG] },
          Null: { 'aws:TagKeys': 'false' },
        },
      });
      this.tagStatement.addResources(secret.secretArn);
      this.role.addToPrincipalPolicy(this.tagStatement);
    } else {
      this.tagStatement.addResources(secret.secretArn);
    }
  }

  private addRdsResource(kind: 'instances' | 'clusters', arn: string): void {
    this.once(`rds:${arn}`, () => {
      this.rdsResourceArns.push(arn);
      let statement = this.rdsStatements[kind];
      if (!statement) {
        statement = new iam.PolicyStatement({
          actions: kind === 'instances' ? ['rds:DescribeDBInstances', 'rds:ModifyDBInstance'] : ['rds:DescribeDBClusters', 'rds:ModifyDBCluster'],
        });
        statement.addResources(arn);
        this.rdsStatements[kind] = statement;
        this.role.addToPrincipalPolicy(statement);
      } else {
        statement.addResources(arn);
      }
    });
  }

  /** Errors metric of the function. */
  metricErrors(): cloudwatch.Metric {
    return this.function.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' });
  }

  /** Throttles metric of the function. */
  metricThrottles(): cloudwatch.Metric {
    return this.function.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' });
  }

  private grantKeyThroughSecretsManager(key: kms.IKey, encrypt: boolean): void {
    const actions = encrypt ? ['kms:Decrypt', 'kms:GenerateDataKey'] : ['kms:Decrypt'];
    const id = `${key.keyArn}:${actions.join(',')}`;
    if (this.grantedKeys.has(id)) return;
    this.grantedKeys.add(id);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions,
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }

  private once(key: string, fn: () => void): void {
    if (this.granted.has(key)) return;
    this.granted.add(key);
    fn();
  }
}

function defaultSubnets(vpc: ec2.IVpc): ec2.SubnetSelection {
  return vpc.privateSubnets.length > 0 ? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
}

function passwordEnvironment(policy: PasswordPolicy = {}): Record<string, string> {
  const env: Record<string, string> = { ROTOR_PASSWORD_LENGTH: String(policy.length ?? 32) };
  if (policy.excludeCharacters !== undefined) env.ROTOR_EXCLUDE_CHARACTERS = policy.excludeCharacters;
  const flags: [keyof PasswordPolicy, string][] = [
    ['excludeNumbers', 'ROTOR_EXCLUDE_NUMBERS'],
    ['excludePunctuation', 'ROTOR_EXCLUDE_PUNCTUATION'],
    ['excludeUppercase', 'ROTOR_EXCLUDE_UPPERCASE'],
    ['excludeLowercase', 'ROTOR_EXCLUDE_LOWERCASE'],
    ['requireEachIncludedType', 'ROTOR_REQUIRE_EACH_INCLUDED_TYPE'],
  ];
  for (const [field, name] of flags) if (policy[field] !== undefined) env[name] = String(policy[field]);
  return env;
}

function validateProps(scope: Construct, props: RotationFunctionProps): void {
  const fail = (msg: string): never => {
    throw new Error(`${scope.node.path}: ${msg}`);
  };
  const strategy = props.strategy ?? 'single-user';
  if (!ROTATION_STRATEGIES.includes(strategy)) fail(`strategy is '${strategy}', not one of ${ROTATION_STRATEGIES.join(', ')}.`);
  if (props.tlsMode !== undefined && !TLS_MODES.includes(props.tlsMode)) fail(`tlsMode is '${props.tlsMode}', not one of ${TLS_MODES.join(', ')}.`);
  for (const problem of passwordPolicyProblems(props.passwordPolicy ?? {})) fail(`passwordPolicy.${problem.field} ${problem.problem}`);
  const memory = props.memorySize;
  if (memory !== undefined && !Token.isUnresolved(memory) && (memory < 128 || memory > 10240)) fail(`memorySize is ${memory}; it must be 128-10240 MB.`);
  const timeout = (props.timeout ?? Duration.seconds(30)).toMilliseconds();
  if (timeout > 15 * 60 * 1000) fail('timeout is over Lambda\'s 15 minutes.');
  const connect = (props.connectTimeout ?? Duration.seconds(5)).toMilliseconds();
  if (connect < 100 || connect > 60000) fail(`connectTimeout is ${connect} ms; it must be 100-60000 ms.`);
  if (connect >= timeout) fail(`connectTimeout (${connect} ms) must be shorter than the function timeout (${timeout} ms).`);
  const statement = (props.statementTimeout ?? Duration.seconds(10)).toMilliseconds();
  if (statement < 100 || statement > 600000) fail(`statementTimeout is ${statement} ms; it must be 100-600000 ms.`);
  if (statement >= timeout) fail(`statementTimeout (${statement} ms) must be shorter than the function timeout (${timeout} ms), or a slow statement outlives the step.`);
  if ((props.createSecretsManagerEndpoint || props.secretsManagerEndpoint || props.vpcSubnets || props.securityGroups) && !props.vpc) {
    fail('vpcSubnets, securityGroups and the Secrets Manager endpoint need `vpc`.');
  }
  if (props.createSecretsManagerEndpoint && props.secretsManagerEndpoint) {
    fail('set either createSecretsManagerEndpoint or secretsManagerEndpoint, not both.');
  }
}

/** Lambda's limit on a function's resource-based policy. */
export const LAMBDA_POLICY_LIMIT_BYTES = 20 * 1024;
/** Bytes one Secrets Manager invoke statement takes besides the secret ARN (Sid, principal, action, function ARN, conditions). */
const INVOKE_STATEMENT_BYTES = 380;

/** GetRandomPassword's character classes (API_GetRandomPassword). */
export const PASSWORD_CHARACTER_CLASSES = {
  lowercase: { chars: 'abcdefghijklmnopqrstuvwxyz', flag: 'excludeLowercase' },
  uppercase: { chars: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', flag: 'excludeUppercase' },
  numbers: { chars: '0123456789', flag: 'excludeNumbers' },
  punctuation: { chars: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~', flag: 'excludePunctuation' },
} as const;

/** A password policy value that cannot work: `field` is the PasswordPolicy member. */
export interface PasswordPolicyProblem {
  readonly field: keyof PasswordPolicy;
  readonly problem: string;
}

/**
 * Password policies GetRandomPassword cannot satisfy, found at synth instead
 * of as a rotation stuck in createSecret: a length outside 8-4096, every
 * character excluded, or (requireEachIncludedType) a class that is included
 * but whose every character is in excludeCharacters.
 */
export function passwordPolicyProblems(policy: PasswordPolicy): PasswordPolicyProblem[] {
  const out: PasswordPolicyProblem[] = [];
  const length = policy.length;
  if (length !== undefined && !(Number.isInteger(length) && length >= 8 && length <= 4096)) {
    out.push({ field: 'length', problem: `is ${length}; it must be an integer from 8 to 4096.` });
  }
  const excluded = policy.excludeCharacters ?? '';
  const classes = Object.entries(PASSWORD_CHARACTER_CLASSES).filter(([, c]) => policy[c.flag] !== true);
  const usable = classes.filter(([, c]) => [...c.chars].some((ch) => !excluded.includes(ch)));
  if (classes.length === 0) {
    out.push({ field: 'excludeLowercase', problem: 'is true, and so are excludeUppercase, excludeNumbers and excludePunctuation: that excludes every character type; leave at least one included.' });
  } else if (usable.length === 0) {
    out.push({ field: 'excludeCharacters', problem: 'excludes every character of the included types; no password can be generated.' });
  } else if (policy.requireEachIncludedType ?? true) {
    for (const [name, c] of classes) {
      if (!usable.some(([n]) => n === name)) {
        out.push({
          field: 'excludeCharacters',
          problem: `excludes every ${name} character while ${name} is included and requireEachIncludedType is on; GetRandomPassword cannot include a ${name} character. Set ${c.flag}: true or allow some.`,
        });
      }
    }
  }
  return out;
}

/** Characters RDS refuses in a master password (CreateDBInstance/ModifyDBCluster MasterUserPassword). */
export const RDS_MASTER_FORBIDDEN_CHARACTERS = '/"@';

/**
 * What RDS accepts as a master password, by engine and kind of target:
 * clusters (Aurora) and MySQL/MariaDB instances 8-41 characters, PostgreSQL
 * instances 8-128; never "/", '"', "@".
 * https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
 * https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
 */
export function rdsMasterPasswordMaxLength(engine: string, target: RdsMasterTarget): number {
  if (target.dbClusterArn || engine.startsWith('aurora')) return 41;
  return engine === 'postgres' ? 128 : 41;
}

/** rds-master problems of `policy` for a database of `engine` (empty when it works). */
export function rdsMasterPasswordProblems(policy: PasswordPolicy, engine: string, target: RdsMasterTarget): PasswordPolicyProblem[] {
  const out: PasswordPolicyProblem[] = [];
  const max = rdsMasterPasswordMaxLength(engine, target);
  const length = policy.length ?? 32;
  if (length > max) {
    out.push({ field: 'length', problem: `is ${length}, but RDS accepts a ${engine} ${target.dbClusterArn ? 'cluster' : 'instance'} master password of 8-${max} characters; rds-master would fail in setSecret.` });
  }
  if (policy.excludeCharacters !== undefined && policy.excludePunctuation !== true) {
    const missing = [...RDS_MASTER_FORBIDDEN_CHARACTERS].filter((c) => !policy.excludeCharacters!.includes(c));
    if (missing.length > 0) {
      out.push({ field: 'excludeCharacters', problem: `must contain ${missing.map((c) => JSON.stringify(c)).join(', ')}: RDS refuses them in a master password.` });
    }
  }
  return out;
}
