import Table from 'cli-table3';
import { DescribeSecretCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { cloudTrailClient, secretsManagerClient, type AwsOptions } from '../lib/aws';
import { colourOn, formatDate, paint, printJson, tableStyle, type Colour } from '../lib/output';
import { FAILURE_EVENTS, lookupRotationEvents, ROTATION_EVENTS, type RotationEvent, type RotationEventName } from '../lib/rotation-events';

export interface HistoryOptions extends AwsOptions {
  secret: string;
  /** How far back, in days (CloudTrail's LookupEvents keeps 90). */
  days: number;
  json?: boolean;
}

const OUTCOMES: RotationEventName[] = ['RotationSucceeded', 'RotationFailed', 'RotationAbandoned', 'TestRotationSucceeded', 'TestRotationFailed'];

function colour(e: RotationEventName): Colour {
  if (FAILURE_EVENTS.includes(e)) return 'red';
  return e.endsWith('Succeeded') ? 'green' : 'cyan';
}

/**
 * `rotor history <secret>`: the secret's rotation events from CloudTrail
 * LookupEvents (the last 90 days of management events; no trail needed).
 * Exit 1 when the latest outcome is a failure (RotationFailed,
 * RotationAbandoned, TestRotationFailed), else 0.
 */
export async function runHistory(opts: HistoryOptions): Promise<number> {
  const started = Date.now();
  const sm = secretsManagerClient(opts);
  const ct = cloudTrailClient(opts);
  try {
    const secret = await resolve(sm, opts.secret);
    if (!secret) {
      process.stderr.write(`rotor: secret ${opts.secret} not found in this account and Region (check --region / AWS_REGION; a deleted secret's history needs its full ARN)\n`);
      return 1;
    }
    const start = new Date(Date.now() - opts.days * 86_400_000);
    const events = await lookupRotationEvents(ct, { names: ROTATION_EVENTS, start, secretArns: new Set([secret.arn]) });
    const last = events.find((e) => OUTCOMES.includes(e.event));
    const failed = last !== undefined && FAILURE_EVENTS.includes(last.event);
    const byEvent = Object.fromEntries(ROTATION_EVENTS.map((n) => [n, events.filter((e) => e.event === n).length]));
    const seconds = (Date.now() - started) / 1000;
    if (opts.json) {
      printJson({
        secret, days: opts.days,
        events: events.map(({ secretArn: _arn, ...e }) => e),
        summary: { total: events.length, ...byEvent, lastOutcome: last ? { event: last.event, time: last.time } : null, seconds },
      });
    } else {
      const on = colourOn();
      if (events.length > 0) {
        const t = new Table({ head: ['time (UTC)', 'event', 'step', 'category', 'detail'], style: tableStyle(on), colWidths: [null, null, null, null, 70] as never, wordWrap: true });
        for (const e of events) {
          t.push([formatDate(new Date(e.time)) + e.time.slice(16, 19), paint(e.event, colour(e.event), on), e.step ?? '-', e.category ?? '-', e.message ?? '']);
        }
        process.stdout.write(`${t.toString()}\n`);
      }
      const lastText = last ? `; last outcome ${paint(last.event, colour(last.event), on)} at ${formatDate(new Date(last.time))}` : '';
      process.stdout.write(`${secret.name}: ${events.length} rotation event${events.length === 1 ? '' : 's'} in the last ${opts.days} days${lastText} (${seconds.toFixed(1)} s)\n`);
      if (events.length === 0) process.stdout.write('CloudTrail shows events about 5 minutes after they happen; none in the window means no rotation ran (or it ran in another Region).\n');
    }
    return failed ? 1 : 0;
  } finally {
    sm.destroy();
    ct.destroy();
  }
}

/** The secret's name and ARN (DescribeSecret); a full ARN of a deleted secret is taken as it is. */
async function resolve(sm: SecretsManagerClient, id: string): Promise<{ name: string; arn: string } | undefined> {
  try {
    const d = await sm.send(new DescribeSecretCommand({ SecretId: id }));
    return { name: d.Name ?? id, arn: d.ARN ?? id };
  } catch (e) {
    if ((e as { name?: string }).name !== 'ResourceNotFoundException') throw e;
    if (/^arn:aws[a-z-]*:secretsmanager:[^:]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(id)) return { name: id.split(':secret:')[1], arn: id };
    return undefined;
  }
}

export type { RotationEvent };
