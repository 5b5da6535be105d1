import {
  dbClusterNotFound,
  dbInstanceNotFound,
  invalidDBClusterState,
  invalidDBInstanceState,
  invalidParameterCombination,
  invalidParameterValue,
} from './errors';
import { checkIdentifier, identifierOrArn } from './identifiers';
import type { RdsRegistry, ResourceState } from './model';
import type { PasswordChanger } from './password-changes';
import { checkMasterPassword } from './passwords';
import { QueryParams, readFilters, type Filter } from './query';
import { el, type XmlNode } from './xml';

export interface OperationContext {
  registry: RdsRegistry;
  changer: PasswordChanger;
}

export type Operation = (params: QueryParams, ctx: OperationContext) => XmlNode[];

/** Parameters every Query request may carry (action selection and SigV2/SigV4 query authentication). */
const COMMON_PARAMS = new Set([
  'Action',
  'Version',
  'AWSAccessKeyId',
  'Signature',
  'SignatureMethod',
  'SignatureVersion',
  'Timestamp',
  'Expires',
  'SecurityToken',
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-Security-Token',
  'X-Amz-Signature',
  'X-Amz-SignedHeaders',
]);

// ---------------------------------------------------------------------------------------------
// Pagination: MaxRecords (default 100, 20-100) and an opaque Marker.

/**
 * API_DescribeDBInstances / API_DescribeDBClusters, MaxRecords: "Default: 100.
 * Constraints: Minimum 20, maximum 100." RDS answers InvalidParameterValue
 * "Invalid value N for MaxRecords. Must be between 20 and 100".
 */
function readMaxRecords(p: QueryParams): number {
  const n = p.integer('MaxRecords');
  if (n === undefined) return 100;
  if (n < 20 || n > 100) throw invalidParameterValue(`Invalid value ${n} for MaxRecords. Must be between 20 and 100`);
  return n;
}

function encodeMarker(kind: 'db' | 'cluster', after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, k: kind, a: after }), 'utf8').toString('base64url');
}

function decodeMarker(kind: 'db' | 'cluster', marker: string): string {
  try {
    const m = JSON.parse(Buffer.from(marker, 'base64url').toString('utf8')) as { v?: unknown; k?: unknown; a?: unknown };
    if (m && m.v === 1 && m.k === kind && typeof m.a === 'string') return m.a;
  } catch {
    /* not ours */
  }
  throw invalidParameterValue(`The parameter Marker is not valid: ${marker.slice(0, 100)}`);
}

/** Records are returned in identifier order; the marker names the last one returned. */
function paginate(items: ResourceState[], p: QueryParams, kind: 'db' | 'cluster'): { page: ResourceState[]; marker?: string } {
  const max = readMaxRecords(p);
  const marker = p.string('Marker');
  let rest = items;
  if (marker !== undefined && marker !== '') {
    const after = decodeMarker(kind, marker);
    rest = items.filter((i) => i.id > after);
  }
  const page = rest.slice(0, max);
  return { page, marker: rest.length > max ? encodeMarker(kind, page[page.length - 1].id) : undefined };
}

const byId = (a: ResourceState, b: ResourceState) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Filter values name identifiers or ARNs; values that can't match anything are simply dropped. */
function idSet(values: string[], type: 'db' | 'cluster', ctx: OperationContext): Set<string> {
  const out = new Set<string>();
  for (const v of values) {
    try {
      const id = v.startsWith('arn:') ? identifierOrArn('Filters', v, type, ctx.registry.region, ctx.registry.accountId) : v.toLowerCase();
      if (id !== null) out.add(id);
    } catch {
      /* a malformed ARN matches nothing */
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// XML of the DBInstance and DBCluster data types
// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstance.html
// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBCluster.html
// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_MasterUserSecret.html

/** SecretStatus "active": "The secret is available for normal use and rotation." */
function masterUserSecretXml(r: ResourceState): XmlNode | undefined {
  if (!r.managed || !r.secretArn) return undefined;
  return el('MasterUserSecret', [el('SecretArn', r.secretArn), el('SecretStatus', 'active')]);
}

/** RDS never returns a password: a pending one reads "****". */
const PENDING_PASSWORD = '****';

export function instanceXml(r: ResourceState, ctx: OperationContext): XmlNode {
  const clusterId = ctx.registry.clusterOf(r);
  return el('DBInstance', [
    el('DBInstanceIdentifier', r.id),
    el('Engine', r.engine),
    el('DBInstanceStatus', r.status),
    el('MasterUsername', r.masterUsername),
    el('Endpoint', [el('Address', r.host), el('Port', r.port)]),
    el('InstanceCreateTime', r.createdAt.toISOString()),
    el('PendingModifiedValues', r.passwordPending ? [el('MasterUserPassword', PENDING_PASSWORD)] : []),
    el('DBClusterIdentifier', clusterId),
    el('DbiResourceId', r.resourceId),
    el('DBInstanceArn', r.arn),
    masterUserSecretXml(r) ?? el('MasterUserSecret', undefined),
  ]);
}

export function clusterXml(r: ResourceState, ctx: OperationContext): XmlNode {
  const members = ctx.registry.membersOf(r);
  return el('DBCluster', [
    el('DBClusterIdentifier', r.id),
    el('DBClusterArn', r.arn),
    el('DbClusterResourceId', r.resourceId),
    el('Status', r.status),
    el('Engine', r.engine),
    el('Endpoint', r.host),
    el('ReaderEndpoint', r.host),
    el('Port', r.port),
    el('MasterUsername', r.masterUsername),
    el('ClusterCreateTime', r.createdAt.toISOString()),
    el(
      'DBClusterMembers',
      members.map((id, i) => el('DBClusterMember', [el('DBInstanceIdentifier', id), el('IsClusterWriter', i === 0), el('PromotionTier', 1)])),
    ),
    el('PendingModifiedValues', r.passwordPending ? [el('MasterUserPassword', PENDING_PASSWORD)] : undefined),
    masterUserSecretXml(r) ?? el('MasterUserSecret', undefined),
  ]);
}

// ---------------------------------------------------------------------------------------------
// DescribeDBInstances
// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBInstances.html

function instanceFilter(f: Filter, ctx: OperationContext): (r: ResourceState) => boolean {
  switch (f.name) {
    case 'db-cluster-id': {
      const ids = idSet(f.values, 'cluster', ctx);
      return (r) => {
        const c = ctx.registry.clusterOf(r);
        return c !== undefined && ids.has(c);
      };
    }
    case 'db-instance-id': {
      const ids = idSet(f.values, 'db', ctx);
      return (r) => ids.has(r.id);
    }
    case 'dbi-resource-id':
      return (r) => f.values.includes(r.resourceId);
    case 'domain':
      return () => false; // no Active Directory domains here
    case 'engine':
      return (r) => f.values.includes(r.engine);
    default:
      throw invalidParameterValue(`Unrecognized filter name: ${f.name.slice(0, 100)}`);
  }
}

const describeDBInstances: Operation = (p, ctx) => {
  const { registry } = ctx;
  let items = [...registry.instances.values()].sort(byId);
  const idParam = p.string('DBInstanceIdentifier');
  if (idParam !== undefined) {
    const id = identifierOrArn('DBInstanceIdentifier', idParam, 'db', registry.region, registry.accountId);
    const inst = id === null ? undefined : registry.instances.get(id);
    if (!inst) throw dbInstanceNotFound(idParam);
    items = [inst];
  }
  for (const f of readFilters(p)) items = items.filter(instanceFilter(f, ctx));
  const { page, marker } = paginate(items, p, 'db');
  return [el('DBInstances', page.map((r) => instanceXml(r, ctx))), el('Marker', marker)];
};

// ---------------------------------------------------------------------------------------------
// DescribeDBClusters
// https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBClusters.html

function clusterFilter(f: Filter, ctx: OperationContext): (r: ResourceState) => boolean {
  switch (f.name) {
    case 'clone-group-id':
      return () => false; // no clones here
    case 'db-cluster-id': {
      const ids = idSet(f.values, 'cluster', ctx);
      return (r) => ids.has(r.id);
    }
    case 'db-cluster-resource-id':
      return (r) => f.values.includes(r.resourceId);
    case 'domain':
      return () => false;
    case 'engine':
      return (r) => f.values.includes(r.engine);
    default:
      throw invalidParameterValue(`Unrecognized filter name: ${f.name.slice(0, 100)}`);
  }
}

const describeDBClusters: Operation = (p, ctx) => {
  const { registry } = ctx;
  p.boolean('IncludeShared'); // validated; nothing is shared from other accounts here
  let items = [...registry.clusters.values()].sort(byId);
  const idParam = p.string('DBClusterIdentifier');
  if (idParam !== undefined) {
    const id = identifierOrArn('DBClusterIdentifier', idParam, 'cluster', registry.region, registry.accountId);
    const cluster = id === null ? undefined : registry.clusters.get(id);
    if (!cluster) throw dbClusterNotFound(idParam);
    items = [cluster];
  }
  for (const f of readFilters(p)) items = items.filter(clusterFilter(f, ctx));
  const { page, marker } = paginate(items, p, 'cluster');
  return [el('DBClusters', page.map((r) => clusterXml(r, ctx))), el('Marker', marker)];
};

// ---------------------------------------------------------------------------------------------
// ModifyDBInstance / ModifyDBCluster: the master password.

/** Parameters the emulator acts on; any other (documented) Modify parameter is accepted and ignored. */
const PASSWORD_PARAMS = new Set(['MasterUserPassword', 'ManageMasterUserPassword', 'RotateMasterUserPassword', 'ApplyImmediately']);

interface PasswordPlan {
  password?: string;
  turnOffManagement: boolean;
}

/**
 * Validates the password-related parameters of ModifyDBInstance /
 * ModifyDBCluster against the documented constraints:
 *
 * - MasterUserPassword: "Can't be specified if ManageMasterUserPassword is
 *   turned on"; length and characters per engine (see passwords.ts);
 *   doesn't apply to Aurora DB instances ("The password for the master user
 *   is managed by the DB cluster").
 * - ManageMasterUserPassword: "Can't manage the master user password with
 *   AWS Secrets Manager if MasterUserPassword is specified"; turning it off
 *   on a managed resource requires MasterUserPassword (RDS answers
 *   InvalidParameterCombination "MasterUserPassword must be provided when
 *   ManageMasterUserPassword is set to false.").
 * - RotateMasterUserPassword: "valid only if the master user password is
 *   managed by RDS in AWS Secrets Manager"; "You must apply the change
 *   immediately when rotating the master user password."
 * - No modification at all: InvalidParameterCombination "No modifications were requested".
 *
 * https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBInstance.html
 * https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_ModifyDBCluster.html
 */
function planPasswordChange(p: QueryParams, r: ResourceState, idParam: string, memberOf?: string): PasswordPlan {
  const password = p.string('MasterUserPassword');
  const manage = p.boolean('ManageMasterUserPassword');
  const rotate = p.boolean('RotateMasterUserPassword');
  const applyImmediately = p.boolean('ApplyImmediately'); // the password is applied at once either way (see below)
  const others = p.keys().filter((k) => !COMMON_PARAMS.has(k) && !PASSWORD_PARAMS.has(k) && k !== idParam);
  const what = r.kind === 'instance' ? 'DB instance' : 'DB cluster';

  if (password === undefined && manage === undefined && rotate !== true && others.length === 0) {
    throw invalidParameterCombination('No modifications were requested');
  }
  if (memberOf !== undefined && (password !== undefined || manage !== undefined || rotate === true)) {
    throw invalidParameterCombination(
      `The specified DB Instance is a member of a cluster and its master user password should not be modified directly. Instead, modify the master user password of the cluster ${memberOf} using the ModifyDBCluster API.`,
    );
  }
  if (manage === true && password !== undefined) {
    throw invalidParameterCombination(`You can't manage the master user password with AWS Secrets Manager if MasterUserPassword is specified.`);
  }
  if (manage === false && password === undefined) {
    throw invalidParameterCombination('MasterUserPassword must be provided when ManageMasterUserPassword is set to false.');
  }
  if (password !== undefined && r.managed && manage !== false) {
    throw invalidParameterCombination(
      `You can't specify MasterUserPassword for ${what} ${r.id}: its master user password is managed by RDS in AWS Secrets Manager (ManageMasterUserPassword is turned on).`,
    );
  }
  if (rotate === true) {
    if (!r.managed || manage === false) {
      throw invalidParameterCombination(
        'RotateMasterUserPassword is valid only if the master user password is managed by RDS in AWS Secrets Manager.',
      );
    }
    if (applyImmediately !== true) {
      throw invalidParameterCombination('You must apply the change immediately (ApplyImmediately) when rotating the master user password.');
    }
    throw invalidParameterValue(
      'The local stack does not emulate RotateMasterUserPassword (RDS rotating its own managed secret); rotate the secret through Secrets Manager instead.',
    );
  }
  if (manage === true && !r.managed) {
    throw invalidParameterValue(
      'The local stack cannot turn on ManageMasterUserPassword (RDS creating a managed secret); configure the resource with manageMasterUserPassword: true instead.',
    );
  }
  if (password !== undefined) checkMasterPassword(password, r.kind, r.engine);
  return { password, turnOffManagement: manage === false && r.managed };
}

/**
 * Accepts the change: the answer shows the resource as it was when the
 * request was accepted (status unchanged, `PendingModifiedValues.
 * MasterUserPassword` "****"); right after, the status reads
 * `resetting-master-credentials` until the password is applied.
 *
 * ApplyImmediately does not matter for the password, as documented for
 * ModifyDBCluster: "Some modifications, such as turning on deletion
 * protection and changing the master password, are applied immediately -
 * regardless of when you choose to apply them", and for ModifyDBInstance's
 * MasterUserPassword: "the change is asynchronously applied as soon as possible".
 */
function accept(r: ResourceState, plan: PasswordPlan, ctx: OperationContext, render: (r: ResourceState) => XmlNode): XmlNode {
  if (plan.turnOffManagement) {
    // RDS deletes its managed secret here; the local stack only forgets it (the
    // secret, if it exists in the local Secrets Manager, is left alone).
    r.managed = false;
    r.secretArn = undefined;
  }
  if (plan.password === undefined) return render(r);
  r.passwordPending = true;
  const answer = render(r);
  ctx.changer.start(r, plan.password);
  return answer;
}

const modifyDBInstance: Operation = (p, ctx) => {
  const raw = p.requiredString('DBInstanceIdentifier');
  const id = checkIdentifier('DBInstanceIdentifier', raw);
  const inst = ctx.registry.instances.get(id);
  if (!inst) throw dbInstanceNotFound(raw);
  const plan = planPasswordChange(p, inst, 'DBInstanceIdentifier', ctx.registry.clusterOf(inst));
  if (inst.status !== 'available') throw invalidDBInstanceState();
  return [accept(inst, plan, ctx, (r) => instanceXml(r, ctx))];
};

const modifyDBCluster: Operation = (p, ctx) => {
  const raw = p.requiredString('DBClusterIdentifier');
  const id = checkIdentifier('DBClusterIdentifier', raw);
  const cluster = ctx.registry.clusters.get(id);
  if (!cluster) throw dbClusterNotFound(raw);
  const plan = planPasswordChange(p, cluster, 'DBClusterIdentifier');
  if (cluster.status !== 'available') throw invalidDBClusterState(cluster.status);
  return [accept(cluster, plan, ctx, (r) => clusterXml(r, ctx))];
};

/** The operations of the RDS API (version 2014-10-31) that the local stack answers. */
export const operations: ReadonlyMap<string, Operation> = new Map([
  ['DescribeDBInstances', describeDBInstances],
  ['DescribeDBClusters', describeDBClusters],
  ['ModifyDBInstance', modifyDBInstance],
  ['ModifyDBCluster', modifyDBCluster],
]);
