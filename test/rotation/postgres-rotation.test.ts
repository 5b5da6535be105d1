import { randomBytes, randomUUID } from 'node:crypto';
import { CancelRotateSecretCommand, GetSecretValueCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { fakeContext } from '../support/lambda-context';
import { silentLogger, startRotationFixture, versionsOf, type RotationFixture } from '../support/rotation-fixture';
import { rotationFailure } from '../support/rotation-error';

let f: RotationFixture;
let seq = 0;
const uniq = (p: string) => `${p}_${process.pid}_${++seq}`;

beforeAll(async () => {
  f = await startRotationFixture({ tls: true });
});
afterAll(async () => {
  await f?.stop();
});

async function invoke(step: string, secretId: string, token: string, env: Record<string, string> = {}) {
  const handler = createRotationHandler({ secretsManager: f.sm, env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ...env }, logger: silentLogger() });
  return handler({ Step: step, SecretId: secretId, ClientRequestToken: token }, fakeContext());
}

/** Creates a role and its secret; returns both. */
async function roleWithSecret(name = uniq('app')) {
  const password = await f.createRole(name);
  const arn = await f.createSecret(f.secretFor(name, password));
  return { name, password, arn };
}

/** Puts a pending version with a value directly (as a half-finished rotation would leave it). */
async function putPending(arn: string, fields: Record<string, unknown>): Promise<string> {
  const token = randomUUID();
  await f.sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token, SecretString: JSON.stringify(fields), VersionStages: ['AWSPENDING'] }));
  return token;
}

describe('single-user rotation on PostgreSQL', () => {
  test('RotateSecret with the in-process handler: new password works, old is refused, labels moved', async () => {
    const { name, password, arn } = await roleWithSecret();
    const before = await f.labels(arn);
    const oldVersion = Object.keys(before)[0];

    const outcome = await f.rotate(arn);
    expect(outcome.eventName).toBe('RotationSucceeded');

    const current = await f.current(arn);
    expect(current.password).not.toBe(password);
    expect(current.password).toHaveLength(32);
    expect(current).toMatchObject({ engine: 'postgres', username: name, port: f.pg.port });
    expect(await f.canLogin(name, current.password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(false);
    const labels = await f.labels(arn);
    expect(labels[oldVersion]).toEqual(['AWSPREVIOUS']);
    expect(labels[outcome.versionId]).toEqual(expect.arrayContaining(['AWSCURRENT']));
  });

  test('RotateSecret with the bundled artifact in a child process (as Lambda runs it)', async () => {
    const bundle = require('node:path').resolve(__dirname, '../../dist/rotation/index.js');
    expect(require('node:fs').existsSync(bundle)).toBe(true);
    const arnBundle = f.local.lambdaArn(uniq('bundle'));
    f.local.registerRotationFunction(arnBundle, { kind: 'child-process', bundlePath: bundle, env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, POWERTOOLS_LOG_LEVEL: 'WARN' } });
    const { name, password, arn } = await roleWithSecret();
    for (let i = 0; i < 2; i++) {
      const outcome = await f.rotate(arn, arnBundle);
      expect(outcome.eventName).toBe('RotationSucceeded');
    }
    const current = await f.current(arn);
    expect(await f.canLogin(name, current.password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(false);
  });

  test('the password is stored in the server as a SCRAM verifier, never sent in plaintext', async () => {
    const { name, arn } = await roleWithSecret();
    expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
    const r = await f.pg.query('SELECT rolpassword FROM pg_authid WHERE rolname = $1', [name]);
    expect(String(r.rows[0].rolpassword)).toMatch(/^SCRAM-SHA-256\$4096:/);
  });

  test('every step re-run twice with the same event ends in the same state', async () => {
    const { name, arn } = await roleWithSecret();
    const state = async () => {
      const versions = await versionsOf(f.sm, arn);
      const pending = await f.sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })).then((o) => JSON.parse(o.SecretString!).password as string, () => undefined);
      const cur = (await f.current(arn)).password as string;
      return JSON.stringify({ versions, pendingValue: pending, currentLogsIn: await f.canLogin(name, cur), pendingLogsIn: pending ? await f.canLogin(name, pending) : null });
    };
    const { arn: arnRerun, runs: snapshots } = f.registerRerunningHandler(uniq('rerun'), state);
    const outcome = await f.rotate(arn, arnRerun);
    expect(outcome.eventName).toBe('RotationSucceeded');
    expect(snapshots.map((s) => s.step)).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    for (const s of snapshots) {
      expect(s.states[1]).toBe(s.states[0]);
      expect(s.states[2]).toBe(s.states[0]);
    }
    expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);
  });

  test('falls back to AWSPREVIOUS when AWSCURRENT no longer logs in', async () => {
    const { name, password, arn } = await roleWithSecret();
    // AWSCURRENT now holds a wrong password; AWSPREVIOUS the working one.
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, 'wrong-password-123')) }));
    const outcome = await f.rotate(arn);
    expect(outcome.eventName).toBe('RotationSucceeded');
    const current = await f.current(arn);
    expect(await f.canLogin(name, current.password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(false);
  });

  test('no stored password logs in: authentication error, database and labels unchanged', async () => {
    const name = uniq('lost');
    const real = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, 'not-the-password-1'));
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(f.secretFor(name, 'not-the-password-2')) }));
    const labelsBefore = await f.labels(arn);
    const outcome = await f.rotate(arn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('setSecret');
    expect(outcome.errorMessage).toMatch(/\[authentication\].*neither AWSPENDING, AWSCURRENT nor AWSPREVIOUS logs in/);
    expect(await f.canLogin(name, real)).toBe(true);
    const labelsAfter = await f.labels(arn);
    for (const [id, stages] of Object.entries(labelsBefore)) expect(labelsAfter[id]).toEqual(stages);
  });

  test('token already AWSCURRENT: every step has nothing to do', async () => {
    const { arn } = await roleWithSecret();
    const outcome = await f.rotate(arn);
    const before = await versionsOf(f.sm, arn);
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await invoke(step, arn, outcome.versionId);
    }
    expect(await versionsOf(f.sm, arn)).toEqual(before);
  });

  test('token that is not AWSPENDING, token that is no version, unknown step: clear errors', async () => {
    const { arn } = await roleWithSecret();
    const first = Object.keys(await f.labels(arn))[0];
    await f.rotate(arn);
    // `first` is now AWSPREVIOUS.
    const notPending = await rotationFailure(invoke('setSecret', arn, first));
    expect(notPending.category).toBe('conflict');
    expect(notPending.message).toMatch(/^setSecret: \[conflict\] version .* is not AWSPENDING/);

    const unknownToken = await rotationFailure(invoke('setSecret', arn, randomUUID()));
    expect(unknownToken.message).toMatch(/is not a version of this secret/);

    const unknownStep = await rotationFailure(invoke('deleteSecret', arn, first));
    expect(unknownStep.category).toBe('configuration');
    expect(unknownStep.message).toMatch(/unknown Step "deleteSecret"/);
  });

  test('rotation disabled: refused', async () => {
    const { arn } = await roleWithSecret();
    await f.rotate(arn);
    await f.sm.send(new CancelRotateSecretCommand({ SecretId: arn }));
    const token = await putPending(arn, f.secretFor('x', 'y'));
    const e = await rotationFailure(invoke('createSecret', arn, token));
    expect(e.category).toBe('configuration');
    expect(e.message).toMatch(/rotation is disabled/);
  });

  test.each([
    ['host', { host: '127.0.0.2' }],
    ['port', { port: 1 }],
    ['dbname', { dbname: 'other' }],
    ['username', { username: 'postgres' }],
    ['engine', { engine: 'aurora-postgresql' }],
    ['ssl', { ssl: 'disable' }],
  ])('pending that differs in %s is refused in every step; database unchanged', async (field, change) => {
    const { name, password, arn } = await roleWithSecret();
    const pendingPassword = randomBytes(12).toString('hex');
    const token = await putPending(arn, { ...f.secretFor(name, pendingPassword), ...change });
    for (const step of ['createSecret', 'setSecret', 'testSecret']) {
      const e = await rotationFailure(invoke(step, arn, token));
      expect(e.category).toBe('conflict');
      expect(e.message).toContain(`differs from AWSCURRENT in ${field}`);
      expect(e.message).not.toContain(pendingPassword);
    }
    expect(await f.canLogin(name, password)).toBe(true);
    expect(await f.canLogin(name, pendingPassword)).toBe(false);
  });

  test.each([
    ['not JSON', 'this is not json'],
    ['no password', JSON.stringify({ engine: 'postgres', host: 'localhost', port: 5432, username: 'u' })],
    ['unknown engine', JSON.stringify({ engine: 'oracle', host: 'localhost', port: 5432, username: 'u', password: 'p' })],
  ])('malformed AWSCURRENT (%s): configuration error, nothing changed', async (_n, secretString) => {
    const arn = await f.createSecret({ placeholder: true });
    await f.sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: secretString }));
    const before = await versionsOf(f.sm, arn);
    const outcome = await f.rotate(arn);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[configuration\] .*AWSCURRENT/);
    // Only the new, value-less pending version may have appeared; nothing else moved.
    const after = (await versionsOf(f.sm, arn)).filter((v) => v.id !== outcome.versionId);
    expect(after).toEqual(before);
  });

  test.each([
    ['quotes', `o'brien"x`],
    ['semicolon', 'a;DROP ROLE rotor_admin;--'],
    ['spaces', 'app user'],
    ['upper case', 'AppUser'],
    ['unicode', 'nutzer_äöü_日本'],
    ['backslash', 'back\\slash'],
  ])('username with %s rotates', async (_n, base) => {
    const name = `${base}_${++seq}`;
    const password = await f.createRole(name);
    const arn = await f.createSecret(f.secretFor(name, password));
    const rolesBefore = (await f.pg.query('SELECT rolname FROM pg_roles ORDER BY 1')).rows;
    expect((await f.rotate(arn)).eventName).toBe('RotationSucceeded');
    expect(await f.canLogin(name, (await f.current(arn)).password)).toBe(true);
    expect(await f.canLogin(name, password)).toBe(false);
    // Nothing in the name was executed: the same roles exist afterwards.
    expect((await f.pg.query('SELECT rolname FROM pg_roles ORDER BY 1')).rows).toEqual(rolesBefore);
  });

  test('passwords with every punctuation character (policy excluding none) rotate, repeatedly', async () => {
    const punctuation = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
    const name = uniq('punct');
    const start = `Aa1${punctuation}`;
    await f.createRole(name, start);
    const arn = await f.createSecret(f.secretFor(name, start));
    const arnAll = f.registerHandler(uniq('all-punct'), { ROTOR_EXCLUDE_CHARACTERS: '', ROTOR_PASSWORD_LENGTH: '64' });
    for (let i = 0; i < 3; i++) {
      expect((await f.rotate(arn, arnAll)).eventName).toBe('RotationSucceeded');
    }
    const cur = (await f.current(arn)).password as string;
    expect(cur).toHaveLength(64);
    expect(await f.canLogin(name, cur)).toBe(true);
  });

  test('default policy avoids the PostgreSQL connection-string characters', async () => {
    const { arn } = await roleWithSecret();
    for (let i = 0; i < 3; i++) await f.rotate(arn);
    expect((await f.current(arn)).password).not.toMatch(/[:/@"'\\]/);
  });
});
