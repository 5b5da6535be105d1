import { FaultInjector, type FaultSpec } from '../secrets-manager/faults';
import { rdsArn } from './identifiers';
import { RdsRegistry, type LocalRdsCluster, type LocalRdsInstance, type PasswordChange, type ResourceKind } from './model';
import { PasswordChanger } from './password-changes';
import { RdsHttpServer } from './server';

export interface LocalRdsOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** @default 'us-east-1' */
  region?: string;
  /** @default '000000000000' */
  accountId?: string;
  /** How long an accepted master password change stays `resetting-master-credentials` before applyPassword runs. @default 2000 */
  passwordChangeDelayMs?: number;
}

/** Rate limits and injected faults per RDS operation (e.g. 'ModifyDBInstance', or '*'). */
export interface LocalRdsFaults {
  /** Limits an operation (or '*') to `tps` requests per second (token bucket); beyond it RDS answers `Throttling`. `undefined` removes the limit. */
  setRateLimit(op: string, tps?: number): void;
  /** Answers matching requests with an error (a Query error code such as `Throttling`, `InternalFailure`, `DBInstanceNotFound`) and/or a delay. */
  inject(f: FaultSpec): void;
  /** Removes every injected fault and rate limit. */
  clear(): void;
}

/**
 * An RDS API subset (DescribeDBInstances, DescribeDBClusters,
 * ModifyDBInstance, ModifyDBCluster) on this machine, whose DB instances and
 * clusters are real local database servers: a master password change goes
 * through `applyPassword` after `passwordChangeDelayMs`, with the status
 * `resetting-master-credentials` meanwhile. See docs/local-rds.md.
 */
export class LocalRds {
  /** e.g. http://127.0.0.1:43123 */
  readonly endpoint: string;
  readonly region: string;
  readonly accountId: string;
  readonly faults: LocalRdsFaults;

  private stopped = false;

  private constructor(
    private readonly parts: { endpoint: string; registry: RdsRegistry; changer: PasswordChanger; server: RdsHttpServer; faults: FaultInjector },
  ) {
    this.endpoint = parts.endpoint;
    this.region = parts.registry.region;
    this.accountId = parts.registry.accountId;
    const f = parts.faults;
    this.faults = {
      setRateLimit: (op, tps) => f.setRateLimit(op, tps),
      inject: (spec) => f.inject(spec),
      clear: () => f.clear(),
    };
  }

  static async start(opts: LocalRdsOptions = {}): Promise<LocalRds> {
    const region = opts.region ?? 'us-east-1';
    const accountId = opts.accountId ?? '000000000000';
    const delay = opts.passwordChangeDelayMs ?? 2000;
    if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) throw new Error(`LocalRds: not a Region name: ${region}`);
    if (!/^\d{12}$/.test(accountId)) throw new Error(`LocalRds: an account id is 12 digits: ${accountId}`);
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0 || delay > 3_600_000) {
      throw new Error(`LocalRds: passwordChangeDelayMs must be between 0 and 3600000, got ${String(delay)}`);
    }
    const registry = new RdsRegistry(region, accountId);
    const changer = new PasswordChanger(delay);
    const faults = new FaultInjector();
    const server = new RdsHttpServer({ context: { registry, changer }, faults }, region);
    const address = await server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1');
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const endpoint = `http://${host === '0.0.0.0' ? '127.0.0.1' : host === '[::]' ? '[::1]' : host}:${address.port}`;
    return new LocalRds({ endpoint, registry, changer, server, faults });
  }

  /** Adds a DB instance (throws on an invalid or duplicate configuration). */
  addInstance(i: LocalRdsInstance): void {
    this.parts.registry.addInstance(i);
  }

  /** Adds a DB cluster (throws on an invalid or duplicate configuration). */
  addCluster(c: LocalRdsCluster): void {
    this.parts.registry.addCluster(c);
  }

  /** arn:aws:rds:<region>:<account>:db:<id> */
  instanceArn(id: string): string {
    return rdsArn(this.region, this.accountId, 'db', id);
  }

  /** arn:aws:rds:<region>:<account>:cluster:<id> */
  clusterArn(id: string): string {
    return rdsArn(this.region, this.accountId, 'cluster', id);
  }

  /**
   * The status DescribeDB* would report (`available`, `resetting-master-credentials`).
   * Looks for a DB instance first, then a DB cluster, unless `kind` says which.
   */
  status(id: string, kind?: ResourceKind): string {
    const key = id.toLowerCase();
    const r =
      (kind !== 'cluster' ? this.parts.registry.instances.get(key) : undefined) ??
      (kind !== 'instance' ? this.parts.registry.clusters.get(key) : undefined);
    if (!r) throw new Error(`LocalRds: no ${kind === 'cluster' ? 'DB cluster' : kind === 'instance' ? 'DB instance' : 'DB instance or cluster'} ${id}`);
    return r.status;
  }

  /** Every master password change requested so far, oldest first; `error` is set when applyPassword failed (the password then stayed as it was). */
  passwordChanges(): PasswordChange[] {
    return this.parts.changer.list();
  }

  /** Resolves when no password change is waiting or being applied. */
  idle(): Promise<void> {
    return this.parts.changer.idle();
  }

  /** Closes the server; changes still in their delay are cancelled (recorded with an error), running ones are awaited for up to 5 s. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.parts.server.close();
    await this.parts.changer.stop(5_000);
  }
}

/** Client settings for the local endpoint: `new RDSClient(localRdsClientConfig(rds.endpoint, rds.region))`. */
export function localRdsClientConfig(
  endpoint: string,
  region: string,
): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
  return { endpoint, region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}
