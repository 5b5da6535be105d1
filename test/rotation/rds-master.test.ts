import { randomUUID } from 'node:crypto';
import { RDSClient } from '@aws-sdk/client-rds';
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import { readFileSync } from 'node:fs';
import { createRotationHandler } from '../../lambda/rotation/handler';
import { LocalRds, localRdsClientConfig } from '../../local/rds';
import { silentLogger, startRotationFixture, type RotationFixture } from '../support/rotation-fixture';

let f: RotationFixture;
let rds: LocalRds;
let arnRds: string;
let seq = 0;
/** The instances the function is deployed for (ROTOR_RDS_RESOURCE_ARNS); masterInstance() hands them out in order. */
const DEPLOYED = Array.from({ length: 12 }, (_, i) => `deployed-${i + 1}`);
let nextDeployed = 0;
const deployedArns = (r: LocalRds, ids: string[]) => ids.map((id) => r.instanceArn(id)).join(',');

/** An admin that changes the master password in the real server, as RDS does. */
async function alterAsAdmin(user: string, password: string): Promise<void> {
  const c = new Client({ host: 'localhost', port: f.pg.port, user: f.pg.superuser.username, password: f.pg.superuser.password, database: f.pg.database, ssl: { ca: readFileSync(f.pg.caFile!, 'utf8') } });
  await c.connect();
  try {
    await c.query(`ALTER ROLE ${c.escapeIdentifier(user)} WITH PASSWORD ${c.escapeLiteral(password)}`);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  f = await startRotationFixture({ tls: true });
  rds = await LocalRds.start({ port: 0, passwordChangeDelayMs: 400 });
  const rdsClient = new RDSClient({ ...localRdsClientConfig(rds.endpoint, rds.region), maxAttempts: 1 });
  arnRds = f.local.lambdaArn('rotor-rds-master');
  const handler = createRotationHandler({ secretsManager: f.sm, rds: rdsClient, logger: silentLogger(), env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ROTOR_STRATEGY: 'rds-master', ROTOR_RDS_RESOURCE_ARNS: deployedArns(rds, DEPLOYED) } });
  f.local.registerRotationFunction(arnRds, { kind: 'in-process', handler: (e, c) => handler(e, c as never) });
});
afterAll(async () => {
  await rds?.stop();
  await f?.stop();
});

/** A master user on the local database, registered as an RDS instance. */
async function masterInstance(opts: { managed?: boolean; id?: string } = {}) {
  ++seq;
  const id = opts.id ?? DEPLOYED[nextDeployed++];
  const user = `master_${seq}`;
  const password = await f.createRole(user);
  rds.addInstance({
    identifier: id, engine: 'postgres', host: 'localhost', port: f.pg.port, masterUsername: user,
    ...(opts.managed ? { manageMasterUserPassword: true, masterUserSecretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:rds!db-${id}-AbCdEf` } : {}),
    applyPassword: (pw) => alterAsAdmin(user, pw),
  });
  const arn = await f.createSecret(f.secretFor(user, password, { dbInstanceIdentifier: id }));
  return { id, user, password, arn };
}

describe('rds-master strategy against the local RDS API', () => {
  test('ModifyDBInstance, waits through resetting-master-credentials, then the new password logs in', async () => {
    const { id, user, password, arn } = await masterInstance();
    const outcome = await f.rotate(arn, arnRds);
    expect(outcome.eventName).toBe('RotationSucceeded');
    const current = await f.current(arn);
    expect(current.password).not.toBe(password);
    expect(current.password.length).toBeLessThanOrEqual(128);
    expect(await f.canLogin(user, current.password)).toBe(true);
    expect(await f.canLogin(user, password)).toBe(false);
    expect(rds.status(id)).toBe('available');
    const changes = rds.passwordChanges().filter((c) => c.identifier === id);
    expect(changes).toHaveLength(1);
    // Applied (no error), and in order: the rotation started, RDS was asked, RDS applied it, and only
    // then did the rotation succeed (setSecret waits until the new password is in effect).
    const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
    expect(changes[0]).toEqual({ identifier: id, kind: 'instance', requestedAt: expect.stringMatching(iso), appliedAt: expect.stringMatching(iso) });
    const started = f.local.events({ secretId: arn }).find((e) => e.eventName === 'RotationStarted' && e.versionId === outcome.versionId)!;
    const order = [started.time, changes[0].requestedAt, changes[0].appliedAt!, outcome.time].map((t) => Date.parse(t));
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  test('RDS-managed master password: refused with a clear error, nothing changed', async () => {
    const { id, user, password, arn } = await masterInstance({ managed: true });
    const outcome = await f.rotate(arn, arnRds);
    expect(outcome.eventName).toBe('RotationFailed');
    // Refused in createSecret (the preflight describes the database): no AWSPENDING value to clean up.
    expect(outcome.errorMessage).toMatch(/^createSecret: \[configuration\] .*RDS-managed master passwords turned on/);
    expect(rds.passwordChanges().filter((c) => c.identifier === id)).toHaveLength(0);
    expect(await f.canLogin(user, password)).toBe(true);
  });

  test('the wait is bounded by the Lambda deadline: a short deadline fails with category network, and the retry completes', async () => {
    // A slow RDS (1.5 s to apply) and a first setSecret with little time left: it
    // must give up with a network error instead of running past the deadline;
    // the retried rotation then waits the change out.
    const slowRds = await LocalRds.start({ port: 0, passwordChangeDelayMs: 1500 });
    try {
      const id = `slow-${randomUUID().slice(0, 8)}`;
      const user = `master_slow_${seq++}`;
      const password = await f.createRole(user);
      slowRds.addInstance({ identifier: id, engine: 'postgres', host: 'localhost', port: f.pg.port, masterUsername: user, applyPassword: (pw) => alterAsAdmin(user, pw) });
      const arn = await f.createSecret(f.secretFor(user, password, { dbInstanceIdentifier: id }));
      const rdsClient = new RDSClient({ ...localRdsClientConfig(slowRds.endpoint, slowRds.region), maxAttempts: 1 });
      const handler = createRotationHandler({ secretsManager: f.sm, rds: rdsClient, logger: silentLogger(), env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ROTOR_STRATEGY: 'rds-master', ROTOR_DEADLINE_MARGIN_MS: '0', ROTOR_RDS_RESOURCE_ARNS: slowRds.instanceArn(id) } });
      const arnShort = f.local.lambdaArn(`rotor-rds-short-${seq}`);
      let setSecretCalls = 0;
      f.local.registerRotationFunction(arnShort, {
        kind: 'in-process',
        handler: (e, c) => {
          const first = (e as { Step: string }).Step === 'setSecret' && ++setSecretCalls === 1;
          // A fixed 2.5 s left (no margin): the wait for RDS cannot fit a login timeout (5 s) in it and
          // ends [network] at once; the step's own deadline (2.4 s) is far away, so the outcome does
          // not depend on how fast this machine is.
          return handler(e, (first ? { ...(c as object), getRemainingTimeInMillis: () => 2500 } : c) as never);
        },
      });
      const outcome = await f.rotate(arn, arnShort);
      const failed = f.local.events({ secretId: arn }).filter((ev) => ev.eventName === 'RotationFailed');
      expect(failed.length).toBeGreaterThanOrEqual(1);
      expect(failed[0].step).toBe('setSecret');
      expect(failed[0].errorMessage).toMatch(/\[network\]/);
      expect(outcome.eventName).toBe('RotationSucceeded');
      expect(await f.canLogin(user, (await f.current(arn)).password)).toBe(true);
      expect(slowRds.passwordChanges().filter((c) => c.identifier === id)).toHaveLength(1);
    } finally {
      await slowRds.stop();
    }
  });

  test('a secret without an instance identifier, or naming another instance whose master is someone else: refused, RDS untouched', async () => {
    const { id, user, password } = await masterInstance();
    const noId = await f.createSecret(f.secretFor(user, password));
    expect((await f.rotate(noId, arnRds)).errorMessage).toMatch(/needs "dbInstanceIdentifier" or "dbClusterIdentifier"/);
    const other = await masterInstance();
    const wrong = await f.createSecret(f.secretFor(user, password, { dbInstanceIdentifier: other.id }));
    expect((await f.rotate(wrong, arnRds)).errorMessage).toMatch(/\[conflict\] the secret's user is not the master user/);
    expect(await f.canLogin(user, password)).toBe(true);
    // Neither refusal asked RDS for anything, on either instance.
    expect(rds.passwordChanges().filter((c) => c.identifier === other.id || c.identifier === id)).toEqual([]);
    expect(await f.canLogin(other.user, other.password)).toBe(true);
  });
});

describe('rds-master acts only where it was deployed and where a stored credential proves itself (threat model: secret writer)', () => {
  /** What the writer of AWSCURRENT can point the secret at; rotation must refuse and change nothing. */
  async function rewriteAndRotate(victim: { id: string; user: string }, secretOverrides: Record<string, unknown>) {
    const mine = await masterInstance();
    // The writer holds PutSecretValue on their own secret only and rewrites its AWSCURRENT.
    await f.sm.send(new PutSecretValueCommand({ SecretId: mine.arn, SecretString: JSON.stringify(f.secretFor(victim.user, 'guessed-Passw0rd!', { dbInstanceIdentifier: victim.id, ...secretOverrides })) }));
    const outcome = await f.rotate(mine.arn, arnRds);
    return { mine, outcome };
  }

  test('AWSCURRENT rewritten to name an instance the function was not deployed for: refused before RDS is called', async () => {
    const victim = await masterInstance({ id: `not-deployed-${randomUUID().slice(0, 8)}` });
    const { outcome } = await rewriteAndRotate(victim, {});
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/\[conflict\] the secret names DB instance not-deployed-\S+, which is not one this rotation function was deployed for/);
    expect(rds.passwordChanges().filter((c) => c.identifier === victim.id)).toHaveLength(0);
    expect(await f.canLogin(victim.user, victim.password)).toBe(true);
  });

  test('a secret that names another deployed instance with a password that does not log in: no ModifyDBInstance, the owner keeps access', async () => {
    const victim = await masterInstance();
    // No AWSPREVIOUS to fall back on: the writer created or first wrote this secret.
    const arn = await f.createSecret(f.secretFor(victim.user, 'guessed-Passw0rd!', { dbInstanceIdentifier: victim.id }));
    const outcome = await f.rotate(arn, arnRds);
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/setSecret: \[authentication\] neither AWSCURRENT nor AWSPREVIOUS logs in/);
    expect(rds.passwordChanges().filter((c) => c.identifier === victim.id)).toHaveLength(0);
    expect(await f.canLogin(victim.user, victim.password)).toBe(true);
  });

  test('AWSCURRENT of a rotated secret rewritten to name another deployed instance: refused by the recorded target, before anything is written', async () => {
    const victim = await masterInstance();
    const mine = await masterInstance();
    expect((await f.rotate(mine.arn, arnRds)).eventName).toBe('RotationSucceeded');
    const before = await f.labels(mine.arn);
    // The writer (PutSecretValue + UpdateSecretVersionStage) rewrites AWSCURRENT and clears the
    // finished AWSPENDING label so that RotateSecret accepts a new rotation.
    const finished = Object.entries(before).find(([, st]) => st.includes('AWSPENDING'))?.[0];
    await f.sm.send(new PutSecretValueCommand({ SecretId: mine.arn, SecretString: JSON.stringify(f.secretFor(victim.user, 'guessed-Passw0rd!', { dbInstanceIdentifier: victim.id })) }));
    if (finished) await f.sm.send(new UpdateSecretVersionStageCommand({ SecretId: mine.arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: finished }));
    const outcome = await f.rotate(mine.arn, arnRds);
    expect(outcome.step).toBe('createSecret');
    expect(outcome.errorMessage).toMatch(/createSecret: \[conflict\] AWSCURRENT names another database target .*\(code TargetChanged\)/);
    expect(rds.passwordChanges().filter((c) => c.identifier === victim.id)).toHaveLength(0);
    expect(await f.canLogin(victim.user, victim.password)).toBe(true);
    // Only the writer's own version and the value-less pending version are new.
    expect(Object.keys(await f.labels(mine.arn)).length).toBeLessThanOrEqual(Object.keys(before).length + 2);
  });

  test('a host other than the endpoint RDS reports for the identifier: refused', async () => {
    const victim = await masterInstance();
    const { outcome } = await rewriteAndRotate(victim, { host: '127.0.0.1' });
    expect(outcome.eventName).toBe('RotationFailed');
    expect(outcome.errorMessage).toMatch(/\[conflict\] DB instance \S+ has the endpoint localhost:\d+, not the secret's 127\.0\.0\.1/);
    expect(rds.passwordChanges().filter((c) => c.identifier === victim.id)).toHaveLength(0);
    expect(await f.canLogin(victim.user, victim.password)).toBe(true);
  });

  test('without ROTOR_RDS_RESOURCE_ARNS the strategy refuses everything (no db:* default)', async () => {
    const target = await masterInstance();
    const handler = createRotationHandler({ secretsManager: f.sm, rds: new RDSClient({ ...localRdsClientConfig(rds.endpoint, rds.region), maxAttempts: 1 }), logger: silentLogger(), env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ROTOR_STRATEGY: 'rds-master' } });
    const fn = f.local.lambdaArn('rotor-rds-unbound');
    f.local.registerRotationFunction(fn, { kind: 'in-process', handler: (e, c) => handler(e, c as never) });
    const outcome = await f.rotate(target.arn, fn);
    expect(outcome.errorMessage).toMatch(/createSecret: \[configuration\] ROTOR_RDS_RESOURCE_ARNS is not set/);
    expect(rds.passwordChanges().filter((c) => c.identifier === target.id)).toHaveLength(0);
  });
});

describe('RDS-managed master secret as the master of alternating users', () => {
  test('host and port come from DescribeDBInstances via the secret\'s aws:rds:primarydbinstancearn tag', async () => {
    const id = `managed-${randomUUID().slice(0, 8)}`;
    rds.addInstance({
      identifier: id, engine: 'postgres', host: 'localhost', port: f.pg.port, masterUsername: f.pg.superuser.username,
      manageMasterUserPassword: true, masterUserSecretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:rds!db-${id}-AbCdEf`,
      applyPassword: async () => undefined,
    });
    const managed = f.local.seedSecret({
      name: `rds!db-${id}`,
      secretString: JSON.stringify({ username: f.pg.superuser.username, password: f.pg.superuser.password }),
      tags: [{ Key: 'aws:rds:primarydbinstancearn', Value: rds.instanceArn(id) }],
      owningService: 'rds',
    });
    const user = `app_of_${seq++}`;
    const password = await f.createRole(user);
    const arn = await f.createSecret(f.secretFor(user, password, { masterarn: managed.arn }));
    const rdsClient = new RDSClient({ ...localRdsClientConfig(rds.endpoint, rds.region), maxAttempts: 1 });
    const handler = createRotationHandler({ secretsManager: f.sm, rds: rdsClient, logger: silentLogger(), env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ROTOR_STRATEGY: 'alternating-users' } });
    const arnAlt = f.local.lambdaArn('rotor-alt-managed-master');
    f.local.registerRotationFunction(arnAlt, { kind: 'in-process', handler: (e, c) => handler(e, c as never) });
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.eventName).toBe('RotationSucceeded');
    const current = await f.current(arn);
    expect(current.username).toBe(`${user}_clone`);
    expect(await f.canLogin(current.username, current.password)).toBe(true);
  });

  test('a username/password-only master secret without the RDS tag: clear configuration error', async () => {
    const bare = await f.createSecret({ username: f.pg.superuser.username, password: f.pg.superuser.password });
    const user = `app_bare_${seq++}`;
    const password = await f.createRole(user);
    const arn = await f.createSecret(f.secretFor(user, password, { masterarn: bare }));
    const handler = createRotationHandler({ secretsManager: f.sm, logger: silentLogger(), env: { ROTOR_TLS_CA_FILE: f.pg.caFile!, ROTOR_STRATEGY: 'alternating-users' } });
    const arnAlt = f.local.lambdaArn('rotor-alt-bare-master');
    f.local.registerRotationFunction(arnAlt, { kind: 'in-process', handler: (e, c) => handler(e, c as never) });
    const outcome = await f.rotate(arn, arnAlt);
    expect(outcome.errorMessage).toMatch(/\[configuration\] the master secret holds only username and password but has no aws:rds:primarydbinstancearn/);
  });
});
