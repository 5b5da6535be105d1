import Table from 'cli-table3';
import {
  BatchGetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  type Filter,
  type SecretListEntry,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { MANAGED_BY_TAG } from '../../lambda/trigger/config';
import type { TagFilter } from '../../lambda/trigger/events';
import { mapWithConcurrency } from '../../lambda/trigger/rate-limiter';
import { AWSCURRENT, AWSPENDING } from '../../lambda/core/secret-store';
import { secretsManagerClient, type AwsOptions } from '../lib/aws';
import { colourOn, formatDate, matchesTags, paint, printJson, relative, tableStyle, type Colour } from '../lib/output';

export const ENGINE_TAG = 'rotor:engine';
export const STRATEGY_TAG = 'rotor:strategy';
export const DUE_SOON_DAYS = 7;

export type SecretState = 'ok' | 'due-soon' | 'overdue' | 'rotating' | 'stuck' | 'rotation-disabled' | 'never-rotated';
export const STATES: SecretState[] = ['ok', 'due-soon', 'overdue', 'rotating', 'stuck', 'rotation-disabled', 'never-rotated'];

export interface StatusOptions extends AwsOptions {
  tag?: TagFilter[];
  overdue?: boolean;
  ownerTag: string;
  all?: boolean;
  values?: boolean;
  stuckAfter: number;
  json?: boolean;
}

export interface StatusRow {
  name: string;
  arn: string;
  engine?: string;
  strategy?: string;
  owner?: string;
  lastRotated?: string;
  lastAccessed?: string;
  nextRotation?: string;
  state: SecretState;
  detail: string;
  pendingVersionId?: string;
  /** Minutes since the pending version was created (rotating / stuck). */
  pendingMinutes?: number;
}

const COLOURS: Record<SecretState, Colour | undefined> = {
  ok: 'green', 'due-soon': 'yellow', overdue: 'red', rotating: 'cyan', stuck: 'red', 'rotation-disabled': 'grey', 'never-rotated': 'yellow',
};

/** `rotor status`: one row per managed secret with its rotation state. Returns the exit code. */
export async function runStatus(opts: StatusOptions): Promise<number> {
  const started = Date.now();
  const client = secretsManagerClient(opts);
  try {
    const rows = await collectStatus(client, opts, Date.now());
    const shown = opts.overdue ? rows.filter((r) => r.nextRotation !== undefined && Date.parse(r.nextRotation) < Date.now()) : rows;
    const counts = Object.fromEntries(STATES.map((s) => [s, shown.filter((r) => r.state === s).length])) as Record<SecretState, number>;
    const attention = counts.overdue + counts.stuck;
    const seconds = (Date.now() - started) / 1000;
    if (opts.json) {
      printJson({ secrets: shown, summary: { total: shown.length, ...counts, seconds } });
    } else {
      const on = colourOn();
      const t = new Table({
        head: ['secret', 'engine', 'strategy', 'owner', 'last rotated', 'last accessed', 'next rotation', 'state'],
        style: tableStyle(on),
      });
      const now = Date.now();
      for (const r of shown) {
        const next = r.nextRotation ? new Date(r.nextRotation) : undefined;
        t.push([
          r.name, r.engine ?? '-', r.strategy ?? '-', r.owner ?? '-',
          formatDate(r.lastRotated ? new Date(r.lastRotated) : undefined),
          formatDate(r.lastAccessed ? new Date(r.lastAccessed) : undefined, true),
          next ? `${formatDate(next)} (${relative(next, now)})` : '-',
          paint(r.pendingMinutes !== undefined ? `${r.state} (${age(r.pendingMinutes)})` : r.state, COLOURS[r.state], on),
        ]);
      }
      if (shown.length > 0) process.stdout.write(`${t.toString()}\n`);
      const parts = STATES.filter((s) => counts[s] > 0).map((s) => paint(`${counts[s]} ${s}`, COLOURS[s], on));
      process.stdout.write(`${shown.length} secret${shown.length === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''} (${seconds.toFixed(1)} s)\n`);
    }
    return attention > 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}

/** Lists the secrets (ListSecrets, 100 per page) and works out each one's state. */
export async function collectStatus(client: SecretsManagerClient, opts: StatusOptions, now: number): Promise<StatusRow[]> {
  const filters: Filter[] = opts.all ? [] : [{ Key: 'tag-key', Values: [MANAGED_BY_TAG] }];
  const entries: SecretListEntry[] = [];
  let next: string | undefined;
  do {
    const page = await client.send(new ListSecretsCommand({ Filters: filters.length ? filters : undefined, MaxResults: 100, NextToken: next }));
    entries.push(...(page.SecretList ?? []));
    next = page.NextToken;
  } while (next);

  const selected = entries.filter((e) => {
    const tags = tagMap(e);
    if (e.DeletedDate) return false;
    if (opts.all ? e.RotationEnabled === undefined && !e.RotationLambdaARN : tags[MANAGED_BY_TAG] === undefined) return false;
    return matchesTags(tags, opts.tag ?? []);
  });

  const rows = selected.map((e) => toRow(e, opts.ownerTag, now));

  // Only a secret with AWSPENDING on another version than AWSCURRENT needs a second
  // call: ListSecrets does not give the pending version's age.
  const pending = rows.filter((r) => r.pendingVersionId !== undefined);
  await mapWithConcurrency(pending, 8, async (r) => {
    const out = await client.send(new ListSecretVersionIdsCommand({ SecretId: r.arn, MaxResults: 100 }));
    const v = (out.Versions ?? []).find((x) => x.VersionId === r.pendingVersionId);
    const created = v?.CreatedDate?.getTime();
    const ageMin = created === undefined ? undefined : Math.floor((now - created) / 60_000);
    r.pendingMinutes = ageMin;
    if (ageMin !== undefined && ageMin >= opts.stuckAfter) {
      r.state = 'stuck';
      r.detail = `AWSPENDING on version ${r.pendingVersionId} for ${age(ageMin)}; run rotor doctor ${r.name}`;
    } else {
      r.state = 'rotating';
      r.detail = `version ${r.pendingVersionId}${ageMin !== undefined ? `, started ${ageMin} min ago` : ''}`;
    }
  });

  if (opts.values) await readEngines(client, rows);
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

function toRow(e: SecretListEntry, ownerTag: string, now: number): StatusRow {
  const tags = tagMap(e);
  const versions = e.SecretVersionsToStages ?? {};
  const current = Object.keys(versions).find((id) => versions[id]?.includes(AWSCURRENT));
  const pending = Object.keys(versions).find((id) => versions[id]?.includes(AWSPENDING));
  const nextDate = e.NextRotationDate?.getTime();
  const row: StatusRow = {
    name: e.Name ?? e.ARN!, arn: e.ARN!,
    engine: tags[ENGINE_TAG], strategy: tags[STRATEGY_TAG], owner: tags[ownerTag],
    lastRotated: e.LastRotatedDate?.toISOString(), lastAccessed: e.LastAccessedDate?.toISOString(), nextRotation: e.NextRotationDate?.toISOString(),
    state: 'ok', detail: '',
  };
  if (pending !== undefined && pending !== current) {
    row.pendingVersionId = pending;
    row.state = 'rotating';
  } else if (e.RotationEnabled !== true) {
    row.state = 'rotation-disabled';
    row.detail = e.RotationLambdaARN ? 'rotation was turned off' : 'no rotation configured';
  } else if (nextDate !== undefined && nextDate < now) {
    row.state = 'overdue';
    row.detail = `next rotation was due ${relative(e.NextRotationDate, now)}`;
  } else if (!e.LastRotatedDate) {
    row.state = 'never-rotated';
    row.detail = 'rotation is configured but has not completed yet';
  } else if (nextDate !== undefined && nextDate < now + DUE_SOON_DAYS * 86_400_000) {
    row.state = 'due-soon';
    row.detail = `next rotation ${relative(e.NextRotationDate, now)}`;
  }
  return row;
}

/**
 * --values: engine (and a strategy guess: masterarn -> alternating-users) of
 * untagged secrets from their AWSCURRENT values, 20 per BatchGetSecretValue.
 * Only those two fields are kept; nothing else of the value leaves this function.
 */
async function readEngines(client: SecretsManagerClient, rows: StatusRow[]): Promise<void> {
  const todo = rows.filter((r) => r.engine === undefined || r.strategy === undefined);
  const byArn = new Map(todo.map((r) => [r.arn, r]));
  const batches: string[][] = [];
  for (let i = 0; i < todo.length; i += 20) batches.push(todo.slice(i, i + 20).map((r) => r.arn));
  await mapWithConcurrency(batches, 4, async (ids) => {
    const out = await client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }));
    for (const v of out.SecretValues ?? []) {
      const r = v.ARN ? byArn.get(v.ARN) : undefined;
      if (!r || v.SecretString === undefined) continue;
      try {
        const o = JSON.parse(v.SecretString) as Record<string, unknown>;
        if (r.engine === undefined && typeof o.engine === 'string') r.engine = o.engine;
        if (r.strategy === undefined) r.strategy = typeof o.masterarn === 'string' ? 'alternating-users' : 'single-user?';
      } catch {
        r.engine ??= '(not JSON)';
      }
    }
  });
}

function age(minutes: number): string {
  return minutes >= 120 ? `${Math.floor(minutes / 60)} h` : `${minutes} min`;
}

function tagMap(e: SecretListEntry): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of e.Tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}
