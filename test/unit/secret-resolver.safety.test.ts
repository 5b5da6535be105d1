import { BatchGetSecretValueCommand, DescribeSecretCommand, ListSecretsCommand, type SecretListEntry, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretResolver, matchesDatabase } from '../../lambda/trigger/secret-resolver';
import type { RotationTarget } from '../../lambda/trigger/events';

/**
 * The trigger's resolution of targets into secrets and its skip rules
 * (lambda/trigger/secret-resolver.ts). The client answers DescribeSecret,
 * ListSecrets (its tag filters applied loosely, as Secrets Manager's prefix
 * matching may: every entry is returned, so the resolver's exact matching is
 * what is tested) and BatchGetSecretValue from an in-memory list; every call
 * is recorded.
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecrets.html
 */
const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const arn = (name: string, account = ACCOUNT, region = REGION) => `arn:aws:secretsmanager:${region}:${account}:secret:${name}-AbCdEf`;
const MANAGED = { Key: 'rotor:managed-by', Value: 'dep' };

interface Fake { entries: SecretListEntry[]; values: Record<string, string>; calls: string[]; errors: Record<string, Error>; pageSize?: number }

function fakeClient(f: Fake): SecretsManagerClient {
  return {
    send: async (cmd: unknown) => {
      if (cmd instanceof DescribeSecretCommand) {
        const id = cmd.input.SecretId!;
        f.calls.push(`DescribeSecret ${id}`);
        if (f.errors[id]) throw f.errors[id];
        const e = f.entries.find((x) => x.ARN === id || x.Name === id);
        if (!e) throw Object.assign(new Error('not found'), { name: 'ResourceNotFoundException' });
        return { ...e, VersionIdsToStages: e.SecretVersionsToStages };
      }
      if (cmd instanceof ListSecretsCommand) {
        f.calls.push(`ListSecrets ${JSON.stringify(cmd.input.Filters)} ${cmd.input.NextToken ?? ''}`);
        if (f.errors.ListSecrets) throw f.errors.ListSecrets;
        const size = f.pageSize ?? 100;
        const start = cmd.input.NextToken ? Number(cmd.input.NextToken) : 0;
        const next = start + size < f.entries.length ? String(start + size) : undefined;
        return { SecretList: f.entries.slice(start, start + size), NextToken: next };
      }
      if (cmd instanceof BatchGetSecretValueCommand) {
        f.calls.push(`BatchGetSecretValue ${cmd.input.SecretIdList!.length}`);
        return { SecretValues: cmd.input.SecretIdList!.map((id) => ({ ARN: id, SecretString: f.values[id] })) };
      }
      throw new Error('unexpected command');
    },
  } as unknown as SecretsManagerClient;
}

function setup(entries: SecretListEntry[], values: Record<string, string> = {}, errors: Record<string, Error> = {}, pageSize?: number) {
  const f: Fake = { entries, values, calls: [], errors, pageSize };
  const resolver = new SecretResolver({ client: fakeClient(f), deploymentId: 'dep', concurrency: 2, scope: { partition: 'aws', account: ACCOUNT, region: REGION }, call: (fn) => fn() });
  return { f, resolver };
}

const entry = (name: string, o: Partial<SecretListEntry> = {}): SecretListEntry => ({
  ARN: arn(name), Name: name, Tags: [MANAGED], RotationEnabled: true, SecretVersionsToStages: { v1: ['AWSCURRENT'] }, ...o,
});

describe('explicit secret ids', () => {
  test('described once each, fresh, with the key of the first target naming it', async () => {
    const { f, resolver } = setup([entry('a', { LastRotatedDate: new Date(1000), Tags: [MANAGED, { Key: 'k' }] })]);
    const r = await resolver.resolve([{ kind: 'secret', secretId: arn('a'), key: 'k1' }, { kind: 'secret', secretId: arn('a'), key: 'k2' }]);
    expect(f.calls).toEqual([`DescribeSecret ${arn('a')}`]);
    expect(r.candidates).toEqual([{
      arn: arn('a'), name: 'a', rotationEnabled: true, versions: { v1: ['AWSCURRENT'] }, tags: { 'rotor:managed-by': 'dep', k: '' },
      deleted: false, lastRotated: 1000, fresh: true, key: 'k1',
    }]);
    expect(r).toMatchObject({ skipped: [], failed: [], notes: [] });
  });

  test('a secret described without tags or labelled versions has none', async () => {
    const { resolver } = setup([entry('bare', { Tags: undefined, SecretVersionsToStages: undefined })]);
    expect((await resolver.resolve([{ kind: 'secret', secretId: 'bare' }])).candidates[0]).toMatchObject({ tags: {}, versions: {} });
  });

  test('deleted and rotation-disabled secrets are reported as such to the caller', async () => {
    const { resolver } = setup([entry('d', { DeletedDate: new Date(), RotationEnabled: undefined })]);
    expect((await resolver.resolve([{ kind: 'secret', secretId: 'd' }])).candidates[0]).toMatchObject({ deleted: true, rotationEnabled: false, arn: arn('d') });
  });

  test('a secret ARN of another account or Region is skipped without any call', async () => {
    const { f, resolver } = setup([]);
    const r = await resolver.resolve([
      { kind: 'secret', secretId: arn('x', '999999999999') },
      { kind: 'secret', secretId: arn('y', ACCOUNT, 'us-east-1') },
    ]);
    expect(f.calls).toEqual([]);
    expect(r.candidates).toEqual([]);
    expect(r.skipped).toEqual([
      { secretArn: arn('x', '999999999999'), reason: 'other-account', detail: `the secret is in account 999999999999, not this function's account ${ACCOUNT}` },
      { secretArn: arn('y', ACCOUNT, 'us-east-1'), reason: 'other-region', detail: `the secret is in Region us-east-1, not this function's Region ${REGION}` },
    ]);
  });

  test('a name (not an ARN), or no scope at all, is described', async () => {
    const { f, resolver } = setup([entry('n')]);
    expect((await resolver.resolve([{ kind: 'secret', secretId: 'n' }])).candidates).toHaveLength(1);
    expect(f.calls).toEqual(['DescribeSecret n']);
    const g: Fake = { entries: [entry('o', { ARN: arn('o', '999999999999') })], values: {}, calls: [], errors: {} };
    const unscoped = new SecretResolver({ client: fakeClient(g), deploymentId: 'dep', concurrency: 1, call: (fn) => fn() });
    expect((await unscoped.resolve([{ kind: 'secret', secretId: arn('o', '999999999999') }])).candidates).toHaveLength(1);
  });

  test('not found: skipped; denied: skipped as not managed by this deployment; anything else: failed', async () => {
    const denied = Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    const broken = Object.assign(new Error('boom'), { name: 'InternalServiceError' });
    const { resolver } = setup([], {}, { [arn('den')]: denied, [arn('bad')]: broken });
    const r = await resolver.resolve([{ kind: 'secret', secretId: arn('none') }, { kind: 'secret', secretId: arn('den') }, { kind: 'secret', secretId: arn('bad') }]);
    expect(r.skipped).toEqual([
      { secretArn: arn('none'), reason: 'not-found', detail: 'no such secret (deleted, or in another account or Region)' },
      { secretArn: arn('den'), reason: 'not-managed', detail: "DescribeSecret was denied: the function's role reaches only secrets tagged rotor:managed-by=dep" },
    ]);
    expect(r.failed).toHaveLength(1);
    expect(r.failed[0].secretArn).toBe(arn('bad'));
    expect(r.failed[0].error).toMatch(/DescribeSecret/);
    expect(r.candidates).toEqual([]);
  });
});

describe('tag filters', () => {
  test('listed with the first filter, then matched exactly on every filter; a secret named twice is one candidate', async () => {
    const entries = [
      entry('match', { Tags: [{ Key: 'team', Value: 'pay' }, { Key: 'env', Value: 'prod' }] }),
      entry('prefix', { Tags: [{ Key: 'team', Value: 'payments' }, { Key: 'env', Value: 'prod' }] }),
      entry('other-env', { Tags: [{ Key: 'team', Value: 'pay' }, { Key: 'env', Value: 'dev' }] }),
      entry('no-env', { Tags: [{ Key: 'team', Value: 'pay' }] }),
      entry('alt', { Tags: [{ Key: 'team', Value: 'ops' }, { Key: 'env', Value: 'stage' }] }),
    ];
    const { f, resolver } = setup(entries);
    const target: RotationTarget = { kind: 'tags', filters: [{ key: 'team', values: ['pay', 'ops'] }, { key: 'env', values: ['prod', 'stage'] }], key: 't' };
    const r = await resolver.resolve([target, { kind: 'secret', secretId: arn('match'), key: 's' }]);
    expect(r.candidates.map((c) => [c.name, c.key, c.fresh])).toEqual([['match', 's', true], ['alt', 't', false]]);
    expect(f.calls).toContain('ListSecrets [{"Key":"tag-key","Values":["team"]},{"Key":"tag-value","Values":["pay","ops"]}] ');
  });

  test('every page is read', async () => {
    const entries = Array.from({ length: 5 }, (_, i) => entry(`p${i}`, { Tags: [{ Key: 'team', Value: 'pay' }] }));
    const { f, resolver } = setup(entries, {}, {}, 2);
    const r = await resolver.resolve([{ kind: 'tags', filters: [{ key: 'team', values: ['pay'] }] }]);
    expect(r.candidates).toHaveLength(5);
    expect(f.calls.filter((c) => c.startsWith('ListSecrets'))).toHaveLength(3);
  });

  test('no match: a note naming the filters; a listing failure: the target is reported failed', async () => {
    const { resolver } = setup([entry('a', { Tags: [{ Key: 'team', Value: 'x' }] })]);
    const r = await resolver.resolve([{ kind: 'tags', filters: [{ key: 'team', values: ['pay', 'ops'] }, { key: 'env', values: ['prod'] }] }]);
    expect(r.notes).toEqual(['no secret has the tags team=pay|ops, env=prod']);
    const broken = setup([], {}, { ListSecrets: Object.assign(new Error('x'), { name: 'AccessDeniedException' }) });
    const b = await broken.resolver.resolve([{ kind: 'tags', filters: [{ key: 'team', values: ['pay'] }] }]);
    expect(b.failed).toHaveLength(1);
    expect(b.failed[0].secretArn).toBe('(tags team=pay)');
    expect(b.failed[0].error).toMatch(/ListSecrets/);
  });
});

describe('a database named by a finding', () => {
  const pg = (o: Record<string, unknown>) => JSON.stringify({ engine: 'postgres', host: 'db.internal', port: 5432, username: 'app', password: 'not-read', ...o });

  test('only this deployment\'s managed secrets whose value names the database; values read in batches of 20', async () => {
    const entries = [
      entry('inst', { Tags: [MANAGED] }),
      entry('host', { Tags: [MANAGED] }),
      entry('other-dep', { Tags: [{ Key: 'rotor:managed-by', Value: 'dep2' }] }),
      entry('unmanaged', { Tags: [] }),
      entry('other-db', { Tags: [MANAGED] }),
      entry('not-json', { Tags: [MANAGED] }),
      entry('array', { Tags: [MANAGED] }),
      ...Array.from({ length: 20 }, (_, i) => entry(`filler${i}`)),
    ];
    const values: Record<string, string> = {
      [arn('inst')]: pg({ dbInstanceIdentifier: 'Prod-DB' }),
      [arn('host')]: pg({ host: 'prod-db.abc123.eu-west-1.rds.amazonaws.com' }),
      [arn('other-dep')]: pg({ dbInstanceIdentifier: 'prod-db' }),
      [arn('unmanaged')]: pg({ dbInstanceIdentifier: 'prod-db' }),
      [arn('other-db')]: pg({ dbInstanceIdentifier: 'prod-db-2' }),
      [arn('not-json')]: 'prod-db',
      [arn('array')]: '["prod-db"]',
    };
    const { f, resolver } = setup(entries, values);
    const r = await resolver.resolve([{ kind: 'database', dbInstanceIdentifier: 'prod-db', key: 'f' }, { kind: 'database', dbInstanceIdentifier: 'none' }]);
    expect(r.candidates.map((c) => c.name)).toEqual(['inst', 'host']);
    expect(r.candidates[0].key).toBe('f');
    expect(r.notes).toEqual(['no secret managed by this deployment belongs to instance none']);
    // The managed list and the values are read once for both targets.
    expect(f.calls.filter((c) => c.startsWith('ListSecrets'))).toEqual(['ListSecrets [{"Key":"tag-key","Values":["rotor:managed-by"]},{"Key":"tag-value","Values":["dep"]}] ']);
    expect(f.calls.filter((c) => c.startsWith('BatchGetSecretValue'))).toEqual(['BatchGetSecretValue 20', 'BatchGetSecretValue 5']);
  });

  test('notes name the cluster and user', async () => {
    const { resolver } = setup([]);
    const r = await resolver.resolve([{ kind: 'database', dbClusterIdentifier: 'c1', user: 'bob' }, { kind: 'database', dbInstanceIdentifier: 'i1', dbClusterIdentifier: 'c1' }]);
    expect(r.notes).toEqual(['no secret managed by this deployment belongs to cluster c1, user bob', 'no secret managed by this deployment belongs to instance i1 / cluster c1']);
  });
});

describe('matchesDatabase', () => {
  test('instance or cluster by identifier, case-insensitively', () => {
    expect(matchesDatabase({ dbInstanceIdentifier: 'DB1' }, { dbInstanceIdentifier: 'db1' })).toBe(true);
    expect(matchesDatabase({ dbClusterIdentifier: 'c1' }, { dbClusterIdentifier: 'C1' })).toBe(true);
    expect(matchesDatabase({ dbInstanceIdentifier: 'db1' }, { dbClusterIdentifier: 'db1' })).toBe(false);
    expect(matchesDatabase({ dbClusterIdentifier: 'c1' }, { dbInstanceIdentifier: 'c1' })).toBe(false);
    expect(matchesDatabase({ dbInstanceIdentifier: 'db1' }, { dbInstanceIdentifier: 'db2' })).toBe(false);
    expect(matchesDatabase({}, {})).toBe(false);
  });

  test('the first label of an RDS endpoint host stands for the instance or cluster; other hosts do not', () => {
    expect(matchesDatabase({ host: 'DB1.abc.eu-west-1.rds.amazonaws.com' }, { dbInstanceIdentifier: 'db1' })).toBe(true);
    expect(matchesDatabase({ host: 'c1.cluster-abc.cn-north-1.rds.amazonaws.com.cn' }, { dbClusterIdentifier: 'c1' })).toBe(true);
    expect(matchesDatabase({ host: 'db1.example.com' }, { dbInstanceIdentifier: 'db1' })).toBe(false);
    expect(matchesDatabase({ host: 'db1.rds.amazonaws.com.evil.example' }, { dbInstanceIdentifier: 'db1' })).toBe(false);
    expect(matchesDatabase({ host: 'db2.abc.eu-west-1.rds.amazonaws.com' }, { dbInstanceIdentifier: 'db1' })).toBe(false);
  });

  test('a named user must be the secret\'s; alternating users (masterarn) stand for name and name_clone', () => {
    const db = { dbInstanceIdentifier: 'db1' };
    expect(matchesDatabase({ ...db, username: 'app' }, { ...db, user: 'app' })).toBe(true);
    expect(matchesDatabase({ ...db, username: 'app' }, { ...db, user: 'other' })).toBe(false);
    expect(matchesDatabase({ ...db, username: 'app' }, { ...db, user: 'app_clone' })).toBe(false);
    expect(matchesDatabase({ ...db, username: 'app', masterarn: 'arn:m' }, { ...db, user: 'app_clone' })).toBe(true);
    expect(matchesDatabase({ ...db, username: 'app_clone', masterarn: 'arn:m' }, { ...db, user: 'app' })).toBe(true);
    expect(matchesDatabase({ ...db, username: 'app_clone', masterarn: 'arn:m' }, { ...db, user: 'bob' })).toBe(false);
    expect(matchesDatabase({ ...db, masterarn: 'arn:m' }, { ...db, user: 'app' })).toBe(false);
    expect(matchesDatabase({ ...db, username: 'x_clone', masterarn: 'arn:m' }, { ...db, user: 'x_clone_clone' })).toBe(false);
  });
});

describe('refresh', () => {
  test('only candidates from ListSecrets are described again; keys are kept', async () => {
    const { f, resolver } = setup([entry('a', { RotationEnabled: false }), entry('b')]);
    const listed = { arn: arn('a'), name: 'a', rotationEnabled: true, versions: {}, tags: {}, deleted: false, fresh: false, key: 'k' };
    const fresh = { ...listed, arn: arn('b'), name: 'b', fresh: true, key: 'k2' };
    const gone = { ...listed, arn: arn('gone'), key: 'k3' };
    const r = await resolver.refresh([listed, fresh, gone]);
    expect(f.calls).toEqual([`DescribeSecret ${arn('a')}`, `DescribeSecret ${arn('gone')}`]);
    expect(r.candidates.map((c) => [c.name, c.rotationEnabled, c.key, c.fresh])).toEqual([['a', false, 'k', true], ['b', true, 'k2', true]]);
    expect(r.skipped.map((s) => s.reason)).toEqual(['not-found']);
  });
});

describe('what ListSecrets and BatchGetSecretValue may leave out', () => {
  function bare(pages: unknown[], batch: unknown) {
    const calls: string[] = [];
    const client = {
      send: async (cmd: unknown) => {
        if (cmd instanceof ListSecretsCommand) {
          calls.push('ListSecrets');
          return pages[Number(cmd.input.NextToken ?? 0)];
        }
        if (cmd instanceof BatchGetSecretValueCommand) {
          calls.push(`BatchGetSecretValue ${cmd.input.SecretIdList!.length}`);
          return batch;
        }
        throw new Error('unexpected command');
      },
    } as unknown as SecretsManagerClient;
    return { calls, resolver: new SecretResolver({ client, deploymentId: 'dep', concurrency: 1, call: (fn) => fn() }) };
  }

  test('listed entries: rotation flag, deleted flag, versions and tags as listed, with defaults for what is absent', async () => {
    const { resolver } = bare([{ SecretList: [
      { ARN: arn('on'), Name: 'on', RotationEnabled: true, DeletedDate: new Date(5), LastRotatedDate: new Date(7), SecretVersionsToStages: { v: ['AWSCURRENT'] }, Tags: [{ Key: 'team', Value: 'pay' }, { Value: 'no-key' }, { Key: 'flag' }] },
      { ARN: arn('off'), RotationEnabled: false, Tags: [{ Key: 'team', Value: 'pay' }] },
      { ARN: arn('unset'), Tags: [{ Key: 'team', Value: 'pay' }] },
    ], NextToken: '1' }, {}], {});
    const r = await resolver.resolve([{ kind: 'tags', filters: [{ key: 'team', values: ['pay'] }] }]);
    expect(r.candidates).toEqual([
      { arn: arn('on'), name: 'on', rotationEnabled: true, versions: { v: ['AWSCURRENT'] }, tags: { team: 'pay', flag: '' }, deleted: true, lastRotated: 7, fresh: false, key: undefined },
      { arn: arn('off'), name: arn('off'), rotationEnabled: false, versions: {}, tags: { team: 'pay' }, deleted: false, lastRotated: undefined, fresh: false, key: undefined },
      { arn: arn('unset'), name: arn('unset'), rotationEnabled: false, versions: {}, tags: { team: 'pay' }, deleted: false, lastRotated: undefined, fresh: false, key: undefined },
    ]);
  });

  test('a managed secret whose value is not returned, is null, or has fields of other types, is not matched and breaks nothing', async () => {
    const managed = (name: string) => ({ ARN: arn(name), Name: name, Tags: [MANAGED] });
    const { resolver } = bare([{ SecretList: [managed('missing'), managed('null'), managed('numbers'), managed('good')] }], {
      SecretValues: [
        { ARN: arn('null'), SecretString: 'null' },
        { ARN: arn('numbers'), SecretString: JSON.stringify({ host: 5, dbInstanceIdentifier: 7, username: 1 }) },
        { SecretString: JSON.stringify({ dbInstanceIdentifier: 'db1' }) },
        { ARN: arn('good'), SecretString: JSON.stringify({ dbInstanceIdentifier: 'DB1', username: 'app' }) },
      ],
    });
    const r = await resolver.resolve([{ kind: 'database', dbInstanceIdentifier: 'db1' }]);
    expect(r.candidates.map((c) => c.name)).toEqual(['good']);
    expect(r.failed).toEqual([]);
  });

  test('empty answers: no secrets listed, no values returned', async () => {
    const { resolver } = bare([{}], {});
    const r = await resolver.resolve([{ kind: 'tags', filters: [{ key: 'team', values: ['pay'] }] }, { kind: 'database', dbClusterIdentifier: 'c1' }]);
    expect(r.candidates).toEqual([]);
    expect(r.notes).toHaveLength(2);
    const one = bare([{ SecretList: [{ ARN: arn('m'), Name: 'm', Tags: [MANAGED] }] }], {});
    expect((await one.resolver.resolve([{ kind: 'database', dbClusterIdentifier: 'c1' }])).candidates).toEqual([]);
  });

  test('exactly 20 managed secrets: one BatchGetSecretValue call', async () => {
    const list = Array.from({ length: 20 }, (_, i) => ({ ARN: arn(`s${i}`), Name: `s${i}`, Tags: [MANAGED] }));
    const { calls, resolver } = bare([{ SecretList: list }], { SecretValues: [] });
    await resolver.resolve([{ kind: 'database', dbInstanceIdentifier: 'db1' }]);
    expect(calls).toEqual(['ListSecrets', 'BatchGetSecretValue 20']);
  });
});
