import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBClusterCommand,
  ModifyDBInstanceCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import { RotationError, configurationError } from './errors';
import { errorName } from './secret-store';
import type { RdsResourceKind } from './rds-arn';

export type { RdsResourceKind } from './rds-arn';


/** What rotation needs to know about an RDS instance or Aurora cluster. */
export interface RdsDatabase {
  kind: RdsResourceKind;
  identifier: string;
  engine: string;
  host?: string;
  port?: number;
  status: string;
  masterUsername?: string;
  /** RDS manages the master password in Secrets Manager itself (ManageMasterUserPassword). */
  managedMasterPassword: boolean;
}

/**
 * The RDS API calls rotation makes: DescribeDBInstances/DescribeDBClusters
 * and ModifyDBInstance/ModifyDBCluster with MasterUserPassword.
 * https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
 */
export class RdsDirectory {
  constructor(private readonly client: RDSClient) {}

  async describe(kind: RdsResourceKind, identifier: string): Promise<RdsDatabase> {
    if (kind === 'instance') {
      const out = await this.call('DescribeDBInstances', identifier, () =>
        this.client.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: identifier })));
      const i = out.DBInstances?.[0];
      if (!i) throw notFound(kind, identifier);
      return {
        kind, identifier, engine: i.Engine ?? '', host: i.Endpoint?.Address, port: i.Endpoint?.Port,
        status: i.DBInstanceStatus ?? 'unknown', masterUsername: i.MasterUsername,
        managedMasterPassword: i.MasterUserSecret !== undefined,
      };
    }
    const out = await this.call('DescribeDBClusters', identifier, () =>
      this.client.send(new DescribeDBClustersCommand({ DBClusterIdentifier: identifier })));
    const c = out.DBClusters?.[0];
    if (!c) throw notFound(kind, identifier);
    return {
      kind, identifier, engine: c.Engine ?? '', host: c.Endpoint, port: c.Port,
      status: c.Status ?? 'unknown', masterUsername: c.MasterUsername,
      managedMasterPassword: c.MasterUserSecret !== undefined,
    };
  }

  async setMasterPassword(kind: RdsResourceKind, identifier: string, password: string): Promise<void> {
    if (kind === 'instance') {
      await this.call('ModifyDBInstance', identifier, () =>
        this.client.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: identifier, MasterUserPassword: password, ApplyImmediately: true })));
    } else {
      await this.call('ModifyDBCluster', identifier, () =>
        this.client.send(new ModifyDBClusterCommand({ DBClusterIdentifier: identifier, MasterUserPassword: password, ApplyImmediately: true })));
    }
  }

  private async call<T>(operation: string, identifier: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      const name = errorName(e);
      if (name === 'DBInstanceNotFound' || name === 'DBInstanceNotFoundFault' || name === 'DBClusterNotFoundFault') {
        throw notFound(operation.includes('Cluster') ? 'cluster' : 'instance', identifier);
      }
      if (name === 'AccessDenied' || name === 'AccessDeniedException') {
        throw new RotationError({
          category: 'permission', code: name, message: `RDS ${operation} on ${identifier} was denied`,
          action: `Grant the rotation function rds:${operation} on this database (the rds-master strategy and RDS-managed master secrets need it).`,
        });
      }
      if (name === 'InvalidDBInstanceState' || name === 'InvalidDBInstanceStateFault' || name === 'InvalidDBClusterStateFault') {
        throw new RotationError({
          category: 'conflict', code: name, message: `RDS refused ${operation} on ${identifier}: the database is not in a state that allows it`,
          action: 'Wait until the database is available (see the RDS console or DescribeDBInstances), then let the rotation retry.',
        });
      }
      if (name === 'InvalidParameterValue' || name === 'InvalidParameterCombination') {
        throw new RotationError({
          category: 'configuration', code: name, message: `RDS rejected ${operation} on ${identifier}: a parameter is invalid`,
          action: 'Check the password policy against the RDS master password rules (8-41 characters for MySQL/MariaDB, 8-128 for PostgreSQL; no / " @ or space).',
        });
      }
      throw new RotationError({
        category: 'network', code: name ?? 'Unknown', message: `RDS ${operation} on ${identifier} failed or RDS could not be reached`,
        action: 'Check that the function can reach the RDS API (an rds interface VPC endpoint or a NAT route), then retry.',
      });
    }
  }
}

function notFound(kind: RdsResourceKind, identifier: string): RotationError {
  return configurationError(
    `RDS has no DB ${kind} "${identifier}"`,
    `Fix "${kind === 'instance' ? 'dbInstanceIdentifier' : 'dbClusterIdentifier'}" in the secret (or the RDS tag of the master secret).`,
  );
}
