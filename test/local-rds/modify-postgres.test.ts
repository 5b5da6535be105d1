import { DescribeDBClustersCommand, DescribeDBInstancesCommand, ModifyDBClusterCommand, ModifyDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import { escapeIdentifier, escapeLiteral } from 'pg';
import type { LocalRds } from '../../local/rds';
import { canLogin, startPostgres, type PgServer } from '../support/postgres-server';
import { pollStatus, startLocalRds } from './rds-test-kit';

/*
 * ModifyDBInstance / ModifyDBCluster changing the master password of a REAL
 * PostgreSQL server: the change lands only after the delay, while the
 * status reads resetting-master-credentials, and the documented errors
 * guard it.
 */

const DELAY_MS = 800;
let pg: PgServer;
let local: LocalRds;
let rds: RDSClient;

/** What an administrator would run: ALTER ROLE as the harness superuser, identifier and literal escaped. */
const alterRole = (role: string) => async (newPassword: string) => {
  await pg.query(`ALTER ROLE ${escapeIdentifier(role)} PASSWORD ${escapeLiteral(newPassword)}`);
};

const passwords: Record<string, string> = {
  rds_master: 'initial-Master-1',
  managed_master: 'initial-Managed-1',
  aurora_master: 'initial-Aurora-1',
  unmanage_me: 'initial-Unmanage-1',
};
const login = (user: string, password: string) => canLogin(pg, user, password);

/**
 * A password change as RDS runs it, observable: when the delay ended (applyPassword was called),
 * and held while `held` is pending, so a test can look at the resource mid-change without racing
 * the delay.
 */
function observedApply(role: string) {
  const o = {
    calledAt: [] as number[],
    held: undefined as Promise<void> | undefined,
    /** Holds the next change until the returned function is called. */
    hold(): () => void {
      let release!: () => void;
      o.held = new Promise<void>((resolve) => (release = resolve));
      return () => {
        o.held = undefined;
        release();
      };
    },
    apply: async (newPassword: string) => {
      o.calledAt.push(Date.now());
      await o.held;
      await alterRole(role)(newPassword);
    },
  };
  return o;
}
const appDbApply = observedApply('rds_master');
const auroraApply = observedApply('aurora_master');

beforeAll(async () => {
  pg = await startPostgres();
  for (const [role, pw] of Object.entries(passwords)) await pg.query(`CREATE ROLE ${escapeIdentifier(role)} LOGIN CREATEDB PASSWORD ${escapeLiteral(pw)}`);
  ({ local, rds } = await startLocalRds({ passwordChangeDelayMs: DELAY_MS }));
  const at = { engine: 'postgres', host: pg.host, port: pg.port };
  local.addInstance({ identifier: 'app-db', ...at, masterUsername: 'rds_master', applyPassword: appDbApply.apply });
  local.addInstance({
    identifier: 'managed-db',
    ...at,
    masterUsername: 'managed_master',
    manageMasterUserPassword: true,
    applyPassword: alterRole('managed_master'),
  });
  local.addInstance({ identifier: 'unmanage-db', ...at, masterUsername: 'unmanage_me', manageMasterUserPassword: true, applyPassword: alterRole('unmanage_me') });
  local.addInstance({ identifier: 'ghost-db', ...at, masterUsername: 'no_such_role', applyPassword: alterRole('no_such_role') });
  local.addCluster({
    identifier: 'aurora-app',
    engine: 'aurora-postgresql',
    host: pg.host,
    port: pg.port,
    masterUsername: 'aurora_master',
    memberInstanceIds: ['aurora-app-1'],
    applyPassword: auroraApply.apply,
  });
  local.addInstance({
    identifier: 'aurora-app-1',
    engine: 'aurora-postgresql',
    host: pg.host,
    port: pg.port,
    masterUsername: 'aurora_master',
    clusterIdentifier: 'aurora-app',
    applyPassword: alterRole('aurora_master'),
  });
});
afterAll(async () => {
  rds?.destroy();
  await local?.stop();
  await pg?.stop();
});

test('ModifyDBInstance changes the real master password only after the delay; the status goes resetting-master-credentials -> available', async () => {
  // Every character RDS allows that needs escaping in SQL.
  const next = `N3w'pa\\ss;$x'--`;
  const release = appDbApply.hold();
  const calls = appDbApply.calledAt.length;
  const out = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', MasterUserPassword: next, ApplyImmediately: true }));
  // The answer shows the instance as accepted: still available, the password pending (never echoed).
  expect(out.DBInstance).toMatchObject({ DBInstanceIdentifier: 'app-db', DBInstanceStatus: 'available', PendingModifiedValues: { MasterUserPassword: '****' } });

  const during = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'app-db' }))).DBInstances![0];
  expect(during.DBInstanceStatus).toBe('resetting-master-credentials');
  expect(during.PendingModifiedValues).toEqual({ MasterUserPassword: '****' });
  expect(local.status('app-db')).toBe('resetting-master-credentials');
  // Not applied yet.
  expect(await login('rds_master', passwords.rds_master)).toBe(true);
  expect(await login('rds_master', next)).toBe(false);

  // Let the change through (held, it cannot land while the checks above run, however slow the machine).
  release();
  const seen = await pollStatus(rds, 'instance', 'app-db', 'available');
  expect(seen).toEqual(['resetting-master-credentials', 'available']);
  expect(appDbApply.calledAt).toHaveLength(calls + 1);
  const after = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'app-db' }))).DBInstances![0];
  expect(after.PendingModifiedValues).toEqual({});
  expect(await login('rds_master', next)).toBe(true);
  expect(await login('rds_master', passwords.rds_master)).toBe(false);
  passwords.rds_master = next;

  const change = local.passwordChanges().find((c) => c.identifier === 'app-db')!;
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
  expect(change).toEqual({ identifier: 'app-db', kind: 'instance', requestedAt: expect.stringMatching(iso), appliedAt: expect.stringMatching(iso) });
  // RDS's delay was waited out before the password was applied. A timer never fires early, so this
  // lower bound holds on any machine (the 5 ms allow for the record's millisecond rounding).
  expect(appDbApply.calledAt[calls] - Date.parse(change.requestedAt)).toBeGreaterThanOrEqual(DELAY_MS - 5);
  expect(Date.parse(change.appliedAt!)).toBeGreaterThanOrEqual(appDbApply.calledAt[calls]);
});

test('a ModifyDBInstance while resetting-master-credentials is InvalidDBInstanceState, and changes nothing', async () => {
  const next = 'Second-Pass-2';
  await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', MasterUserPassword: next, ApplyImmediately: true }));
  for (const input of [
    { DBInstanceIdentifier: 'app-db', MasterUserPassword: 'Third-Pass-3', ApplyImmediately: true },
    { DBInstanceIdentifier: 'app-db', BackupRetentionPeriod: 7, ApplyImmediately: true },
  ]) {
    await expect(rds.send(new ModifyDBInstanceCommand(input))).rejects.toMatchObject({
      name: 'InvalidDBInstanceStateFault',
      Code: 'InvalidDBInstanceState',
      message: 'Database instance is not in available state.',
      $metadata: { httpStatusCode: 400 },
    });
  }
  await pollStatus(rds, 'instance', 'app-db', 'available');
  expect(await login('rds_master', next)).toBe(true);
  expect(await login('rds_master', 'Third-Pass-3')).toBe(false);
  passwords.rds_master = next;
  expect(local.passwordChanges().filter((c) => c.identifier === 'app-db')).toHaveLength(2);
});

test('MasterUserPassword is checked against the documented constraints (InvalidParameterValue); nothing is applied', async () => {
  const before = local.passwordChanges().length;
  const charMessage = `The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '"', ' ' may be used.`;
  const cases: [string, string][] = [
    ['short1!', 'The parameter MasterUserPassword is not a valid password because it is shorter than 8 characters.'],
    ['x'.repeat(129), 'The parameter MasterUserPassword is not a valid password because it is longer than 128 characters.'],
    ['has/slash1', charMessage],
    ['has@at-sign1', charMessage],
    ['has"quote1', charMessage],
    ['has space1', charMessage],
    ['non-ascii-é1', charMessage],
    ['tab\tinside1', charMessage],
  ];
  for (const [pw, message] of cases) {
    await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', MasterUserPassword: pw, ApplyImmediately: true }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message,
      $metadata: { httpStatusCode: 400 },
    });
  }
  // 128 characters is fine for RDS for PostgreSQL.
  await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', MasterUserPassword: 'P'.repeat(128), ApplyImmediately: true }));
  await pollStatus(rds, 'instance', 'app-db', 'available');
  expect(await login('rds_master', 'P'.repeat(128))).toBe(true);
  passwords.rds_master = 'P'.repeat(128);
  expect(local.passwordChanges().length).toBe(before + 1);
});

test('an instance with ManageMasterUserPassword refuses MasterUserPassword (InvalidParameterCombination), as documented', async () => {
  const described = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'managed-db' }))).DBInstances![0];
  expect(described.MasterUserSecret).toMatchObject({ SecretArn: expect.stringContaining(':secret:rds!db-'), SecretStatus: 'active' });

  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'managed-db', MasterUserPassword: 'Valid-Pass-9', ApplyImmediately: true }))).rejects.toMatchObject({
    name: 'InvalidParameterCombination',
    message: expect.stringContaining('managed by RDS in AWS Secrets Manager'),
    $metadata: { httpStatusCode: 400 },
  });
  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'managed-db', ManageMasterUserPassword: false, ApplyImmediately: true }))).rejects.toMatchObject({
    name: 'InvalidParameterCombination',
    message: 'MasterUserPassword must be provided when ManageMasterUserPassword is set to false.',
  });
  await expect(
    rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'managed-db', ManageMasterUserPassword: true, MasterUserPassword: 'Valid-Pass-9' })),
  ).rejects.toMatchObject({ name: 'InvalidParameterCombination' });
  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'managed-db', RotateMasterUserPassword: true }))).rejects.toMatchObject({
    name: 'InvalidParameterCombination',
    message: expect.stringContaining('ApplyImmediately'),
  });
  // Turning management on for an unmanaged instance is not emulated: refused, not ignored.
  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', ManageMasterUserPassword: true }))).rejects.toMatchObject({
    name: 'InvalidParameterValue',
    message: expect.stringContaining('local stack'),
  });
  expect(local.status('managed-db')).toBe('available');
  expect(await login('managed_master', passwords.managed_master)).toBe(true);
  expect(local.passwordChanges().some((c) => c.identifier === 'managed-db')).toBe(false);
});

test('ManageMasterUserPassword=false with MasterUserPassword turns management off and applies the password', async () => {
  const out = await rds.send(
    new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'unmanage-db', ManageMasterUserPassword: false, MasterUserPassword: 'Own-Pass-77', ApplyImmediately: true }),
  );
  expect(out.DBInstance!.MasterUserSecret).toBeUndefined();
  await pollStatus(rds, 'instance', 'unmanage-db', 'available');
  expect(await login('unmanage_me', 'Own-Pass-77')).toBe(true);
  // From now on the instance takes MasterUserPassword like any other.
  await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'unmanage-db', MasterUserPassword: 'Own-Pass-78', ApplyImmediately: true }));
  await pollStatus(rds, 'instance', 'unmanage-db', 'available');
  expect(await login('unmanage_me', 'Own-Pass-78')).toBe(true);
});

test('no modification is InvalidParameterCombination; other parameters are accepted and ignored', async () => {
  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', ApplyImmediately: true }))).rejects.toMatchObject({
    name: 'InvalidParameterCombination',
    message: 'No modifications were requested',
  });
  const out = await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'app-db', BackupRetentionPeriod: 3, ApplyImmediately: false }));
  expect(out.DBInstance).toMatchObject({ DBInstanceStatus: 'available', PendingModifiedValues: {} });
  expect(local.status('app-db')).toBe('available');
  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'not-there', MasterUserPassword: 'Valid-Pass-9' }))).rejects.toMatchObject({
    name: 'DBInstanceNotFoundFault',
    $metadata: { httpStatusCode: 404 },
  });
});

test('a failing applyPassword puts the instance back to available and is recorded, without the password', async () => {
  const pw = 'Secret-Never-Logged-1';
  await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'ghost-db', MasterUserPassword: pw, ApplyImmediately: true }));
  expect(await pollStatus(rds, 'instance', 'ghost-db', 'available')).toEqual(['resetting-master-credentials', 'available']);
  const change = local.passwordChanges().find((c) => c.identifier === 'ghost-db')!;
  expect(change.appliedAt).toBeUndefined();
  expect(change.error).toMatch(/role "no_such_role" does not exist/);
  expect(JSON.stringify(local.passwordChanges())).not.toContain(pw);
});

describe('DB cluster', () => {
  test('a member instance refuses MasterUserPassword: the cluster holds it (InvalidParameterCombination)', async () => {
    await expect(
      rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'aurora-app-1', MasterUserPassword: 'Valid-Pass-9', ApplyImmediately: true })),
    ).rejects.toMatchObject({ name: 'InvalidParameterCombination', message: expect.stringContaining('ModifyDBCluster') });
  });

  test('ModifyDBCluster changes the real password after the delay; while resetting, another ModifyDBCluster is InvalidDBClusterStateFault', async () => {
    const next = `Cl'uster\\pw-1`;
    const release = auroraApply.hold();
    const calls = auroraApply.calledAt.length;
    const out = await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'aurora-app', MasterUserPassword: next, ApplyImmediately: true }));
    expect(out.DBCluster).toMatchObject({ DBClusterIdentifier: 'aurora-app', Status: 'available', PendingModifiedValues: { MasterUserPassword: '****' } });
    const during = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'aurora-app' }))).DBClusters![0];
    expect(during.Status).toBe('resetting-master-credentials');
    expect(during.PendingModifiedValues).toEqual({ MasterUserPassword: '****' });
    await expect(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'aurora-app', MasterUserPassword: 'Other-Pass-5', ApplyImmediately: true }))).rejects.toMatchObject({
      name: 'InvalidDBClusterStateFault',
      message: 'DB cluster is not available for modification with status resetting-master-credentials',
      $metadata: { httpStatusCode: 400 },
    });
    expect(await login('aurora_master', passwords.aurora_master)).toBe(true);
    expect(await login('aurora_master', next)).toBe(false);

    release();
    expect(await pollStatus(rds, 'cluster', 'aurora-app', 'available')).toEqual(['resetting-master-credentials', 'available']);
    const change = local.passwordChanges().find((c) => c.identifier === 'aurora-app')!;
    // The delay was waited out (a timer never fires early: a lower bound that holds on any machine).
    expect(auroraApply.calledAt).toHaveLength(calls + 1);
    expect(auroraApply.calledAt[calls] - Date.parse(change.requestedAt)).toBeGreaterThanOrEqual(DELAY_MS - 5);
    expect((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'aurora-app' }))).DBClusters![0].PendingModifiedValues).toBeUndefined();
    expect(await login('aurora_master', next)).toBe(true);
    expect(await login('aurora_master', passwords.aurora_master)).toBe(false);
    expect(local.passwordChanges().find((c) => c.identifier === 'aurora-app')).toMatchObject({ kind: 'cluster', appliedAt: expect.any(String) });
  });

  test('cluster passwords are 8 to 41 characters; an unknown cluster is DBClusterNotFoundFault (404)', async () => {
    await expect(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'aurora-app', MasterUserPassword: 'y'.repeat(42) }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'The parameter MasterUserPassword is not a valid password because it is longer than 41 characters.',
    });
    await expect(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'nope-cluster', MasterUserPassword: 'Valid-Pass-9' }))).rejects.toMatchObject({
      name: 'DBClusterNotFoundFault',
      message: 'DBCluster nope-cluster not found.',
      $metadata: { httpStatusCode: 404 },
    });
    await expect(rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: 'aurora-app' }))).rejects.toMatchObject({
      name: 'InvalidParameterCombination',
      message: 'No modifications were requested',
    });
  });
});
