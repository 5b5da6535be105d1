import { isValidIdentifier, managedSecretArn, rdsArn, resourceId } from './identifiers';

/** A DB instance of the local stack, bound to a real database server. */
export interface LocalRdsInstance {
  /** DB instance identifier (RDS rules; stored lowercase). */
  identifier: string;
  /** 'postgres' | 'mysql' | 'mariadb' | 'aurora-postgresql' | 'aurora-mysql' */
  engine: string;
  /** Where the real database server listens (DescribeDBInstances `Endpoint.Address` / `Endpoint.Port`). */
  host: string;
  port: number;
  masterUsername: string;
  /** The master password is managed by RDS in Secrets Manager (`MasterUserSecret`); ModifyDBInstance then refuses `MasterUserPassword`. */
  manageMasterUserPassword?: boolean;
  /** `MasterUserSecret.SecretArn`; generated (`rds!db-<uuid>`) when managed and not given. */
  masterUserSecretArn?: string;
  /** The DB cluster this instance belongs to (required for Aurora engines). */
  clusterIdentifier?: string;
  /**
   * Changes the master password in the real database, as an administrator
   * would. Called once per accepted change, at the end of the
   * `passwordChangeDelayMs`; a rejection leaves the password as it was.
   */
  applyPassword(newPassword: string): Promise<void>;
}

/** A DB cluster (Aurora, or a Multi-AZ DB cluster) of the local stack. */
export interface LocalRdsCluster {
  identifier: string;
  /** 'aurora-postgresql' | 'aurora-mysql' (or 'postgres' | 'mysql' for Multi-AZ DB clusters) */
  engine: string;
  /** `Endpoint` and `ReaderEndpoint` both name this host. */
  host: string;
  port: number;
  masterUsername: string;
  manageMasterUserPassword?: boolean;
  /** Generated (`rds!cluster-<uuid>`) when managed and not given. */
  masterUserSecretArn?: string;
  /** Member DB instances; the first is the writer. Instances naming this cluster in `clusterIdentifier` are members too. */
  memberInstanceIds?: string[];
  applyPassword(newPassword: string): Promise<void>;
}

export type ResourceKind = 'instance' | 'cluster';

/** One password change: when it was requested, and when it was applied or why it failed. Never the password. */
export interface PasswordChange {
  identifier: string;
  kind: ResourceKind;
  requestedAt: string;
  appliedAt?: string;
  error?: string;
}

/*
 * Statuses used here, from the documented lists:
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/accessing-monitoring.html (DB instance status)
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/accessing-monitoring.html (DB cluster status)
 *   available                    - available for modifications
 *   resetting-master-credentials - the master credentials are being reset because of a customer request
 */
export type ResourceStatus = 'available' | 'resetting-master-credentials';

export interface ResourceState {
  kind: ResourceKind;
  /** Lowercase identifier. */
  id: string;
  arn: string;
  resourceId: string;
  engine: string;
  host: string;
  port: number;
  masterUsername: string;
  managed: boolean;
  secretArn?: string;
  createdAt: Date;
  status: ResourceStatus;
  /** A master password change was accepted and not yet applied (PendingModifiedValues.MasterUserPassword). */
  passwordPending: boolean;
  applyPassword: (newPassword: string) => Promise<void>;
  /** Instances: the cluster named in the configuration. */
  clusterId?: string;
  /** Clusters: configured member instance ids, writer first. */
  memberIds?: string[];
}

export const INSTANCE_ENGINES = ['postgres', 'mysql', 'mariadb', 'aurora-postgresql', 'aurora-mysql'] as const;
export const CLUSTER_ENGINES = ['aurora-postgresql', 'aurora-mysql', 'postgres', 'mysql'] as const;

/** The local stack's DB instances and clusters. */
export class RdsRegistry {
  readonly instances = new Map<string, ResourceState>();
  readonly clusters = new Map<string, ResourceState>();

  constructor(
    readonly region: string,
    readonly accountId: string,
  ) {}

  addInstance(i: LocalRdsInstance): ResourceState {
    const base = this.validate('instance', i, INSTANCE_ENGINES);
    if (this.instances.has(base.id)) throw new Error(`LocalRds: a DB instance ${base.id} already exists`);
    let clusterId: string | undefined;
    if (i.clusterIdentifier !== undefined) {
      if (!isValidIdentifier(i.clusterIdentifier)) throw new Error(`LocalRds: not a valid DB cluster identifier: ${i.clusterIdentifier}`);
      clusterId = i.clusterIdentifier.toLowerCase();
    }
    if (i.engine.startsWith('aurora-') && clusterId === undefined) {
      // Every Aurora DB instance belongs to a DB cluster.
      throw new Error(`LocalRds: the Aurora DB instance ${base.id} needs a clusterIdentifier`);
    }
    const listedBy = [...this.clusters.values()].find((c) => c.memberIds?.includes(base.id));
    if (listedBy && clusterId !== undefined && listedBy.id !== clusterId) {
      throw new Error(`LocalRds: DB instance ${base.id} names cluster ${clusterId} but cluster ${listedBy.id} lists it as a member`);
    }
    const state: ResourceState = { ...base, clusterId };
    this.instances.set(state.id, state);
    return state;
  }

  addCluster(c: LocalRdsCluster): ResourceState {
    const base = this.validate('cluster', c, CLUSTER_ENGINES);
    if (this.clusters.has(base.id)) throw new Error(`LocalRds: a DB cluster ${base.id} already exists`);
    const memberIds = (c.memberInstanceIds ?? []).map((m) => {
      if (!isValidIdentifier(m)) throw new Error(`LocalRds: not a valid DB instance identifier: ${m}`);
      const id = m.toLowerCase();
      const inst = this.instances.get(id);
      if (inst?.clusterId !== undefined && inst.clusterId !== base.id) {
        throw new Error(`LocalRds: DB instance ${id} belongs to cluster ${inst.clusterId}, not ${base.id}`);
      }
      return id;
    });
    if (new Set(memberIds).size !== memberIds.length) throw new Error(`LocalRds: cluster ${base.id} lists a member twice`);
    for (const other of this.clusters.values()) {
      const shared = memberIds.find((m) => other.memberIds?.includes(m));
      if (shared) throw new Error(`LocalRds: DB instance ${shared} is already a member of cluster ${other.id}`);
    }
    const state: ResourceState = { ...base, memberIds };
    this.clusters.set(state.id, state);
    return state;
  }

  /** The cluster an instance belongs to (its own setting, or a cluster listing it). */
  clusterOf(inst: ResourceState): string | undefined {
    if (inst.clusterId !== undefined) return inst.clusterId;
    return [...this.clusters.values()].find((c) => c.memberIds?.includes(inst.id))?.id;
  }

  /** Members of a cluster, writer first: the configured list, then instances naming the cluster (by identifier). */
  membersOf(cluster: ResourceState): string[] {
    const listed = cluster.memberIds ?? [];
    const naming = [...this.instances.values()]
      .filter((i) => i.clusterId === cluster.id && !listed.includes(i.id))
      .map((i) => i.id)
      .sort();
    return [...listed, ...naming];
  }

  private validate(kind: ResourceKind, r: LocalRdsInstance | LocalRdsCluster, engines: readonly string[]): Omit<ResourceState, 'clusterId' | 'memberIds'> {
    const what = kind === 'instance' ? 'DB instance' : 'DB cluster';
    if (!r || typeof r !== 'object') throw new Error(`LocalRds: a ${what} needs a configuration object`);
    if (typeof r.identifier !== 'string' || !isValidIdentifier(r.identifier)) {
      throw new Error(
        `LocalRds: not a valid ${what} identifier: ${String(r.identifier)} (1-63 letters, digits or hyphens; first a letter; no trailing or double hyphen)`,
      );
    }
    if (!engines.includes(r.engine)) throw new Error(`LocalRds: ${what} engine must be one of ${engines.join(', ')}; got ${String(r.engine)}`);
    if (typeof r.host !== 'string' || r.host === '') throw new Error(`LocalRds: ${what} ${r.identifier} needs a host`);
    if (!Number.isInteger(r.port) || r.port < 1 || r.port > 65535) throw new Error(`LocalRds: ${what} ${r.identifier} needs a port 1-65535`);
    if (typeof r.masterUsername !== 'string' || r.masterUsername === '') throw new Error(`LocalRds: ${what} ${r.identifier} needs a masterUsername`);
    if (typeof r.applyPassword !== 'function') throw new Error(`LocalRds: ${what} ${r.identifier} needs an applyPassword(newPassword) function`);
    const managed = r.manageMasterUserPassword === true;
    if (!managed && r.masterUserSecretArn !== undefined) {
      throw new Error(`LocalRds: ${what} ${r.identifier} has a masterUserSecretArn but not manageMasterUserPassword: true`);
    }
    const id = r.identifier.toLowerCase();
    const type = kind === 'instance' ? 'db' : 'cluster';
    return {
      kind,
      id,
      arn: rdsArn(this.region, this.accountId, type, id),
      resourceId: resourceId(type),
      engine: r.engine,
      host: r.host,
      port: r.port,
      masterUsername: r.masterUsername,
      managed,
      secretArn: managed ? (r.masterUserSecretArn ?? managedSecretArn(this.region, this.accountId, type)) : undefined,
      createdAt: new Date(),
      status: 'available',
      passwordPending: false,
      applyPassword: r.applyPassword.bind(r),
    };
  }
}
