import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/**
 * A complete, small target for a first deployment: a VPC without internet
 * access and a PostgreSQL instance whose master credential Secrets Manager
 * generates. For trying rotor, not for production data.
 */
export class ExampleDatabase extends Construct {
  readonly vpc: ec2.Vpc;
  readonly instance: rds.DatabaseInstance;
  /** The generated master secret itself (`instance.secret` is its attachment, which cannot carry tags). */
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    });
    Validations.of(this.vpc).acknowledge({
      id: 'AwsSolutions-VPC7',
      reason: 'Example VPC with no internet route holding only the demo database and the rotation function; flow logs are an opt-in cost for real deployments, which bring their own VPC.',
    });

    this.instance = new rds.DatabaseInstance(this, 'Postgres', {
      engine: rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 }),
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MICRO),
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      credentials: rds.Credentials.fromGeneratedSecret('rotor_admin'),
      databaseName: 'app',
      port: 5433,
      storageEncrypted: true,
      allocatedStorage: 20,
      backupRetention: Duration.days(1),
      multiAz: false,
      publiclyAccessible: false,
      deletionProtection: false,
      removalPolicy: RemovalPolicy.DESTROY,
      // rds.force_ssl is on by default from PostgreSQL 15; the function verifies the certificate.
    });
    // Selected by the example config's group schedule (tag env=demo).
    this.secret = this.instance.node.findChild('Secret') as secretsmanager.Secret;
    Tags.of(this.secret).add('env', 'demo');
    const ack = (ruleId: string, reason: string): void => Validations.of(this.instance).acknowledge({ id: ruleId, reason });
    ack('AwsSolutions-RDS3', 'Example database for a first deployment; Multi-AZ doubles its cost and is not what is being demonstrated.');
    ack('AwsSolutions-RDS10', 'Example database meant to be deleted with the stack (cdk destroy); it holds no data.');
  }
}
