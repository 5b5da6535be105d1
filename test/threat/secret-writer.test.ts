/**
 * Threat model rows for the secret writer (PutSecretValue and/or
 * UpdateSecretVersionStage on one secret) and the network attacker on the
 * database route, against real PostgreSQL and MariaDB servers, the real SDK
 * and the bundled function (docs/threat-model.md).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { startBed, uniq, type ReliabilityBed } from '../reliability/support/reliability-kit';
import { startStartupRecorder } from '../support/startup-recorder';
import { ROTATED_TARGET_TAG } from '../../lambda/rotation/rotated-target';

jest.setTimeout(120_000);

/** A password the default policy (32 characters, every class, engine exclusions) could have made. */
const POLICY_LIKE = 'Aa1!Bb2#Cc3%Dd4&Ee5*Ff6(Gg7)Hh8+';

async function pendingValue(bed: ReliabilityBed, arn: string): Promise<string | undefined> {
  try {
    return (await bed.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' }))).SecretString;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

/** The writer's move: a new AWSCURRENT value, and the finished AWSPENDING label cleared so RotateSecret accepts a rotation. */
async function rewriteCurrent(bed: ReliabilityBed, arn: string, fields: Record<string, unknown>): Promise<void> {
  const labels = (await bed.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
  const finished = Object.entries(labels).find(([, st]) => st.includes('AWSPENDING'))?.[0];
  await bed.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(fields) }));
  if (finished) await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: finished }));
}

describe.each(['postgres', 'mariadb'] as const)('secret writer on %s (bundled function)', (engine) => {
  let bed: ReliabilityBed;
  let fn: string;
  beforeAll(async () => {
    bed = await startBed({ engine, rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
    fn = bed.registerBundle('threat-single');
  });
  afterAll(async () => bed?.stop());

  test('AWSCURRENT rewritten to another user on the same server after a rotation: refused in createSecret, nothing written or changed', async () => {
    const mine = await bed.roleWithSecret('writer');
    const victim = await bed.roleWithSecret('victim');
    expect((await bed.rotate(mine.arn, fn)).eventName).toBe('RotationSucceeded');
    const tags = (await bed.sm.send(new DescribeSecretCommand({ SecretId: mine.arn }))).Tags ?? [];
    expect(tags.find((t) => t.Key === ROTATED_TARGET_TAG)?.Value).toMatch(/^v1:[0-9a-f]{64}$/);

    // The writer learnt the victim's password elsewhere (or not at all): either way the
    // function must not send a new password to a target the last rotation did not use.
    await rewriteCurrent(bed, mine.arn, bed.f.secretFor(victim.name, victim.password));
    const outcome = await bed.rotate(mine.arn, fn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[conflict\] AWSCURRENT names another database target.*\(code TargetChanged\)/);
    expect(outcome.errorMessage).not.toContain(victim.password);
    expect(await pendingValue(bed, mine.arn)).toBeUndefined();
    expect(await bed.canLogin(victim.name, victim.password)).toBe(true);
  });

  test('the same rewrite with ROTOR_ALLOW_TARGET_CHANGE=true: the deployment allowed it, the rotation proceeds and records the new target', async () => {
    const allowFn = bed.registerBundle('threat-allow', { env: { ROTOR_ALLOW_TARGET_CHANGE: 'true' } });
    const first = await bed.roleWithSecret('moved_from');
    const moved = await bed.roleWithSecret('moved_to');
    expect((await bed.rotate(first.arn, allowFn)).eventName).toBe('RotationSucceeded');
    const before = (await bed.sm.send(new DescribeSecretCommand({ SecretId: first.arn }))).Tags?.find((t) => t.Key === ROTATED_TARGET_TAG)?.Value;
    await rewriteCurrent(bed, first.arn, bed.f.secretFor(moved.name, moved.password));
    expect((await bed.rotate(first.arn, allowFn)).eventName).toBe('RotationSucceeded');
    const after = (await bed.sm.send(new DescribeSecretCommand({ SecretId: first.arn }))).Tags?.find((t) => t.Key === ROTATED_TARGET_TAG)?.Value;
    expect(before).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(after).toMatch(/^v1:[0-9a-f]{64}$/);
    expect(after).not.toBe(before);
    expect(await bed.canLogin(moved.name, (await bed.current(first.arn)).password)).toBe(true);
  });

  test('a secret asking for less TLS than the deployment floor: refused in createSecret naming the setting, no AWSPENDING value', async () => {
    const { name, password } = await bed.roleWithSecret('tls_low');
    const out = await bed.sm.send(new CreateSecretCommand({ Name: `threat/${uniq('tls')}`, SecretString: JSON.stringify(bed.f.secretFor(name, password, { ssl: 'disable' })) }));
    const outcome = await bed.rotate(out.ARN!, fn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[configuration\] the secret asks for TLS mode "disable".*below this deployment's floor "verify-full" \(ROTOR_TLS_MODE\)/);
    expect(await pendingValue(bed, out.ARN!)).toBeUndefined();
    expect(await bed.canLogin(name, password)).toBe(true);
  });

  test('any JSON object survives a rotation byte for byte: only the password value changes (__proto__, constructor, big numbers, string port, escapes)', async () => {
    const { name, password } = await bed.roleWithSecret('fidelity');
    const s = bed.f.secretFor(name, password);
    const text = `{ "engine" : "${s.engine}", "host":"localhost", "port": "${s.port}", "username":${JSON.stringify(name)},\n  "password": ${JSON.stringify(password)}, "dbname": ${JSON.stringify(s.dbname)}, "ssl": true,\n  "__proto__": {"isAdmin": true}, "constructor": "data", "big": 123456789012345678901234567890, "float": 1.50, "note": "caf\\u00e9 \\"q\\"", "nested": {"a": [1, {"b": null}], "password": "not-the-password"} }`;
    const out = await bed.sm.send(new CreateSecretCommand({ Name: `threat/${uniq('fidelity')}`, SecretString: text }));
    expect((await bed.rotate(out.ARN!, fn)).eventName).toBe('RotationSucceeded');
    const after = (await bed.sm.send(new GetSecretValueCommand({ SecretId: out.ARN! }))).SecretString!;
    const newPassword = JSON.parse(after).password as string;
    expect(newPassword).not.toBe(password);
    expect(after).toBe(text.replace(JSON.stringify(password), JSON.stringify(newPassword)));
    expect(await bed.canLogin(name, newPassword)).toBe(true);
  });

  test('a secret with a repeated key is refused before anything is written', async () => {
    const { name, password } = await bed.roleWithSecret('dupkey');
    const s = bed.f.secretFor(name, password);
    const text = JSON.stringify(s).replace(/}$/, `,"host":"elsewhere.example"}`);
    const out = await bed.sm.send(new CreateSecretCommand({ Name: `threat/${uniq('dup')}`, SecretString: text }));
    const outcome = await bed.rotate(out.ARN!, fn);
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[configuration\] the AWSCURRENT version of the secret has the key "host" more than once/);
    expect(await pendingValue(bed, out.ARN!)).toBeUndefined();
    expect(await bed.canLogin(name, password)).toBe(true);
  });
});

describe('secret writer fills the empty AWSPENDING version before createSecret runs (PostgreSQL)', () => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
  });
  afterAll(async () => bed?.stop());

  /** In-process function whose createSecret is preceded by the writer's PutSecretValue on the rotation's token. */
  function raced(name: string, chosen: (s: Record<string, unknown>) => Record<string, unknown>): string {
    return bed.registerInProcess(name, {
      hook: async (event, phase) => {
        if (phase !== 'before' || event.Step !== 'createSecret') return;
        const current = JSON.parse((await bed.sm.send(new GetSecretValueCommand({ SecretId: event.SecretId }))).SecretString!);
        await bed.sm.send(new PutSecretValueCommand({ SecretId: event.SecretId, ClientRequestToken: event.ClientRequestToken, SecretString: JSON.stringify(chosen(current)), VersionStages: ['AWSPENDING'] }));
      },
    });
  }

  test('a one-character password chosen by the writer is refused; the database keeps the old password', async () => {
    const fn = raced('threat-race-weak', (c) => ({ ...c, password: 'x' }));
    const { name, password, arn } = await bed.roleWithSecret('race_weak');
    const outcome = await bed.rotate(arn, fn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[conflict\] the AWSPENDING password does not meet the function's password policy: it has 1 characters, fewer than the policy's 32/);
    expect(await bed.canLogin(name, password)).toBe(true);
    expect(await bed.canLogin(name, 'x')).toBe(false);
  });

  test.each([
    ['a character class the policy excludes', { ROTOR_EXCLUDE_PUNCTUATION: 'true' }, /it holds punctuation, which the policy excludes/],
    ['a character outside what GetRandomPassword draws from', {}, /outside the letters, digits and punctuation/],
  ])('a policy-length password with %s is refused', async (_what, env, reason) => {
    const fn = bed.registerInProcess(`threat-race-${randomUUID().slice(0, 6)}`, {
      env,
      hook: async (event, phase) => {
        if (phase !== 'before' || event.Step !== 'createSecret') return;
        const current = JSON.parse((await bed.sm.send(new GetSecretValueCommand({ SecretId: event.SecretId }))).SecretString!);
        const chosen = Object.keys(env).length ? POLICY_LIKE : `${POLICY_LIKE.slice(0, 31)}\u00e9`;
        await bed.sm.send(new PutSecretValueCommand({ SecretId: event.SecretId, ClientRequestToken: event.ClientRequestToken, SecretString: JSON.stringify({ ...current, password: chosen }), VersionStages: ['AWSPENDING'] }));
      },
    });
    const { name, password, arn } = await bed.roleWithSecret('race_class');
    const outcome = await bed.rotate(arn, fn);
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(reason);
    expect(await bed.canLogin(name, password)).toBe(true);
  });

  test('a value that meets the policy is kept (documented residual risk) and the function warns', async () => {
    const fn = raced('threat-race-strong', (c) => ({ ...c, password: POLICY_LIKE }));
    const { name, arn } = await bed.roleWithSecret('race_strong');
    const outcome = await bed.rotate(arn, fn);
    expect(outcome.eventName).toBe('RotationSucceeded');
    expect(await bed.canLogin(name, POLICY_LIKE)).toBe(true);
  });
});

describe('network attacker: the application secret cannot weaken how the master password travels (PostgreSQL, bundled function)', () => {
  let bed: ReliabilityBed;
  beforeAll(async () => {
    bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
  });
  afterAll(async () => bed?.stop());

  test('app secret says ssl=disable (allowed by a disable floor); the master secret says verify-full: the master login starts with TLS', async () => {
    const recorder = await startStartupRecorder({ host: '127.0.0.1', port: bed.f.pg.port });
    try {
      const fn = bed.registerBundle('threat-alt-tls', { env: { ROTOR_STRATEGY: 'alternating-users', ROTOR_TLS_MODE: 'disable' } });
      const su = bed.f.pg.superuser;
      const route = { host: '127.0.0.1', port: recorder.port };
      const master = await bed.sm.send(new CreateSecretCommand({
        Name: `threat/${uniq('master')}`,
        SecretString: JSON.stringify({ ...bed.f.secretFor(su.username, su.password), ...route, ssl: 'verify-full' }),
      }));
      const app = uniq('alt_app');
      const appPassword = await bed.f.createRole(app);
      await bed.f.pg.query(`GRANT CONNECT ON DATABASE ${bed.f.pg.database} TO ${app}`);
      const secret = await bed.sm.send(new CreateSecretCommand({
        Name: `threat/${uniq('app')}`,
        SecretString: JSON.stringify({ ...bed.f.secretFor(app, appPassword), ...route, ssl: 'disable', masterarn: master.ARN }),
      }));
      const outcome = await bed.rotate(secret.ARN!, fn);
      expect(outcome.eventName).toBe('RotationSucceeded');
      // The observer works: the application's own login was plaintext, as its secret asked...
      expect(recorder.seen.some((s) => !s.tls && s.plaintextUser === app)).toBe(true);
      // ...but no login as the master ever started in the clear.
      expect(recorder.seen.filter((s) => !s.tls && s.plaintextUser === su.username)).toEqual([]);
      expect(recorder.seen.some((s) => s.tls)).toBe(true);
    } finally {
      await recorder.stop();
    }
  });
});
