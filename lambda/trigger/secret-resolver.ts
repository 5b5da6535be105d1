import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  type SecretListEntry,
  type SecretsManagerClient,
  type Tag,
} from '@aws-sdk/client-secrets-manager';
import { errorName } from '../core/secret-store';
import { MANAGED_BY_TAG } from './config';
import type { RotationTarget, TagFilter } from './events';
import { mapWithConcurrency } from './rate-limiter';
import type { FailedSecret, SkippedSecret } from './report';
import { describeFailure } from './failure';
import { parseArn, type TriggerScope } from './events/scope';

/** What the trigger needs to know about a secret to decide whether to rotate it. */
export interface CandidateSecret {
  arn: string;
  name: string;
  rotationEnabled: boolean;
  /** Labelled versions, version id -> staging labels. */
  versions: Record<string, string[]>;
  tags: Record<string, string>;
  deleted: boolean;
  /** LastRotatedDate (epoch ms): when a rotation last completed. */
  lastRotated?: number;
  /** The idempotency key of the finding that named it (absent: the request's event id). */
  key?: string;
  /** Read with DescribeSecret (ListSecrets results can lag behind by minutes). */
  fresh: boolean;
}

export interface Resolution {
  candidates: CandidateSecret[];
  skipped: SkippedSecret[];
  failed: FailedSecret[];
  notes: string[];
}

export interface ResolverDeps {
  client: SecretsManagerClient;
  deploymentId: string;
  concurrency: number;
  /** The function's account and Region: a secret ARN elsewhere is skipped. */
  scope?: TriggerScope;
  /** Wraps every Secrets Manager call (backoff on throttling). */
  call: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** The database fields of a secret value; the password is never kept. */
interface DatabaseFields {
  host?: string;
  username?: string;
  dbInstanceIdentifier?: string;
  dbClusterIdentifier?: string;
  /** Alternating users: the secret's credential is `name` or `name_clone`, whichever is current. */
  masterarn?: string;
}

/**
 * Turns an event's targets into the secrets they name. Explicit ids are
 * described; tag filters are listed (ListSecrets, paginated, then matched
 * exactly: Secrets Manager's filters match prefixes and combine tag keys and
 * values loosely); a database named by a finding is matched against the
 * values of this deployment's managed secrets only.
 */
export class SecretResolver {
  private managed?: Promise<CandidateSecret[]>;
  private fields?: Promise<Map<string, DatabaseFields>>;

  constructor(private readonly deps: ResolverDeps) {}

  async resolve(targets: RotationTarget[]): Promise<Resolution> {
    const out: Resolution = { candidates: [], skipped: [], failed: [], notes: [] };
    const seen = new Set<string>();
    const add = (c: CandidateSecret, key: string | undefined) => {
      if (!seen.has(c.arn)) {
        seen.add(c.arn);
        out.candidates.push({ ...c, key });
      }
    };
    // Each secret id once, with the key of the first target naming it.
    const ids = new Map<string, string | undefined>();
    for (const t of targets) if (t.kind === 'secret' && !ids.has(t.secretId)) ids.set(t.secretId, t.key);
    const described = await mapWithConcurrency([...ids], this.deps.concurrency, async ([id, key]) => ({ key, d: await this.describe(id) }));
    for (const { key, d } of described) {
      if ('candidate' in d) add(d.candidate, key);
      else if ('skipped' in d) out.skipped.push(d.skipped);
      else out.failed.push(d.failed);
    }
    for (const t of targets) {
      if (t.kind === 'secret') continue;
      const what = t.kind === 'tags' ? `tags ${describeFilters(t.filters)}` : describeDatabase(t);
      try {
        const found = t.kind === 'tags' ? await this.byTags(t.filters) : await this.byDatabase(t);
        if (found.length === 0) {
          out.notes.push(t.kind === 'tags' ? `no secret has the ${what}` : `no secret managed by this deployment belongs to ${what}`);
        }
        found.forEach((c) => add(c, t.key));
      } catch (e) {
        // Listing failed: which secrets the target names is unknown, so the target itself is reported failed.
        out.failed.push({ secretArn: `(${what})`, ...describeFailure(t.kind === 'tags' ? 'ListSecrets' : 'ListSecrets/BatchGetSecretValue', e) });
      }
    }
    return out;
  }

  /**
   * Reads again, with DescribeSecret, the candidates that came from
   * ListSecrets, so that the cool-down and mid-rotation checks see current
   * state (ListSecrets can lag behind by minutes in AWS:
   * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html).
   * One call per secret; used only for alert and request events, whose
   * secrets are capped.
   */
  async refresh(candidates: CandidateSecret[]): Promise<Pick<Resolution, 'candidates' | 'skipped' | 'failed'>> {
    const out: Pick<Resolution, 'candidates' | 'skipped' | 'failed'> = { candidates: [], skipped: [], failed: [] };
    const read = await mapWithConcurrency(candidates, this.deps.concurrency, async (c) => (c.fresh ? { candidate: c } : this.describe(c.arn)));
    read.forEach((d, i) => {
      if ('candidate' in d) out.candidates.push({ ...d.candidate, key: candidates[i].key });
      else if ('skipped' in d) out.skipped.push(d.skipped);
      else out.failed.push(d.failed);
    });
    return out;
  }

  private async describe(secretId: string): Promise<{ candidate: CandidateSecret } | { skipped: SkippedSecret } | { failed: FailedSecret }> {
    const elsewhere = this.elsewhere(secretId);
    if (elsewhere) return { skipped: elsewhere };
    try {
      const d = await this.deps.call(() => this.deps.client.send(new DescribeSecretCommand({ SecretId: secretId })));
      return {
        candidate: {
          arn: d.ARN ?? secretId, name: d.Name ?? secretId, rotationEnabled: d.RotationEnabled === true,
          versions: d.VersionIdsToStages ?? {}, tags: tagMap(d.Tags), deleted: d.DeletedDate !== undefined,
          lastRotated: d.LastRotatedDate?.getTime(), fresh: true,
        },
      };
    } catch (e) {
      if (errorName(e) === 'ResourceNotFoundException') {
        return { skipped: { secretArn: secretId, reason: 'not-found', detail: 'no such secret (deleted, or in another account or Region)' } };
      }
      if (errorName(e) === 'AccessDeniedException') {
        // The deployed role may describe only secrets tagged for this deployment
        // (lib/trigger-function.ts), so a denial is how an unmanaged secret shows.
        return {
          skipped: {
            secretArn: secretId, reason: 'not-managed',
            detail: `DescribeSecret was denied: the function's role reaches only secrets tagged ${MANAGED_BY_TAG}=${this.deps.deploymentId}`,
          },
        };
      }
      return { failed: { secretArn: secretId, ...describeFailure('DescribeSecret', e) } };
    }
  }

  /** A secret ARN of another account or Region is not looked up (a resource policy could let DescribeSecret reach it). */
  private elsewhere(secretId: string): SkippedSecret | undefined {
    const scope = this.deps.scope;
    const p = scope && secretId.startsWith('arn:') ? parseArn(secretId) : undefined;
    if (!scope || !p) return undefined;
    if (p.account !== scope.account) {
      return { secretArn: secretId, reason: 'other-account', detail: `the secret is in account ${p.account}, not this function's account ${scope.account}` };
    }
    if (p.region !== scope.region) {
      return { secretArn: secretId, reason: 'other-region', detail: `the secret is in Region ${p.region}, not this function's Region ${scope.region}` };
    }
    return undefined;
  }

  /** Every secret whose tags match all filters exactly. */
  private async byTags(filters: TagFilter[]): Promise<CandidateSecret[]> {
    const [first] = filters;
    const entries = await this.list([
      { Key: 'tag-key', Values: [first.key] },
      { Key: 'tag-value', Values: first.values },
    ]);
    return entries.filter((c) => filters.every((f) => c.tags[f.key] !== undefined && f.values.includes(c.tags[f.key])));
  }

  private managedSecrets(): Promise<CandidateSecret[]> {
    this.managed ??= this.list([
      { Key: 'tag-key', Values: [MANAGED_BY_TAG] },
      { Key: 'tag-value', Values: [this.deps.deploymentId] },
    ]).then((all) => all.filter((c) => c.tags[MANAGED_BY_TAG] === this.deps.deploymentId));
    return this.managed;
  }

  private async byDatabase(t: Extract<RotationTarget, { kind: 'database' }>): Promise<CandidateSecret[]> {
    const managed = await this.managedSecrets();
    this.fields ??= this.readFields(managed);
    const fields = await this.fields;
    return managed.filter((c) => {
      const f = fields.get(c.arn);
      return f !== undefined && matchesDatabase(f, t);
    });
  }

  /** AWSCURRENT values of the secrets, 20 per BatchGetSecretValue call; only the database fields are kept. */
  private async readFields(secrets: CandidateSecret[]): Promise<Map<string, DatabaseFields>> {
    const out = new Map<string, DatabaseFields>();
    const batches: string[][] = [];
    for (let i = 0; i < secrets.length; i += 20) batches.push(secrets.slice(i, i + 20).map((s) => s.arn));
    await mapWithConcurrency(batches, this.deps.concurrency, async (ids) => {
      const res = await this.deps.call(() => this.deps.client.send(new BatchGetSecretValueCommand({ SecretIdList: ids })));
      for (const v of res.SecretValues ?? []) {
        if (v.ARN) out.set(v.ARN, databaseFields(v.SecretString));
      }
    });
    return out;
  }

  private async list(filters: { Key: 'tag-key' | 'tag-value'; Values: string[] }[]): Promise<CandidateSecret[]> {
    const out: CandidateSecret[] = [];
    let next: string | undefined;
    do {
      const page = await this.deps.call(() =>
        this.deps.client.send(new ListSecretsCommand({ Filters: filters, MaxResults: 100, NextToken: next })),
      );
      for (const e of page.SecretList ?? []) out.push(fromListEntry(e));
      next = page.NextToken;
    } while (next);
    return out;
  }
}

function fromListEntry(e: SecretListEntry): CandidateSecret {
  return {
    arn: e.ARN!, name: e.Name ?? e.ARN!, rotationEnabled: e.RotationEnabled === true,
    versions: e.SecretVersionsToStages ?? {}, tags: tagMap(e.Tags), deleted: e.DeletedDate !== undefined,
    lastRotated: e.LastRotatedDate?.getTime(), fresh: false,
  };
}

function tagMap(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

function databaseFields(secretString: string | undefined): DatabaseFields {
  if (secretString === undefined) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    return {};
  }
  if (typeof raw !== 'object' || raw === null) return {};
  const o = raw as Record<string, unknown>;
  const s = (k: string) => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  return { host: s('host'), username: s('username'), dbInstanceIdentifier: s('dbInstanceIdentifier'), dbClusterIdentifier: s('dbClusterIdentifier'), masterarn: s('masterarn') };
}

/**
 * The finding's instance or cluster is the secret's (by its identifier
 * fields, or the first label of an RDS endpoint host name, which is the
 * instance or cluster identifier), and, when the finding names a user, the
 * secret's username is that user. RDS identifiers are case-insensitive.
 */
export function matchesDatabase(f: DatabaseFields, t: { dbInstanceIdentifier?: string; dbClusterIdentifier?: string; user?: string }): boolean {
  const lower = (s?: string) => s?.toLowerCase();
  const hostLabel = f.host && /\.rds\.amazonaws\.com(\.cn)?$/i.test(f.host) ? lower(f.host.split('.')[0]) : undefined;
  const instance = lower(t.dbInstanceIdentifier);
  const cluster = lower(t.dbClusterIdentifier);
  const sameDb =
    (instance !== undefined && (lower(f.dbInstanceIdentifier) === instance || hostLabel === instance)) ||
    (cluster !== undefined && (lower(f.dbClusterIdentifier) === cluster || hostLabel === cluster));
  return sameDb && (t.user === undefined || f.username === t.user || (f.masterarn !== undefined && f.username !== undefined && baseName(f.username) === baseName(t.user)));
}

/**
 * An alternating-users secret (it names a master) stands for both `name` and
 * `name_clone`: a finding about either user concerns it, whichever is
 * AWSCURRENT now (the other one is AWSPREVIOUS and still logs in).
 */
function baseName(user: string): string {
  return user.endsWith('_clone') ? user.slice(0, -'_clone'.length) : user;
}

function describeFilters(filters: TagFilter[]): string {
  return filters.map((f) => `${f.key}=${f.values.join('|')}`).join(', ');
}

function describeDatabase(t: { dbInstanceIdentifier?: string; dbClusterIdentifier?: string; user?: string }): string {
  const db = [t.dbInstanceIdentifier && `instance ${t.dbInstanceIdentifier}`, t.dbClusterIdentifier && `cluster ${t.dbClusterIdentifier}`]
    .filter(Boolean).join(' / ');
  return t.user ? `${db}, user ${t.user}` : db;
}
