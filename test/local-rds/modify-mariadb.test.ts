import { DescribeDBInstancesCommand, ModifyDBInstanceCommand, type RDSClient } from '@aws-sdk/client-rds';
import type { LocalRds } from '../../local/rds';
import { canLoginMariadb, startMariadb, type MariadbServer } from '../support/mariadb-server';
import { pollStatus, startLocalRds } from './rds-test-kit';

/* ModifyDBInstance on an RDS for MariaDB instance bound to a REAL MariaDB server. */

const DELAY_MS = 400;
let db: MariadbServer;
let local: LocalRds;
let rds: RDSClient;

beforeAll(async () => {
  db = await startMariadb();
  await db.query('CREATE USER ?@? IDENTIFIED BY ?', ['rds_admin', '%', 'initial-Maria-1']);
  await db.query(`GRANT ALL PRIVILEGES ON ${db.database}.* TO ?@?`, ['rds_admin', '%']);
  ({ local, rds } = await startLocalRds({ passwordChangeDelayMs: DELAY_MS }));
  local.addInstance({
    identifier: 'shop-mariadb',
    engine: 'mariadb',
    host: db.host,
    port: db.port,
    masterUsername: 'rds_admin',
    // As an administrator would: ALTER USER as the harness admin, the password as an escaped placeholder.
    applyPassword: async (pw) => {
      await db.query('ALTER USER ?@? IDENTIFIED BY ?', ['rds_admin', '%', pw]);
    },
  });
});
afterAll(async () => {
  rds?.destroy();
  await local?.stop();
  await db?.stop();
});

test('RDS for MariaDB: passwords are 8 to 41 characters; a valid change reaches the real server after the delay', async () => {
  await expect(rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop-mariadb', MasterUserPassword: 'm'.repeat(42), ApplyImmediately: true }))).rejects.toMatchObject({
    name: 'InvalidParameterValue',
    message: 'The parameter MasterUserPassword is not a valid password because it is longer than 41 characters.',
  });

  const next = `M'aria\\${'d'.repeat(34)}`; // 41 characters, quote and backslash included
  expect(next).toHaveLength(41);
  await rds.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'shop-mariadb', MasterUserPassword: next, ApplyImmediately: true }));
  expect((await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'shop-mariadb' }))).DBInstances![0]).toMatchObject({
    Engine: 'mariadb',
    DBInstanceStatus: 'resetting-master-credentials',
    Endpoint: { Address: db.host, Port: db.port },
  });
  expect(await canLoginMariadb(db, 'rds_admin', 'initial-Maria-1')).toBe(true);
  expect(await canLoginMariadb(db, 'rds_admin', next)).toBe(false);

  expect(await pollStatus(rds, 'instance', 'shop-mariadb', 'available')).toEqual(['resetting-master-credentials', 'available']);
  expect(await canLoginMariadb(db, 'rds_admin', next)).toBe(true);
  expect(await canLoginMariadb(db, 'rds_admin', 'initial-Maria-1')).toBe(false);
  expect(local.passwordChanges()).toEqual([{ identifier: 'shop-mariadb', kind: 'instance', requestedAt: expect.any(String), appliedAt: expect.any(String) }]);
});
