import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetRandomPasswordCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  RestoreSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  type GetRandomPasswordCommandInput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local';
import { DAY, expectRejectedWithoutChange, startLocal, TestClock, token, uniqueName } from './local-test-kit';

/*
 * The contract's DescribeSecret, ListSecrets and GetRandomPassword sections,
 * plus CreateSecret, tags, deletion and BatchGetSecretValue.
 */

let local: LocalSecretsManager;
let sm: SecretsManagerClient;
const clock = new TestClock(Date.parse('2030-06-01T12:00:00.000Z'));

beforeAll(async () => {
  ({ local, sm } = await startLocal({ clock: clock.now }));
});
afterAll(async () => {
  sm.destroy();
  await local.stop();
});

describe('CreateSecret', () => {
  test('names: letters, digits and -/_+=.@! only (ValidationException otherwise); 1-512 characters', async () => {
    const ok = await sm.send(new CreateSecretCommand({ Name: 'Valid/_+=.@-Name!', SecretString: 's', ClientRequestToken: token() }));
    expect(ok.Name).toBe('Valid/_+=.@-Name!');
    for (const bad of ['Inv Name', 'Inv*Name?', 'ünïcode', 'x'.repeat(513)]) {
      await expect(sm.send(new CreateSecretCommand({ Name: bad, SecretString: 's', ClientRequestToken: token() }))).rejects.toMatchObject({
        name: 'ValidationException',
      });
    }
    const list = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['Inv'] }] }));
    expect(list.SecretList).toEqual([]);
  });

  test('an existing name is ResourceExistsException; the same token and value again is an idempotent success', async () => {
    const name = uniqueName('dup');
    const t = token();
    const first = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's', ClientRequestToken: t }));
    const retry = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's', ClientRequestToken: t }));
    expect(retry).toMatchObject({ ARN: first.ARN, VersionId: t });
    const e = await expectRejectedWithoutChange(sm, name, 'ResourceExistsException', () =>
      sm.send(new CreateSecretCommand({ Name: name, SecretString: 'other', ClientRequestToken: token() })),
    );
    expect(e.message).toBe(`The operation failed because the secret ${name} already exists.`);
  });

  test('a secret without a value has no versions; PutSecretValue later creates AWSCURRENT', async () => {
    const out = await sm.send(new CreateSecretCommand({ Name: uniqueName('empty'), Description: 'no value yet' }));
    expect(out.VersionId).toBeUndefined();
    const d = await sm.send(new DescribeSecretCommand({ SecretId: out.ARN }));
    expect(d.VersionIdsToStages).toBeUndefined();
    await expect(sm.send(new GetSecretValueCommand({ SecretId: out.ARN }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('reserved aws: tag keys and more than 50 tags are refused', async () => {
    await expect(
      sm.send(new CreateSecretCommand({ Name: uniqueName(), SecretString: 's', ClientRequestToken: token(), Tags: [{ Key: 'aws:x', Value: 'v' }] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    const tags = Array.from({ length: 51 }, (_, i) => ({ Key: `k${i}`, Value: 'v' }));
    await expect(sm.send(new CreateSecretCommand({ Name: uniqueName(), SecretString: 's', ClientRequestToken: token(), Tags: tags }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
  });
});

describe('secrets managed by another service', () => {
  test('a seeded managed secret (OwningService, aws: tags) is listed and described, but refuses writes (InvalidRequestException)', async () => {
    const seeded = local.seedSecret({
      name: `rds!db-${Math.random().toString(36).slice(2, 8)}`,
      secretString: '{"username":"master","password":"p"}',
      owningService: 'rds',
      tags: [{ Key: 'aws:rds:primarydbinstancearn', Value: 'arn:aws:rds:us-east-1:000000000000:db:orders' }],
    });
    const d = await sm.send(new DescribeSecretCommand({ SecretId: seeded.arn }));
    expect(d).toMatchObject({ OwningService: 'rds', Tags: [{ Key: 'aws:rds:primarydbinstancearn' }] });
    const listed = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'owning-service', Values: ['rds'] }] }));
    expect(listed.SecretList!.map((s) => s.ARN)).toContain(seeded.arn);
    await expectRejectedWithoutChange(sm, seeded.arn, 'InvalidRequestException', () =>
      sm.send(new UpdateSecretCommand({ SecretId: seeded.arn, SecretString: 'x', ClientRequestToken: token() })),
    );
    expect((await sm.send(new GetSecretValueCommand({ SecretId: seeded.arn }))).SecretString).toContain('master');
  });
});

describe('DescribeSecret', () => {
  test('returns only the fields that have values', async () => {
    const out = await sm.send(new CreateSecretCommand({ Name: uniqueName('desc'), SecretString: 's', ClientRequestToken: token() }));
    const { $metadata: _m, ...d } = await sm.send(new DescribeSecretCommand({ SecretId: out.ARN }));
    expect(Object.keys(d).sort()).toEqual(['ARN', 'CreatedDate', 'LastChangedDate', 'Name', 'VersionIdsToStages']);
    expect(d.CreatedDate).toEqual(clock.now());
  });

  test('tags, description, KMS key and access dates appear once set; TagResource appends, UntagResource removes', async () => {
    const out = await sm.send(
      new CreateSecretCommand({ Name: uniqueName('meta'), SecretString: 's', ClientRequestToken: token(), Tags: [{ Key: 'team', Value: 'a' }] }),
    );
    await sm.send(new TagResourceCommand({ SecretId: out.ARN, Tags: [{ Key: 'team', Value: 'b' }, { Key: 'env', Value: 'prod' }] }));
    await sm.send(new UntagResourceCommand({ SecretId: out.ARN, TagKeys: ['missing-is-fine'] }));
    await sm.send(new UpdateSecretCommand({ SecretId: out.ARN, Description: 'described', KmsKeyId: 'alias/mine' }));
    await sm.send(new GetSecretValueCommand({ SecretId: out.ARN }));
    const d = await sm.send(new DescribeSecretCommand({ SecretId: out.ARN }));
    expect(d.Tags).toEqual([
      { Key: 'team', Value: 'b' },
      { Key: 'env', Value: 'prod' },
    ]);
    expect(d).toMatchObject({ Description: 'described', KmsKeyId: 'alias/mine' });
    expect(d.LastAccessedDate).toBeInstanceOf(Date);
    await sm.send(new UntagResourceCommand({ SecretId: out.ARN, TagKeys: ['team'] }));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: out.ARN }))).Tags).toEqual([{ Key: 'env', Value: 'prod' }]);
    await expectRejectedWithoutChange(sm, out.ARN!, 'InvalidParameterException', () =>
      sm.send(new TagResourceCommand({ SecretId: out.ARN, Tags: [{ Key: 'aws:reserved', Value: 'x' }] })),
    );
  });

  test('an unknown secret is ResourceNotFoundException', async () => {
    await expect(sm.send(new DescribeSecretCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-abcdef' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: "Secrets Manager can't find the specified secret.",
    });
  });
});

describe('DeleteSecret and RestoreSecret', () => {
  test('RecoveryWindowInDays is 7-30 and excludes ForceDeleteWithoutRecovery', async () => {
    const out = await sm.send(new CreateSecretCommand({ Name: uniqueName('del'), SecretString: 's', ClientRequestToken: token() }));
    for (const days of [6, 31]) {
      await expectRejectedWithoutChange(sm, out.ARN!, 'InvalidParameterException', () =>
        sm.send(new DeleteSecretCommand({ SecretId: out.ARN, RecoveryWindowInDays: days })),
      );
    }
    await expectRejectedWithoutChange(sm, out.ARN!, 'InvalidParameterException', () =>
      sm.send(new DeleteSecretCommand({ SecretId: out.ARN, RecoveryWindowInDays: 7, ForceDeleteWithoutRecovery: true })),
    );
  });

  test('a secret scheduled for deletion refuses access (InvalidRequestException), is still described, and can be restored', async () => {
    const name = uniqueName('del');
    const out = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's', ClientRequestToken: token() }));
    const del = await sm.send(new DeleteSecretCommand({ SecretId: out.ARN, RecoveryWindowInDays: 7 }));
    expect(del.DeletionDate).toEqual(new Date(clock.now().getTime() + 7 * DAY));
    await expectRejectedWithoutChange(sm, out.ARN!, 'InvalidRequestException', () => sm.send(new GetSecretValueCommand({ SecretId: out.ARN })));
    await expectRejectedWithoutChange(sm, out.ARN!, 'InvalidRequestException', () =>
      sm.send(new CreateSecretCommand({ Name: name, SecretString: 'again', ClientRequestToken: token() })),
    );
    await expectRejectedWithoutChange(sm, out.ARN!, 'InvalidRequestException', () => sm.send(new DeleteSecretCommand({ SecretId: out.ARN })));
    expect((await sm.send(new DescribeSecretCommand({ SecretId: out.ARN }))).DeletedDate).toEqual(clock.now());
    expect((await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }))).SecretList).toEqual([]);
    expect(
      (await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }], IncludePlannedDeletion: true }))).SecretList,
    ).toHaveLength(1);
    await sm.send(new RestoreSecretCommand({ SecretId: out.ARN }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: out.ARN }))).SecretString).toBe('s');
  });

  test('after the recovery window the secret is gone; ForceDeleteWithoutRecovery removes it at once and frees the name', async () => {
    const name = uniqueName('del');
    const a = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's', ClientRequestToken: token() }));
    await sm.send(new DeleteSecretCommand({ SecretId: a.ARN, RecoveryWindowInDays: 7 }));
    clock.advance(7 * DAY + 1000);
    await expect(sm.send(new DescribeSecretCommand({ SecretId: a.ARN }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    const b = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's2', ClientRequestToken: token() }));
    expect(b.ARN).not.toBe(a.ARN); // a new random suffix
    await sm.send(new DeleteSecretCommand({ SecretId: b.ARN, ForceDeleteWithoutRecovery: true }));
    await expect(sm.send(new DescribeSecretCommand({ SecretId: name }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    // Forcing the deletion of a missing secret is not an error.
    await sm.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
  });
});

describe('ListSecrets', () => {
  const prefix = `list${Math.random().toString(36).slice(2, 7)}`;
  beforeAll(async () => {
    const mk = (name: string, description: string, tags: { Key: string; Value: string }[]) =>
      sm.send(new CreateSecretCommand({ Name: `${prefix}/${name}`, Description: description, Tags: tags, SecretString: 's', ClientRequestToken: token() }));
    await mk('db/orders', 'Orders Database credentials', [{ Key: 'team', Value: 'payments' }]);
    clock.advance(1000);
    await mk('db/users', 'users database', [{ Key: 'team', Value: 'identity' }, { Key: 'rotor:managed', Value: 'true' }]);
    clock.advance(1000);
    await mk('api/key', 'third-party API key', [{ Key: 'env', Value: 'prod' }]);
  });
  const names = (list: { Name?: string }[] | undefined) => (list ?? []).map((s) => s.Name!.slice(prefix.length + 1));

  test.each([
    [[{ Key: 'name', Values: [`${prefix}/db/`] }], ['db/orders', 'db/users']],
    [[{ Key: 'name', Values: [`${prefix}/DB/`] }], []], // name: case-sensitive
    [[{ Key: 'description', Values: ['orders database'] }], ['db/orders']], // description: not case-sensitive
    [[{ Key: 'tag-key', Values: ['rotor:'] }], ['db/users']],
    [[{ Key: 'tag-value', Values: ['pay', 'iden'] }], ['db/orders', 'db/users']], // any value may match
    [[{ Key: 'name', Values: [prefix] }, { Key: 'tag-key', Values: ['!team'] }], ['api/key']], // negation
    [[{ Key: 'name', Values: [prefix] }, { Key: 'all', Values: ['PAYMENTS'] }], ['db/orders']], // all: any attribute, not case-sensitive
    [[{ Key: 'name', Values: [prefix] }, { Key: 'primary-region', Values: ['us-east-1'] }], ['db/orders', 'db/users', 'api/key']],
    [[{ Key: 'name', Values: [prefix] }, { Key: 'owning-service', Values: ['rds'] }], []],
  ])('filters %j', async (filters, expected) => {
    const out = await sm.send(new ListSecretsCommand({ Filters: filters as never }));
    expect(names(out.SecretList).sort()).toEqual([...expected].sort());
  });

  test('entries carry the DescribeSecret metadata (SecretVersionsToStages), never values', async () => {
    const out = await sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`${prefix}/api/`] }] }));
    const entry = out.SecretList![0];
    expect(entry).toMatchObject({ Description: 'third-party API key', Tags: [{ Key: 'env', Value: 'prod' }] });
    expect(Object.values(entry.SecretVersionsToStages!)).toEqual([['AWSCURRENT']]);
    expect(JSON.stringify(out)).not.toContain('SecretString');
  });

  test('MaxResults 1-100 with NextToken pagination, in CreatedDate order (SortOrder desc reverses)', async () => {
    const seen: string[] = [];
    let next: string | undefined;
    do {
      const page = await sm.send(new ListSecretsCommand({ MaxResults: 1, NextToken: next, Filters: [{ Key: 'name', Values: [prefix] }] }));
      expect(page.SecretList!.length).toBeLessThanOrEqual(1);
      seen.push(...names(page.SecretList));
      next = page.NextToken;
    } while (next);
    expect(seen).toEqual(['db/orders', 'db/users', 'api/key']);
    const desc = await sm.send(new ListSecretsCommand({ SortOrder: 'desc', Filters: [{ Key: 'name', Values: [prefix] }] }));
    expect(names(desc.SecretList)).toEqual(['api/key', 'db/users', 'db/orders']);
    const byName = await sm.send(new ListSecretsCommand({ SortBy: 'name', Filters: [{ Key: 'name', Values: [prefix] }] }));
    expect(names(byName.SecretList)).toEqual(['api/key', 'db/orders', 'db/users']);
    for (const bad of [0, 101]) {
      await expect(sm.send(new ListSecretsCommand({ MaxResults: bad }))).rejects.toMatchObject({ name: 'ValidationException' });
    }
    await expect(sm.send(new ListSecretsCommand({ NextToken: 'not-a-token' }))).rejects.toMatchObject({ name: 'InvalidNextTokenException' });
  });

  test('filter keys, value patterns and counts are validated', async () => {
    await expect(sm.send(new ListSecretsCommand({ Filters: [{ Key: 'colour' as never, Values: ['x'] }] }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: ['semi;colon'] }] }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(sm.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: Array(11).fill('a') }] }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
  });
});

describe('BatchGetSecretValue', () => {
  test('by SecretIdList: values of AWSCURRENT, per-secret errors in Errors', async () => {
    const a = await sm.send(new CreateSecretCommand({ Name: uniqueName('batch'), SecretString: 'A', ClientRequestToken: token() }));
    const out = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: [a.ARN!, 'batch/missing'] }));
    expect(out.SecretValues).toEqual([expect.objectContaining({ ARN: a.ARN, SecretString: 'A', VersionStages: ['AWSCURRENT'] })]);
    expect(out.Errors).toEqual([expect.objectContaining({ SecretId: 'batch/missing', ErrorCode: 'ResourceNotFoundException' })]);
  });

  test('Filters or SecretIdList, not both; MaxResults only with Filters', async () => {
    await expect(sm.send(new BatchGetSecretValueCommand({}))).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(
      sm.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'], Filters: [{ Key: 'name', Values: ['a'] }] })),
    ).rejects.toMatchObject({ name: 'InvalidParameterException' });
    await expect(sm.send(new BatchGetSecretValueCommand({ SecretIdList: ['a'], MaxResults: 5 }))).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(sm.send(new BatchGetSecretValueCommand({ SecretIdList: Array(21).fill('a') }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  test('by Filters, paginated', async () => {
    const p = uniqueName('bf');
    for (const n of ['1', '2', '3']) await sm.send(new CreateSecretCommand({ Name: `${p}/${n}`, SecretString: n, ClientRequestToken: token() }));
    const first = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [p] }], MaxResults: 2 }));
    expect(first.SecretValues).toHaveLength(2);
    const second = await sm.send(new BatchGetSecretValueCommand({ Filters: [{ Key: 'name', Values: [p] }], MaxResults: 2, NextToken: first.NextToken }));
    expect([...first.SecretValues!, ...second.SecretValues!].map((v) => v.SecretString)).toEqual(['1', '2', '3']);
    expect(second.NextToken).toBeUndefined();
  });
});

describe('GetRandomPassword', () => {
  const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
  const get = (o: GetRandomPasswordCommandInput) => sm.send(new GetRandomPasswordCommand(o)).then((r) => r.RandomPassword!);

  test('32 characters by default, with at least one of each type, from letters, digits and the documented punctuation', async () => {
    for (let i = 0; i < 20; i++) {
      const pw = await get({});
      expect(pw).toHaveLength(32);
      expect(pw).toMatch(/[a-z]/);
      expect(pw).toMatch(/[A-Z]/);
      expect(pw).toMatch(/[0-9]/);
      expect([...pw].some((c) => PUNCTUATION.includes(c))).toBe(true);
      expect([...pw].every((c) => /[A-Za-z0-9]/.test(c) || PUNCTUATION.includes(c))).toBe(true);
    }
  });

  test('PasswordLength 1-4096', async () => {
    expect(await get({ PasswordLength: 4096 })).toHaveLength(4096);
    expect(await get({ PasswordLength: 1, RequireEachIncludedType: false })).toHaveLength(1);
    for (const bad of [0, 4097]) await expect(get({ PasswordLength: bad })).rejects.toMatchObject({ name: 'ValidationException' });
  });

  test('exclusions, IncludeSpace, RequireEachIncludedType', async () => {
    const noPunct = await get({ PasswordLength: 200, ExcludePunctuation: true, ExcludeUppercase: true });
    expect(noPunct).toMatch(/^[a-z0-9]{200}$/);
    const pg = await get({ PasswordLength: 500, ExcludeCharacters: ':/@"\'\\' });
    expect(pg).not.toMatch(/[:/@"'\\]/);
    const digits = await get({ PasswordLength: 50, ExcludeLowercase: true, ExcludeUppercase: true, ExcludePunctuation: true });
    expect(digits).toMatch(/^[0-9]{50}$/);
    const spaced = await get({ PasswordLength: 4096, IncludeSpace: true });
    expect(spaced).toContain(' ');
    await expect(get({ ExcludeNumbers: true, ExcludePunctuation: true, ExcludeUppercase: true, ExcludeLowercase: true })).rejects.toMatchObject({
      name: 'InvalidParameterException',
    });
    await expect(get({ PasswordLength: 3 })).rejects.toMatchObject({ name: 'InvalidParameterException' }); // 4 types required
  });
});
