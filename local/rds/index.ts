/**
 * The local stack's RDS endpoint (DescribeDBInstances, DescribeDBClusters,
 * ModifyDBInstance, ModifyDBCluster over the AWS Query protocol), backed by
 * real local database servers. See docs/local-rds.md.
 */
export { LocalRds, localRdsClientConfig } from './local-rds';
export type { LocalRdsOptions, LocalRdsFaults } from './local-rds';
export type { LocalRdsInstance, LocalRdsCluster, PasswordChange } from './model';
export type { FaultSpec } from '../secrets-manager/faults';
