/**
 * One end-to-end test per rule the rotation function enforces for the
 * invariants of DESIGN.md, each against a real PostgreSQL server, the local
 * Secrets Manager endpoint and the BUNDLED function (dist/rotation/index.js,
 * or the bundle ROTOR_TEST_ROTATION_BUNDLE names) in a child process.
 *
 * Every test asserts on what the function itself did (its categorized error,
 * the step that failed, the database and the secret afterwards), never on
 * the endpoint refusing a call AWS would accept: the hostile values are
 * written with calls AWS accepts (PutSecretValue on the rotation's own
 * version, UpdateSecretVersionStage), and a step that wrongly went on would
 * be let through by the endpoint as by AWS.
 *
 * test/invariants/prove-invariant-tests.ts plants, for each test, the bug
 * it guards against (docs/reliability.md, section 8) and shows it fails.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { existsSync, readFileSync } from 'node:fs';
import { escapeIdentifier, escapeLiteral } from 'pg';
import { LocalRds } from '../../local/rds';
import type { RotationEvent } from '../../local';
import { startBed, uniq, type ReliabilityBed } from '../reliability/support/reliability-kit';
import { unusedPort } from '../support/blackhole';
import { startStartupRecorder } from '../support/startup-recorder';
import { CATEGORIZED, registerAroundBundle, registerRotationBundle, type BundleRunner, type StepResult } from './invariant-kit';

jest.setTimeout(120_000);

/** A password the default policy (32 characters, every class, engine exclusions) could have made. */
const POLICY_LIKE = 'Aa1!Bb2#Cc3%Dd4&Ee5*Ff6(Gg7)Hh8+';

let bed: ReliabilityBed;
let fn: string;
const runners: BundleRunner[] = [];

beforeAll(async () => {
  // One attempt per rotation: a refusal is seen once, as the test's outcome.
  bed = await startBed({ engine: 'postgres', rotation: { maxAttempts: 1, initialBackoffMs: 10, maxBackoffMs: 20 } });
  fn = registerRotationBundle(bed, 'inv-single');
});
afterAll(async () => {
  for (const r of runners) r.stop();
  await bed?.stop();
});

function around(name: string, opts: Parameters<typeof registerAroundBundle>[2] = {}): string {
  const { arn, runner } = registerAroundBundle(bed, name, opts);
  runners.push(runner);
  return arn;
}

async function pendingValue(arn: string): Promise<string | undefined> {
  try {
    return (await bed.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' }))).SecretString;
  } catch (e) {
    if ((e as Error).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

async function currentVersionId(arn: string): Promise<string> {
  const v = (await bed.sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages ?? {};
  return Object.entries(v).find(([, s]) => s.includes('AWSCURRENT'))![0];
}

/** Another principal with PutSecretValue fills the empty version RotateSecret made, before createSecret runs (AWS accepts this). */
function fillPendingBeforeCreate(value: (current: Record<string, unknown>) => Record<string, unknown>) {
  return async (event: RotationEvent) => {
    if (event.Step !== 'createSecret') return;
    const current = JSON.parse((await bed.sm.send(new GetSecretValueCommand({ SecretId: event.SecretId }))).SecretString!);
    await bed.sm.send(new PutSecretValueCommand({ SecretId: event.SecretId, ClientRequestToken: event.ClientRequestToken, SecretString: JSON.stringify(value(current)), VersionStages: ['AWSPENDING'] }));
  };
}

/** The failure's message is categorized and names the step the endpoint saw fail. */
function expectCategorized(outcome: { eventName: string; step?: string; errorMessage?: string }, step: string, category: string, what: RegExp): void {
  expect(outcome.eventName).toBe('RotationFailed');
  expect(outcome.step).toBe(step);
  const m = CATEGORIZED.exec(outcome.errorMessage ?? '');
  expect(m?.slice(1, 3)).toEqual([step, category]);
  expect(outcome.errorMessage).toMatch(what);
}

async function setPasswordAsAdmin(user: string, password: string): Promise<void> {
  await bed.f.pg.query(`ALTER ROLE ${escapeIdentifier(user)} PASSWORD ${escapeLiteral(password)}`);
}

async function roleExists(name: string): Promise<boolean> {
  return (await bed.f.pg.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rows.length === 1;
}

describe('invariant 1: every step can be re-run with the same event and ends in the same state', () => {
  test('each step of a single-user rotation run three times: same labels, values and logins after every run; the rotation succeeds', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_rerun');
    /** Labels, values, and which stored password logs in. */
    const state = async (): Promise<string> => {
      const versions = (await bed.sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }))).Versions ?? [];
      const out: string[] = [];
      for (const v of versions.sort((a, b) => a.VersionId!.localeCompare(b.VersionId!))) {
        let value: string | undefined;
        try {
          value = (await bed.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v.VersionId }))).SecretString;
        } catch {
          value = undefined;
        }
        const pw = value ? (JSON.parse(value).password as string) : undefined;
        out.push(`${v.VersionId} ${[...(v.VersionStages ?? [])].sort().join(',')} ${value ?? '-'} ${pw ? await bed.canLogin(name, pw) : '-'}`);
      }
      return out.join('\n');
    };
    const runs: Array<{ step: string; states: string[] }> = [];
    const rerun = around('inv-rerun', {
      run: async (event, runner) => {
        const states: string[] = [];
        let r: StepResult = { ok: true };
        for (let i = 0; i < 3 && r.ok; i++) {
          r = await runner.invoke(event);
          if (r.ok) states.push(await state());
        }
        runs.push({ step: event.Step, states });
        return r;
      },
    });
    const outcome = await bed.rotate(arn, rerun);
    expect({ eventName: outcome.eventName, errorMessage: outcome.errorMessage }).toEqual({ eventName: 'RotationSucceeded', errorMessage: undefined });
    expect(runs.map((r) => r.step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    for (const r of runs) {
      expect(r.states).toHaveLength(3);
      expect(new Set(r.states).size).toBe(1);
    }
    const current = await bed.current(arn);
    expect(await bed.canLogin(name, current.password)).toBe(true);
    expect(await bed.canLogin(name, password)).toBe(false);
  });
});

describe('invariant 2: some stored version always logs in; AWSCURRENT does after a finished or recovered rotation', () => {
  test('testSecret refuses an AWSPENDING that does not log in, so AWSCURRENT never moves to it', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_test');
    const before = await currentVersionId(arn);
    const operatorPassword = randomBytes(16).toString('hex');
    // Between setSecret and testSecret an administrator sets another password (outside rotation).
    const fnTest = around('inv-test-login', { before: async (e) => (e.Step === 'testSecret' ? setPasswordAsAdmin(name, operatorPassword) : undefined) });
    const outcome = await bed.rotate(arn, fnTest);
    expectCategorized(outcome, 'testSecret', 'authentication', /./);
    expect(await currentVersionId(arn)).toBe(before);
    expect((await bed.current(arn)).password).toBe(password);
  });

  test('AWSCURRENT no longer logs in but AWSPREVIOUS does: the rotation recovers through AWSPREVIOUS and AWSCURRENT logs in afterwards', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_prev');
    const s = await bed.current(arn);
    // A new AWSCURRENT with a password the database does not know; the working one becomes AWSPREVIOUS.
    await bed.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify({ ...s, password: randomBytes(16).toString('hex') }) }));
    const outcome = await bed.rotate(arn, fn);
    expect({ eventName: outcome.eventName, errorMessage: outcome.errorMessage }).toEqual({ eventName: 'RotationSucceeded', errorMessage: undefined });
    const current = await bed.current(arn);
    expect(await bed.canLogin(name, current.password)).toBe(true);
    expect(await bed.canLogin(name, password)).toBe(false);
  });
});

describe('invariant 3: the function acts only on the target a stored credential proves', () => {
  test('single-user: an AWSPENDING written by another principal that points at another port is refused in createSecret; nothing changes', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_port');
    const elsewhere = await unusedPort();
    const fnPort = around('inv-pending-port', { before: fillPendingBeforeCreate((c) => ({ ...c, port: elsewhere, password: POLICY_LIKE })) });
    const outcome = await bed.rotate(arn, fnPort);
    expectCategorized(outcome, 'createSecret', 'conflict', /the AWSPENDING version differs from AWSCURRENT in port/);
    expect(await bed.canLogin(name, password)).toBe(true);
    expect(await bed.canLogin(name, POLICY_LIKE)).toBe(false);
    expect((await bed.current(arn)).password).toBe(password);
  });

  test('an AWSPENDING password the function\'s policy could not have made is refused before it reaches the database', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_policy');
    const fnWeak = around('inv-pending-weak', { before: fillPendingBeforeCreate((c) => ({ ...c, password: 'x' })) });
    const outcome = await bed.rotate(arn, fnWeak);
    expectCategorized(outcome, 'createSecret', 'conflict', /does not meet the function's password policy.*\(code PendingPasswordPolicy\)/);
    expect(await bed.canLogin(name, password)).toBe(true);
    expect(await bed.canLogin(name, 'x')).toBe(false);
  });

  test('AWSCURRENT rewritten to another user after a rotation: refused by the recorded target; nothing written, the other user keeps its password', async () => {
    const mine = await bed.roleWithSecret('inv_mine');
    const victim = await bed.roleWithSecret('inv_victim');
    expect((await bed.rotate(mine.arn, fn)).eventName).toBe('RotationSucceeded');
    const labels = (await bed.sm.send(new DescribeSecretCommand({ SecretId: mine.arn }))).VersionIdsToStages ?? {};
    const finished = Object.entries(labels).find(([, st]) => st.includes('AWSPENDING'))?.[0];
    await bed.sm.send(new PutSecretValueCommand({ SecretId: mine.arn, SecretString: JSON.stringify(bed.f.secretFor(victim.name, victim.password)) }));
    if (finished) await bed.sm.send(new UpdateSecretVersionStageCommand({ SecretId: mine.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: finished }));
    const outcome = await bed.rotate(mine.arn, fn);
    expectCategorized(outcome, 'createSecret', 'conflict', /AWSCURRENT names another database target.*\(code TargetChanged\)/);
    expect(await pendingValue(mine.arn)).toBeUndefined();
    expect(await bed.canLogin(victim.name, victim.password)).toBe(true);
  });

  test('finishSecret invoked out of order on an AWSPENDING that points elsewhere: refused, AWSCURRENT stays', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_finish');
    const before = await currentVersionId(arn);
    const elsewhere = await unusedPort();
    let finish: StepResult | undefined;
    const fnFinish = around('inv-finish-first', {
      run: async (event, runner) => {
        // The writer's value is in the token's version; then finishSecret comes first.
        await fillPendingBeforeCreate((c) => ({ ...c, port: elsewhere, password: POLICY_LIKE }))(event);
        finish = await runner.invoke({ ...event, Step: 'finishSecret' });
        return { ok: false, errorType: 'Stop', errorMessage: 'the test stops here' };
      },
    });
    await bed.rotate(arn, fnFinish);
    expect(finish?.ok).toBe(false);
    const m = CATEGORIZED.exec(finish?.ok === false ? finish.errorMessage : '');
    expect(m?.slice(1, 3)).toEqual(['finishSecret', 'conflict']);
    expect(finish).toMatchObject({ errorMessage: expect.stringMatching(/differs from AWSCURRENT in port/) });
    expect(await currentVersionId(arn)).toBe(before);
    expect(await bed.canLogin(name, password)).toBe(true);
  });

  describe('alternating users (the master is the server\'s superuser)', () => {
    let fnAlt: string;
    let masterArn: string;
    beforeAll(async () => {
      fnAlt = registerRotationBundle(bed, 'inv-alt', { ROTOR_STRATEGY: 'alternating-users' });
      const su = bed.f.pg.superuser;
      masterArn = (await bed.sm.send(new CreateSecretCommand({ Name: `inv/${uniq('master')}`, SecretString: JSON.stringify(bed.f.secretFor(su.username, su.password)) }))).ARN!;
    });

    async function appSecret(prefix: string, opts: { password?: string; master?: string } = {}) {
      const name = uniq(prefix);
      const password = await bed.f.createRole(name);
      const arn = (await bed.sm.send(new CreateSecretCommand({
        Name: `inv/${name}`, SecretString: JSON.stringify({ ...bed.f.secretFor(name, opts.password ?? password), masterarn: opts.master ?? masterArn }),
      }))).ARN!;
      return { name, password, arn };
    }

    test('an AWSPENDING naming a user other than the alternate is refused; that user keeps its password', async () => {
      const victim = await bed.roleWithSecret('inv_alt_victim');
      const app = await appSecret('inv_alt');
      const fnHostile = around('inv-alt-user', { env: { ROTOR_STRATEGY: 'alternating-users' }, before: fillPendingBeforeCreate((c) => ({ ...c, username: victim.name, password: POLICY_LIKE })) });
      const outcome = await bed.rotate(app.arn, fnHostile);
      expectCategorized(outcome, 'createSecret', 'conflict', /the AWSPENDING user is not the alternate of the AWSCURRENT user/);
      expect(await bed.canLogin(victim.name, victim.password)).toBe(true);
      expect(await bed.canLogin(victim.name, POLICY_LIKE)).toBe(false);
      expect(await roleExists(`${app.name}_clone`)).toBe(false);
    });

    test('AWSCURRENT that does not log in: setSecret refuses before the master changes anything (no clone is made)', async () => {
      const app = await appSecret('inv_alt_nologin', { password: randomBytes(16).toString('hex') });
      const outcome = await bed.rotate(app.arn, fnAlt);
      expectCategorized(outcome, 'setSecret', 'authentication', /\(code CurrentDoesNotLogIn\)/);
      expect(await roleExists(`${app.name}_clone`)).toBe(false);
      expect(await bed.canLogin(app.name, app.password)).toBe(true);
    });

    test('a master secret that points at another server is refused before its credential is sent anywhere', async () => {
      const su = bed.f.pg.superuser;
      const elsewhere = await unusedPort();
      const otherMaster = (await bed.sm.send(new CreateSecretCommand({ Name: `inv/${uniq('master_elsewhere')}`, SecretString: JSON.stringify({ ...bed.f.secretFor(su.username, su.password), port: elsewhere }) }))).ARN!;
      const app = await appSecret('inv_alt_master', { master: otherMaster });
      const outcome = await bed.rotate(app.arn, fnAlt);
      expectCategorized(outcome, 'createSecret', 'conflict', /the master secret points at localhost:\d+, not at the user's server/);
      expect(await pendingValue(app.arn)).toBeUndefined();
    });
  });

  describe('rds-master (local RDS API)', () => {
    let rds: LocalRds;
    let fnRds: string;
    const DEPLOYED = ['inv-deployed-1', 'inv-deployed-2'];
    beforeAll(async () => {
      rds = await LocalRds.start({ port: 0, passwordChangeDelayMs: 30 });
      fnRds = registerRotationBundle(bed, 'inv-rds', {
        ROTOR_STRATEGY: 'rds-master', AWS_ENDPOINT_URL_RDS: rds.endpoint,
        ROTOR_RDS_RESOURCE_ARNS: DEPLOYED.map((id) => rds.instanceArn(id)).join(','),
      });
    });
    afterAll(async () => rds?.stop());

    async function instance(id: string, opts: { storedPassword?: string } = {}) {
      const user = uniq('inv_rds');
      const password = await bed.f.createRole(user);
      rds.addInstance({ identifier: id, engine: 'postgres', host: 'localhost', port: bed.f.pg.port, masterUsername: user, applyPassword: (pw) => setPasswordAsAdmin(user, pw) });
      const arn = (await bed.sm.send(new CreateSecretCommand({ Name: `inv/${user}`, SecretString: JSON.stringify(bed.f.secretFor(user, opts.storedPassword ?? password, { dbInstanceIdentifier: id })) }))).ARN!;
      return { user, password, arn };
    }
    const changesOf = (id: string) => rds.passwordChanges().filter((c) => c.identifier === id);

    test('a secret naming an instance the function was not deployed for is refused before RDS is asked to change anything', async () => {
      const { user, password, arn } = await instance('inv-not-deployed');
      const outcome = await bed.rotate(arn, fnRds);
      expectCategorized(outcome, 'createSecret', 'conflict', /not one this rotation function was deployed for.*\(code RdsResourceNotDeployed\)/);
      expect(changesOf('inv-not-deployed')).toEqual([]);
      expect(await bed.canLogin(user, password)).toBe(true);
    });

    test('a stored master password that does not log in: no ModifyDBInstance, the master keeps its password', async () => {
      const { user, password, arn } = await instance(DEPLOYED[0], { storedPassword: randomBytes(16).toString('hex') });
      const outcome = await bed.rotate(arn, fnRds);
      expectCategorized(outcome, 'setSecret', 'authentication', /\(code NoWorkingCredential\)/);
      expect(changesOf(DEPLOYED[0])).toEqual([]);
      expect(await bed.canLogin(user, password)).toBe(true);
    });

    test('the deployed instance with a stored password that logs in rotates (the rules above refuse only what they must)', async () => {
      const { user, password, arn } = await instance(DEPLOYED[1]);
      expect((await bed.rotate(arn, fnRds)).eventName).toBe('RotationSucceeded');
      expect(changesOf(DEPLOYED[1])).toHaveLength(1);
      expect(await bed.canLogin(user, (await bed.current(arn)).password)).toBe(true);
      expect(await bed.canLogin(user, password)).toBe(false);
    });
  });
});

describe('invariant 4: no password reaches a log, an error or the server\'s statement log', () => {
  test('after a rotation neither password is in the server\'s statement log or the function\'s output; the server got a SCRAM verifier', async () => {
    const { name, password, arn } = await bed.roleWithSecret('inv_log');
    expect((await bed.rotate(arn, fn)).eventName).toBe('RotationSucceeded');
    const next = (await bed.current(arn)).password as string;
    const logFile = (bed.f.pg as unknown as { logFile: string }).logFile;
    // The server writes its log asynchronously: wait until the function's ALTER ROLE is in it.
    const alter = new RegExp(`ALTER ROLE ${escapeIdentifier(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} WITH PASSWORD '([^']*)'`);
    let log = '';
    for (let i = 0; i < 100 && !alter.test(log); i++) {
      log = readFileSync(logFile, 'utf8');
      if (!alter.test(log)) await new Promise((r) => setTimeout(r, 50));
    }
    expect(alter.exec(log)?.[1]).toMatch(/^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/);
    expect(log).not.toContain(next);
    const output = bed.local.functionLogs(fn).join('\n');
    expect(output).not.toContain(next);
    expect(output).not.toContain(password);
  });
});

describe('invariant 5: TLS on by default and verified; no secret goes below the floor', () => {
  test('a secret asking for ssl=disable (below the default floor verify-full) is refused in createSecret naming the setting; nothing written', async () => {
    const { name, password } = await bed.roleWithSecret('inv_tls_low');
    const arn = (await bed.sm.send(new CreateSecretCommand({ Name: `inv/${uniq('tls')}`, SecretString: JSON.stringify(bed.f.secretFor(name, password, { ssl: 'disable' })) }))).ARN!;
    const outcome = await bed.rotate(arn, fn);
    expectCategorized(outcome, 'createSecret', 'configuration', /asks for TLS mode "disable".*below this deployment's floor "verify-full".*\(code TlsBelowFloor\)/);
    expect(await pendingValue(arn)).toBeUndefined();
    expect(await bed.canLogin(name, password)).toBe(true);
  });

  test('the server certificate is verified: signed by a CA the function does not trust, the login fails [tls] and the password is unchanged', async () => {
    const otherCa = (bed.f.pg as unknown as { otherCaFile: string }).otherCaFile;
    expect(existsSync(otherCa)).toBe(true);
    const fnOtherCa = registerRotationBundle(bed, 'inv-other-ca', { ROTOR_TLS_CA_FILE: otherCa });
    const { name, password, arn } = await bed.roleWithSecret('inv_tls_ca');
    const outcome = await bed.rotate(arn, fnOtherCa);
    expectCategorized(outcome, 'setSecret', 'tls', /./);
    expect(await bed.canLogin(name, password)).toBe(true);
  });

  test('the master credential travels with the master secret\'s TLS mode even when the application secret (and a disable floor) ask for none', async () => {
    const recorder = await startStartupRecorder({ host: '127.0.0.1', port: bed.f.pg.port });
    try {
      const fnAltNoTls = registerRotationBundle(bed, 'inv-alt-notls', { ROTOR_STRATEGY: 'alternating-users', ROTOR_TLS_MODE: 'disable' });
      const su = bed.f.pg.superuser;
      const route = { host: '127.0.0.1', port: recorder.port };
      const master = await bed.sm.send(new CreateSecretCommand({
        Name: `inv/${uniq('master_tls')}`, SecretString: JSON.stringify({ ...bed.f.secretFor(su.username, su.password), ...route, ssl: 'verify-full' }),
      }));
      const app = uniq('inv_alt_tls');
      const appPassword = await bed.f.createRole(app);
      const secret = await bed.sm.send(new CreateSecretCommand({
        Name: `inv/${app}`, SecretString: JSON.stringify({ ...bed.f.secretFor(app, appPassword), ...route, ssl: 'disable', masterarn: master.ARN }),
      }));
      const outcome = await bed.rotate(secret.ARN!, fnAltNoTls);
      expect({ eventName: outcome.eventName, errorMessage: outcome.errorMessage }).toEqual({ eventName: 'RotationSucceeded', errorMessage: undefined });
      // The observer sees plaintext logins: the application's, as its secret asked...
      expect(recorder.seen.some((s) => !s.tls && s.plaintextUser === app)).toBe(true);
      // ...and none as the master.
      expect(recorder.seen.filter((s) => !s.tls && s.plaintextUser === su.username)).toEqual([]);
    } finally {
      await recorder.stop();
    }
  });
});

describe('invariant 6: identifiers and passwords reach SQL only escaped or as parameters', () => {
  test('a user name with a double quote, a quote, a semicolon and a backslash rotates; new password logs in, old refused', async () => {
    const name = `${uniq('inv')}"q'u;o\\te`;
    const password = await bed.f.createRole(name);
    const arn = (await bed.sm.send(new CreateSecretCommand({ Name: `inv/${uniq('quoted')}`, SecretString: JSON.stringify(bed.f.secretFor(name, password)) }))).ARN!;
    const outcome = await bed.rotate(arn, fn);
    expect({ eventName: outcome.eventName, errorMessage: outcome.errorMessage }).toEqual({ eventName: 'RotationSucceeded', errorMessage: undefined });
    expect(await bed.canLogin(name, (await bed.current(arn)).password)).toBe(true);
    expect(await bed.canLogin(name, password)).toBe(false);
  });
});

describe('invariant 7: every failure names its step, its category and what to do', () => {
  test('a refusal made below the step runner (no step of its own) still reaches Secrets Manager as "step: [category] what. What to do."', async () => {
    const name = 'u'.repeat(64);
    const arn = (await bed.sm.send(new CreateSecretCommand({ Name: `inv/${uniq('long')}`, SecretString: JSON.stringify(bed.f.secretFor(name, randomBytes(16).toString('hex'))) }))).ARN!;
    const outcome = await bed.rotate(arn, fn);
    expectCategorized(outcome, 'createSecret', 'configuration', /"username" is 64 bytes long.*\(code UsernameTooLong\)\. Fix "username" in the secret/);
    expect(outcome.errorType).toBe('RotationError');
  });
});
