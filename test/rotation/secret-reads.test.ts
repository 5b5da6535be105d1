/**
 * Secrets Manager calls per step of a rotation in one warm container (the
 * usual case: Lambda runs the four steps in the same container). The
 * container's version cache (lambda/rotation/version-cache.ts) means the
 * later steps read no value: each step is one DescribeSecret, plus the write
 * it exists for. Counts, not timings; where calls must be in flight together
 * (one round trip), the endpoint holds the first call until the second
 * arrives, so sequential calls fail the test whatever the machine's speed.
 */
import { startBed, type ReliabilityBed } from '../reliability/support/reliability-kit';
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { RotationContext } from '../../lambda/rotation/rotation-context';
import type { InterceptedCall } from '../../local';

jest.setTimeout(60_000);

let bed: ReliabilityBed;
beforeAll(async () => {
  bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
});
afterAll(async () => bed?.stop());

/**
 * Watches the rotations of `arn`: `step()` is the step last invoked for it, and `onCall` sees each
 * call the endpoint receives (both phases; it may hold a call by not returning yet). `stop()`
 * removes both hooks.
 */
function watchSteps(arn: string, onCall: (c: InterceptedCall, step: string) => unknown): { step(): string; stop(): void } {
  let step = 'none';
  bed.local.observeInvocations((e) => {
    if (e.secretArn === arn && e.phase === 'start') step = e.step;
  });
  bed.local.faults.setInterceptor((c) => onCall(c, step) as void | Promise<void>);
  return {
    step: () => step,
    stop: () => {
      bed.local.faults.setInterceptor(undefined);
      bed.local.observeInvocations(undefined);
    },
  };
}

/** The calls the function makes, by step, for one rotation of `arn` (the test's own calls are not counted). */
async function callsPerStep(arn: string, fn: string): Promise<Record<string, string[]>> {
  const calls: Record<string, string[]> = {};
  const watch = watchSteps(arn, (c, step) => {
    if (c.phase !== 'before' || step === 'none' || c.op === 'RotateSecret') return;
    const what = c.op === 'GetSecretValue' ? `GetSecretValue(${c.input.VersionStage ?? c.input.VersionId}${c.input.SecretId === arn ? '' : ', other secret'})` : c.op;
    (calls[step] ??= []).push(what);
  });
  try {
    const outcome = await bed.rotate(arn, fn);
    expect(outcome.eventName).toBe('RotationSucceeded');
  } finally {
    watch.stop();
  }
  for (const k of Object.keys(calls)) calls[k].sort();
  return calls;
}

/**
 * Order of finishSecret's calls as the endpoint saw them, for one rotation of `arn`. The first
 * of DescribeSecret and TagResource to arrive is held (up to 5 s) until the other arrives:
 * `tagWithDescribe` is true when both were in flight together (one round trip), false when one
 * only came after the other's answer (or not at all).
 */
async function finishSecretOrder(arn: string, fn: string): Promise<{ tagWithDescribe: boolean; events: string[]; eventName: string }> {
  const events: string[] = [];
  let held: 'none' | 'holding' | 'done' = 'none';
  let release: () => void = () => undefined;
  let tagWithDescribe = false;
  const watch = watchSteps(arn, async (c, step) => {
    if (step !== 'finishSecret' || c.input.SecretId !== arn) return;
    events.push(`${c.op} ${c.phase}`);
    if (c.phase !== 'before' || (c.op !== 'DescribeSecret' && c.op !== 'TagResource')) return;
    if (held === 'none') {
      held = 'holding';
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (release = resolve)), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      held = 'done';
    } else if (held === 'holding') {
      tagWithDescribe = true;
      release();
    }
  });
  try {
    const outcome = await bed.rotate(arn, fn);
    return { tagWithDescribe, events, eventName: outcome.eventName };
  } finally {
    watch.stop();
  }
}

test('single-user, warm container: after createSecret no step reads a value; finishSecret records the target once', async () => {
  const fn = bed.registerInProcess('reads-single');
  const { arn } = await bed.roleWithSecret('reads_su');
  expect(await callsPerStep(arn, fn)).toEqual({
    createSecret: ['DescribeSecret', 'GetSecretValue(AWSCURRENT)', 'GetSecretValue(AWSPENDING)', 'PutSecretValue'],
    setSecret: ['DescribeSecret'],
    testSecret: ['DescribeSecret'],
    // The first rotation records the target (rotated-target.ts): in DescribeSecret's round trip, see below.
    finishSecret: ['DescribeSecret', 'TagResource', 'UpdateSecretVersionStage'],
  });
  // The next rotation in the same container: AWSCURRENT comes from the cache too, and the target is already recorded.
  expect(await callsPerStep(arn, fn)).toEqual({
    createSecret: ['DescribeSecret', 'GetSecretValue(AWSPENDING)', 'PutSecretValue'],
    setSecret: ['DescribeSecret'],
    testSecret: ['DescribeSecret'],
    finishSecret: ['DescribeSecret', 'UpdateSecretVersionStage'],
  });
});

test('a value written by someone else between rotations is read, not taken from the cache', async () => {
  const fn = bed.registerInProcess('reads-rewrite');
  const { name, password, arn } = await bed.roleWithSecret('reads_rw');
  await callsPerStep(arn, fn);
  // The owner puts the credential back by hand (AWSCURRENT moves to a version the container has not seen).
  const current = await bed.current(arn);
  const labels = (await bed.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
  const finished = Object.entries(labels).find(([, st]) => st.includes('AWSPENDING'))?.[0];
  await bed.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ ...current, note: 'edited' }) }));
  // The finished AWSPENDING label would block RotateSecret once AWSCURRENT moved away from it.
  if (finished) await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: finished }));
  const calls = await callsPerStep(arn, fn);
  expect(calls.createSecret).toContain('GetSecretValue(AWSCURRENT)');
  expect((await bed.current(arn)).note).toBe('edited');
  expect(await bed.canLogin(name, password)).toBe(false);
});

test('alternating users, warm container: the master is read in the same round trip as DescribeSecret', async () => {
  const fn = bed.registerInProcess('reads-alt', { env: { ROTOR_STRATEGY: 'alternating-users' } });
  const su = bed.f.pg.superuser;
  const master = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/master', SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }));
  const app = 'reads_alt_app';
  const appPassword = await bed.f.createRole(app);
  const secret = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/alt', SecretString: JSON.stringify(bed.f.secretFor(app, appPassword, { masterarn: master.ARN })) }));
  const calls = await callsPerStep(secret.ARN!, fn);
  expect(calls.setSecret).toEqual(['DescribeSecret', 'GetSecretValue(AWSCURRENT, other secret)']);
  expect(calls.testSecret).toEqual(['DescribeSecret']);
});

/**
 * createSecret of one rotation of `arn` (a fresh function: no cached value): its first
 * DescribeSecret is held (up to 5 s) until a GetSecretValue of `masterArn` arrives.
 * `masterWithDescribe` is true when both were in flight together (one round trip).
 */
async function createSecretMasterRead(arn: string, masterArn: string, fn: string): Promise<{ masterWithDescribe: boolean; masterReads: string[]; eventName: string }> {
  let heldOnce = false;
  let masterArrived: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (masterArrived = resolve));
  let masterWithDescribe = false;
  const masterReads: string[] = [];
  const watch = watchSteps(arn, async (c, step) => {
    if (step !== 'createSecret' || c.phase !== 'before') return;
    if (c.op === 'GetSecretValue' && c.input.SecretId !== arn) {
      masterReads.push(String(c.input.SecretId));
      if (c.input.SecretId === masterArn) masterArrived();
      return;
    }
    if (c.op !== 'DescribeSecret' || c.input.SecretId !== arn || heldOnce) return;
    heldOnce = true;
    let timer: NodeJS.Timeout | undefined;
    masterWithDescribe = await Promise.race([arrived.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), 5000)))]);
    clearTimeout(timer);
  });
  try {
    const outcome = await bed.rotate(arn, fn);
    return { masterWithDescribe, masterReads, eventName: outcome.eventName };
  } finally {
    watch.stop();
  }
}

test('alternating users, a container\'s first rotation: the one master secret the deployment granted (ROTOR_MASTER_SECRET_ARNS) is read in the round trip of DescribeSecret', async () => {
  const su = bed.f.pg.superuser;
  const master = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/master-hint', SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }));
  const appPassword = await bed.f.createRole('hint_alt');
  const secret = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/alt-hint', SecretString: JSON.stringify(bed.f.secretFor('hint_alt', appPassword, { masterarn: master.ARN })) }));
  const fn = bed.registerInProcess('reads-alt-hint', { env: { ROTOR_STRATEGY: 'alternating-users', ROTOR_MASTER_SECRET_ARNS: master.ARN! } });
  const r = await createSecretMasterRead(secret.ARN!, master.ARN!, fn);
  expect(r).toEqual({ masterWithDescribe: true, masterReads: [master.ARN], eventName: 'RotationSucceeded' });
  // Without the hint the master is only known once AWSCURRENT is read: a round trip of its own.
  const plain = bed.registerInProcess('reads-alt-nohint', { env: { ROTOR_STRATEGY: 'alternating-users' } });
  const againPassword = await bed.f.createRole('nohint_alt');
  const again = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/alt-nohint', SecretString: JSON.stringify(bed.f.secretFor('nohint_alt', againPassword, { masterarn: master.ARN })) }));
  expect(await createSecretMasterRead(again.ARN!, master.ARN!, plain)).toEqual({ masterWithDescribe: false, masterReads: [master.ARN], eventName: 'RotationSucceeded' });
});

test('alternating users: a granted master other than the one AWSCURRENT names is read but never used; the named master is read and used', async () => {
  const su = bed.f.pg.superuser;
  const named = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/master-named', SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }));
  // Another granted master with a wrong password: had its value been used, setSecret could not log in.
  const other = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/master-other', SecretString: JSON.stringify(bed.f.secretFor(su.username, 'not-the-password')) }));
  const appPassword = await bed.f.createRole('hint_other');
  const secret = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/alt-other', SecretString: JSON.stringify(bed.f.secretFor('hint_other', appPassword, { masterarn: named.ARN })) }));
  const fn = bed.registerInProcess('reads-alt-other', { env: { ROTOR_STRATEGY: 'alternating-users', ROTOR_MASTER_SECRET_ARNS: other.ARN! } });
  const r = await createSecretMasterRead(secret.ARN!, named.ARN!, fn);
  expect(r.eventName).toBe('RotationSucceeded');
  expect(r.masterReads).toEqual([other.ARN, named.ARN]);
  expect(await bed.canLogin('hint_other_clone', (await bed.current(secret.ARN!)).password as string)).toBe(true);
});

test('the first rotation: finishSecret writes the target tag with DescribeSecret (one round trip), and moves AWSCURRENT only after the tag is written', async () => {
  const fn = bed.registerInProcess('reads-first');
  const { arn } = await bed.roleWithSecret('reads_first');
  const { tagWithDescribe, events, eventName } = await finishSecretOrder(arn, fn);
  expect(eventName).toBe('RotationSucceeded');
  expect(tagWithDescribe).toBe(true);
  // Two round trips: {DescribeSecret, TagResource}, then UpdateSecretVersionStage after the tag's answer.
  expect(events.indexOf('UpdateSecretVersionStage before')).toBeGreaterThan(events.indexOf('TagResource after'));
  expect(events.filter((e) => e.endsWith(' before')).sort()).toEqual(['DescribeSecret before', 'TagResource before', 'UpdateSecretVersionStage before']);
});

test('the first rotation: when the target tag cannot be written, AWSCURRENT does not move', async () => {
  const fn = bed.registerInProcess('reads-tagfail');
  const { arn } = await bed.roleWithSecret('reads_tagfail');
  const before = await bed.current(arn);
  const calls: string[] = [];
  const watch = watchSteps(arn, (c, step) => {
    if (c.phase === 'before' && step === 'finishSecret') calls.push(c.op);
  });
  bed.local.faults.inject({ op: 'TagResource', error: 'AccessDeniedException' });
  try {
    const outcome = await bed.rotate(arn, fn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('finishSecret');
    expect(outcome.errorMessage).toMatch(/\[permission\] Secrets Manager TagResource on the secret failed/);
  } finally {
    bed.local.faults.clear();
    watch.stop();
  }
  // The write was refused (the endpoint's fault answers before its interceptor sees a call); the labels never moved.
  expect(calls).toEqual(['DescribeSecret']);
  expect(await bed.current(arn)).toEqual(before);
});

test('alternating users, setSecret: the master logs in while the AWSCURRENT probe login is under way (one login latency, not two)', async () => {
  const fn = bed.registerInProcess('reads-alt-logins', { env: { ROTOR_STRATEGY: 'alternating-users' } });
  const su = bed.f.pg.superuser;
  const master = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/master-logins', SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }));
  const app = 'reads_alt_logins';
  const appPassword = await bed.f.createRole(app);
  const secret = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/alt-logins', SecretString: JSON.stringify(bed.f.secretFor(app, appPassword, { masterarn: master.ARN })) }));
  // The probe login is held (up to 5 s) until the master login starts: sequential logins never get there.
  const order: string[] = [];
  let masterStarted: () => void = () => undefined;
  const masterSeen = new Promise<void>((resolve) => (masterStarted = resolve));
  const realTryLogin = RotationContext.prototype.tryLogin;
  const realLogin = RotationContext.prototype.login;
  const tryLogin = jest.spyOn(RotationContext.prototype, 'tryLogin').mockImplementation(async function (this: RotationContext, s, label) {
    if (this.event.step === 'setSecret' && label === 'AWSCURRENT') {
      order.push('probe login');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([masterSeen, new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      order.push('probe goes on');
    }
    return realTryLogin.call(this, s, label);
  });
  const login = jest.spyOn(RotationContext.prototype, 'login').mockImplementation(function (this: RotationContext, s, whose) {
    if (this.event.step === 'setSecret' && whose?.startsWith('the master')) {
      order.push('master login');
      masterStarted();
    }
    return realLogin.call(this, s, whose);
  });
  try {
    expect((await bed.rotate(secret.ARN!, fn)).eventName).toBe('RotationSucceeded');
  } finally {
    tryLogin.mockRestore();
    login.mockRestore();
  }
  expect(order).toEqual(['probe login', 'master login', 'probe goes on']);
});

/**
 * Logins per step of one rotation of `arn`, through the PostgreSQL engine (in-process function):
 * each connect and each close of the sessions it returned, by step. When `holdDescribe` is true,
 * setSecret's and testSecret's DescribeSecret is held at the endpoint (up to 5 s) until that step
 * has called connect: `loginWithDescribe[step]` then counts the logins started in DescribeSecret's
 * round trip (sequential code only logs in after DescribeSecret's answer). `duringDescribe` runs
 * while a step's DescribeSecret is held, before it is answered.
 */
async function loginsPerStep(arn: string, fn: string, opts: { duringDescribe?: (step: string) => Promise<void>; waitForWarm?: string } = {}) {
  const { PostgresEngine } = require('../../lambda/rotation/engines/postgres') as typeof import('../../lambda/rotation/engines/postgres');
  const connects: Record<string, number> = {};
  const closes: Record<string, number> = {};
  const loginWithDescribe: Record<string, number> = {};
  // Sessions warmed (DatabaseSession.warm finished), by step; and how many of them while DescribeSecret was held.
  const warms: Record<string, number> = {};
  const warmedWithDescribe: Record<string, number> = {};
  let connected: () => void = () => undefined;
  let warmed: () => void = () => undefined;
  const realConnect = PostgresEngine.prototype.connect;
  const connect = jest.spyOn(PostgresEngine.prototype, 'connect').mockImplementation(async function (this: InstanceType<typeof PostgresEngine>, s, settings) {
    const at = watch.step();
    connects[at] = (connects[at] ?? 0) + 1;
    connected();
    const session = await realConnect.call(this, s, settings);
    const warm = session.warm?.bind(session);
    if (warm) {
      session.warm = async () => {
        await warm();
        warms[at] = (warms[at] ?? 0) + 1;
        warmed();
      };
    }
    const close = session.close.bind(session);
    session.close = async () => {
      closes[at] = (closes[at] ?? 0) + 1;
      await close();
    };
    return session;
  });
  const held = new Set<string>();
  const watch = watchSteps(arn, async (c, step) => {
    // The step's first DescribeSecret only (not the test's own calls from duringDescribe).
    if (c.phase !== 'before' || c.op !== 'DescribeSecret' || c.input.SecretId !== arn || (step !== 'setSecret' && step !== 'testSecret') || held.has(step)) return;
    const at = step;
    held.add(at);
    if (!connects[at]) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (connected = resolve)), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
    }
    loginWithDescribe[at] = connects[at] ?? 0;
    if (opts.waitForWarm === at && !warms[at]) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (warmed = resolve)), new Promise((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
    }
    warmedWithDescribe[at] = warms[at] ?? 0;
    await opts.duringDescribe?.(at);
  });
  try {
    const outcome = await bed.rotate(arn, fn);
    return { outcome, connects, closes, loginWithDescribe, warms, warmedWithDescribe };
  } finally {
    connect.mockRestore();
    watch.stop();
  }
}

describe('setSecret and testSecret start their first login with DescribeSecret (after this container ran the step before)', () => {
  test('single-user: setSecret logs in with AWSCURRENT and testSecret with AWSPENDING in the round trip of DescribeSecret, one login each, every session closed', async () => {
    const fn = bed.registerInProcess('early-login');
    const { name, arn } = await bed.roleWithSecret('early_login');
    const { outcome, connects, closes, loginWithDescribe, warms } = await loginsPerStep(arn, fn);
    expect(outcome.eventName).toBe('RotationSucceeded');
    expect(loginWithDescribe).toEqual({ setSecret: 1, testSecret: 1 });
    expect(connects).toEqual({ setSecret: 1, testSecret: 1 });
    expect(warms).toEqual({}); // no admin session to warm
    expect(closes).toEqual(connects);
    expect(await bed.canLogin(name, (await bed.current(arn)).password)).toBe(true);
  });

  test('alternating users: setSecret logs in as AWSCURRENT and as the master, and testSecret with AWSPENDING, in the round trip of DescribeSecret; every session closed', async () => {
    const fn = bed.registerInProcess('early-login-alt', { env: { ROTOR_STRATEGY: 'alternating-users' } });
    const su = bed.f.pg.superuser;
    const master = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/master-early', SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }));
    const appPassword = await bed.f.createRole('early_alt');
    const secret = await bed.sm.send(new CreateSecretCommand({ Name: 'reads/alt-early', SecretString: JSON.stringify(bed.f.secretFor('early_alt', appPassword, { masterarn: master.ARN })) }));
    const { outcome, connects, closes, loginWithDescribe, warms, warmedWithDescribe } = await loginsPerStep(secret.ARN!, fn, { waitForWarm: 'setSecret' });
    expect(outcome.eventName).toBe('RotationSucceeded');
    expect(loginWithDescribe).toEqual({ setSecret: 2, testSecret: 1 });
    // The master session was warmed for the sync while DescribeSecret was in flight; no other session.
    expect(warmedWithDescribe.setSecret).toBe(1);
    expect(warms).toEqual({ setSecret: 1 });
    // Both of setSecret's logins (the AWSCURRENT probe and the master) were the early ones: no third.
    expect(connects).toEqual({ setSecret: 2, testSecret: 1 });
    expect(closes).toEqual(connects);
  });

  test('AWSCURRENT moved to another version after createSecret: setSecret logs in as DescribeSecret says, and takes the early session only for the credential it was opened with', async () => {
    const fn = bed.registerInProcess('early-login-moved');
    const { name, arn } = await bed.roleWithSecret('early_moved');
    // A first rotation in the same container: AWSPREVIOUS holds the original password, which no longer logs in.
    expect((await bed.rotate(arn, fn)).eventName).toBe('RotationSucceeded');
    const { outcome, connects, closes } = await loginsPerStep(arn, fn, {
      duringDescribe: async (step) => {
        if (step !== 'setSecret') return;
        // Someone moves AWSCURRENT back to the original version (AWSPREVIOUS follows to the one it left).
        const labels = (await bed.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
        const cur = Object.entries(labels).find(([, st]) => st.includes('AWSCURRENT'))![0];
        const prev = Object.entries(labels).find(([, st]) => st.includes('AWSPREVIOUS'))![0];
        await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: prev, RemoveFromVersionId: cur }));
      },
    });
    expect(outcome.eventName).toBe('RotationSucceeded');
    // The early login (the version createSecret saw: logs in), then the step's own: AWSCURRENT (the
    // original password: refused) and AWSPENDING (not set yet: refused); AWSPREVIOUS is now the
    // version the early login used, so the step takes that session (no fourth login) and sets the password.
    expect(connects.setSecret).toBe(3);
    expect(closes.setSecret).toBe(1);
    expect(closes.testSecret).toBe(connects.testSecret);
    expect(await bed.canLogin(name, (await bed.current(arn)).password)).toBe(true);
  });

  test('a step refused after DescribeSecret (the rotation was cancelled) closes the early session and changes nothing', async () => {
    const fn = bed.registerInProcess('early-login-cancel');
    const { name, password, arn } = await bed.roleWithSecret('early_cancel');
    const { outcome, connects, closes } = await loginsPerStep(arn, fn, {
      duringDescribe: async (step) => {
        if (step !== 'setSecret') return;
        const labels = (await bed.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
        const pending = Object.entries(labels).find(([, st]) => st.includes('AWSPENDING'))![0];
        await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: pending }));
      },
    });
    expect(outcome.eventName).not.toBe('RotationSucceeded');
    expect(outcome.step).toBe('setSecret');
    expect(connects.setSecret).toBe(1);
    expect(closes).toEqual(connects);
    expect(await bed.canLogin(name, password)).toBe(true);
  });
});
