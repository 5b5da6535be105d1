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
import { cloudTrailClient, secretsManagerClient, type AwsOptions } from '../lib/aws';
import { colourOn, describeError, formatDate, matchesTags, paint, printJson, relative, tableStyle, type Colour } from '../lib/output';
import { lookupRotationEvents, type RotationEvent } from '../lib/rotation-events';

export const ENGINE_TAG = 'rotor:engine';
export const STRATEGY_TAG = 'rotor:strategy';
export const DUE_SOON_DAYS = 7;

export type SecretState = 'ok' | 'due-soon' | 'overdue' | 'rotating' | 'stuck' | 'failed' | 'rotation-disabled' | 'never-rotated';
export const STATES: SecretState[] = ['ok', 'due-soon', 'overdue', 'rotating', 'stuck', 'failed', 'rotation-disabled', 'never-rotated'];

/**
 * Security Hub's Secrets Manager controls, evaluated from ListSecrets metadata (and CloudTrail
 * for a failed rotation): https://docs.aws.amazon.com/securityhub/latest/userguide/secretsmanager-controls.html
 * - SecretsManager.1: automatic rotation enabled (AWS Config secretsmanager-rotation-enabled-check).
 * - SecretsManager.2: rotation configured and succeeding as scheduled (secretsmanager-scheduled-rotation-success-check):
 *   fails when the last rotation failed or the next rotation date has passed; not applicable without rotation.
 * - SecretsManager.3: accessed within --unused-days (secretsmanager-secret-unused, unusedForDays default 90);
 *   a never-accessed secret counts from its creation.
 * - SecretsManager.4: rotated within --max-age-days (secretsmanager-secret-periodic-rotation,
 *   maxDaysSinceRotation default 90); a never-rotated secret counts from its creation.
 */
export const CONTROLS = ['SecretsManager.1', 'SecretsManager.2', 'SecretsManager.3', 'SecretsManager.4'] as const;
export type ControlId = (typeof CONTROLS)[number];
export type ControlResult = 'PASSED' | 'FAILED' | 'NOT_APPLICABLE';

export interface StatusOptions extends AwsOptions {
  tag?: TagFilter[];
  overdue?: boolean;
  ownerTag: string;
  all?: boolean;
  values?: boolean;
  stuckAfter: number;
  /** With --all: SecretsManager.3 threshold (days). */
  unusedDays?: number;
  /** With --all: SecretsManager.4 threshold (days). */
  maxAgeDays?: number;
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
  /** The failed rotation's event (state failed): when, step, category, message. */
  /** Epoch ms of the pending version's creation (internal). */
  pendingCreated?: number;
  failure?: { time: string; event: string; step?: string; category?: string; message?: string };
  created?: string;
  /** With --all: Security Hub's Secrets Manager controls. */
  controls?: Record<ControlId, ControlResult>;
}

const COLOURS: Record<SecretState, Colour | undefined> = {
  ok: 'green', 'due-soon': 'yellow', overdue: 'red', rotating: 'cyan', stuck: 'red', failed: 'red', 'rotation-disabled': 'grey', 'never-rotated': 'yellow',
};

/** `rotor status`: one row per managed secret with its rotation state. Returns the exit code. */
export async function runStatus(opts: StatusOptions): Promise<number> {
  const started = Date.now();
  const client = secretsManagerClient(opts);
  try {
    const notes: string[] = [];
    const rows = await collectStatus(client, opts, Date.now(), notes);
    const shown = opts.overdue ? rows.filter((r) => r.nextRotation !== undefined && Date.parse(r.nextRotation) < Date.now()) : rows;
    const counts = Object.fromEntries(STATES.map((s) => [s, shown.filter((r) => r.state === s).length])) as Record<SecretState, number>;
    const controls = opts.all ? controlSummary(shown) : undefined;
    const controlFailures = controls ? CONTROLS.reduce((n, c) => n + controls[c].failed, 0) : 0;
    const attention = counts.overdue + counts.stuck + counts.failed + controlFailures;
    const seconds = (Date.now() - started) / 1000;
    if (opts.json) {
      printJson({
        secrets: shown.map(({ pendingCreated: _internal, ...r }) => r),
        summary: {
          total: shown.length, ...counts,
          ...(controls ? { controls, thresholds: { unusedDays: opts.unusedDays ?? 90, maxAgeDays: opts.maxAgeDays ?? 90 } } : {}),
          seconds,
        },
        ...(notes.length ? { notes } : {}),
      });
    } else {
      const on = colourOn();
      const t = new Table({
        head: ['secret', 'engine', 'strategy', 'owner', 'last rotated', 'last accessed', 'next rotation', 'state', ...(opts.all ? ['controls failed'] : [])],
        style: tableStyle(on),
      });
      const now = Date.now();
      for (const r of shown) {
        const next = r.nextRotation ? new Date(r.nextRotation) : undefined;
        const state = r.failure ? `${r.state} ${relative(new Date(r.failure.time), now)}` : r.pendingMinutes !== undefined ? `${r.state} (${age(r.pendingMinutes)})` : r.state;
        t.push([
          r.name, r.engine ?? '-', r.strategy ?? '-', r.owner ?? '-',
          formatDate(r.lastRotated ? new Date(r.lastRotated) : undefined),
          formatDate(r.lastAccessed ? new Date(r.lastAccessed) : undefined, true),
          next ? `${formatDate(next)} (${relative(next, now)})` : '-',
          paint(state, COLOURS[r.state], on),
          ...(opts.all ? [paint(failedControls(r).map((c) => c.replace('SecretsManager', 'SM')).join(' ') || '-', failedControls(r).length ? 'red' : 'green', on)] : []),
        ]);
      }
      if (shown.length > 0) process.stdout.write(`${t.toString()}\n`);
      const parts = STATES.filter((s) => counts[s] > 0).map((s) => paint(`${counts[s]} ${s}`, COLOURS[s], on));
      process.stdout.write(`${shown.length} secret${shown.length === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''} (${seconds.toFixed(1)} s)\n`);
      if (controls) {
        const line = CONTROLS.map((c) => `${c} ${controls[c].failed ? paint(`${controls[c].failed} failed`, 'red', on) : 'ok'} (${controls[c].passed} passed${controls[c].notApplicable ? `, ${controls[c].notApplicable} n/a` : ''})`);
        process.stdout.write(`controls (unused > ${opts.unusedDays ?? 90} d, not rotated > ${opts.maxAgeDays ?? 90} d): ${line.join('; ')}\n`);
      }
      for (const r of shown) {
        if (r.failure) process.stdout.write(`${r.name}: ${r.detail}\n`);
      }
      for (const n of notes) process.stderr.write(`note: ${n}\n`);
    }
    return attention > 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}

function failedControls(r: StatusRow): ControlId[] {
  return CONTROLS.filter((c) => r.controls?.[c] === 'FAILED');
}

function controlSummary(rows: StatusRow[]): Record<ControlId, { passed: number; failed: number; notApplicable: number }> {
  const out = {} as Record<ControlId, { passed: number; failed: number; notApplicable: number }>;
  for (const c of CONTROLS) {
    out[c] = { passed: 0, failed: 0, notApplicable: 0 };
    for (const r of rows) {
      const v = r.controls?.[c];
      if (v === 'PASSED') out[c].passed++;
      else if (v === 'FAILED') out[c].failed++;
      else out[c].notApplicable++;
    }
  }
  return out;
}

/** Lists the secrets (ListSecrets, 100 per page) and works out each one's state. */
export async function collectStatus(client: SecretsManagerClient, opts: StatusOptions, now: number, notes: string[] = []): Promise<StatusRow[]> {
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
    // --all: the inventory, every secret whatever its rotation state.
    if (!opts.all && tags[MANAGED_BY_TAG] === undefined) return false;
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
    r.pendingCreated = created;
    if (ageMin !== undefined && ageMin >= opts.stuckAfter) {
      r.state = 'stuck';
      r.detail = `AWSPENDING on version ${r.pendingVersionId} for ${age(ageMin)}; run rotor doctor ${r.name}`;
    } else {
      r.state = 'rotating';
      r.detail = `version ${r.pendingVersionId}${ageMin !== undefined ? `, started ${ageMin} min ago` : ''}`;
    }
  });

  if (pending.length > 0) await markFailed(pending, opts, now, notes);
  if (opts.values) await readEngines(client, rows);
  if (opts.all) {
    const byArn = new Map(selected.map((e) => [e.ARN!, e]));
    for (const r of rows) r.controls = evaluateControls(r, byArn.get(r.arn)!, opts, now);
  }
  return rows.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A failed rotation in AWS leaves AWSPENDING where it was, so ListSecrets shows it as a rotation
 * in progress; DescribeSecret has no failure field either. The failure is in CloudTrail: one
 * LookupEvents query (EventName = RotationFailed, from the oldest pending version's creation,
 * 50 events a page) covers every pending secret, and only runs when some secret has a foreign
 * AWSPENDING. A RotationFailed of the secret at or after its pending version's creation marks
 * it failed, with the event's time, step and message. CloudTrail shows events about 5 minutes
 * after they happen, so a rotation that failed a moment ago still shows as rotating. Without
 * cloudtrail:LookupEvents (or CloudTrail), the state stays rotating/stuck and a note says why.
 */
async function markFailed(pending: StatusRow[], opts: StatusOptions, now: number, notes: string[]): Promise<void> {
  const created = pending.map((r) => r.pendingCreated ?? now - 90 * 86_400_000);
  const start = new Date(Math.max(Math.min(...created) - 60_000, now - 90 * 86_400_000));
  let events: RotationEvent[];
  const ct = cloudTrailClient(opts);
  try {
    events = await lookupRotationEvents(ct, { names: ['RotationFailed'], start, secretArns: new Set(pending.map((r) => r.arn)) });
  } catch (e) {
    notes.push(`could not read rotation failures from CloudTrail (${describeError(e)}): a failed rotation shows as rotating/stuck; allow cloudtrail:LookupEvents to see it`);
    return;
  } finally {
    ct.destroy();
  }
  for (const r of pending) {
    const since = r.pendingCreated === undefined ? 0 : r.pendingCreated - 1_000; // CloudTrail times are whole seconds
    const f = events.find((e) => e.secretArn === r.arn && Date.parse(e.time) >= since);
    if (!f) continue;
    r.state = 'failed';
    r.failure = { time: f.time, event: f.event, ...(f.step ? { step: f.step } : {}), ...(f.category ? { category: f.category } : {}), ...(f.message ? { message: f.message } : {}) };
    r.detail = `rotation failed ${relative(new Date(f.time), now)} (${f.time})${f.step ? ` in ${f.step}` : ''}${f.category ? ` [${f.category}]` : ''}: ${f.message?.replace(/\.$/, '') ?? 'see the rotation function\'s log'}; run rotor doctor ${r.name}`;
  }
}

function evaluateControls(r: StatusRow, e: SecretListEntry, opts: StatusOptions, now: number): Record<ControlId, ControlResult> {
  const day = 86_400_000;
  const created = e.CreatedDate?.getTime() ?? now;
  const accessed = e.LastAccessedDate?.getTime() ?? created;
  const rotated = e.LastRotatedDate?.getTime() ?? created;
  const enabled = e.RotationEnabled === true;
  return {
    'SecretsManager.1': enabled ? 'PASSED' : 'FAILED',
    'SecretsManager.2': !enabled ? 'NOT_APPLICABLE' : r.state === 'failed' || r.state === 'overdue' ? 'FAILED' : 'PASSED',
    'SecretsManager.3': now - accessed > (opts.unusedDays ?? 90) * day ? 'FAILED' : 'PASSED',
    'SecretsManager.4': now - rotated > (opts.maxAgeDays ?? 90) * day ? 'FAILED' : 'PASSED',
  };
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
    created: e.CreatedDate?.toISOString(),
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
