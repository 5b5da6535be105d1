import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  ModifyDBInstanceCommand,
  paginateDescribeDBInstances,
  RDSClient,
  type DBInstance,
  type RDSClient as Client,
} from '@aws-sdk/client-rds';
import { LocalRds, localRdsClientConfig } from '../../local/rds';
import { errorCode, rawQuery, sigV4Headers, startLocalRds, stubApply } from './rds-test-kit';

/*
 * DescribeDBInstances / DescribeDBClusters through the real @aws-sdk/client-rds,
 * the Query protocol itself (raw requests), SigV4 checks, throttling and fault
 * injection. Databases are not touched here (applyPassword is a stub).
 */

let local: LocalRds;
let rds: Client;
const apply = stubApply();
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:000000000000:secret:rds!db-0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b-AbCdEf';

beforeAll(async () => {
  ({ local, rds } = await startLocalRds({ passwordChangeDelayMs: 50 }));
  local.addInstance({ identifier: 'orders-pg', engine: 'postgres', host: '127.0.0.1', port: 5432, masterUsername: 'postgres', applyPassword: apply });
  local.addInstance({
    identifier: 'Billing-MySQL', // stored lowercase, as RDS does
    engine: 'mysql',
    host: 'localhost',
    port: 3306,
    masterUsername: 'admin',
    manageMasterUserPassword: true,
    masterUserSecretArn: SECRET_ARN,
    applyPassword: apply,
  });
  local.addCluster({
    identifier: 'ledger',
    engine: 'aurora-postgresql',
    host: '127.0.0.1',
    port: 6432,
    masterUsername: 'ledger_admin',
    memberInstanceIds: ['ledger-writer'],
    applyPassword: apply,
  });
  local.addInstance({ identifier: 'ledger-writer', engine: 'aurora-postgresql', host: '127.0.0.1', port: 6432, masterUsername: 'ledger_admin', clusterIdentifier: 'ledger', applyPassword: apply });
  local.addInstance({ identifier: 'ledger-reader', engine: 'aurora-postgresql', host: '127.0.0.1', port: 6432, masterUsername: 'ledger_admin', clusterIdentifier: 'ledger', applyPassword: apply });
  local.addCluster({
    identifier: 'events',
    engine: 'aurora-mysql',
    host: '127.0.0.1',
    port: 3307,
    masterUsername: 'events_admin',
    manageMasterUserPassword: true,
    applyPassword: apply,
  });
});
afterEach(() => local.faults.clear());
afterAll(async () => {
  rds.destroy();
  await local.stop();
});

describe('DescribeDBInstances', () => {
  test('lists every instance in identifier order, with each field the SDK parses', async () => {
    const out = await rds.send(new DescribeDBInstancesCommand({}));
    expect(out.DBInstances!.map((i) => i.DBInstanceIdentifier)).toEqual(['billing-mysql', 'ledger-reader', 'ledger-writer', 'orders-pg']);
    expect(out.Marker).toBeUndefined();
    const pg = out.DBInstances!.find((i) => i.DBInstanceIdentifier === 'orders-pg')!;
    expect(pg).toMatchObject({
      Engine: 'postgres',
      DBInstanceStatus: 'available',
      MasterUsername: 'postgres',
      Endpoint: { Address: '127.0.0.1', Port: 5432 },
      DBInstanceArn: 'arn:aws:rds:us-east-1:000000000000:db:orders-pg',
      PendingModifiedValues: {},
    });
    expect(pg.DbiResourceId).toMatch(/^db-[A-Z2-7]{26}$/);
    expect(pg.InstanceCreateTime).toBeInstanceOf(Date);
    expect(pg.DBClusterIdentifier).toBeUndefined();
    expect(pg.MasterUserSecret).toBeUndefined();
    expect(out.DBInstances!.find((i) => i.DBInstanceIdentifier === 'billing-mysql')!.MasterUserSecret).toEqual({
      SecretArn: SECRET_ARN,
      SecretStatus: 'active',
    });
    expect(out.DBInstances!.find((i) => i.DBInstanceIdentifier === 'ledger-writer')!.DBClusterIdentifier).toBe('ledger');
    expect(local.instanceArn('orders-pg')).toBe(pg.DBInstanceArn);
  });

  test('by identifier (case-insensitive) or by ARN', async () => {
    for (const id of ['orders-pg', 'ORDERS-PG', local.instanceArn('orders-pg')]) {
      const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
      expect(out.DBInstances!.map((i) => i.DBInstanceIdentifier)).toEqual(['orders-pg']);
    }
  });

  test('an unknown instance is DBInstanceNotFound (HTTP 404), also for an ARN of another Region or account', async () => {
    for (const id of ['missing-db', 'arn:aws:rds:eu-west-1:000000000000:db:orders-pg', 'arn:aws:rds:us-east-1:111111111111:db:orders-pg']) {
      await expect(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).rejects.toMatchObject({
        name: 'DBInstanceNotFoundFault',
        Code: 'DBInstanceNotFound',
        message: `DBInstance ${id} not found.`,
        $fault: 'client',
        $metadata: { httpStatusCode: 404 },
      });
    }
  });

  test('a malformed identifier is InvalidParameterValue', async () => {
    for (const id of ['1starts-with-digit', 'double--hyphen', 'trailing-', 'under_score', 'x'.repeat(64)]) {
      await expect(rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))).rejects.toMatchObject({
        name: 'InvalidParameterValue',
        message: expect.stringContaining('is not a valid identifier'),
        $metadata: { httpStatusCode: 400 },
      });
    }
  });

  test('filters: db-instance-id, db-cluster-id (id or ARN), engine, dbi-resource-id; filters AND, values OR', async () => {
    const ids = async (Filters: { Name: string; Values: string[] }[]) =>
      (await rds.send(new DescribeDBInstancesCommand({ Filters }))).DBInstances!.map((i) => i.DBInstanceIdentifier);
    expect(await ids([{ Name: 'db-instance-id', Values: ['orders-pg', local.instanceArn('billing-mysql'), 'nothing-here'] }])).toEqual([
      'billing-mysql',
      'orders-pg',
    ]);
    expect(await ids([{ Name: 'db-cluster-id', Values: ['ledger'] }])).toEqual(['ledger-reader', 'ledger-writer']);
    expect(await ids([{ Name: 'db-cluster-id', Values: [local.clusterArn('ledger')] }])).toEqual(['ledger-reader', 'ledger-writer']);
    expect(await ids([{ Name: 'engine', Values: ['postgres', 'mysql'] }])).toEqual(['billing-mysql', 'orders-pg']);
    expect(
      await ids([
        { Name: 'engine', Values: ['aurora-postgresql'] },
        { Name: 'db-instance-id', Values: ['ledger-reader', 'orders-pg'] },
      ]),
    ).toEqual(['ledger-reader']);
    const pg = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-pg' }))).DBInstances![0];
    expect(await ids([{ Name: 'dbi-resource-id', Values: [pg.DbiResourceId!] }])).toEqual(['orders-pg']);
    expect(await ids([{ Name: 'domain', Values: ['d-1234567890'] }])).toEqual([]);
    // DBInstanceIdentifier and Filters together.
    expect((await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: 'orders-pg', Filters: [{ Name: 'engine', Values: ['mysql'] }] }))).DBInstances).toEqual(
      [],
    );
  });

  test('an unknown filter name, or a filter without values, is InvalidParameterValue', async () => {
    await expect(rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'status', Values: ['available'] }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'Unrecognized filter name: status',
    });
    await expect(rds.send(new DescribeDBInstancesCommand({ Filters: [{ Name: 'engine', Values: [] }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
  });

  test('MaxRecords must be 20-100', async () => {
    for (const n of [0, 19, 101]) {
      await expect(rds.send(new DescribeDBInstancesCommand({ MaxRecords: n }))).rejects.toMatchObject({
        name: 'InvalidParameterValue',
        message: `Invalid value ${n} for MaxRecords. Must be between 20 and 100`,
        $metadata: { httpStatusCode: 400 },
      });
    }
  });

  test('pagination: Marker pages through in identifier order; the SDK paginator sees every instance once', async () => {
    const many = await LocalRds.start({ passwordChangeDelayMs: 0 });
    const client = new RDSClient({ ...localRdsClientConfig(many.endpoint, many.region), maxAttempts: 1 });
    try {
      const want = Array.from({ length: 45 }, (_, i) => `db-${String(i).padStart(2, '0')}`);
      for (const id of [...want].reverse()) many.addInstance({ identifier: id, engine: 'postgres', host: '127.0.0.1', port: 5432, masterUsername: 'm', applyPassword: apply });

      const p1 = await client.send(new DescribeDBInstancesCommand({ MaxRecords: 20 }));
      expect(p1.DBInstances!.map((i) => i.DBInstanceIdentifier)).toEqual(want.slice(0, 20));
      expect(p1.Marker).toEqual(expect.any(String));
      const p2 = await client.send(new DescribeDBInstancesCommand({ MaxRecords: 20, Marker: p1.Marker }));
      expect(p2.DBInstances!.map((i) => i.DBInstanceIdentifier)).toEqual(want.slice(20, 40));
      const p3 = await client.send(new DescribeDBInstancesCommand({ MaxRecords: 20, Marker: p2.Marker }));
      expect(p3.DBInstances!.map((i) => i.DBInstanceIdentifier)).toEqual(want.slice(40));
      expect(p3.Marker).toBeUndefined();
      // Default page size is 100: no marker.
      expect((await client.send(new DescribeDBInstancesCommand({}))).Marker).toBeUndefined();
      // With a filter, pages hold only matching records.
      const f1 = await client.send(new DescribeDBInstancesCommand({ MaxRecords: 20, Filters: [{ Name: 'db-instance-id', Values: want.filter((_, i) => i % 2 === 0) }] }));
      expect(f1.DBInstances!.map((i) => i.DBInstanceIdentifier)).toEqual(want.filter((_, i) => i % 2 === 0).slice(0, 20));

      const seen: DBInstance[] = [];
      for await (const page of paginateDescribeDBInstances({ client, pageSize: 20 }, {})) seen.push(...page.DBInstances!);
      expect(seen.map((i) => i.DBInstanceIdentifier)).toEqual(want);

      await expect(client.send(new DescribeDBInstancesCommand({ Marker: 'not-a-marker' }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
    } finally {
      client.destroy();
      await many.stop();
    }
  });
});

describe('DescribeDBClusters', () => {
  test('lists clusters with endpoints, port, engine, members (writer first) and the managed secret', async () => {
    const out = await rds.send(new DescribeDBClustersCommand({}));
    expect(out.DBClusters!.map((c) => c.DBClusterIdentifier)).toEqual(['events', 'ledger']);
    const ledger = out.DBClusters!.find((c) => c.DBClusterIdentifier === 'ledger')!;
    expect(ledger).toMatchObject({
      DBClusterArn: 'arn:aws:rds:us-east-1:000000000000:cluster:ledger',
      Status: 'available',
      Engine: 'aurora-postgresql',
      Endpoint: '127.0.0.1',
      ReaderEndpoint: '127.0.0.1',
      Port: 6432,
      MasterUsername: 'ledger_admin',
      DBClusterMembers: [
        { DBInstanceIdentifier: 'ledger-writer', IsClusterWriter: true, PromotionTier: 1 },
        { DBInstanceIdentifier: 'ledger-reader', IsClusterWriter: false, PromotionTier: 1 },
      ],
    });
    expect(ledger.DbClusterResourceId).toMatch(/^cluster-[A-Z2-7]{26}$/);
    expect(ledger.ClusterCreateTime).toBeInstanceOf(Date);
    expect(ledger.MasterUserSecret).toBeUndefined();
    expect(ledger.PendingModifiedValues).toBeUndefined();
    const events = out.DBClusters!.find((c) => c.DBClusterIdentifier === 'events')!;
    expect(events.MasterUserSecret).toEqual({
      SecretArn: expect.stringMatching(/^arn:aws:secretsmanager:us-east-1:000000000000:secret:rds!cluster-[0-9a-f-]{36}-[A-Za-z0-9]{6}$/),
      SecretStatus: 'active',
    });
    expect(events.DBClusterMembers).toEqual([]);
  });

  test('by identifier or ARN; filters db-cluster-id, engine, db-cluster-resource-id', async () => {
    for (const id of ['LEDGER', local.clusterArn('ledger')]) {
      expect((await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: id }))).DBClusters!.map((c) => c.DBClusterIdentifier)).toEqual(['ledger']);
    }
    const ids = async (Filters: { Name: string; Values: string[] }[]) =>
      (await rds.send(new DescribeDBClustersCommand({ Filters }))).DBClusters!.map((c) => c.DBClusterIdentifier);
    expect(await ids([{ Name: 'engine', Values: ['aurora-mysql'] }])).toEqual(['events']);
    expect(await ids([{ Name: 'db-cluster-id', Values: [local.clusterArn('events'), 'ledger'] }])).toEqual(['events', 'ledger']);
    const ledger = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'ledger' }))).DBClusters![0];
    expect(await ids([{ Name: 'db-cluster-resource-id', Values: [ledger.DbClusterResourceId!] }])).toEqual(['ledger']);
    expect(await ids([{ Name: 'clone-group-id', Values: ['x'] }])).toEqual([]);
    await expect(rds.send(new DescribeDBClustersCommand({ Filters: [{ Name: 'db-instance-id', Values: ['x'] }] }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
    });
    await expect(rds.send(new DescribeDBClustersCommand({ MaxRecords: 10 }))).rejects.toMatchObject({ name: 'InvalidParameterValue' });
  });

  test('an unknown cluster is DBClusterNotFoundFault (HTTP 404)', async () => {
    await expect(rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'no-such-cluster' }))).rejects.toMatchObject({
      name: 'DBClusterNotFoundFault',
      message: 'DBCluster no-such-cluster not found.',
      $metadata: { httpStatusCode: 404 },
    });
    // An instance identifier is not a cluster.
    await expect(rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: 'orders-pg' }))).rejects.toMatchObject({ name: 'DBClusterNotFoundFault' });
  });
});

describe('the Query protocol', () => {
  test('a response is text/xml in the RDS namespace, with a RequestId matching x-amzn-RequestId', async () => {
    const r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31', DBInstanceIdentifier: 'orders-pg' });
    expect(r.status).toBe(200);
    expect(r.contentType).toBe('text/xml');
    expect(r.body).toContain('<DescribeDBInstancesResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/"><DescribeDBInstancesResult><DBInstances><DBInstance>');
    expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.body).toMatch(new RegExp(`<ResponseMetadata><RequestId>${r.requestId}</RequestId></ResponseMetadata></DescribeDBInstancesResponse>$`));
  });

  test('errors are <ErrorResponse> with Type, Code, Message and RequestId', async () => {
    const r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31', DBInstanceIdentifier: 'gone' });
    expect(r.status).toBe(404);
    expect(r.body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<ErrorResponse xmlns="http:\/\/rds.amazonaws.com\/doc\/2014-10-31\/"><Error><Type>Sender<\/Type><Code>DBInstanceNotFound<\/Code><Message>DBInstance gone not found.<\/Message><\/Error><RequestId>[0-9a-f-]{36}<\/RequestId><\/ErrorResponse>$/,
    );
  });

  test('MissingAction, MissingParameter Version, InvalidAction (unknown operation or API version)', async () => {
    let r = await rawQuery(local.endpoint, { Version: '2014-10-31' });
    expect([r.status, errorCode(r.body)]).toEqual([400, 'MissingAction']);
    r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances' });
    expect([r.status, errorCode(r.body)]).toEqual([400, 'MissingParameter']);
    r = await rawQuery(local.endpoint, { Action: 'DeleteDBInstance', Version: '2014-10-31', DBInstanceIdentifier: 'orders-pg' });
    expect([r.status, errorCode(r.body)]).toEqual([400, 'InvalidAction']);
    r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2013-01-10' });
    expect([r.status, errorCode(r.body)]).toEqual([400, 'InvalidAction']);
  });

  test('GET / with the parameters in the query string works too', async () => {
    const res = await fetch(`${local.endpoint}/?Action=DescribeDBClusters&Version=2014-10-31&DBClusterIdentifier=ledger`, { headers: sigV4Headers() });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<DBClusterIdentifier>ledger</DBClusterIdentifier>');
    // A presigned GET (X-Amz-* in the query string instead of an Authorization header).
    const h = sigV4Headers();
    const presigned = new URLSearchParams({
      Action: 'DescribeDBClusters',
      Version: '2014-10-31',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': /Credential=([^,]+)/.exec(h.authorization)![1],
      'X-Amz-Date': h['x-amz-date'],
      'X-Amz-Expires': '300',
      'X-Amz-SignedHeaders': 'host',
      'X-Amz-Signature': 'a'.repeat(64),
    });
    expect((await fetch(`${local.endpoint}/?${presigned}`)).status).toBe(200);
    presigned.delete('X-Amz-Signature');
    const refused = await fetch(`${local.endpoint}/?${presigned}`);
    expect([refused.status, errorCode(await refused.text())]).toEqual([400, 'IncompleteSignature']);
  });

  test('an unsigned request is MissingAuthenticationToken (HTTP 403); a malformed or mis-scoped signature is refused too', async () => {
    let r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' }, {});
    expect([r.status, errorCode(r.body)]).toEqual([403, 'MissingAuthenticationToken']);
    expect(r.body).toContain('<Message>Request is missing Authentication Token</Message>');
    r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' }, { authorization: 'AWS4-HMAC-SHA256 Credential=x' });
    expect([r.status, errorCode(r.body)]).toEqual([400, 'IncompleteSignature']);
    r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' }, sigV4Headers('eu-west-1'));
    expect([r.status, errorCode(r.body)]).toEqual([403, 'SignatureDoesNotMatch']);
    r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' }, sigV4Headers('us-east-1', 'secretsmanager'));
    expect([r.status, errorCode(r.body)]).toEqual([403, 'SignatureDoesNotMatch']);
    r = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' }, sigV4Headers('us-east-1', 'rds', new Date(Date.now() - 20 * 60_000)));
    expect([r.status, errorCode(r.body)]).toEqual([400, 'RequestExpired']);
    // The SDK client, signing with the wrong Region, is refused the same way.
    const wrongRegion = new RDSClient({ ...localRdsClientConfig(local.endpoint, 'eu-west-1'), maxAttempts: 1 });
    try {
      await expect(wrongRegion.send(new DescribeDBInstancesCommand({}))).rejects.toMatchObject({ name: 'SignatureDoesNotMatch', $metadata: { httpStatusCode: 403 } });
    } finally {
      wrongRegion.destroy();
    }
  });
});

describe('throttling and injected faults', () => {
  test('a rate limit answers Throttling (HTTP 400, "Rate exceeded") beyond the allowed TPS, for that operation only', async () => {
    local.faults.setRateLimit('DescribeDBInstances', 2);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => rds.send(new DescribeDBInstancesCommand({}))));
    const throttled = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(throttled.length).toBeGreaterThanOrEqual(10);
    for (const e of throttled) expect(e).toMatchObject({ name: 'Throttling', message: 'Rate exceeded', $metadata: { httpStatusCode: 400 } });
    await rds.send(new DescribeDBClustersCommand({})); // not limited
    // On the wire: a bucket of one request, refilled once in 1000 s.
    local.faults.setRateLimit('DescribeDBInstances', 0.001);
    expect((await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' })).status).toBe(200);
    const raw = await rawQuery(local.endpoint, { Action: 'DescribeDBInstances', Version: '2014-10-31' });
    expect([raw.status, errorCode(raw.body)]).toEqual([400, 'Throttling']);
    expect(raw.body).toContain('<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message>');
  });

  test('the SDK retries an injected Throttling and succeeds', async () => {
    local.faults.inject({ op: 'DescribeDBClusters', error: 'Throttling', times: 1 });
    const retrying = new RDSClient({ ...localRdsClientConfig(local.endpoint, local.region), maxAttempts: 3 });
    try {
      const out = await retrying.send(new DescribeDBClustersCommand({}));
      expect(out.$metadata.attempts).toBe(2);
    } finally {
      retrying.destroy();
    }
  });

  test('injected errors keep their HTTP status (InternalFailure 500, DBInstanceNotFound 404); delays; "*" matches every operation', async () => {
    local.faults.inject({ op: 'DescribeDBInstances', error: 'InternalFailure', times: 1 });
    await expect(rds.send(new DescribeDBInstancesCommand({}))).rejects.toMatchObject({ name: 'InternalFailure', $fault: 'server', $metadata: { httpStatusCode: 500 } });
    await rds.send(new DescribeDBInstancesCommand({}));
    local.faults.inject({ op: 'ModifyDBInstance', error: 'DBInstanceNotFound', message: 'gone for a while', times: 1 });
    const r = await rawQuery(local.endpoint, { Action: 'ModifyDBInstance', Version: '2014-10-31', DBInstanceIdentifier: 'orders-pg', MasterUserPassword: 'x' });
    expect([r.status, errorCode(r.body)]).toEqual([404, 'DBInstanceNotFound']);
    local.faults.inject({ op: '*', delayMs: 200 });
    const t0 = Date.now();
    await rds.send(new DescribeDBClustersCommand({}));
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
  });
});

describe('configuration', () => {
  test('addInstance / addCluster refuse what RDS could not have', () => {
    const base = { engine: 'postgres', host: '127.0.0.1', port: 5432, masterUsername: 'm', applyPassword: apply };
    expect(() => local.addInstance({ ...base, identifier: 'bad_name' })).toThrow(/not a valid DB instance identifier/);
    expect(() => local.addInstance({ ...base, identifier: 'ORDERS-PG' })).toThrow(/already exists/);
    expect(() => local.addInstance({ ...base, identifier: 'x1', engine: 'oracle-ee' })).toThrow(/engine must be one of/);
    expect(() => local.addInstance({ ...base, identifier: 'x2', engine: 'aurora-mysql' })).toThrow(/needs a clusterIdentifier/);
    expect(() => local.addInstance({ ...base, identifier: 'x3', port: 0 })).toThrow(/port/);
    expect(() => local.addInstance({ ...base, identifier: 'x4', masterUserSecretArn: SECRET_ARN })).toThrow(/manageMasterUserPassword/);
    expect(() => local.addCluster({ ...base, identifier: 'c1', engine: 'mariadb' })).toThrow(/engine must be one of/);
    expect(() => local.addCluster({ ...base, identifier: 'c2', engine: 'aurora-postgresql', memberInstanceIds: ['ledger-writer'] })).toThrow(
      /belongs to cluster ledger/,
    );
    expect(() => local.status('nothing')).toThrow(/no DB instance or cluster/);
    expect(local.status('ledger')).toBe('available');
    expect(local.status('ledger', 'cluster')).toBe('available');
  });
});

describe('lifecycle', () => {
  test('stop() cancels changes still in their delay (recorded as failed, applyPassword never called) and is idempotent', async () => {
    const { local: short, rds: client } = await startLocalRds({ passwordChangeDelayMs: 60_000 });
    const never = stubApply();
    short.addInstance({ identifier: 'slow', engine: 'postgres', host: '127.0.0.1', port: 5432, masterUsername: 'm', applyPassword: never });
    try {
      await client.send(new ModifyDBInstanceCommand({ DBInstanceIdentifier: 'slow', MasterUserPassword: 'Valid-Pass-9', ApplyImmediately: true }));
      expect(short.status('slow')).toBe('resetting-master-credentials');
    } finally {
      client.destroy();
      await short.stop();
      await short.stop();
    }
    expect(never.calls).toBe(0);
    expect(short.status('slow')).toBe('available');
    expect(short.passwordChanges()).toEqual([
      { identifier: 'slow', kind: 'instance', requestedAt: expect.any(String), error: 'the local RDS endpoint stopped before the change was applied' },
    ]);
  });

  test('options are checked', async () => {
    await expect(LocalRds.start({ region: 'moon' })).rejects.toThrow(/Region/);
    await expect(LocalRds.start({ accountId: '123' })).rejects.toThrow(/12 digits/);
    await expect(LocalRds.start({ passwordChangeDelayMs: -1 })).rejects.toThrow(/passwordChangeDelayMs/);
  });
});
