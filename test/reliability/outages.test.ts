import { randomUUID } from 'node:crypto';
import { CreateSecretCommand, GetSecretValueCommand, ListSecretVersionIdsCommand, RotateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { localClientConfig, type RotationEvent, type RotationLifecycleEvent } from '../../local';
import { startBlackhole, type Blackhole } from '../support/blackhole';
import type { TestEngine } from '../support/rotation-fixture';
import {
  consistentLabels, countFaults, eventsNamed, inBatches, probeVersions, startBed, uniq, type ProbedVersion, type ReliabilityBed,
} from './support/reliability-kit';

/*
 * Outages around a rotation, with real parts: a TLS database server with
 * password auth, the SDK v3 over HTTP to the local Secrets Manager endpoint,
 * the rotation function in-process and as the bundled artifact in a child
 * process. Figures (faults injected, rotations run, durations) are printed
 * with ROTOR_RELIABILITY_REPORT=1; nothing here asserts on wall-clock time.
 */

const report = (what: string, data: unknown) => {
  if (process.env.ROTOR_RELIABILITY_REPORT) process.stderr.write(`[reliability] ${what}: ${JSON.stringify(data)}\n`);
};

interface Restartable {
  pause(): Promise<void>;
  resume(): Promise<void>;
}

const ENGINES: TestEngine[] = ['postgres', 'mariadb'];

describe.each(ENGINES)('%s: the database stops between steps and comes back', (engine) => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    // Three attempts: the first fails on the outage, the second runs once the server is back.
    bed = await startBed({ engine, rotation: { maxAttempts: 3, initialBackoffMs: 50, maxBackoffMs: 200 } });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  test.each([
    ['after setSecret (before testSecret)', 'setSecret', 'after', 'testSecret'],
    ['after createSecret (before setSecret)', 'createSecret', 'after', 'setSecret'],
  ] as const)('stopped %s: the attempt fails with category network, the retry completes once it is back', async (_label, stopStep, stopPhase, failingStep) => {
    const db = bed.f.pg as unknown as Restartable;
    const { name, password, arn } = await bed.roleWithSecret('outage');
    const probes: Array<{ at: string; versions: ProbedVersion[] }> = [];
    const probe = async (at: string) => probes.push({ at, versions: await probeVersions(bed, arn, name) });
    let attempts = 0;
    let down = false;

    const fn = bed.registerInProcess(uniq('outage-fn'), {
      hook: async (event: RotationEvent, phase) => {
        if (event.SecretId !== arn) return;
        if (event.Step === 'createSecret' && phase === 'before') {
          attempts++;
          if (down) {
            // The retry: the server comes back (same port, same data) before it starts.
            await db.resume();
            down = false;
            await probe(`attempt ${attempts}: server back, before createSecret`);
          }
        }
        if (!down) await probe(`attempt ${attempts}: ${phase} ${event.Step}`);
        if (attempts === 1 && event.Step === stopStep && phase === stopPhase) {
          await db.pause();
          down = true;
        }
      },
    });

    await probe('before the rotation');
    const end = await bed.rotate(arn, fn);
    expect(down).toBe(false);

    // Attempt 1 failed on the outage, with category network, in the step that needed the server.
    const failed = eventsNamed(bed, arn, 'RotationFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ attempt: 1, step: failingStep });
    expect(failed[0].final).toBeUndefined();
    expect(failed[0].errorMessage).toMatch(/\[network\]/);
    expect(failed[0].errorMessage).not.toContain(password);
    expect(end).toMatchObject({ eventName: 'RotationSucceeded', attempt: 2 });

    // Invariant 2: at every probe point at least one stored version logs in.
    for (const p of probes) {
      expect({ at: p.at, someLogsIn: p.versions.some((v) => v.logsIn === true) }).toEqual({ at: p.at, someLogsIn: true });
    }
    // After recovery AWSCURRENT logs in, the old password does not, labels are consistent.
    const labels = await consistentLabels(bed, arn);
    expect(labels.problems).toEqual([]);
    expect(labels.current).toBe(end.versionId);
    const current = await bed.current(arn);
    expect(await bed.canLogin(name, current.password)).toBe(true);
    expect(await bed.canLogin(name, password)).toBe(false);

    // A second rotation succeeds at once.
    const second = await bed.rotate(arn, fn);
    expect(second).toMatchObject({ eventName: 'RotationSucceeded', attempt: 1 });
    expect(await bed.canLogin(name, (await bed.current(arn)).password)).toBe(true);
    expect(await bed.canLogin(name, current.password)).toBe(false);
    expect((await consistentLabels(bed, arn)).problems).toEqual([]);
    report(`${engine} outage ${stopPhase} ${stopStep}`, { probes: probes.length, events: bed.local.events({ secretId: arn }).map((e) => `${e.eventName}#${e.attempt}${e.step ? `@${e.step}` : ''}`) });
  });
});

describe('postgres: the database is down when the bundled function starts, and comes back', () => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    // Enough attempts and backoff for the server to come back between two of them.
    bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 8, initialBackoffMs: 300, maxBackoffMs: 2000 } });
  });
  afterAll(async () => {
    await bed?.stop();
  });

  test('the child-process function fails with category network while it is down, then the retry rotates', async () => {
    const db = bed.f.pg as unknown as Restartable;
    const fn = bed.registerBundle(uniq('outage-bundle'));
    const { name, password, arn } = await bed.roleWithSecret('outage_b');
    await db.pause();
    let resumed = false;
    try {
      const r = await bed.sm.send(new RotateSecretCommand({ SecretId: arn, ClientRequestToken: randomUUID(), RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: 30 } }));
      // Bring the server back once the first attempt has failed.
      while (eventsNamed(bed, arn, 'RotationFailed').length === 0) await new Promise((r) => setTimeout(r, 20));
      await db.resume();
      resumed = true;
      // While the database was down nothing changed in it: AWSCURRENT still logs in.
      expect(await bed.canLogin(name, password)).toBe(true);
      const end = await bed.local.waitForRotation(arn, { versionId: r.VersionId, timeoutMs: 30_000 });
      const failed = eventsNamed(bed, arn, 'RotationFailed');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      for (const e of failed) {
        expect(e.step).toBe('setSecret');
        expect(e.errorMessage).toMatch(/\[network\]/);
      }
      expect(end.eventName).toBe('RotationSucceeded');
      const labels = await consistentLabels(bed, arn);
      expect(labels.problems).toEqual([]);
      expect(await bed.canLogin(name, (await bed.current(arn)).password)).toBe(true);
      expect(await bed.canLogin(name, password)).toBe(false);
      expect((await bed.rotate(arn, fn)).eventName).toBe('RotationSucceeded');
      report('postgres bundle down at start', { failedAttempts: failed.length, succeededOnAttempt: end.attempt });
    } finally {
      if (!resumed) await db.resume();
    }
  }, 90000);
});

describe.each([
  ['postgres', 10, 3],
  ['mariadb', 6, 2],
] as const)('%s: Secrets Manager answers about 20%% ThrottlingException / InternalServiceError', (engine, inProcess, bundled) => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    bed = await startBed({ engine, rotation: { maxAttempts: 5, initialBackoffMs: 100, maxBackoffMs: 1000 } });
  });
  afterAll(async () => {
    bed?.local.faults.clear();
    await bed?.stop();
  });

  test(`${inProcess} rotations in-process and ${bundled} with the bundled function, SDK retries in the function`, async () => {
    const fnInProcess = bed.registerInProcess(uniq('faulty-in-process'));
    const fnBundle = bed.registerBundle(uniq('faulty-bundle'));
    const roles = await inBatches(Array.from({ length: inProcess + bundled }, (_, i) => i), 8, () => bed.roleWithSecret('faulty'));
    const before = new Map<string, string>();
    for (const r of roles) before.set(r.arn, (await consistentLabels(bed, r.arn)).current);

    // The test's own calls retry too (a caller of RotateSecret sees the same faults).
    const caller = new SecretsManagerClient({ ...localClientConfig(bed.local.endpoint, bed.local.region), maxAttempts: 10 });
    const count = countFaults(bed.local);
    // 10% throttling, then 10/90 of the rest InternalServiceError: about 20% of all calls fail.
    bed.local.faults.inject({ op: '*', error: 'ThrottlingException', probability: 0.1 });
    bed.local.faults.inject({ op: '*', error: 'InternalServiceError', probability: 0.1 / 0.9 });
    let ends: RotationLifecycleEvent[];
    try {
      ends = await Promise.all(roles.map(async (r, i) => {
        const out = await caller.send(new RotateSecretCommand({
          SecretId: r.arn, ClientRequestToken: randomUUID(), RotationLambdaARN: i < inProcess ? fnInProcess : fnBundle, RotationRules: { AutomaticallyAfterDays: 30 },
        }));
        return bed.local.waitForRotation(r.arn, { versionId: out.VersionId, timeoutMs: 80_000 });
      }));
    } finally {
      bed.local.faults.clear();
      count.stop();
      caller.destroy();
    }

    const attempts = roles.map((r) => eventsNamed(bed, r.arn, 'RotationStarted').length);
    const failedAttempts = roles.flatMap((r) => eventsNamed(bed, r.arn, 'RotationFailed'));
    report(`${engine} faults`, {
      rotations: roles.length, attempts: attempts.reduce((a, b) => a + b, 0), requests: count.requests, injected: count.injected, byError: count.byError,
      failedAttempts: failedAttempts.map((e) => `${e.step}:${e.errorType}:${e.errorMessage?.slice(0, 400)}`),
    });
    // The faults really were there, at about the rate asked for.
    expect(count.injected).toBeGreaterThan(0);
    expect(count.byError.ThrottlingException).toBeGreaterThan(0);
    expect(count.byError.InternalServiceError).toBeGreaterThan(0);

    for (const [i, r] of roles.entries()) {
      expect({ secret: i, end: ends[i].eventName }).toEqual({ secret: i, end: 'RotationSucceeded' });
      const labels = await consistentLabels(bed, r.arn);
      expect(labels.problems).toEqual([]);
      expect(labels.current).toBe(ends[i].versionId);
      expect(labels.previous).toBe(before.get(r.arn));
      const current = await bed.current(r.arn);
      expect(await bed.canLogin(r.name, current.password)).toBe(true);
      expect(await bed.canLogin(r.name, r.password)).toBe(false);
    }
    // An attempt that did fail after the SDK's retries says so with a category (network: the service failed).
    for (const e of failedAttempts) expect(e.errorMessage).toMatch(/\[(network|conflict)\]/);
  }, 180000);
});

describe.each(ENGINES)('%s: a database that accepts TCP and never answers', (engine) => {
  let bed: ReliabilityBed;
  let hole: Blackhole;
  // The Lambda timeout of the in-process function is the endpoint's step timeout.
  const IN_PROCESS_TIMEOUT_MS = 8_000;
  const BUNDLE_TIMEOUT_MS = 4_000;
  beforeAll(async () => {
    bed = await startBed({ engine, rotation: { maxAttempts: 2, initialBackoffMs: 50, maxBackoffMs: 50, stepTimeoutMs: IN_PROCESS_TIMEOUT_MS } });
    hole = await startBlackhole();
  });
  afterAll(async () => {
    await hole?.close();
    await bed?.stop();
  });

  async function blackholeSecret(): Promise<{ arn: string; value: string; version: string }> {
    const value = JSON.stringify({ engine, host: '127.0.0.1', port: hole.port, username: 'app_user', password: `initial-${randomUUID()}`, dbname: bed.f.pg.database });
    const out = await bed.sm.send(new CreateSecretCommand({ Name: `reliability/${uniq('blackhole')}`, SecretString: value }));
    return { arn: out.ARN!, value, version: out.VersionId! };
  }

  async function expectGaveUp(fn: string, lambdaTimeoutMs: number): Promise<RotationLifecycleEvent[]> {
    const s = await blackholeSecret();
    const acceptedBefore = hole.accepted;
    const end = await bed.rotate(s.arn, fn);
    const failed = eventsNamed(bed, s.arn, 'RotationFailed');
    expect(end).toMatchObject({ eventName: 'RotationFailed', final: true, step: 'setSecret' });
    expect(failed).toHaveLength(2);
    for (const e of failed) {
      // The function reported its own failure before the Lambda deadline: not killed by the timeout.
      expect(e.errorType).not.toBe('Sandbox.Timedout');
      expect(e.errorMessage).toMatch(/^setSecret: \[network\]/);
      expect(e.errorMessage).not.toContain(JSON.parse(s.value).password);
    }
    expect(hole.accepted).toBeGreaterThan(acceptedBefore);
    // Secret unchanged: AWSCURRENT is the same version with the same value; the failed rotation's
    // AWSPENDING stays on its own version (as AWS leaves it), nothing else moved.
    const cur = await bed.sm.send(new GetSecretValueCommand({ SecretId: s.arn }));
    expect(cur.VersionId).toBe(s.version);
    expect(cur.SecretString).toBe(s.value);
    const versions = (await bed.sm.send(new ListSecretVersionIdsCommand({ SecretId: s.arn }))).Versions ?? [];
    const stages = Object.fromEntries(versions.map((v) => [v.VersionId, [...(v.VersionStages ?? [])].sort()]));
    expect(stages).toEqual({ [s.version]: ['AWSCURRENT'], [end.versionId]: ['AWSPENDING'] });
    const started = eventsNamed(bed, s.arn, 'RotationStarted');
    report(`${engine} blackhole`, { lambdaTimeoutMs, attemptMs: failed.map((e, i) => Date.parse(e.time) - Date.parse(started[i].time)), accepted: hole.accepted - acceptedBefore });
    return failed;
  }

  test('in-process: gives up after the configured connect timeout, category network, secret unchanged', async () => {
    const fn = bed.registerInProcess(uniq('blackhole-fn'), { env: { ROTOR_CONNECT_TIMEOUT_MS: '1000' } });
    const failed = await expectGaveUp(fn, IN_PROCESS_TIMEOUT_MS);
    for (const e of failed) expect(e.errorType).toBe('RotationError');
  });

  test('bundled child: a connect timeout longer than the Lambda timeout is capped by the deadline', async () => {
    const fn = bed.registerBundle(uniq('blackhole-bundle'), { env: { ROTOR_CONNECT_TIMEOUT_MS: '60000' }, timeoutMs: BUNDLE_TIMEOUT_MS });
    await expectGaveUp(fn, BUNDLE_TIMEOUT_MS);
  }, 90000);
});
