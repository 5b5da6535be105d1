import { randomUUID } from 'node:crypto';
import Table from 'cli-table3';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AWSCURRENT, AWSPENDING } from '../../lambda/core/secret-store';
import { MANAGED_BY_TAG } from '../../lambda/trigger/config';
import type { RotationTarget, TagFilter } from '../../lambda/trigger/events';
import { delay, mapWithConcurrency, TokenBucket } from '../../lambda/trigger/rate-limiter';
import { withBackoff } from '../../lambda/trigger/retry';
import { rotateOne } from '../../lambda/trigger/rotate';
import { SecretResolver } from '../../lambda/trigger/secret-resolver';
import { cloudTrailClient, ensureAwsConfig, secretsManagerClient, type AwsOptions } from '../lib/aws';
import { colourOn, describeError, paint, printJson, tableStyle, type Colour } from '../lib/output';
import { lookupRotationEvents } from '../lib/rotation-events';

export interface RotateOptions extends AwsOptions {
  secrets: string[];
  tag?: TagFilter[];
  deploymentId?: string;
  requestId?: string;
  wait?: boolean;
  timeout: number;
  concurrency: number;
  maxTps: number;
  pollMs?: number;
  json?: boolean;
}

export type Outcome = 'started' | 'rotated' | 'skipped' | 'failed' | 'timed-out';

export interface RotateResult {
  secret: string;
  outcome: Outcome;
  versionId?: string;
  reason?: string;
  detail?: string;
  seconds?: number;
  /** --wait: the CloudTrail event of a failed rotation (when, step, category, message). */
  event?: { event: string; time: string; step?: string; category?: string; message?: string };
}

const COLOURS: Record<Outcome, Colour> = { started: 'cyan', rotated: 'green', skipped: 'yellow', failed: 'red', 'timed-out': 'red' };

/**
 * `rotor rotate`: the trigger's resolution (SecretResolver), skip rules and
 * deterministic ClientRequestToken (rotateOne), under the same token bucket
 * and backoff. The request id plays the event id's part: running the same
 * command again with the same --request-id starts nothing twice.
 */
export async function runRotate(opts: RotateOptions): Promise<number> {
  const client = secretsManagerClient(opts);
  const requestId = opts.requestId ?? `rotor-cli:${randomUUID()}`;
  const started = Date.now();
  const call = <T>(fn: () => Promise<T>) => withBackoff(fn, { maxAttempts: 8, baseMs: 250, capMs: 8_000 });
  try {
    await ensureAwsConfig(client);
    const targets: RotationTarget[] = opts.secrets.map((secretId) => ({ kind: 'secret' as const, secretId }));
    if (opts.tag?.length) targets.push({ kind: 'tags', filters: opts.tag });
    const resolution = await new SecretResolver({ client, deploymentId: opts.deploymentId ?? '', concurrency: opts.concurrency, call }).resolve(targets);
    const names = new Map(resolution.candidates.map((c) => [c.arn, c.name]));
    const label = (arn: string) => names.get(arn) ?? arn;
    const results: RotateResult[] = [];
    for (const s of resolution.skipped) results.push({ secret: label(s.secretArn), outcome: s.reason === 'not-found' ? 'failed' : 'skipped', reason: s.reason, detail: s.detail });
    for (const f of resolution.failed) results.push({ secret: label(f.secretArn), outcome: 'failed', detail: f.error });

    const limiter = new TokenBucket(opts.maxTps, Math.max(1, Math.min(opts.concurrency, Math.floor(opts.maxTps))));
    const outcomes = await mapWithConcurrency(resolution.candidates, opts.concurrency, (secret) =>
      // Without --deployment-id, any deployment's managed secret may be rotated (never an untagged one).
      rotateOne(secret, requestId, { client, deploymentId: opts.deploymentId ?? secret.tags[MANAGED_BY_TAG] ?? '\u0000none', limiter, call }),
    );
    const startedRotations: RotateResult[] = [];
    for (const o of outcomes) {
      if ('rotated' in o) {
        const r: RotateResult = { secret: label(o.rotated.secretArn), outcome: 'started', versionId: o.rotated.versionId };
        results.push(r);
        startedRotations.push(r);
        arns.set(r, o.rotated.secretArn);
      } else if ('skipped' in o) {
        results.push({ secret: label(o.skipped.secretArn), outcome: o.skipped.reason === 'not-found' ? 'failed' : 'skipped', reason: o.skipped.reason, detail: o.skipped.detail });
      } else {
        results.push({ secret: label(o.failed.secretArn), outcome: 'failed', detail: o.failed.error });
      }
    }
    for (const n of resolution.notes) if (!opts.json) process.stderr.write(`note: ${n}\n`);

    if (opts.wait && startedRotations.length > 0) await waitAll(client, startedRotations, opts, started, call);

    results.sort((a, b) => a.secret.localeCompare(b.secret));
    const count = (o: Outcome) => results.filter((r) => r.outcome === o).length;
    const bad = count('failed') + count('timed-out');
    if (opts.json) {
      printJson({
        requestId, wait: Boolean(opts.wait), results,
        summary: { total: results.length, started: count('started'), rotated: count('rotated'), skipped: count('skipped'), failed: count('failed'), timedOut: count('timed-out'), seconds: (Date.now() - started) / 1000 },
      });
    } else {
      const on = colourOn();
      const t = new Table({ head: ['secret', 'outcome', 'version', 'detail'], style: tableStyle(on), colWidths: [null, null, null, 80] as never, wordWrap: true });
      for (const r of results) {
        t.push([r.secret, paint(r.outcome, COLOURS[r.outcome], on), r.versionId ?? '-', [r.reason, r.detail].filter(Boolean).join(': ') || (r.seconds !== undefined ? `${r.seconds.toFixed(1)} s` : '')]);
      }
      if (results.length > 0) process.stdout.write(`${t.toString()}\n`);
      const parts = (['rotated', 'started', 'skipped', 'failed', 'timed-out'] as Outcome[]).filter((o) => count(o) > 0).map((o) => paint(`${count(o)} ${o}`, COLOURS[o], on));
      process.stdout.write(`${results.length} secret${results.length === 1 ? '' : 's'}: ${parts.join(', ') || 'nothing to do'} (request id ${requestId}; run again with --request-id ${requestId} to retry without rotating twice)\n`);
    }
    return bad > 0 ? 1 : 0;
  } finally {
    client.destroy();
  }
}

const arns = new WeakMap<RotateResult, string>();

/**
 * Polls DescribeSecret until each rotation's version carries AWSCURRENT
 * (rotated), loses AWSPENDING without becoming current (failed: abandoned or
 * cancelled), or the timeout passes. A failed rotation in AWS leaves AWSPENDING
 * where it is (DescribeSecret shows nothing of it), so every other second one
 * CloudTrail LookupEvents query (EventName = RotationFailed, since the command
 * started) looks for the waiting secrets' failures: the first one ends that
 * secret's wait as `failed` with the event (time, step, category, message).
 * CloudTrail shows events about 5 minutes after they happen in AWS (at once
 * locally); without cloudtrail:LookupEvents the wait ends at --timeout as before.
 */
async function waitAll(
  client: SecretsManagerClient, rotations: RotateResult[], opts: RotateOptions, started: number,
  call: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<void> {
  const deadline = Date.now() + opts.timeout * 1000;
  const bar = progressBar(rotations.length, opts.json);
  let waiting = [...rotations];
  const ct = cloudTrailClient(opts);
  let ctError: string | undefined;
  let ctNext = 0;
  const since = new Date(started - 1_000); // CloudTrail times are whole seconds
  try {
    while (waiting.length > 0) {
      if (ctError === undefined && Date.now() >= ctNext) {
        ctNext = Date.now() + 2_000; // LookupEvents: 2 requests per second per account and Region
        try {
          const byArn = new Map(waiting.map((r) => [arns.get(r)!, r]));
          const failures = await lookupRotationEvents(ct, { names: ['RotationFailed'], start: since, secretArns: new Set(byArn.keys()) });
          for (const f of failures.reverse()) { // oldest first: the first failure of each rotation
            const r = byArn.get(f.secretArn);
            if (!r || r.outcome !== 'started') continue;
            r.outcome = 'failed';
            r.event = { event: f.event, time: f.time, ...(f.step ? { step: f.step } : {}), ...(f.category ? { category: f.category } : {}), ...(f.message ? { message: f.message } : {}) };
            r.detail = `${f.event} at ${f.time}${f.step ? ` in ${f.step}` : ''}${f.category ? ` [${f.category}]` : ''}: ${f.message?.replace(/\.$/, '') ?? 'see the rotation function\'s log'}; run rotor doctor ${r.secret}`;
          }
        } catch (e) {
          ctError = describeError(e);
          if (!opts.json) process.stderr.write(`note: could not read rotation failures from CloudTrail (${ctError}); waiting on DescribeSecret only\n`);
        }
        waiting = waiting.filter((r) => r.outcome === 'started');
        if (waiting.length === 0) break;
      }
      await mapWithConcurrency(waiting, opts.concurrency, async (r) => {
        try {
          const d = await call(() => client.send(new DescribeSecretCommand({ SecretId: arns.get(r)! })));
          const stages = d.VersionIdsToStages?.[r.versionId!] ?? [];
          if (stages.includes(AWSCURRENT)) {
            r.outcome = 'rotated';
            r.seconds = (Date.now() - started) / 1000;
          } else if (!stages.includes(AWSPENDING)) {
            r.outcome = 'failed';
            r.detail = `version ${r.versionId} lost AWSPENDING without becoming AWSCURRENT (rotation abandoned or cancelled)`;
          }
        } catch (e) {
          r.outcome = 'failed';
          r.detail = `DescribeSecret failed while waiting: ${describeError(e)}`;
        }
      });
      waiting = waiting.filter((r) => r.outcome === 'started');
      bar?.update(rotations.length - waiting.length);
      if (waiting.length === 0) break;
      if (Date.now() >= deadline) {
        for (const r of waiting) {
          r.outcome = 'timed-out';
          r.detail = `AWSPENDING still on version ${r.versionId} after ${opts.timeout} s: the rotation is failing or slow; run rotor doctor ${r.secret}`;
        }
        break;
      }
      await delay(Math.min(opts.pollMs ?? 1000, Math.max(0, deadline - Date.now())));
    }
  } finally {
    bar?.stop();
    ct.destroy();
  }
}

/** A progress bar on stderr, only on a terminal and never with --json. */
function progressBar(total: number, json?: boolean) {
  if (json || !process.stderr.isTTY) return undefined;
  const { SingleBar, Presets } = require('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({ stream: process.stderr, format: 'waiting for rotations [{bar}] {value}/{total} done | {duration}s', hideCursor: true }, Presets.shades_classic);
  bar.start(total, 0);
  return bar;
}
