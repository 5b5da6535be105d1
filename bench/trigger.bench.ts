import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomUUID } from 'node:crypto';
import { localClientConfig } from '../local';
import { createTriggerHandler } from '../lambda/trigger/handler';
import type { TriggerReport } from '../lambda/trigger/report';
import { fakeContext } from '../test/support/lambda-context';
import { env, MANAGED, quietDeps, seed, startTriggerLocal, type TriggerLocal } from '../test/trigger/trigger-test-kit';

const SECRETS = 1000;
const QUOTA_TPS = 50;
/** What the RotateSecret quota alone imposes on 1,000 calls. */
const QUOTA_SECONDS = SECRETS / QUOTA_TPS;

/**
 * One event concerning 1,000 secrets (a tag filter) against the local
 * endpoint with RotateSecret limited to the real quota (50/s), rotations by a
 * trivial in-process function. Time from invoking the trigger until every
 * rotation has finished, at the trigger's default rate (48/s).
 */
export async function run(): Promise<Record<string, number>> {
  const t = await startTriggerLocal();
  try {
    const group = `bench-${randomUUID().slice(0, 8)}`;
    const arns = await seed(t, 'bench-trigger', SECRETS, { tags: [MANAGED, { Key: 'group', Value: group }] });
    t.local.faults.setRateLimit('RotateSecret', QUOTA_TPS);
    const r = await once(t, group, arns, undefined);
    return {
      secrets: SECRETS,
      seconds: r.seconds,
      ratioToQuota: round(r.seconds / QUOTA_SECONDS, 3),
      ratioTarget: 1.15,
      failures: r.failures,
      doubleRotations: r.doubleRotations,
      notRotated: r.notRotated,
    };
  } finally {
    await t.local.stop();
  }
}

async function once(t: TriggerLocal, group: string, arns: string[], maxTps: string | undefined) {
  const client = new SecretsManagerClient({ ...localClientConfig(t.local.endpoint, t.local.region), maxAttempts: 2 });
  const handler = createTriggerHandler({
    secretsManager: client,
    // A request for a whole group: the per-event cap and the cool-down (threat model) would hold it back.
    env: env({ ROTOR_TRIGGER_MAX_SECRETS_PER_EVENT: '10000', ROTOR_TRIGGER_COOLDOWN_MINUTES: '0', ...(maxTps ? { ROTOR_TRIGGER_MAX_TPS: maxTps } : {}) }),
    ...quietDeps(),
  });
  const event = { version: '0', id: randomUUID(), source: 'rotor', 'detail-type': 'Rotation Requested', detail: { tagFilters: [{ key: 'group', values: [group] }] } };
  const before = new Set(t.local.events().map((e) => `${e.secretArn} ${e.versionId} ${e.eventName} ${e.attempt}`));
  const started = process.hrtime.bigint();
  let report: TriggerReport | undefined;
  let thrown = 0;
  try {
    report = (await handler(event, fakeContext(15 * 60_000))) as TriggerReport;
  } catch {
    thrown = 1;
  }
  await t.local.idle();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const fresh = t.local.events().filter((e) => !before.has(`${e.secretArn} ${e.versionId} ${e.eventName} ${e.attempt}`));
  const versionsBySecret = new Map<string, Set<string>>();
  for (const e of fresh.filter((x) => x.eventName === 'RotationStarted')) {
    if (!versionsBySecret.has(e.secretArn)) versionsBySecret.set(e.secretArn, new Set());
    versionsBySecret.get(e.secretArn)!.add(e.versionId);
  }
  const succeeded = new Set(fresh.filter((e) => e.eventName === 'RotationSucceeded').map((e) => e.secretArn));
  client.destroy();
  return {
    seconds: round(seconds, 2),
    failures: thrown + (report?.failed.length ?? 0) + fresh.filter((e) => e.eventName === 'RotationFailed' && e.final).length,
    doubleRotations: [...versionsBySecret.values()].filter((v) => v.size > 1).length,
    notRotated: arns.filter((a) => !succeeded.has(a)).length,
  };
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
