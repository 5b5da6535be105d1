import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { ListSecretVersionIdsCommand, RotateSecretCommand, UpdateSecretVersionStageCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager, RotationEvent, RotationLifecycleEvent } from '../../local';
import { createTriggerHandler } from '../../lambda/trigger/handler';
import type { TriggerReport } from '../../lambda/trigger/report';
import { fakeContext } from '../support/lambda-context';
import type { TestEngine } from '../support/rotation-fixture';
import {
  consistentLabels, eventsNamed, Gate, inBatches, probeVersions, startBed, uniq, type ReliabilityBed, type Step,
} from './support/reliability-kit';

/*
 * Concurrent rotations with real parts: a TLS database server with password
 * auth, the SDK v3 over HTTP to the local Secrets Manager endpoint, the
 * rotation function in-process (wrapped to hold a step) and as the bundled
 * artifact in a child process. Figures are printed with ROTOR_RELIABILITY_REPORT=1.
 */

const report = (what: string, data: unknown) => {
  if (process.env.ROTOR_RELIABILITY_REPORT) process.stderr.write(`[reliability] ${what}: ${JSON.stringify(data)}\n`);
};

/** The rejection of a settled promise, or undefined when it was fulfilled. */
const rejection = (s: PromiseSettledResult<unknown>) => (s.status === 'rejected' ? (s.reason as Error) : undefined);

describe('postgres: concurrent RotateSecret on one secret', () => {
  let bed: ReliabilityBed;
  /** Gates by secret ARN and "phase step" (e.g. "before setSecret"). */
  const gates = new Map<string, Map<string, Gate>>();
  let held: string;
  let bundle: string;

  const hold = (arn: string, phase: 'before' | 'after', step: Step): Gate => {
    const g = new Gate();
    if (!gates.has(arn)) gates.set(arn, new Map());
    gates.get(arn)!.set(`${phase} ${step}`, g);
    return g;
  };

  beforeAll(async () => {
    bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 200 } });
    held = bed.registerInProcess('held-rotation', {
      hook: async (event: RotationEvent, phase) => {
        const g = gates.get(event.SecretId)?.get(`${phase} ${event.Step}`);
        if (g) {
          gates.get(event.SecretId)!.delete(`${phase} ${event.Step}`);
          await g.pass();
        }
      },
    });
    bundle = bed.registerBundle('concurrent-bundle');
  });
  afterAll(async () => {
    for (const m of gates.values()) for (const g of m.values()) g.release();
    await bed?.stop();
  });

  const rotateSecret = (arn: string, lambdaArn: string, token?: string) =>
    bed.sm.send(new RotateSecretCommand({ SecretId: arn, RotationLambdaARN: lambdaArn, RotationRules: { AutomaticallyAfterDays: 30 }, ...(token ? { ClientRequestToken: token } : {}) }));

  /** The end state every case must reach: exactly one new AWSCURRENT that logs in, the old one AWSPREVIOUS, nothing pending. */
  async function expectOneNewCurrent(s: { name: string; password: string; arn: string }, oldVersion: string, newVersion: string) {
    const labels = await consistentLabels(bed, s.arn);
    expect(labels.problems).toEqual([]);
    expect(labels.current).toBe(newVersion);
    expect(labels.previous).toBe(oldVersion);
    const current = await bed.current(s.arn);
    expect(await bed.canLogin(s.name, current.password)).toBe(true);
    expect(await bed.canLogin(s.name, s.password)).toBe(false);
    // Nothing stuck: the driver is idle and a further rotation runs.
    expect(eventsNamed(bed, s.arn, 'RotationSucceeded').filter((e) => e.versionId === newVersion)).toHaveLength(1);
  }

  test('same ClientRequestToken twice at once (in-process, held in setSecret): one version, one rotation', async () => {
    const s = await bed.roleWithSecret('same_token');
    const oldVersion = (await consistentLabels(bed, s.arn)).current;
    const gate = hold(s.arn, 'before', 'setSecret');
    const token = randomUUID();
    const calls = await Promise.allSettled([rotateSecret(s.arn, held, token), rotateSecret(s.arn, held, token)]);
    expect(calls.map(rejection)).toEqual([undefined, undefined]);
    const ids = calls.map((c) => (c as PromiseFulfilledResult<{ VersionId?: string }>).value.VersionId);
    expect(ids).toEqual([token, token]);
    await gate.reached;
    // Again while it is running: still idempotent.
    expect((await rotateSecret(s.arn, held, token)).VersionId).toBe(token);
    gate.release();
    const end = await bed.local.waitForRotation(s.arn, { versionId: token, timeoutMs: 30_000 });
    expect(end.eventName).toBe('RotationSucceeded');
    expect(eventsNamed(bed, s.arn, 'RotationStarted').map((e) => e.versionId)).toEqual([token]);
    const versions = (await bed.sm.send(new ListSecretVersionIdsCommand({ SecretId: s.arn, IncludeDeprecated: true }))).Versions ?? [];
    expect(versions.map((v) => v.VersionId).sort()).toEqual([oldVersion, token].sort());
    await expectOneNewCurrent(s, oldVersion, token);
  });

  test('same ClientRequestToken twice at once (bundled child): one version, one rotation', async () => {
    const s = await bed.roleWithSecret('same_token_b');
    const oldVersion = (await consistentLabels(bed, s.arn)).current;
    const token = randomUUID();
    const calls = await Promise.all([rotateSecret(s.arn, bundle, token), rotateSecret(s.arn, bundle, token)]);
    expect(calls.map((c) => c.VersionId)).toEqual([token, token]);
    const end = await bed.local.waitForRotation(s.arn, { versionId: token, timeoutMs: 30_000 });
    expect(end.eventName).toBe('RotationSucceeded');
    expect(eventsNamed(bed, s.arn, 'RotationStarted').map((e) => e.versionId)).toEqual([token]);
    await expectOneNewCurrent(s, oldVersion, token);
  });

  test('different ClientRequestTokens at once: one rotation runs, the other is refused (previous rotation not complete)', async () => {
    const s = await bed.roleWithSecret('two_tokens');
    const oldVersion = (await consistentLabels(bed, s.arn)).current;
    const gate = hold(s.arn, 'before', 'setSecret');
    const tokens = [randomUUID(), randomUUID()];
    const calls = await Promise.allSettled(tokens.map((t) => rotateSecret(s.arn, held, t)));
    const errors = calls.map(rejection);
    const winner = errors.findIndex((e) => e === undefined);
    expect(errors.filter((e) => e === undefined)).toHaveLength(1);
    const loser = errors[1 - winner]!;
    expect(loser.name).toBe('InvalidRequestException');
    expect(loser.message).toMatch(/previous rotation isn't complete/i);
    await gate.reached;
    gate.release();
    const end = await bed.local.waitForRotation(s.arn, { versionId: tokens[winner], timeoutMs: 30_000 });
    expect(end.eventName).toBe('RotationSucceeded');
    // The refused token never became a version, and never started a rotation.
    const versions = (await bed.sm.send(new ListSecretVersionIdsCommand({ SecretId: s.arn, IncludeDeprecated: true }))).Versions ?? [];
    expect(versions.map((v) => v.VersionId)).not.toContain(tokens[1 - winner]);
    expect(eventsNamed(bed, s.arn, 'RotationStarted').map((e) => e.versionId)).toEqual([tokens[winner]]);
    await expectOneNewCurrent(s, oldVersion, tokens[winner]);
    // Nothing stuck: the refused caller can rotate now.
    expect((await bed.rotate(s.arn, held, tokens[1 - winner])).eventName).toBe('RotationSucceeded');
  });

  test('a manual RotateSecret during a scheduled rotation is refused until it ends; credentials always log in', async () => {
    const s = await bed.roleWithSecret('manual_vs_schedule');
    const oldVersion = (await consistentLabels(bed, s.arn)).current;
    const beforeSet = hold(s.arn, 'before', 'setSecret');
    const afterSet = hold(s.arn, 'after', 'setSecret');
    // The schedule's RotateSecret: no token of ours (the SDK generates one), a schedule expression.
    const scheduled = await bed.sm.send(new RotateSecretCommand({ SecretId: s.arn, RotationLambdaARN: held, RotationRules: { ScheduleExpression: 'rate(4 hours)' } }));
    const manualToken = randomUUID();
    const probes: Array<{ at: string; logsIn: Array<boolean | undefined>; manual: string }> = [];
    const manualAttempt = async (at: string) => {
      const r = await Promise.allSettled([rotateSecret(s.arn, held, manualToken)]);
      const e = rejection(r[0]);
      probes.push({ at, logsIn: (await probeVersions(bed, s.arn, s.name)).map((v) => v.logsIn), manual: e ? `${e.name}: ${e.message}` : 'accepted' });
    };

    await beforeSet.reached;
    await manualAttempt('held before setSecret');
    beforeSet.release();
    await afterSet.reached;
    await manualAttempt('held after setSecret (password changed, not yet tested or finished)');
    afterSet.release();
    const end = await bed.local.waitForRotation(s.arn, { versionId: scheduled.VersionId, timeoutMs: 30_000 });
    expect(end.eventName).toBe('RotationSucceeded');

    for (const p of probes) {
      expect(p.manual).toMatch(/^InvalidRequestException: .*previous rotation isn't complete/i);
      expect({ at: p.at, someLogsIn: p.logsIn.includes(true) }).toEqual({ at: p.at, someLogsIn: true });
    }
    await expectOneNewCurrent(s, oldVersion, scheduled.VersionId!);
    // The manual rotation, asked again once the scheduled one ended, runs.
    const manual = await bed.rotate(s.arn, held, manualToken);
    expect(manual.eventName).toBe('RotationSucceeded');
    const labels = await consistentLabels(bed, s.arn);
    expect(labels).toMatchObject({ current: manualToken, previous: scheduled.VersionId, problems: [] });
    expect(await bed.canLogin(s.name, (await bed.current(s.arn)).password)).toBe(true);
    report('manual during scheduled', probes);
  });
});

describe('postgres: the trigger gets the same event three times at once', () => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 200 } });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  test('each secret rotates exactly once (bundled rotation function in a child process)', async () => {
    const DEPLOYMENT = 'rotor-reliability';
    const fn = bed.registerBundle('trigger-target');
    const secrets = await inBatches(Array.from({ length: 6 }, (_, i) => i), 6, () => bed.roleWithSecret('triggered', { tags: [{ Key: 'rotor:managed-by', Value: DEPLOYMENT }] }));
    // Rotation configured (RotateImmediately=false: only a test rotation runs now), as the CDK leaves it.
    for (const s of secrets) {
      await bed.sm.send(new RotateSecretCommand({ SecretId: s.arn, RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false }));
      expect((await bed.local.waitForRotation(s.arn, { timeoutMs: 30_000 })).eventName).toBe('TestRotationSucceeded');
    }
    const oldVersions = new Map<string, string>();
    for (const s of secrets) oldVersions.set(s.arn, (await consistentLabels(bed, s.arn)).current);

    const logger = new Logger({ serviceName: 'rotor-trigger-test', logLevel: 'SILENT' });
    const metrics = new Metrics({ namespace: 'Rotor', serviceName: 'rotor-trigger-test' });
    (metrics as unknown as { console: { log: (...a: unknown[]) => void } }).console = { log: () => undefined };
    const handler = createTriggerHandler({ secretsManager: bed.sm, env: { ROTOR_DEPLOYMENT_ID: DEPLOYMENT }, logger, metrics });
    const event = JSON.parse(readFileSync(path.join(__dirname, '..', 'fixtures', 'events', 'rotation-requested.json'), 'utf8'));
    event.id = randomUUID();
    event.detail = { secretIds: secrets.map((s) => s.arn), reason: 'reliability: redelivered event' };

    const reports = (await Promise.all([0, 1, 2].map(() => handler(structuredClone(event), fakeContext(60_000))))) as TriggerReport[];
    await bed.local.idle();

    for (const r of reports) {
      expect(r.error).toBeUndefined();
      expect(r.failed).toEqual([]);
      // Every secret is either rotated (its deterministic token) or skipped because this event already started it.
      expect(r.rotated.length + r.skipped.length).toBe(secrets.length);
      for (const k of r.skipped) expect(['rotation-in-progress', 'already-requested']).toContain(k.reason);
    }
    for (const s of secrets) {
      const started = eventsNamed(bed, s.arn, 'RotationStarted');
      const succeeded = eventsNamed(bed, s.arn, 'RotationSucceeded');
      expect(new Set(started.map((e) => e.versionId)).size).toBe(1);
      expect(succeeded).toHaveLength(1);
      // Every report that rotated it names the same version.
      const named = new Set(reports.flatMap((r) => r.rotated.filter((x) => x.secretArn === s.arn).map((x) => x.versionId)));
      expect([...named]).toEqual([succeeded[0].versionId]);
      const labels = await consistentLabels(bed, s.arn);
      expect(labels).toMatchObject({ current: succeeded[0].versionId, previous: oldVersions.get(s.arn), problems: [] });
      expect(await bed.canLogin(s.name, (await bed.current(s.arn)).password)).toBe(true);
      expect(await bed.canLogin(s.name, s.password)).toBe(false);
    }
    report('trigger x3', reports.map((r) => ({ rotated: r.rotated.length, skipped: r.skipped.map((k) => k.reason) })));
  }, 120000);
});

describe.each([
  ['postgres', 50],
  ['mariadb', 50],
] as const)('%s: many secrets rotating at once against one server', (engine: TestEngine, count: number) => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    // Generous retries: on 2 busy cores a login can miss the 5 s connect timeout, and the driver retries it.
    bed = await startBed({ engine, rotation: { maxAttempts: 8, initialBackoffMs: 200, maxBackoffMs: 3000 } });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  test(`${count} roles, ${count} rotations at once: all succeed, new passwords log in, old and foreign ones are refused`, async () => {
    const fn = bed.registerInProcess(uniq('many'));
    const maxConnections = engine === 'postgres'
      ? Number((await bed.f.pg.query('SHOW max_connections')).rows[0].max_connections)
      : Number((await bed.f.pg.query("SHOW VARIABLES LIKE 'max_connections'")).rows[0].Value);
    const roles = await inBatches(Array.from({ length: count }, (_, i) => i), 10, () => bed.roleWithSecret('many'));
    const before = new Map<string, string>();
    for (const r of roles) before.set(r.arn, (await consistentLabels(bed, r.arn)).current);

    // Sample the server's connection count while the rotations run (as the superuser, from a reserved slot on PostgreSQL).
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        try {
          const n = engine === 'postgres'
            ? Number((await bed.f.pg.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend'")).rows[0].n)
            : Number((await bed.f.pg.query("SHOW STATUS LIKE 'Threads_connected'")).rows[0].Value);
          peak = Math.max(peak, n);
        } catch {
          // The sampler itself may be refused when the server is full; that is what the events will show.
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    let ends: RotationLifecycleEvent[];
    try {
      ends = await rotateAllAtOnce(bed, roles, fn);
    } finally {
      sampling = false;
      await sampler;
    }

    const failedAttempts = roles.flatMap((r) => eventsNamed(bed, r.arn, 'RotationFailed'));
    report(`${engine} x${count}`, {
      maxConnections, peakConnections: peak, attempts: roles.reduce((a, r) => a + eventsNamed(bed, r.arn, 'RotationStarted').length, 0),
      failedAttempts: failedAttempts.map((e) => `${e.step}: ${e.errorMessage?.slice(0, 200)}`),
    });
    expect(ends.map((e) => e.eventName)).toEqual(roles.map(() => 'RotationSucceeded'));

    const passwords = await inBatches(roles, 10, async (r) => (await bed.current(r.arn)).password as string);
    await inBatches(roles, 8, async (r, i) => {
      const labels = await consistentLabels(bed, r.arn);
      expect(labels.problems).toEqual([]);
      expect(labels.current).toBe(ends[i].versionId);
      expect(labels.previous).toBe(before.get(r.arn));
      expect(await bed.canLogin(r.name, passwords[i])).toBe(true);
      expect(await bed.canLogin(r.name, r.password)).toBe(false);
      // No role logs in with another role's new password (each role tried with its neighbour's).
      expect(await bed.canLogin(r.name, passwords[(i + 1) % roles.length])).toBe(false);
    });
    expect(new Set(passwords).size).toBe(roles.length);
  }, 240000);
});

describe.each(['postgres', 'mariadb'] as const)('%s: connection exhaustion', (engine: TestEngine) => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    bed = await startBed({ engine, rotation: { maxAttempts: 4, initialBackoffMs: 100, maxBackoffMs: 1000 } });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  test('with max_connections lowered: connection exhaustion fails attempts with category network; every secret keeps a working credential and recovers', async () => {
    const fn = bed.registerInProcess(uniq('exhausted'));
    const roles = await inBatches(Array.from({ length: 20 }, (_, i) => i), 10, () => bed.roleWithSecret('exhausted'));
    const db = bed.f.pg as unknown as { pause(): Promise<void>; resume(): Promise<void> };
    // PostgreSQL: 8 slots, 3 of them reserved for superusers, so 5 for the roles (a restart applies it).
    // MariaDB: its minimum, 10 (plus one for a SUPER user).
    const setLimit = async (n: number | undefined) => {
      if (engine === 'postgres') {
        await bed.f.pg.query(n === undefined ? 'ALTER SYSTEM RESET max_connections' : `ALTER SYSTEM SET max_connections = ${n}`);
        await db.pause();
        await db.resume();
      } else {
        await bed.f.pg.query(`SET GLOBAL max_connections = ${n ?? 100}`);
      }
    };
    await setLimit(engine === 'postgres' ? 8 : 10);
    let ends: RotationLifecycleEvent[];
    try {
      ends = await rotateAllAtOnce(bed, roles, fn);
    } finally {
      await bed.local.idle();
      await setLimit(undefined);
    }
    const failedAttempts = roles.flatMap((r) => eventsNamed(bed, r.arn, 'RotationFailed'));
    report(`${engine} x20, max_connections lowered`, {
      ends: ends.map((e) => `${e.eventName}#${e.attempt}`).reduce((m, k) => ({ ...m, [k]: ((m as Record<string, number>)[k] ?? 0) + 1 }), {}),
      failedAttempts: failedAttempts.length,
      failures: failedAttempts.map((e) => `${e.step} ${/\[(\w+)\]/.exec(e.errorMessage ?? '')?.[1]} ${/\(code (\w+)\)/.exec(e.errorMessage ?? '')?.[1]}`).reduce((m, k) => ({ ...m, [k]: ((m as Record<string, number>)[k] ?? 0) + 1 }), {}),
      sample: failedAttempts[0]?.errorMessage,
    });
    // Every attempt refused for lack of connections says so with category network (retrying is right).
    for (const e of failedAttempts) expect(e.errorMessage).toMatch(/\[network\]/);
    for (const e of ends) expect(e.eventName === 'RotationSucceeded' || (e.eventName === 'RotationFailed' && /\[network\]/.test(e.errorMessage ?? ''))).toBe(true);

    // With the limit back: invariant 2 for every secret, and the ones whose retries ran out are recovered
    // safely: promote AWSPENDING when it is the credential that logs in, else drop it; then rotate again.
    let promoted = 0;
    let dropped = 0;
    await inBatches(roles, 8, async (r, i) => {
      const probed = await probeVersions(bed, r.arn, r.name);
      expect({ secret: r.name, someLogsIn: probed.some((v) => v.logsIn === true) }).toEqual({ secret: r.name, someLogsIn: true });
      if (ends[i].eventName === 'RotationSucceeded') {
        expect((await consistentLabels(bed, r.arn)).problems).toEqual([]);
        expect(await bed.canLogin(r.name, (await bed.current(r.arn)).password)).toBe(true);
        expect(await bed.canLogin(r.name, r.password)).toBe(false);
        return;
      }
      const current = probed.find((v) => v.stages.includes('AWSCURRENT'))!;
      const pending = probed.find((v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'))!;
      if (pending.logsIn) {
        promoted++;
        await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: r.arn, VersionStage: 'AWSCURRENT', MoveToVersionId: pending.versionId, RemoveFromVersionId: current.versionId }));
      } else {
        dropped++;
        await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: r.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending.versionId }));
      }
      expect((await bed.rotate(r.arn, fn)).eventName).toBe('RotationSucceeded');
      expect((await consistentLabels(bed, r.arn)).problems).toEqual([]);
      expect(await bed.canLogin(r.name, (await bed.current(r.arn)).password)).toBe(true);
    });
    report(`${engine} x20 recovery`, { promoted, dropped });
  }, 240000);
});

/** Starts a rotation of every secret at once (each with its own token) and waits for every end. */
function rotateAllAtOnce(bed: { sm: SecretsManagerClient; local: LocalSecretsManager }, secrets: Array<{ arn: string }>, fn: string): Promise<RotationLifecycleEvent[]> {
  return Promise.all(secrets.map(async (r) => {
    const out = await bed.sm.send(new RotateSecretCommand({ SecretId: r.arn, ClientRequestToken: randomUUID(), RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: 30 } }));
    return bed.local.waitForRotation(r.arn, { versionId: out.VersionId, timeoutMs: 80_000 });
  }));
}
