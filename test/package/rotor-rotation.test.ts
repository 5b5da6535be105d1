import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { RotationFunction } from '../../lib/rotation-function';
import { addRotorRotation, RotorRotation, type RotorRotationProps } from '../../lib/rotor-rotation';

// RotorRotation (lib/rotor-rotation.ts): one call for an RDS instance or cluster, engine,
// port, network path, VPC and rds-master ARN taken from the database.

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:orders/app-user-AbC123`;

/** A stack in an app that skips asset bundling (constructs are checked, not the bundle). */
function stack(id = 'AppDatabaseRotation'): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, id, { env: { account: ACCOUNT, region: REGION } });
}

function importedVpc(s: Stack, id = 'Vpc'): ec2.IVpc {
  return ec2.Vpc.fromVpcAttributes(s, id, {
    vpcId: 'vpc-0a1b2c3d4e5f60718',
    availabilityZones: [`${REGION}a`, `${REGION}b`],
    privateSubnetIds: ['subnet-0a1b2c3d4e5f60718', 'subnet-08172635445362718'],
  });
}

function importedInstance(s: Stack, attrs: Partial<rds.DatabaseInstanceAttributes> = {}): rds.IDatabaseInstance {
  return rds.DatabaseInstance.fromDatabaseInstanceAttributes(s, 'Database', {
    instanceIdentifier: 'orders',
    instanceEndpointAddress: 'orders.c1a2b3c4d5e6.eu-west-1.rds.amazonaws.com',
    port: 5432,
    engine: rds.DatabaseInstanceEngine.POSTGRES,
    securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(s, 'DatabaseSecurityGroup', 'sg-0a1b2c3d4e5f60718')],
    ...attrs,
  });
}

function importedSecret(s: Stack, id = 'AppUserSecret', arn = SECRET_ARN): secretsmanager.ISecret {
  return secretsmanager.Secret.fromSecretCompleteArn(s, id, arn);
}

/** The function's security group, as the ingress rules reference it. */
const FUNCTION_SG = { 'Fn::GetAtt': [Match.stringLikeRegexp('RotorRotationFunctionSecurityGroup'), 'GroupId'] };

describe('RotorRotation infers engine, port and network path', () => {
  test('DatabaseInstance, PostgreSQL on a custom port: engine postgres, ingress on the instance port from its endpoint, function in its VPC', () => {
    const s = stack();
    const vpc = new ec2.Vpc(s, 'Vpc', { maxAzs: 2, natGateways: 0, subnetConfiguration: [{ name: 'db', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
    const database = new rds.DatabaseInstance(s, 'Database', {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_4 }),
      port: 6543,
      storageEncrypted: true,
    });
    const rotation = addRotorRotation(database, { secret: importedSecret(s), automaticallyAfter: Duration.days(7) });
    expect(rotation.node.path).toBe('AppDatabaseRotation/Database/RotorRotation');
    expect(rotation.engine).toBe('postgres');
    expect(rotation.strategy).toBe('single-user');

    const t = Template.fromStack(s);
    const dbLogicalId = s.getLogicalId(database.node.defaultChild as rds.CfnDBInstance);
    // The port is the instance's own (6543 through its endpoint attribute), not the engine default.
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: FUNCTION_SG,
      FromPort: { 'Fn::GetAtt': [dbLogicalId, 'Endpoint.Port'] },
      ToPort: { 'Fn::GetAtt': [dbLogicalId, 'Endpoint.Port'] },
    });
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { SecretId: SECRET_ARN, RotationRules: { ScheduleExpression: 'rate(7 days)' } });
    // In the database's VPC (its isolated subnets: the VPC has no others).
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ROTOR_STRATEGY: 'single-user' }) },
      VpcConfig: { SubnetIds: vpc.isolatedSubnets.map((sn) => ({ Ref: s.getLogicalId(sn.node.defaultChild as ec2.CfnSubnet) })) },
    });
  });

  test('DatabaseInstance, MySQL: engine mysql, port from the instance endpoint', () => {
    const s = stack();
    const vpc = new ec2.Vpc(s, 'Vpc', { maxAzs: 2 });
    const database = new rds.DatabaseInstance(s, 'Database', { vpc, engine: rds.DatabaseInstanceEngine.mysql({ version: rds.MysqlEngineVersion.VER_8_0_40 }), storageEncrypted: true });
    const rotation = RotorRotation.forDatabase(s, 'Rotation', { database, secret: importedSecret(s) });
    expect(rotation.engine).toBe('mysql');
    const dbLogicalId = s.getLogicalId(database.node.defaultChild as rds.CfnDBInstance);
    Template.fromStack(s).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RotationFunctionSecurityGroup'), 'GroupId'] },
      FromPort: { 'Fn::GetAtt': [dbLogicalId, 'Endpoint.Port'] },
    });
  });

  test('imported instances: engine and port from the import attributes (MySQL on 3307, MariaDB, PostgreSQL on 5432)', () => {
    for (const [engine, port, expected] of [
      [rds.DatabaseInstanceEngine.MYSQL, 3307, 'mysql'],
      [rds.DatabaseInstanceEngine.MARIADB, 3306, 'mariadb'],
      [rds.DatabaseInstanceEngine.POSTGRES, 5432, 'postgres'],
    ] as const) {
      const s = stack();
      const database = importedInstance(s, { engine, port });
      const rotation = addRotorRotation(database, { secret: importedSecret(s), vpc: importedVpc(s) });
      expect(rotation.engine).toBe(expected);
      Template.fromStack(s).hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: 'sg-0a1b2c3d4e5f60718',
        SourceSecurityGroupId: FUNCTION_SG,
        FromPort: port,
        ToPort: port,
      });
    }
  });

  test('DatabaseCluster, Aurora PostgreSQL with rds-master: engine aurora-postgresql, cluster port, the cluster ARN and only it', () => {
    const s = stack();
    const vpc = new ec2.Vpc(s, 'Vpc', { maxAzs: 2 });
    const cluster = new rds.DatabaseCluster(s, 'Cluster', {
      vpc,
      engine: rds.DatabaseClusterEngine.auroraPostgres({ version: rds.AuroraPostgresEngineVersion.VER_16_4 }),
      writer: rds.ClusterInstance.provisioned('writer'),
    });
    const rotation = addRotorRotation(cluster, { secret: cluster.secret!, strategy: 'rds-master', functionOptions: { passwordPolicy: { length: 32, excludeCharacters: '/"@\\\'' } } });
    expect(rotation.engine).toBe('aurora-postgresql');
    const t = Template.fromStack(s);
    const clusterLogicalId = s.getLogicalId(cluster.node.defaultChild as rds.CfnDBCluster);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      SourceSecurityGroupId: FUNCTION_SG,
      FromPort: { 'Fn::GetAtt': [clusterLogicalId, 'Endpoint.Port'] },
    });
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['rds:DescribeDBClusters', 'rds:ModifyDBCluster'], Resource: Match.objectLike({ 'Fn::Join': Match.anyValue() }) }),
        ]),
      },
    });
    expect(s.resolve(rotation.rotationFunction.rdsResourceArnList)).toEqual([s.resolve(cluster.clusterArn)]);
  });

  test('imported Aurora MySQL cluster (and the older engine type "aurora") map to aurora-mysql', () => {
    for (const engine of [rds.DatabaseClusterEngine.AURORA_MYSQL, rds.DatabaseClusterEngine.AURORA]) {
      const s = stack();
      const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(s, 'Cluster', {
        clusterIdentifier: 'orders',
        engine,
        port: 3306,
        securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(s, 'ClusterSg', 'sg-0fedcba9876543210')],
      });
      expect(addRotorRotation(cluster, { secret: importedSecret(s), vpc: importedVpc(s) }).engine).toBe('aurora-mysql');
    }
  });

  test('rds-master on an instance binds the function to that instance ARN', () => {
    const s = stack();
    const database = importedInstance(s);
    const rotation = addRotorRotation(database, { secret: importedSecret(s), vpc: importedVpc(s), strategy: 'rds-master', functionOptions: { passwordPolicy: { excludePunctuation: true } } });
    expect(s.resolve(rotation.rotationFunction.rdsResourceArnList)).toEqual([s.resolve(database.instanceArn)]);
  });

  test('alternating-users defaults masterSecret to the database generated secret', () => {
    const s = stack();
    const vpc = new ec2.Vpc(s, 'Vpc', { maxAzs: 2 });
    const database = new rds.DatabaseInstance(s, 'Database', { vpc, engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_16_4 }), storageEncrypted: true });
    addRotorRotation(database, { secret: importedSecret(s), strategy: 'alternating-users' });
    Template.fromStack(s).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([{ Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: s.resolve(database.secret!.secretArn) }]) },
    });
  });

  test('imported Secrets Manager and RDS endpoints (IInterfaceVpcEndpoint) are opened to the function on 443', () => {
    const s = stack();
    const endpoint = (id: string, sg: string) =>
      ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(s, id, { vpcEndpointId: `vpce-${sg.slice(3)}`, port: 443, securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(s, `${id}Sg`, sg)] });
    addRotorRotation(importedInstance(s), {
      secret: importedSecret(s),
      vpc: importedVpc(s),
      strategy: 'rds-master',
      functionOptions: { passwordPolicy: { excludePunctuation: true } },
      secretsManagerEndpoint: endpoint('SecretsManagerEndpoint', 'sg-0aaaaaaaaaaaaaaaa'),
      rdsEndpoint: endpoint('RdsEndpoint', 'sg-0bbbbbbbbbbbbbbbb'),
    });
    const t = Template.fromStack(s);
    for (const sg of ['sg-0aaaaaaaaaaaaaaaa', 'sg-0bbbbbbbbbbbbbbbb']) {
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', { GroupId: sg, SourceSecurityGroupId: FUNCTION_SG, FromPort: 443, ToPort: 443 });
    }
  });

  test('several secrets share one given rotation function', () => {
    const s = stack();
    const vpc = importedVpc(s);
    const database = importedInstance(s);
    const fn = new RotationFunction(s, 'Shared', { vpc });
    const a = addRotorRotation(database, { secret: importedSecret(s), rotationFunction: fn }, 'AppUser');
    const b = addRotorRotation(database, { secret: importedSecret(s, 'Reporting', `${SECRET_ARN.slice(0, -6)}XyZ789`), rotationFunction: fn }, 'Reporting');
    expect(a.rotationFunction).toBe(fn);
    expect(b.rotationFunction).toBe(fn);
    Template.fromStack(s).resourceCountIs('AWS::Lambda::Function', 1);
    Template.fromStack(s).resourceCountIs('AWS::SecretsManager::RotationSchedule', 2);
  });
});

describe('RotorRotation refuses what cannot work, naming the construct path', () => {
  const attempt = (props: (s: Stack) => Partial<RotorRotationProps>, db: (s: Stack) => rds.IDatabaseInstance | rds.IDatabaseCluster = importedInstance) => () => {
    const s = stack();
    const database = db(s);
    addRotorRotation(database, { secret: importedSecret(s), vpc: importedVpc(s), ...props(s) });
  };

  test('an imported database without a VPC to infer (the message docs/deploying.md quotes)', () => {
    const s = stack();
    expect(() => addRotorRotation(importedInstance(s), { secret: importedSecret(s) })).toThrow(
      'AppDatabaseRotation/Database/RotorRotation: database AppDatabaseRotation/Database is imported and has no VPC to infer; set vpc (the VPC the rotation function runs in to reach the database).',
    );
  });

  test('an imported database without an engine, or an engine rotor does not speak', () => {
    expect(attempt(() => ({}), (s) => importedInstance(s, { engine: undefined }))).toThrow(
      /^AppDatabaseRotation\/Database\/RotorRotation: database AppDatabaseRotation\/Database has no engine to infer \(an import without `engine`\); set engine/,
    );
    expect(attempt(() => ({}), (s) => importedInstance(s, { engine: rds.DatabaseInstanceEngine.ORACLE_SE2 }))).toThrow(
      'AppDatabaseRotation/Database/RotorRotation: database AppDatabaseRotation/Database runs oracle-se2; rotor rotates postgres, aurora-postgresql, mysql, mariadb, aurora-mysql.',
    );
    // An explicit engine is taken as given.
    expect(attempt(() => ({ engine: 'mariadb' }), (s) => importedInstance(s, { engine: undefined }))).not.toThrow();
  });

  test('bad port, strategy, engine names', () => {
    expect(attempt(() => ({ port: 70000 }))).toThrow('AppDatabaseRotation/Database/RotorRotation: port is 70000; it must be an integer from 1 to 65535.');
    expect(attempt(() => ({ strategy: 'multi-user' as never }))).toThrow(/^AppDatabaseRotation\/Database\/RotorRotation: strategy is 'multi-user', not one of single-user, alternating-users, rds-master\.$/);
    expect(attempt(() => ({ engine: 'oracle' as never }))).toThrow(/^AppDatabaseRotation\/Database\/RotorRotation: engine is 'oracle', not one of /);
  });

  test('alternating-users on an import with no master secret to default to', () => {
    expect(attempt(() => ({ strategy: 'alternating-users' }))).toThrow(
      "AppDatabaseRotation/Database/RotorRotation: strategy 'alternating-users' needs masterSecret: AppDatabaseRotation/Database has no generated master secret to default to.",
    );
  });

  test('rdsEndpoint outside rds-master', () => {
    const endpoint = (s: Stack) => ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(s, 'Rds', { vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', port: 443 });
    expect(attempt((s) => ({ rdsEndpoint: endpoint(s) }))).toThrow(
      "AppDatabaseRotation/Database/RotorRotation: rdsEndpoint is only used by 'rds-master' (the function calls the RDS API), not 'single-user'.",
    );
  });

  test('a given rotation function: with function settings beside it, another strategy, or outside a VPC', () => {
    const given = (s: Stack, props: ConstructorParameters<typeof RotationFunction>[2] = {}) => new RotationFunction(s, 'Given', props);
    expect(() => {
      const s = stack();
      addRotorRotation(importedInstance(s), { secret: importedSecret(s), vpc: importedVpc(s), rotationFunction: given(s, { vpc: importedVpc(s, 'FunctionVpc') }) });
    }).toThrow('AppDatabaseRotation/Database/RotorRotation: vpc belongs to the rotation function; set it on the RotationFunction given as rotationFunction.');
    expect(() => {
      const s = stack();
      const vpc = importedVpc(s);
      addRotorRotation(importedInstance(s), { secret: importedSecret(s), rotationFunction: given(s, { vpc, strategy: 'alternating-users' }) });
    }).toThrow("AppDatabaseRotation/Database/RotorRotation: strategy is 'single-user' but the given rotationFunction uses 'alternating-users'; use one function per strategy.");
    expect(() => {
      const s = stack();
      addRotorRotation(importedInstance(s), { secret: importedSecret(s), rotationFunction: given(s) });
    }).toThrow('AppDatabaseRotation/Database/RotorRotation: the given rotationFunction is not in a VPC, so it cannot reach the database; create it with `vpc`.');
  });

  test('rds-master problems found by the composed constructs keep the path of this construct', () => {
    // RDS accepts a MySQL instance master password of at most 41 characters.
    expect(attempt(() => ({ strategy: 'rds-master', functionOptions: { passwordPolicy: { length: 64 } } }), (s) => importedInstance(s, { engine: rds.DatabaseInstanceEngine.MYSQL, port: 3306 }))).toThrow(
      /^AppDatabaseRotation\/Database\/RotorRotation\/Rotation: the rotation function's passwordPolicy.length is 64, but RDS accepts a mysql instance master password of 8-41 characters/,
    );
  });
});

describe('RotationFunction takes any IInterfaceVpcEndpoint for Secrets Manager', () => {
  test('an endpoint of this app without private DNS: the function is pointed at its DNS name', () => {
    const s = stack();
    const vpc = new ec2.Vpc(s, 'Vpc', { maxAzs: 2 });
    const endpoint = new ec2.InterfaceVpcEndpoint(s, 'Endpoint', { vpc, service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, privateDnsEnabled: false });
    new RotationFunction(s, 'Fn', { vpc, secretsManagerEndpoint: endpoint, secretsManagerEndpointPrivateDns: false });
    Template.fromStack(s).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AWS_ENDPOINT_URL_SECRETS_MANAGER: Match.objectLike({ 'Fn::Join': Match.anyValue() }) }) },
    });
  });

  test('an imported endpoint without private DNS is refused: it has no DNS name to read', () => {
    const s = stack();
    const endpoint = ec2.InterfaceVpcEndpoint.fromInterfaceVpcEndpointAttributes(s, 'Endpoint', { vpcEndpointId: 'vpce-0a1b2c3d4e5f60718', port: 443 });
    expect(() => new RotationFunction(s, 'Fn', { vpc: importedVpc(s), secretsManagerEndpoint: endpoint, secretsManagerEndpointPrivateDns: false })).toThrow(
      "AppDatabaseRotation/Fn: secretsManagerEndpointPrivateDns: false needs the endpoint's DNS name, which only an InterfaceVpcEndpoint created in this app has; an imported endpoint must have private DNS enabled.",
    );
  });
});
