import { Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { MANAGED_BY_TAG } from './lambda-bundling';
import { rdsMasterPasswordProblems, type RotationFunction, type RotationStrategy } from './rotation-function';
import { resolveRotationRules, type RotationScheduleOptions } from './rotation-schedule-rules';

/** Database engines the rotation function speaks. */
export type DatabaseEngine = 'postgres' | 'aurora-postgresql' | 'mysql' | 'mariadb' | 'aurora-mysql';
export const DATABASE_ENGINES: readonly DatabaseEngine[] = ['postgres', 'aurora-postgresql', 'mysql', 'mariadb', 'aurora-mysql'];

/** Default port of each engine. */
export function defaultPort(engine: DatabaseEngine): number {
  return engine.endsWith('postgresql') || engine === 'postgres' ? 5432 : 3306;
}

/** When a secret rotates, and what its rotation schedule and tag say: what DatabaseRotation and RotorRotation share. */
export interface RotationScheduleProps extends RotationScheduleOptions {
  /** Rotate as soon as the schedule is deployed (verifies the setup end to end). @default true (Secrets Manager's default) */
  readonly rotateImmediatelyOnUpdate?: boolean;
  /**
   * Deployment id written as the `rotor:managed-by` tag on the secret (the
   * trigger function only rotates secrets carrying it). Imported secrets
   * cannot be tagged by CloudFormation: tag them yourself.
   * @default - no tag
   */
  readonly deploymentId?: string;
}

/** Props of `DatabaseRotation`. */
export interface DatabaseRotationProps extends RotationScheduleProps {
  /** The secret to rotate (the RDS credential JSON structure). */
  readonly secret: secretsmanager.ISecret;
  /** The function that rotates it; its strategy must equal `strategy`. */
  readonly rotationFunction: RotationFunction;
  /** Engine of the database. */
  readonly engine: DatabaseEngine;
  /** Rotation strategy. @default 'single-user' */
  readonly strategy?: RotationStrategy;
  /** Secret of the user that maintains the two alternating users. Required for, and only for, alternating-users. @default - none */
  readonly masterSecret?: secretsmanager.ISecret;
  /**
   * The database, to open its security group to the function on `port`
   * (e.g. a `DatabaseInstance`, `DatabaseCluster`, or
   * `SecurityGroup.fromSecurityGroupId(...)` wrapped in `Connections`).
   * @default - the network path is managed outside this construct
   */
  readonly database?: ec2.IConnectable;
  /** Database port. @default - the database's default port, else the engine's (5432 / 3306) */
  readonly port?: number;
  /**
   * rds-master: ARN of the DB instance whose master password changes. The
   * function may change it on this instance only (IAM and
   * `ROTOR_RDS_RESOURCE_ARNS`). rds-master needs this or `dbClusterArn`.
   * @default - none
   */
  readonly dbInstanceArn?: string;
  /** rds-master: ARN of the DB cluster whose master password changes (see `dbInstanceArn`). @default - none */
  readonly dbClusterArn?: string;
}

/**
 * Rotates one secret with a rotor rotation function on a schedule: grants,
 * network path, `AWS::SecretsManager::RotationSchedule`, managed-by tag.
 */
export class DatabaseRotation extends Construct {
  readonly schedule: secretsmanager.CfnRotationSchedule;
  /** The schedule expression written to the secret. */
  readonly scheduleExpression: string;

  constructor(scope: Construct, id: string, props: DatabaseRotationProps) {
    super(scope, id);
    const strategy = props.strategy ?? 'single-user';
    const fn = props.rotationFunction;
    const fail = (msg: string): never => {
      throw new Error(`${this.node.path}: ${msg}`);
    };
    if (fn.strategy !== strategy) {
      fail(`strategy is '${strategy}' but the rotation function uses '${fn.strategy}'; use one function per strategy.`);
    }
    if (strategy === 'alternating-users' && !props.masterSecret) fail("strategy 'alternating-users' needs masterSecret (the user that creates and updates the two users).");
    if (strategy !== 'alternating-users' && props.masterSecret) fail(`masterSecret is only used by 'alternating-users', not '${strategy}'.`);
    if (strategy !== 'rds-master' && (props.dbInstanceArn || props.dbClusterArn)) fail(`dbInstanceArn/dbClusterArn are only used by 'rds-master', not '${strategy}'.`);
    if (strategy === 'rds-master') {
      if (!props.dbInstanceArn && !props.dbClusterArn) {
        fail("strategy 'rds-master' needs dbInstanceArn or dbClusterArn: the function may change the master password of exactly the databases it is deployed for.");
      }
      if (props.dbInstanceArn && props.dbClusterArn) fail('set dbInstanceArn or dbClusterArn, not both: one secret is the master credential of one database.');
      for (const p of rdsMasterPasswordProblems(fn.passwordPolicy, props.engine, props)) {
        fail(`the rotation function's passwordPolicy.${p.field} ${p.problem}`);
      }
    }
    if (props.port !== undefined && !(Number.isInteger(props.port) && props.port >= 1 && props.port <= 65535)) fail(`port is ${props.port}; it must be 1-65535.`);
    if (props.database && !fn.isInVpc) fail('database is given but the rotation function is not in a VPC; set `vpc` on the RotationFunction.');

    const rules = resolveRotationRules(props, this.node.path);
    this.scheduleExpression = rules.scheduleExpression;

    fn.grantRotate(props.secret, props.masterSecret);
    if (strategy === 'rds-master') fn.grantRdsMaster({ dbInstanceArn: props.dbInstanceArn, dbClusterArn: props.dbClusterArn });

    if (props.database) {
      const ec2Port = props.port !== undefined ? ec2.Port.tcp(props.port) : props.database.connections.defaultPort ?? ec2.Port.tcp(defaultPort(props.engine));
      fn.connections.allowTo(props.database, ec2Port, `rotor rotation of ${props.secret.node.id}`);
    }

    this.schedule = new secretsmanager.CfnRotationSchedule(this, 'Schedule', {
      secretId: props.secret.secretArn,
      rotationLambdaArn: fn.functionArn,
      rotationRules: { scheduleExpression: rules.scheduleExpression, duration: rules.duration },
      rotateImmediatelyOnUpdate: props.rotateImmediatelyOnUpdate,
    });
    // The first rotation may start as soon as the schedule exists: the function,
    // its policy, Secrets Manager's invoke permission for this secret, the
    // network path to the database (security-group rules) and the Secrets
    // Manager endpoint must be in place first.
    this.schedule.node.addDependency(fn.function, fn.role);
    this.schedule.node.addDependency(fn.invokePermissionFor(props.secret)!);
    // Rules are created as children of the security groups (imported groups
    // have no resource of their own, only these rule children).
    for (const sg of [...(props.database?.connections.securityGroups ?? []), ...fn.connections.securityGroups]) this.schedule.node.addDependency(sg);
    if (fn.secretsManagerEndpoint) this.schedule.node.addDependency(fn.secretsManagerEndpoint);

    if (props.deploymentId) Tags.of(props.secret).add(MANAGED_BY_TAG, props.deploymentId);
    // `rotor status` shows engine and strategy from these tags, without reading secret values.
    Tags.of(props.secret).add('rotor:engine', props.engine);
    Tags.of(props.secret).add('rotor:strategy', strategy);
  }
}
