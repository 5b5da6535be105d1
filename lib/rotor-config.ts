import { DATABASE_ENGINES, type DatabaseEngine } from './database-rotation';
import {
  passwordPolicyProblems,
  type PasswordPolicy,
  rdsMasterPasswordProblems,
  ROTATION_STRATEGIES,
  type RotationStrategy,
  TLS_MODES,
  type TlsMode,
} from './rotation-function';

/** rotor.config.json name of each PasswordPolicy member. */
const POLICY_FIELD: Record<keyof PasswordPolicy, string> = {
  length: 'passwordLength',
  excludeCharacters: 'excludeCharacters',
  excludeNumbers: 'excludeNumbers',
  excludePunctuation: 'excludePunctuation',
  excludeUppercase: 'excludeUppercase',
  excludeLowercase: 'excludeLowercase',
  requireEachIncludedType: 'requireEachIncludedType',
};

/** rotor.config.json, after validation. See docs/deploying.md for every field. */
export interface RotorConfig {
  /** Value of the `rotor:managed-by` tag of the secrets this deployment rotates. */
  readonly deploymentId: string;
  /** @default 'Rotor' */
  readonly stackName?: string;
  /** @default - CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION */
  readonly account?: string;
  readonly region?: string;
  /** Deploy a complete example: VPC, PostgreSQL instance with a generated secret, its rotation. */
  readonly example?: boolean;
  /** Where the rotation function runs (to reach private databases). */
  readonly network?: NetworkConfig;
  readonly rotationFunction?: RotationFunctionConfig;
  readonly rotations?: RotationConfig[];
  readonly groupSchedules?: GroupScheduleConfig[];
  readonly securityAlerts?: SecurityAlertsConfig;
  readonly monitoring?: MonitoringConfig;
}

export interface NetworkConfig {
  readonly vpcId: string;
  readonly availabilityZones: string[];
  /** Subnets of the rotation function (private, one per availability zone). */
  readonly subnetIds: string[];
  /** @default - a new security group */
  readonly securityGroupIds?: string[];
  /** Create a Secrets Manager interface endpoint (subnets without internet route). @default false */
  readonly createSecretsManagerEndpoint?: boolean;
}

/** The construct's PasswordPolicy from the rotationFunction section of rotor.config.json. */
export function passwordPolicyOf(fn: RotationFunctionConfig): PasswordPolicy {
  return {
    length: fn.passwordLength,
    excludeCharacters: fn.excludeCharacters,
    excludeNumbers: fn.excludeNumbers,
    excludePunctuation: fn.excludePunctuation,
    excludeUppercase: fn.excludeUppercase,
    excludeLowercase: fn.excludeLowercase,
    requireEachIncludedType: fn.requireEachIncludedType,
  };
}

export interface RotationFunctionConfig {
  readonly timeoutSeconds?: number;
  readonly memoryMb?: number;
  /** `ROTOR_TLS_MODE`: the deployment-wide TLS floor; a secret's `ssl` may raise it, never lower it. @default 'verify-full' */
  readonly tlsMode?: TlsMode;
  readonly tlsCaFile?: string;
  readonly passwordLength?: number;
  readonly excludeCharacters?: string;
  readonly excludeNumbers?: boolean;
  readonly excludePunctuation?: boolean;
  readonly excludeUppercase?: boolean;
  readonly excludeLowercase?: boolean;
  readonly requireEachIncludedType?: boolean;
  readonly connectTimeoutMs?: number;
  readonly statementTimeoutMs?: number;
  readonly logRetentionDays?: number;
  /** `ROTOR_ALLOW_TARGET_CHANGE`: rotate even when a secret now names another host/port/user/database than it was last rotated against. @default false */
  readonly allowTargetChange?: boolean;
}

export interface RotationConfig {
  /** Construct id; letters, digits, dashes. */
  readonly name: string;
  /** Complete ARN of the secret (with the 6-character suffix). */
  readonly secretArn: string;
  /** Customer managed key of the secret. */
  readonly kmsKeyArn?: string;
  readonly engine: DatabaseEngine;
  /** @default 'single-user' */
  readonly strategy?: RotationStrategy;
  readonly masterSecretArn?: string;
  readonly masterKmsKeyArn?: string;
  /** Security group of the database, opened to the rotation function on `port`. */
  readonly databaseSecurityGroupId?: string;
  readonly port?: number;
  readonly dbInstanceArn?: string;
  readonly dbClusterArn?: string;
  readonly schedule: ScheduleConfig;
}

export interface ScheduleConfig {
  /** Rotate every N days. */
  readonly days?: number;
  /** Rotate every N hours (at least 4). */
  readonly hours?: number;
  /** Secrets Manager cron(...) or rate(...) expression. */
  readonly expression?: string;
  /** Window in hours (1-24). */
  readonly windowHours?: number;
  /** @default true */
  readonly rotateImmediately?: boolean;
}

export interface GroupScheduleConfig {
  readonly name: string;
  readonly cron: string;
  /** @default 'UTC' */
  readonly timeZone?: string;
  /** @default 30 */
  readonly flexibleWindowMinutes?: number;
  readonly tagFilters: { key: string; values: string[] }[];
  readonly reason?: string;
}

export interface SecurityAlertsConfig {
  /** @default true */
  readonly enabled?: boolean;
  readonly guardDutyMinSeverity?: number;
  readonly guardDutyRdsFindingPrefixes?: string[];
  readonly guardDutyIamFindingPrefixes?: string[];
  readonly securityHubSeverityLabels?: string[];
  readonly securityHubResourceTypes?: string[];
  /** Rotate on AWS Health AWS_RISK_CREDENTIALS_EXPOSED; needs healthTags. @default - true when healthTags is set */
  readonly awsHealth?: boolean;
  /** Secrets rotated on AWS_RISK_CREDENTIALS_EXPOSED (`ROTOR_TRIGGER_HEALTH_TAGS`); setting it deploys the Health rule. */
  readonly healthTags?: TagFilterConfig[];
  /** Secrets rotated on a GuardDuty IAM credential finding (`ROTOR_TRIGGER_IAM_FINDING_TAGS`); setting it adds the IAM finding types. */
  readonly iamFindingTags?: TagFilterConfig[];
  /** Who may put "Rotation Requested" events on the request bus: IAM principal ARNs or account ids. @default - principals of this account with an IAM grant */
  readonly requestSenders?: string[];
  /** `ROTOR_TRIGGER_COOLDOWN_MINUTES`. @default 60 */
  readonly cooldownMinutes?: number;
  /** `ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT`. @default 50 */
  readonly maxSecretsPerEvent?: number;
}

export interface TagFilterConfig {
  readonly key: string;
  readonly values: string[];
}

export interface MonitoringConfig {
  readonly alarmEmail?: string;
  readonly dashboardName?: string;
}

/** A config file problem; the message names the field (JSON path) and the fix. */
export class RotorConfigError extends Error {
  constructor(readonly field: string, problem: string, source = 'rotor.config.json') {
    super(`${source}: ${field} ${problem}`);
    this.name = 'RotorConfigError';
  }
}

type Json = Record<string, unknown>;

/** Validates the parsed JSON of rotor.config.json into a RotorConfig. */
export function parseRotorConfig(raw: unknown, source = 'rotor.config.json'): RotorConfig {
  const v = new Reader(source);
  const root = v.object(raw, '$');
  v.known(root, '$', ['$schema', 'deploymentId', 'stackName', 'account', 'region', 'example', 'network', 'rotationFunction', 'rotations', 'groupSchedules', 'securityAlerts', 'monitoring']);
  const deploymentId = v.string(root.deploymentId, '$.deploymentId', { pattern: /^[A-Za-z0-9_.:/=+\-@]{1,128}$/, hint: '1-128 letters, digits or _ . : / = + - @' })!;
  const config: RotorConfig = {
    deploymentId,
    stackName: v.string(root.stackName, '$.stackName', { optional: true, pattern: /^[A-Za-z][A-Za-z0-9-]{0,127}$/, hint: 'a CloudFormation stack name' }),
    account: v.string(root.account, '$.account', { optional: true, pattern: /^\d{12}$/, hint: '12 digits' }),
    region: v.string(root.region, '$.region', { optional: true, pattern: /^[a-z]{2}(-[a-z]+)+-\d$/, hint: 'e.g. eu-central-1' }),
    example: v.boolean(root.example, '$.example'),
    network: root.network === undefined ? undefined : network(v, root.network),
    rotationFunction: root.rotationFunction === undefined ? undefined : rotationFunction(v, root.rotationFunction),
    rotations: v.array(root.rotations, '$.rotations').map((r, i) => rotation(v, r, `$.rotations[${i}]`)),
    groupSchedules: v.array(root.groupSchedules, '$.groupSchedules').map((g, i) => groupSchedule(v, g, `$.groupSchedules[${i}]`)),
    securityAlerts: root.securityAlerts === undefined ? undefined : securityAlerts(v, root.securityAlerts),
    monitoring: root.monitoring === undefined ? undefined : monitoring(v, root.monitoring),
  };
  const names = new Set<string>();
  const fnConfig = config.rotationFunction ?? {};
  const policy = passwordPolicyOf(fnConfig);
  for (const problem of passwordPolicyProblems(policy)) {
    throw new RotorConfigError(`$.rotationFunction.${POLICY_FIELD[problem.field]}`, problem.problem, source);
  }
  if (fnConfig.timeoutSeconds !== undefined) {
    const timeoutMs = fnConfig.timeoutSeconds * 1000;
    if (fnConfig.connectTimeoutMs !== undefined && fnConfig.connectTimeoutMs >= timeoutMs) {
      throw new RotorConfigError('$.rotationFunction.connectTimeoutMs', `(${fnConfig.connectTimeoutMs}) must be shorter than timeoutSeconds (${fnConfig.timeoutSeconds} s).`, source);
    }
  }
  for (const [i, r] of (config.rotations ?? []).entries()) {
    const p = `$.rotations[${i}]`;
    if (r.strategy === 'rds-master') {
      for (const problem of rdsMasterPasswordProblems(policy, r.engine, r)) {
        throw new RotorConfigError(
          `$.rotationFunction.${POLICY_FIELD[problem.field]}`,
          `${problem.problem} (${p} "${r.name}" rotates an RDS master password with rds-master.)`,
          source,
        );
      }
    }
    // A rotation function rotates secrets of its own account and Region only.
    const arns: [string, string | undefined][] = [
      ['secretArn', r.secretArn], ['kmsKeyArn', r.kmsKeyArn], ['masterSecretArn', r.masterSecretArn],
      ['masterKmsKeyArn', r.masterKmsKeyArn], ['dbInstanceArn', r.dbInstanceArn], ['dbClusterArn', r.dbClusterArn],
    ];
    for (const [field, arn] of arns) {
      if (!arn) continue;
      const [, , , region, account] = arn.split(':');
      if (config.region && region !== config.region) {
        throw new RotorConfigError(`${p}.${field}`, `is in ${region}, but the deployment is in $.region ${config.region}; a rotation function rotates secrets of its own Region.`, source);
      }
      if (config.account && account !== config.account) {
        throw new RotorConfigError(`${p}.${field}`, `is in account ${account}, but the deployment is in $.account ${config.account}.`, source);
      }
    }
    if (names.has(r.name)) throw new RotorConfigError(`$.rotations[${i}].name`, `"${r.name}" is used twice; names must be unique.`, source);
    names.add(r.name);
    if (r.databaseSecurityGroupId && !config.network) {
      throw new RotorConfigError(`$.rotations[${i}].databaseSecurityGroupId`, 'needs $.network: the rotation function must run in the database\'s VPC.', source);
    }
  }
  const groupNames = new Set<string>();
  for (const [i, g] of (config.groupSchedules ?? []).entries()) {
    if (groupNames.has(g.name)) throw new RotorConfigError(`$.groupSchedules[${i}].name`, `"${g.name}" is used twice; names must be unique.`, source);
    groupNames.add(g.name);
  }
  if (config.example && config.network) {
    throw new RotorConfigError('$.example', 'creates its own VPC; remove $.network or set example to false.', source);
  }
  return config;
}

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/;
const KMS_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;
const NAME = /^[A-Za-z][A-Za-z0-9-]{0,63}$/;

function network(v: Reader, raw: unknown): NetworkConfig {
  const o = v.object(raw, '$.network');
  v.known(o, '$.network', ['vpcId', 'availabilityZones', 'subnetIds', 'securityGroupIds', 'createSecretsManagerEndpoint']);
  const subnetIds = v.array(o.subnetIds, '$.network.subnetIds').map((s, i) => v.string(s, `$.network.subnetIds[${i}]`, { pattern: /^subnet-[0-9a-f]+$/, hint: 'subnet-...' })!);
  const availabilityZones = v.array(o.availabilityZones, '$.network.availabilityZones').map((s, i) => v.string(s, `$.network.availabilityZones[${i}]`)!);
  if (subnetIds.length === 0) throw v.error('$.network.subnetIds', 'is empty; list the private subnets of the rotation function.');
  if (availabilityZones.length !== subnetIds.length) throw v.error('$.network.availabilityZones', `has ${availabilityZones.length} entries but subnetIds has ${subnetIds.length}; give the zone of each subnet, in order.`);
  return {
    vpcId: v.string(o.vpcId, '$.network.vpcId', { pattern: /^vpc-[0-9a-f]+$/, hint: 'vpc-...' })!,
    availabilityZones,
    subnetIds,
    securityGroupIds: o.securityGroupIds === undefined ? undefined : v.array(o.securityGroupIds, '$.network.securityGroupIds').map((s, i) => v.string(s, `$.network.securityGroupIds[${i}]`, { pattern: /^sg-[0-9a-f]+$/, hint: 'sg-...' })!),
    createSecretsManagerEndpoint: v.boolean(o.createSecretsManagerEndpoint, '$.network.createSecretsManagerEndpoint'),
  };
}

function rotationFunction(v: Reader, raw: unknown): RotationFunctionConfig {
  const p = '$.rotationFunction';
  const o = v.object(raw, p);
  v.known(o, p, ['timeoutSeconds', 'memoryMb', 'tlsMode', 'tlsCaFile', 'passwordLength', 'excludeCharacters', 'excludeNumbers', 'excludePunctuation', 'excludeUppercase', 'excludeLowercase', 'requireEachIncludedType', 'connectTimeoutMs', 'statementTimeoutMs', 'logRetentionDays', 'allowTargetChange']);
  return {
    timeoutSeconds: v.int(o.timeoutSeconds, `${p}.timeoutSeconds`, 3, 900),
    memoryMb: v.int(o.memoryMb, `${p}.memoryMb`, 128, 10240),
    tlsMode: v.oneOf(o.tlsMode, `${p}.tlsMode`, TLS_MODES),
    tlsCaFile: v.string(o.tlsCaFile, `${p}.tlsCaFile`, { optional: true }),
    passwordLength: v.int(o.passwordLength, `${p}.passwordLength`, 8, 4096),
    excludeCharacters: v.string(o.excludeCharacters, `${p}.excludeCharacters`, { optional: true, allowEmpty: true }),
    excludeNumbers: v.boolean(o.excludeNumbers, `${p}.excludeNumbers`),
    excludePunctuation: v.boolean(o.excludePunctuation, `${p}.excludePunctuation`),
    excludeUppercase: v.boolean(o.excludeUppercase, `${p}.excludeUppercase`),
    excludeLowercase: v.boolean(o.excludeLowercase, `${p}.excludeLowercase`),
    requireEachIncludedType: v.boolean(o.requireEachIncludedType, `${p}.requireEachIncludedType`),
    connectTimeoutMs: v.int(o.connectTimeoutMs, `${p}.connectTimeoutMs`, 100, 60000),
    statementTimeoutMs: v.int(o.statementTimeoutMs, `${p}.statementTimeoutMs`, 100, 600000),
    allowTargetChange: v.boolean(o.allowTargetChange, `${p}.allowTargetChange`),
    logRetentionDays: v.oneOf(o.logRetentionDays, `${p}.logRetentionDays`, [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]),
  };
}

function rotation(v: Reader, raw: unknown, p: string): RotationConfig {
  const o = v.object(raw, p);
  v.known(o, p, ['name', 'secretArn', 'kmsKeyArn', 'engine', 'strategy', 'masterSecretArn', 'masterKmsKeyArn', 'databaseSecurityGroupId', 'port', 'dbInstanceArn', 'dbClusterArn', 'schedule']);
  const strategy = v.oneOf(o.strategy, `${p}.strategy`, ROTATION_STRATEGIES) ?? 'single-user';
  const r: RotationConfig = {
    name: v.string(o.name, `${p}.name`, { pattern: NAME, hint: 'a letter, then letters, digits or dashes (at most 64)' })!,
    secretArn: v.string(o.secretArn, `${p}.secretArn`, { pattern: SECRET_ARN, hint: 'the complete secret ARN, ending in the 6-character suffix (arn:aws:secretsmanager:<region>:<account>:secret:<name>-AbCdEf)' })!,
    kmsKeyArn: v.string(o.kmsKeyArn, `${p}.kmsKeyArn`, { optional: true, pattern: KMS_ARN, hint: 'a KMS key ARN (arn:aws:kms:<region>:<account>:key/<uuid>)' }),
    engine: v.oneOf(o.engine, `${p}.engine`, DATABASE_ENGINES, true)!,
    strategy,
    masterSecretArn: v.string(o.masterSecretArn, `${p}.masterSecretArn`, { optional: true, pattern: SECRET_ARN, hint: 'a complete secret ARN' }),
    masterKmsKeyArn: v.string(o.masterKmsKeyArn, `${p}.masterKmsKeyArn`, { optional: true, pattern: KMS_ARN, hint: 'a KMS key ARN' }),
    databaseSecurityGroupId: v.string(o.databaseSecurityGroupId, `${p}.databaseSecurityGroupId`, { optional: true, pattern: /^sg-[0-9a-f]+$/, hint: 'sg-...' }),
    port: v.int(o.port, `${p}.port`, 1, 65535),
    dbInstanceArn: v.string(o.dbInstanceArn, `${p}.dbInstanceArn`, { optional: true, pattern: /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:db:[A-Za-z0-9-]+$/, hint: 'arn:aws:rds:<region>:<account>:db:<id>' }),
    dbClusterArn: v.string(o.dbClusterArn, `${p}.dbClusterArn`, { optional: true, pattern: /^arn:aws[a-z-]*:rds:[a-z0-9-]+:\d{12}:cluster:[A-Za-z0-9-]+$/, hint: 'arn:aws:rds:<region>:<account>:cluster:<id>' }),
    schedule: schedule(v, o.schedule, `${p}.schedule`),
  };
  if (strategy === 'alternating-users' && !r.masterSecretArn) throw v.error(`${p}.masterSecretArn`, "is required by strategy 'alternating-users'.");
  if (strategy !== 'alternating-users' && r.masterSecretArn) throw v.error(`${p}.masterSecretArn`, `is only used by 'alternating-users', not '${strategy}'.`);
  if (strategy !== 'rds-master' && (r.dbInstanceArn || r.dbClusterArn)) throw v.error(`${p}.${r.dbInstanceArn ? 'dbInstanceArn' : 'dbClusterArn'}`, `is only used by 'rds-master', not '${strategy}'.`);
  if (strategy === 'rds-master' && !r.dbInstanceArn && !r.dbClusterArn) {
    throw v.error(`${p}.dbInstanceArn`, "(or dbClusterArn) is required by strategy 'rds-master': the function may change the master password of exactly the databases it is deployed for.");
  }
  if (r.dbInstanceArn && r.dbClusterArn) throw v.error(`${p}.dbClusterArn`, 'is set together with dbInstanceArn; a master secret belongs to one instance or one cluster.');
  if (r.dbInstanceArn && r.engine.startsWith('aurora')) throw v.error(`${p}.dbInstanceArn`, `names an instance, but ${r.engine} keeps the master password on the cluster: set dbClusterArn.`);
  return r;
}

function schedule(v: Reader, raw: unknown, p: string): ScheduleConfig {
  const o = v.object(raw, p);
  v.known(o, p, ['days', 'hours', 'expression', 'windowHours', 'rotateImmediately']);
  const s: ScheduleConfig = {
    days: v.int(o.days, `${p}.days`, 1, 1000),
    hours: v.int(o.hours, `${p}.hours`, 4, 23),
    expression: v.string(o.expression, `${p}.expression`, { optional: true }),
    windowHours: v.int(o.windowHours, `${p}.windowHours`, 1, 24),
    rotateImmediately: v.boolean(o.rotateImmediately, `${p}.rotateImmediately`),
  };
  const set = (['days', 'hours', 'expression'] as const).filter((k) => s[k] !== undefined);
  if (set.length !== 1) throw v.error(p, `needs exactly one of days, hours, expression (has ${set.length === 0 ? 'none' : set.join(', ')}).`);
  return s;
}

function groupSchedule(v: Reader, raw: unknown, p: string): GroupScheduleConfig {
  const o = v.object(raw, p);
  v.known(o, p, ['name', 'cron', 'timeZone', 'flexibleWindowMinutes', 'tagFilters', 'reason']);
  const tagFilters = v.array(o.tagFilters, `${p}.tagFilters`).map((t, i) => tagFilter(v, t, `${p}.tagFilters[${i}]`));
  if (tagFilters.length === 0) throw v.error(`${p}.tagFilters`, 'is empty; a group schedule selects secrets by at least one tag.');
  return {
    name: v.string(o.name, `${p}.name`, { pattern: NAME, hint: 'a letter, then letters, digits or dashes' })!,
    cron: v.string(o.cron, `${p}.cron`, { pattern: /^cron\(\S+( \S+){5}\)$/, hint: 'cron(minutes hours day-of-month month day-of-week year), e.g. cron(0 3 ? * SUN *)' })!,
    timeZone: v.string(o.timeZone, `${p}.timeZone`, { optional: true }),
    flexibleWindowMinutes: v.int(o.flexibleWindowMinutes, `${p}.flexibleWindowMinutes`, 0, 1440),
    tagFilters,
    reason: v.string(o.reason, `${p}.reason`, { optional: true }),
  };
}

function securityAlerts(v: Reader, raw: unknown): SecurityAlertsConfig {
  const p = '$.securityAlerts';
  const o = v.object(raw, p);
  v.known(o, p, ['enabled', 'guardDutyMinSeverity', 'guardDutyRdsFindingPrefixes', 'guardDutyIamFindingPrefixes', 'securityHubSeverityLabels', 'securityHubResourceTypes', 'awsHealth', 'healthTags', 'iamFindingTags', 'requestSenders', 'cooldownMinutes', 'maxSecretsPerEvent']);
  const strings = (x: unknown, q: string): string[] | undefined => (x === undefined ? undefined : v.array(x, q).map((s, i) => v.string(s, `${q}[${i}]`)!));
  const sev = o.guardDutyMinSeverity;
  if (sev !== undefined && (typeof sev !== 'number' || sev < 1 || sev > 10)) throw v.error(`${p}.guardDutyMinSeverity`, `is ${JSON.stringify(sev)}; it must be a number from 1 to 10.`);
  const filters = (x: unknown, q: string): TagFilterConfig[] | undefined => {
    if (x === undefined) return undefined;
    const list = v.array(x, q).map((t, i) => tagFilter(v, t, `${q}[${i}]`));
    if (list.length === 0) throw v.error(q, 'is empty; list at least one tag filter, or leave it out.');
    return list;
  };
  const healthTags = filters(o.healthTags, `${p}.healthTags`);
  const iamFindingTags = filters(o.iamFindingTags, `${p}.iamFindingTags`);
  const awsHealth = v.boolean(o.awsHealth, `${p}.awsHealth`);
  if (awsHealth === true && !healthTags) {
    throw v.error(`${p}.awsHealth`, `is true but ${p}.healthTags is not set; AWS_RISK_CREDENTIALS_EXPOSED names an IAM key, not a secret, so the trigger would rotate nothing. Set healthTags.`);
  }
  if (o.guardDutyIamFindingPrefixes !== undefined && !iamFindingTags) {
    throw v.error(`${p}.guardDutyIamFindingPrefixes`, `needs ${p}.iamFindingTags: IAM findings name no database, the trigger rotates the secrets those tags select.`);
  }
  const requestSenders = o.requestSenders === undefined ? undefined : v.array(o.requestSenders, `${p}.requestSenders`).map((x, i) => v.string(x, `${p}.requestSenders[${i}]`, {
    pattern: /^(\d{12}|arn:aws[a-z-]*:iam::\d{12}:(root|role\/.+|user\/.+))$/,
    hint: 'an account id (12 digits) or an IAM role, user or root ARN',
  })!);
  return {
    enabled: v.boolean(o.enabled, `${p}.enabled`),
    awsHealth: awsHealth ?? (healthTags !== undefined ? true : undefined),
    healthTags,
    iamFindingTags,
    requestSenders,
    cooldownMinutes: v.int(o.cooldownMinutes, `${p}.cooldownMinutes`, 0, 10080),
    maxSecretsPerEvent: v.int(o.maxSecretsPerEvent, `${p}.maxSecretsPerEvent`, 1, 10000),
    guardDutyMinSeverity: sev as number | undefined,
    guardDutyRdsFindingPrefixes: strings(o.guardDutyRdsFindingPrefixes, `${p}.guardDutyRdsFindingPrefixes`),
    guardDutyIamFindingPrefixes: strings(o.guardDutyIamFindingPrefixes, `${p}.guardDutyIamFindingPrefixes`),
    securityHubSeverityLabels: strings(o.securityHubSeverityLabels, `${p}.securityHubSeverityLabels`),
    securityHubResourceTypes: strings(o.securityHubResourceTypes, `${p}.securityHubResourceTypes`),
  };
}

function tagFilter(v: Reader, raw: unknown, q: string): TagFilterConfig {
  const to = v.object(raw, q);
  v.known(to, q, ['key', 'values']);
  const values = v.array(to.values, `${q}.values`).map((x, j) => v.string(x, `${q}.values[${j}]`)!);
  if (values.length === 0) throw v.error(`${q}.values`, 'is empty; list at least one tag value.');
  return { key: v.string(to.key, `${q}.key`)!, values };
}

function monitoring(v: Reader, raw: unknown): MonitoringConfig {
  const o = v.object(raw, '$.monitoring');
  v.known(o, '$.monitoring', ['alarmEmail', 'dashboardName']);
  return {
    alarmEmail: v.string(o.alarmEmail, '$.monitoring.alarmEmail', { optional: true, pattern: /^[^@\s]+@[^@\s]+\.[^@\s]+$/, hint: 'an e-mail address' }),
    dashboardName: v.string(o.dashboardName, '$.monitoring.dashboardName', { optional: true, pattern: /^[A-Za-z0-9_-]{1,255}$/, hint: 'letters, digits, - and _' }),
  };
}

class Reader {
  constructor(private readonly source: string) {}

  error(field: string, problem: string): RotorConfigError {
    return new RotorConfigError(field, problem, this.source);
  }

  object(x: unknown, field: string): Json {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw this.error(field, `must be an object, not ${describe(x)}.`);
    return x as Json;
  }

  known(o: Json, field: string, keys: string[]): void {
    for (const k of Object.keys(o)) {
      if (!keys.includes(k)) throw this.error(`${field}.${k}`, `is not a known field (known: ${keys.filter((x) => x !== '$schema').join(', ')}).`);
    }
  }

  array(x: unknown, field: string): unknown[] {
    if (x === undefined) return [];
    if (!Array.isArray(x)) throw this.error(field, `must be an array, not ${describe(x)}.`);
    return x;
  }

  string(x: unknown, field: string, opts: { optional?: boolean; pattern?: RegExp; hint?: string; allowEmpty?: boolean } = {}): string | undefined {
    if (x === undefined && opts.optional) return undefined;
    if (typeof x !== 'string') throw this.error(field, `must be a string${opts.hint ? ` (${opts.hint})` : ''}, not ${describe(x)}.`);
    if (x === '' && !opts.allowEmpty) throw this.error(field, 'is empty.');
    if (opts.pattern && !opts.pattern.test(x)) throw this.error(field, `is "${x}"; expected ${opts.hint ?? opts.pattern.source}.`);
    return x;
  }

  boolean(x: unknown, field: string): boolean | undefined {
    if (x === undefined) return undefined;
    if (typeof x !== 'boolean') throw this.error(field, `must be true or false, not ${describe(x)}.`);
    return x;
  }

  int(x: unknown, field: string, min: number, max: number): number | undefined {
    if (x === undefined) return undefined;
    if (typeof x !== 'number' || !Number.isInteger(x) || x < min || x > max) throw this.error(field, `is ${describe(x)}; it must be an integer from ${min} to ${max}.`);
    return x;
  }

  oneOf<T extends string | number>(x: unknown, field: string, allowed: readonly T[], required = false): T | undefined {
    if (x === undefined && !required) return undefined;
    if (!allowed.includes(x as T)) throw this.error(field, `is ${describe(x)}; it must be one of ${allowed.join(', ')}.`);
    return x as T;
  }
}

function describe(x: unknown): string {
  if (x === undefined) return 'missing';
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array';
  if (typeof x === 'object') return 'an object';
  return JSON.stringify(x);
}
