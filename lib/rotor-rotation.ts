import { Token } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { DATABASE_ENGINES, type DatabaseEngine, DatabaseRotation, type RotationScheduleProps } from './database-rotation';
import { RotationFunction, type RotationFunctionProps, type RotationStrategy, ROTATION_STRATEGIES } from './rotation-function';

/** An RDS database rotor can infer engine, port, network and ARN from: an instance or a cluster, created or imported. */
export type RotorDatabase = rds.IDatabaseInstance | rds.IDatabaseCluster;

/** Settings of the rotation function `RotorRotation` creates, besides those it infers from the database. */
export type RotorRotationFunctionOptions = Omit<RotationFunctionProps, 'strategy' | 'vpc' | 'vpcSubnets' | 'securityGroups' | 'secretsManagerEndpoint'>;

/** Options of `addRotorRotation` (the props of `RotorRotation` without the database). */
export interface RotorRotationOptions extends RotationScheduleProps {
  /** The secret to rotate (the RDS credential JSON structure: engine, host, port, username, password, dbname). */
  readonly secret: secretsmanager.ISecret;
  /** Rotation strategy. @default 'single-user' */
  readonly strategy?: RotationStrategy;
  /**
   * Database engine.
   * @default - inferred from the database's engine (`engine` of the instance or cluster, or of its import attributes)
   */
  readonly engine?: DatabaseEngine;
  /**
   * Port the function connects to, opened in the database's security groups.
   * @default - the database's port (`connections.defaultPort`: the endpoint port of a created database, `port` of an imported one), else the engine's default (5432 / 3306)
   */
  readonly port?: number;
  /**
   * Secret of the user that creates and updates the two alternating users.
   * Used by, and only by, `alternating-users`.
   * @default - for `alternating-users`, the database's generated master secret (`instance.secret` / `cluster.secret`); none otherwise
   */
  readonly masterSecret?: secretsmanager.ISecret;
  /**
   * An existing rotation function to use (its strategy must equal `strategy`,
   * and it must be in a VPC that reaches the database). Then `vpc`,
   * `vpcSubnets`, `securityGroups`, `secretsManagerEndpoint` and
   * `functionOptions` must not be set: they belong to that function.
   * @default - a new RotationFunction in the database's VPC
   */
  readonly rotationFunction?: RotationFunction;
  /** VPC of the new rotation function. @default - the database's VPC (required for an imported database, which has none) */
  readonly vpc?: ec2.IVpc;
  /** Subnets of the new rotation function. @default - the VPC's private subnets (isolated when there are none) */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Security groups of the new rotation function. @default - a new security group allowing HTTPS out and the database port to the database */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * A Secrets Manager interface VPC endpoint (created here or imported with
   * `InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes`); its security
   * group is opened to the function on 443. Needed when the function's subnets
   * have no route to the internet.
   * @default - none (the function reaches Secrets Manager over the subnets' routes)
   */
  readonly secretsManagerEndpoint?: ec2.IInterfaceVpcEndpoint;
  /**
   * An RDS API interface VPC endpoint (`rds-master` only: the function calls
   * ModifyDBInstance / ModifyDBCluster); its security group is opened to the
   * function on 443. Created or imported; it must have private DNS.
   * @default - none
   */
  readonly rdsEndpoint?: ec2.IInterfaceVpcEndpoint;
  /** Further settings of the new rotation function (password policy, TLS floor, timeouts, log retention, ...). @default - RotationFunction's defaults */
  readonly functionOptions?: RotorRotationFunctionOptions;
}

/** Props of `RotorRotation`. */
export interface RotorRotationProps extends RotorRotationOptions {
  /**
   * The database whose credential rotates: `rds.DatabaseInstance`,
   * `rds.DatabaseCluster`, or their imported forms
   * (`fromDatabaseInstanceAttributes` / `fromDatabaseClusterAttributes`; give
   * those `engine`, `port` and `securityGroups`, or set `engine`/`port` here).
   */
  readonly database: RotorDatabase;
}

/**
 * Rotates one secret of an RDS instance or cluster with rotor, in one call,
 * in the manner of `instance.addRotationSingleUser()`: engine, port, network
 * path (the database's security groups open to the function on its port),
 * VPC, and for `rds-master` the instance/cluster ARN, are taken from the
 * database. Creates a RotationFunction (unless given one) and a
 * DatabaseRotation.
 *
 * @example
 * const rotation = RotorRotation.forDatabase(this, 'AppUserRotation', {
 *   database: instance,
 *   secret: appUserSecret,
 *   automaticallyAfter: Duration.days(7),
 * });
 */
export class RotorRotation extends Construct {
  /**
   * The same as `new RotorRotation(scope, id, props)`, named after what it does.
   */
  static forDatabase(scope: Construct, id: string, props: RotorRotationProps): RotorRotation {
    return new RotorRotation(scope, id, props);
  }

  /** The rotation function (created here, or the one given). */
  readonly rotationFunction: RotationFunction;
  /** The per-secret rotation: grants, security-group rules, rotation schedule. */
  readonly rotation: DatabaseRotation;
  /** The engine, given or inferred. */
  readonly engine: DatabaseEngine;
  /** The rotation strategy. */
  readonly strategy: RotationStrategy;

  constructor(scope: Construct, id: string, props: RotorRotationProps) {
    super(scope, id);
    const fail = (msg: string): never => {
      throw new Error(`${this.node.path}: ${msg}`);
    };
    const db = props.database;
    if (!db || typeof db !== 'object' || !('connections' in db)) fail('database must be an rds.DatabaseInstance or rds.DatabaseCluster (created or imported).');
    const kind = databaseKind(db);
    if (!kind) fail(`database ${db.node.path} is neither an RDS instance nor an RDS cluster.`);
    this.strategy = props.strategy ?? 'single-user';
    if (!ROTATION_STRATEGIES.includes(this.strategy)) fail(`strategy is '${this.strategy}', not one of ${ROTATION_STRATEGIES.join(', ')}.`);
    this.engine = props.engine ?? inferEngine(db, fail);
    if (!DATABASE_ENGINES.includes(this.engine)) fail(`engine is '${this.engine}', not one of ${DATABASE_ENGINES.join(', ')}.`);
    if (props.port !== undefined && !Token.isUnresolved(props.port) && !(Number.isInteger(props.port) && props.port >= 1 && props.port <= 65535)) {
      fail(`port is ${props.port}; it must be an integer from 1 to 65535.`);
    }
    if (props.rdsEndpoint && this.strategy !== 'rds-master') fail(`rdsEndpoint is only used by 'rds-master' (the function calls the RDS API), not '${this.strategy}'.`);

    let fn = props.rotationFunction;
    if (fn) {
      const own = (['vpc', 'vpcSubnets', 'securityGroups', 'secretsManagerEndpoint', 'functionOptions'] as const).filter((k) => props[k] !== undefined);
      if (own.length > 0) fail(`${own.join(', ')} ${own.length === 1 ? 'belongs' : 'belong'} to the rotation function; set ${own.length === 1 ? 'it' : 'them'} on the RotationFunction given as rotationFunction.`);
      if (fn.strategy !== this.strategy) fail(`strategy is '${this.strategy}' but the given rotationFunction uses '${fn.strategy}'; use one function per strategy.`);
      if (!fn.isInVpc) fail('the given rotationFunction is not in a VPC, so it cannot reach the database; create it with `vpc`.');
    } else {
      const vpc = props.vpc ?? vpcOf(db);
      if (!vpc) fail(`database ${db.node.path} is imported and has no VPC to infer; set vpc (the VPC the rotation function runs in to reach the database).`);
      fn = new RotationFunction(this, 'Function', {
        ...props.functionOptions,
        strategy: this.strategy,
        vpc,
        vpcSubnets: props.vpcSubnets,
        securityGroups: props.securityGroups,
        secretsManagerEndpoint: props.secretsManagerEndpoint,
      });
    }
    this.rotationFunction = fn;
    if (props.rdsEndpoint) props.rdsEndpoint.connections.allowDefaultPortFrom(fn, 'rotor rotation function (RDS API)');

    const masterSecret = props.masterSecret ?? (this.strategy === 'alternating-users' ? secretOf(db) : undefined);
    if (this.strategy === 'alternating-users' && !masterSecret) {
      fail(`strategy 'alternating-users' needs masterSecret: ${db.node.path} has no generated master secret to default to.`);
    }
    this.rotation = new DatabaseRotation(this, 'Rotation', {
      secret: props.secret,
      rotationFunction: fn,
      engine: this.engine,
      strategy: this.strategy,
      masterSecret,
      database: db,
      // Unset: DatabaseRotation opens the database's own port (connections.defaultPort), else the engine's default.
      port: props.port,
      dbInstanceArn: this.strategy === 'rds-master' && kind === 'instance' ? (db as rds.IDatabaseInstance).instanceArn : undefined,
      dbClusterArn: this.strategy === 'rds-master' && kind === 'cluster' ? (db as rds.IDatabaseCluster).clusterArn : undefined,
      automaticallyAfter: props.automaticallyAfter,
      scheduleExpression: props.scheduleExpression,
      window: props.window,
      rotateImmediatelyOnUpdate: props.rotateImmediatelyOnUpdate,
      deploymentId: props.deploymentId,
    });
  }
}

/**
 * Adds a rotor rotation of `options.secret` to `database`, as a child of the
 * database construct (like `instance.addRotationSingleUser()`); see
 * `RotorRotation`. Give each further rotation of the same database its own `id`.
 *
 * @param database an `rds.DatabaseInstance` / `rds.DatabaseCluster`, created or imported
 * @param options the secret, strategy, schedule and function settings
 * @param id construct id of the rotation under the database. @default 'RotorRotation'
 */
export function addRotorRotation(database: RotorDatabase, options: RotorRotationOptions, id = 'RotorRotation'): RotorRotation {
  return new RotorRotation(database, id, { ...options, database });
}

/** rotor's engine name for an RDS `engineType` (`aurora` is Aurora MySQL 5.6). */
const ENGINE_TYPES: Readonly<Record<string, DatabaseEngine>> = {
  postgres: 'postgres',
  mysql: 'mysql',
  mariadb: 'mariadb',
  'aurora-postgresql': 'aurora-postgresql',
  'aurora-mysql': 'aurora-mysql',
  aurora: 'aurora-mysql',
};

function databaseKind(db: RotorDatabase): 'instance' | 'cluster' | undefined {
  if ('instanceIdentifier' in db && 'dbInstanceEndpointAddress' in db) return 'instance';
  if ('clusterIdentifier' in db && 'clusterEndpoint' in db) return 'cluster';
  return undefined;
}

function inferEngine(db: RotorDatabase, fail: (msg: string) => never): DatabaseEngine {
  const engine = (db as { engine?: { engineType: string } }).engine;
  if (!engine) {
    return fail(`database ${db.node.path} has no engine to infer (an import without \`engine\`); set engine ('${DATABASE_ENGINES.join("', '")}').`);
  }
  const ours = ENGINE_TYPES[engine.engineType];
  if (!ours) return fail(`database ${db.node.path} runs ${engine.engineType}; rotor rotates ${DATABASE_ENGINES.join(', ')}.`);
  return ours;
}

function vpcOf(db: RotorDatabase): ec2.IVpc | undefined {
  return (db as { vpc?: ec2.IVpc }).vpc;
}

function secretOf(db: RotorDatabase): secretsmanager.ISecret | undefined {
  return (db as { secret?: secretsmanager.ISecret }).secret;
}
