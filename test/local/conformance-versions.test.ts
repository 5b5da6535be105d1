import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local';
import { DAY, expectRejectedWithoutChange, labels, startLocal, TestClock, token, uniqueName, versionWith } from './local-test-kit';

/*
 * The contract (shared/reference/secrets-manager-contract.md), sections
 * "Versions and staging labels", "PutSecretValue", "UpdateSecretVersionStage"
 * and "GetSecretValue": one test per rule; every rejected call must leave the
 * secret exactly as it was.
 */

let local: LocalSecretsManager;
let sm: SecretsManagerClient;
const clock = new TestClock();

beforeAll(async () => {
  ({ local, sm } = await startLocal({ clock: clock.now }));
});
afterAll(async () => {
  sm.destroy();
  await local.stop();
});

async function newSecret(value = '{"password":"v1"}'): Promise<{ arn: string; v1: string }> {
  const v1 = token();
  const out = await sm.send(new CreateSecretCommand({ Name: uniqueName(), SecretString: value, ClientRequestToken: v1 }));
  return { arn: out.ARN!, v1 };
}

describe('versions and staging labels', () => {
  test('a version id is the ClientRequestToken that created it', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    const put = await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two' }));
    expect(put.VersionId).toBe(v2);
    expect(Object.keys(await labels(sm, arn)).sort()).toEqual([v1, v2].sort());
  });

  test("a version's value never changes: the same token with another value is ResourceExistsException", async () => {
    const { arn, v1 } = await newSecret();
    await expectRejectedWithoutChange(sm, arn, 'ResourceExistsException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v1, SecretString: 'something else' })),
    );
    await expectRejectedWithoutChange(sm, arn, 'ResourceExistsException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v1, SecretBinary: Buffer.from('{"password":"v1"}') })),
    );
  });

  test('the same token with the same value succeeds and changes nothing (idempotent retry)', async () => {
    const { arn } = await newSecret();
    const v2 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['CUSTOM'] }));
    const before = await labels(sm, arn);
    const again = await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two' }));
    expect(again.VersionId).toBe(v2);
    expect(again.VersionStages).toEqual(['CUSTOM']);
    expect(await labels(sm, arn)).toEqual(before);
  });

  test('a label is on at most one version: attaching it elsewhere takes it off the first', async () => {
    const { arn } = await newSecret();
    const a = token();
    const b = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: a, SecretString: 'a', VersionStages: ['MINE'] }));
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: b, SecretString: 'b', VersionStages: ['MINE', 'OTHER'] }));
    const map = await labels(sm, arn);
    expect(map[a]).toEqual([]);
    expect(map[b]).toEqual(['MINE', 'OTHER']);
  });

  test('a version carries at most 20 labels; VersionStages takes 1-20 items', async () => {
    const { arn } = await newSecret();
    const v = token();
    const twenty = Array.from({ length: 20 }, (_, i) => `L${i}`);
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v, SecretString: 'x', VersionStages: twenty }));
    await expectRejectedWithoutChange(sm, arn, 'LimitExceededException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'L20', MoveToVersionId: v })),
    );
    await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'y', VersionStages: [...twenty, 'L20'] })),
    );
    await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'y', VersionStages: [] })),
    );
  });

  test('a version without labels is deprecated: DescribeSecret leaves it out, ListSecretVersionIds only with IncludeDeprecated', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    const v3 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two' }));
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v3, SecretString: 'three' }));
    const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    expect(d.VersionIdsToStages).toEqual({ [v2]: ['AWSPREVIOUS'], [v3]: ['AWSCURRENT'] });
    const listed = await sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }));
    expect(listed.Versions!.map((v) => v.VersionId).sort()).toEqual([v2, v3].sort());
    const all = await sm.send(new ListSecretVersionIdsCommand({ SecretId: arn, IncludeDeprecated: true }));
    expect(all.Versions!.find((v) => v.VersionId === v1)?.VersionStages).toEqual([]);
  });

  test('moving AWSCURRENT moves AWSPREVIOUS to the version it left, in the same call', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['AWSPENDING'] }));
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v1 }));
    const map = await labels(sm, arn);
    expect(map[v2].sort()).toEqual(['AWSCURRENT', 'AWSPENDING']);
    expect(map[v1]).toEqual(['AWSPREVIOUS']);
    // Rolling back moves AWSPREVIOUS the other way.
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: v1, RemoveFromVersionId: v2 }));
    const back = await labels(sm, arn);
    expect(back[v1]).toEqual(['AWSCURRENT']);
    expect(back[v2]).toEqual(['AWSPENDING', 'AWSPREVIOUS']);
  });
});

describe('PutSecretValue', () => {
  test('without VersionStages, AWSCURRENT moves to the new version and AWSPREVIOUS follows', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    const out = await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two' }));
    expect(out.VersionStages).toEqual(['AWSCURRENT']);
    expect(await labels(sm, arn)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });
  });

  test('with VersionStages, only those labels move (AWSCURRENT stays)', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['AWSPENDING'] }));
    expect(await labels(sm, arn)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: ['AWSPENDING'] });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: arn }))).VersionId).toBe(v1);
  });

  test('exactly one of SecretString and SecretBinary', async () => {
    const { arn } = await newSecret();
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token() })),
    );
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 's', SecretBinary: Buffer.from('b') })),
    );
  });

  test('values up to 65,536 bytes (UTF-8) are accepted; one byte more is refused', async () => {
    const { arn } = await newSecret();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'x'.repeat(65536) }));
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretBinary: Buffer.alloc(65536, 1) }));
    const e = await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'x'.repeat(65537) })),
    );
    expect(e.message).toContain("'secretString'");
    expect(e.message).not.toContain('xxxx');
    // 32,769 two-byte characters: fewer than 65,536 characters, more than 65,536 bytes.
    await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'é'.repeat(32769) })),
    );
    await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretBinary: Buffer.alloc(65537, 1) })),
    );
  });

  test('ClientRequestToken has 32-64 characters', async () => {
    const { arn } = await newSecret();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: 'a'.repeat(32), SecretString: '32' }));
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: 'b'.repeat(64), SecretString: '64' }));
    for (const bad of ['c'.repeat(31), 'd'.repeat(65)]) {
      await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
        sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: bad, SecretString: 'x' })),
      );
    }
  });

  test('about 100 versions per secret: deprecated versions older than 24 hours are pruned, oldest first, else LimitExceededException', async () => {
    const { arn, v1 } = await newSecret();
    const ids = [v1];
    for (let i = 1; i < 100; i++) {
      const v = token();
      ids.push(v);
      await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v, SecretString: `v${i}` }));
    }
    // 100 versions, all created in the last 24 hours: none may be removed.
    await expectRejectedWithoutChange(sm, arn, 'LimitExceededException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'one too many' })),
    );
    clock.advance(DAY + 1000);
    const next = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: next, SecretString: 'after a day' }));
    const map = await labels(sm, arn);
    expect(Object.keys(map)).toHaveLength(100);
    expect(map[ids[0]]).toBeUndefined(); // the oldest deprecated version went
    expect(map[ids[1]]).toEqual([]); // the next one stays
    expect(map[ids[99]]).toEqual(['AWSPREVIOUS']);
    expect(map[next]).toEqual(['AWSCURRENT']);
  });

  test('accepts a RotationToken (36-256 characters of letters, digits and hyphens)', async () => {
    const { arn } = await newSecret();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'x', RotationToken: token() }));
    await expectRejectedWithoutChange(sm, arn, 'ValidationException', () =>
      sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'x', RotationToken: 'short' })),
    );
  });

  test('UpdateSecret with a value creates a version and moves AWSCURRENT; an existing token is an error', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    const out = await sm.send(new UpdateSecretCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', Description: 'd' }));
    expect(out.VersionId).toBe(v2);
    expect(await labels(sm, arn)).toEqual({ [v1]: ['AWSPREVIOUS'], [v2]: ['AWSCURRENT'] });
    await expectRejectedWithoutChange(sm, arn, 'ResourceExistsException', () =>
      sm.send(new UpdateSecretCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', Description: 'changed' })),
    );
  });
});

describe('UpdateSecretVersionStage', () => {
  test('moving a label that is on another version requires RemoveFromVersionId naming that version', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['AWSPENDING'] }));
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: v2 })),
    );
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v2 })),
    );
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', MoveToVersionId: v2, RemoveFromVersionId: v1 }));
    expect(versionWith(await labels(sm, arn), 'AWSCURRENT')).toBe(v2);
  });

  test('without MoveToVersionId the label is only removed from RemoveFromVersionId', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'two', VersionStages: ['AWSPENDING'] }));
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: v1 })),
    );
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSPENDING', RemoveFromVersionId: v2 }));
    expect(await labels(sm, arn)).toEqual({ [v1]: ['AWSCURRENT'], [v2]: [] });
  });

  test('AWSCURRENT can be moved but not removed; unknown versions are ResourceNotFoundException', async () => {
    const { arn, v1 } = await newSecret();
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'AWSCURRENT', RemoveFromVersionId: v1 })),
    );
    await expectRejectedWithoutChange(sm, arn, 'ResourceNotFoundException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'X', MoveToVersionId: token() })),
    );
    await expectRejectedWithoutChange(sm, arn, 'InvalidParameterException', () =>
      sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: 'X' })),
    );
  });
});

describe('GetSecretValue', () => {
  test('without VersionId or VersionStage it returns AWSCURRENT, with ARN, Name, VersionId, value, VersionStages, CreatedDate', async () => {
    const { arn, v1 } = await newSecret('{"password":"one"}');
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: token(), SecretString: 'pending', VersionStages: ['AWSPENDING'] }));
    const got = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(got).toMatchObject({ ARN: arn, VersionId: v1, SecretString: '{"password":"one"}', VersionStages: ['AWSCURRENT'] });
    expect(got.Name).toMatch(/^conf\/[a-z0-9]{1,8}$/);
    expect(arn).toMatch(new RegExp(`:secret:${got.Name}-[A-Za-z0-9]{6}$`));
    expect(got.CreatedDate).toBeInstanceOf(Date);
    expect(got.SecretBinary).toBeUndefined();
  });

  test('VersionId and VersionStage together must name the same version, else InvalidRequestException', async () => {
    const { arn, v1 } = await newSecret();
    const v2 = token();
    await sm.send(new PutSecretValueCommand({ SecretId: arn, ClientRequestToken: v2, SecretString: 'p', VersionStages: ['AWSPENDING'] }));
    expect((await sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v2, VersionStage: 'AWSPENDING' }))).SecretString).toBe('p');
    await expectRejectedWithoutChange(sm, arn, 'InvalidRequestException', () =>
      sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: v1, VersionStage: 'AWSPENDING' })),
    );
  });

  test('a stage on no version, or an unknown version, is ResourceNotFoundException', async () => {
    const { arn } = await newSecret();
    const e = await expectRejectedWithoutChange(sm, arn, 'ResourceNotFoundException', () =>
      sm.send(new GetSecretValueCommand({ SecretId: arn, VersionStage: 'AWSPENDING' })),
    );
    expect(e.message).toBe("Secrets Manager can't find the specified secret value for staging label: AWSPENDING");
    await expectRejectedWithoutChange(sm, arn, 'ResourceNotFoundException', () =>
      sm.send(new GetSecretValueCommand({ SecretId: arn, VersionId: token() })),
    );
    await expect(sm.send(new GetSecretValueCommand({ SecretId: uniqueName('missing') }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  test('binary values come back as bytes', async () => {
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    const out = await sm.send(new CreateSecretCommand({ Name: uniqueName(), SecretBinary: bytes, ClientRequestToken: token() }));
    const got = await sm.send(new GetSecretValueCommand({ SecretId: out.ARN }));
    expect(Buffer.from(got.SecretBinary!)).toEqual(bytes);
    expect(got.SecretString).toBeUndefined();
  });

  test("updates the secret's LastAccessedDate, at day resolution (midnight UTC)", async () => {
    const { arn } = await newSecret();
    expect((await sm.send(new DescribeSecretCommand({ SecretId: arn }))).LastAccessedDate).toBeUndefined();
    await sm.send(new GetSecretValueCommand({ SecretId: arn }));
    const d = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
    const midnight = new Date(clock.now());
    midnight.setUTCHours(0, 0, 0, 0);
    expect(d.LastAccessedDate).toEqual(midnight);
    const versions = await sm.send(new ListSecretVersionIdsCommand({ SecretId: arn }));
    expect(versions.Versions![0].LastAccessedDate).toEqual(midnight);
  });

  test('a secret can be found by name, full ARN or partial ARN (without the random suffix)', async () => {
    const name = uniqueName('byid');
    const out = await sm.send(new CreateSecretCommand({ Name: name, SecretString: 's', ClientRequestToken: token() }));
    expect(out.ARN).toMatch(new RegExp(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-[A-Za-z0-9]{6}$`));
    for (const id of [name, out.ARN!, out.ARN!.slice(0, -7)]) {
      expect((await sm.send(new GetSecretValueCommand({ SecretId: id }))).SecretString).toBe('s');
    }
  });
});
