import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { localClientConfig, type LocalSecretsManager } from '../../local';
import { SecretCache, SecretCacheError, connectWithRotation, latePassword, parseDatabaseCredential, AWSCURRENT, AWSPENDING } from '../../client';
import { startLocal, uniqueName } from '../local/local-test-kit';

/**
 * The cache against the real SDK and the local Secrets Manager endpoint.
 * `cacheSm`, the cache's client, records every call it sends (answered or
 * failed); `sm` sets the scene.
 */
let local: LocalSecretsManager;
let sm: SecretsManagerClient;
let cacheSm: SecretsManagerClient;
let calls: string[];

beforeAll(async () => {
  ({ local, sm } = await startLocal());
  cacheSm = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 1 });
  cacheSm.middlewareStack.add((next, context) => async (args) => {
    calls.push(String(context.commandName).replace(/Command$/, ''));
    return next(args);
  }, { step: 'initialize' });
});
afterAll(async () => {
  await local?.stop();
});
beforeEach(() => {
  calls = [];
  local.faults.clear();
});

const count = (op: string) => calls.filter((c) => c === op).length;

class Clock {
  t = 1_000_000;
  now = () => this.t;
}

async function secret(value: Record<string, unknown>): Promise<string> {
  return (await sm.send(new CreateSecretCommand({ Name: uniqueName('client'), SecretString: JSON.stringify(value) }))).ARN!;
}

/** Puts a new version and moves AWSCURRENT to it (what finishSecret does). */
async function putCurrent(arn: string, value: Record<string, unknown>): Promise<string> {
  const out = await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(value) }));
  return out.VersionId!;
}

const db = (password: string, username = 'app') => ({ engine: 'postgres', host: 'db.example', port: 5432, username, password });

describe('TTL', () => {
  test('a value is reused within the TTL and refreshed after it; the refresh asks DescribeSecret first', async () => {
    const clock = new Clock();
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000, now: clock.now });
    const arn = await secret(db('one'));
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('one');
    expect(calls).toEqual(['GetSecretValue']);

    clock.t += 59_999;
    await cache.getSecretString(arn);
    expect(calls).toEqual(['GetSecretValue']);

    // Expired, unchanged: DescribeSecret says AWSCURRENT is still the cached version - no GetSecretValue.
    clock.t += 2;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('one');
    expect(calls).toEqual(['GetSecretValue', 'DescribeSecret']);

    // Expired, changed: DescribeSecret, then GetSecretValue of the new version only.
    const v2 = await putCurrent(arn, db('two'));
    calls = [];
    clock.t += 60_001;
    const got = await cache.getVersion(arn);
    expect(got?.versionId).toBe(v2);
    expect(JSON.parse(got!.secretString).password).toBe('two');
    expect(calls).toEqual(['DescribeSecret', 'GetSecretValue']);
  });

  test('a version already cached as AWSPENDING costs no GetSecretValue when it becomes AWSCURRENT', async () => {
    const clock = new Clock();
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000, now: clock.now });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    const pending = await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(db('two')), VersionStages: [AWSPENDING] }));
    clock.t += 60_001;
    expect(JSON.parse((await cache.getSecretString(arn, AWSPENDING))).password).toBe('two');
    const current = (await cache.getVersion(arn))!.versionId;
    await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: AWSCURRENT, MoveToVersionId: pending.VersionId, RemoveFromVersionId: current }));
    calls = [];
    clock.t += 60_001;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('two');
    expect(calls).toEqual(['DescribeSecret']);
  });
});

describe('without secretsmanager:DescribeSecret', () => {
  test('a refresh that is refused DescribeSecret (AccessDeniedException) reads by label from then on, AWSPENDING included', async () => {
    const clock = new Clock();
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000, now: clock.now });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    local.faults.inject({ op: 'DescribeSecret', error: 'AccessDeniedException' });
    await putCurrent(arn, db('two'));
    calls = [];
    clock.t += 60_001;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('two');
    expect(calls).toEqual(['DescribeSecret', 'GetSecretValue']);
    calls = [];
    clock.t += 60_001;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('two');
    expect(calls).toEqual(['GetSecretValue']);
    expect(await cache.getVersion(arn, AWSPENDING)).toBeUndefined();

    // The single-user window, read by label.
    await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(db('three')), VersionStages: [AWSPENDING] }));
    const AUTH = Object.assign(new Error('password authentication failed'), { code: '28P01' });
    const stages: string[] = [];
    const out = await connectWithRotation({ cache, secretId: arn, onAuthRetry: (i) => stages.push(i.stage) }, async (a) => {
      if (a.credential.password !== 'three') throw AUTH;
      return a.credential.password;
    }, (e) => e === AUTH);
    expect(out).toBe('three');
    expect(stages).toEqual([AWSPENDING]);
  });
});

describe('single flight', () => {
  test('concurrent reads of a cold secret make one call; concurrent reads after the TTL make one refresh', async () => {
    const clock = new Clock();
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000, now: clock.now });
    const arn = await secret(db('one'));
    local.faults.inject({ op: '*', delayMs: 30 });
    const first = await Promise.all(Array.from({ length: 20 }, () => cache.getSecretString(arn)));
    expect(new Set(first.map((s) => JSON.parse(s).password))).toEqual(new Set(['one']));
    expect(calls).toEqual(['GetSecretValue']);

    await putCurrent(arn, db('two'));
    calls = [];
    clock.t += 60_001;
    const second = await Promise.all(Array.from({ length: 20 }, () => cache.getSecretString(arn)));
    expect(new Set(second.map((s) => JSON.parse(s).password))).toEqual(new Set(['two']));
    expect(calls).toEqual(['DescribeSecret', 'GetSecretValue']);
  });

  test('many revalidations after the same failure make one DescribeSecret', async () => {
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000 });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    calls = [];
    const since = cache.mark();
    local.faults.inject({ op: '*', delayMs: 30 });
    await Promise.all(Array.from({ length: 20 }, () => cache.revalidate(arn, since)));
    expect(calls).toEqual(['DescribeSecret']);
  });
});

describe('stale on error', () => {
  test.each(['ThrottlingException', 'InternalServiceError'])('%s: the stale value is served, and Secrets Manager is left alone for the back-off', async (error) => {
    const clock = new Clock();
    const cache = new SecretCache({ client: cacheSm, ttlMs: 60_000, errorBackoffMs: 10_000, now: clock.now });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    await putCurrent(arn, db('two'));
    local.faults.inject({ op: '*', error });
    calls = [];
    clock.t += 60_001;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('one');
    expect(calls).toEqual(['DescribeSecret']);
    expect(cache.stats().staleServed).toBe(1);

    // Within the back-off: no call at all.
    clock.t += 5_000;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('one');
    expect(calls).toEqual(['DescribeSecret']);

    // After it, with the service back: the new value.
    local.faults.clear();
    clock.t += 5_001;
    expect(JSON.parse(await cache.getSecretString(arn)).password).toBe('two');
  });

  test('no cached value: a SecretCacheError naming the secret and the error, never a value', async () => {
    const cache = new SecretCache({ client: cacheSm });
    const arn = await secret(db('never-shown-pw'));
    local.faults.inject({ op: 'GetSecretValue', error: 'ThrottlingException', times: 1 });
    const err = await cache.getSecretString(arn).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretCacheError);
    expect((err as Error).message).toContain(arn);
    expect((err as Error).message).toContain('ThrottlingException');
    expect((err as Error).message).not.toContain('never-shown-pw');
  });
});

describe('refresh on authentication failure', () => {
  /** A stand-in for a database: accepts only `accepted` (the connect function is the test's; cache and Secrets Manager are real). */
  const AUTH = Object.assign(new Error('password authentication failed'), { code: '28P01' });
  const isAuth = (e: unknown) => e === AUTH;

  test('a refused AWSCURRENT is refreshed and retried once; many refused connects share one refresh', async () => {
    const cache = new SecretCache({ client: cacheSm, ttlMs: 3_600_000 });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    await putCurrent(arn, db('two'));
    calls = [];
    const tried: string[] = [];
    const connect = async (a: { credential: { password: string } }) => {
      tried.push(a.credential.password);
      if (a.credential.password !== 'two') throw AUTH;
      return a.credential.password;
    };
    local.faults.inject({ op: '*', delayMs: 20 });
    const out = await Promise.all(Array.from({ length: 8 }, () => connectWithRotation({ cache, secretId: arn }, connect, isAuth)));
    expect(out).toEqual(Array(8).fill('two'));
    expect(calls).toEqual(['DescribeSecret', 'GetSecretValue']);
    expect(tried.filter((p) => p === 'one')).toHaveLength(8);
  });

  test('the single-user window: AWSCURRENT refused, AWSPENDING accepted; later connects go straight to it', async () => {
    const cache = new SecretCache({ client: cacheSm, ttlMs: 3_600_000 });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(db('two')), VersionStages: [AWSPENDING] }));
    const stages: string[] = [];
    const tried: string[] = [];
    const connect = async (a: { stage: string; credential: { password: string } }) => {
      tried.push(a.credential.password);
      if (a.credential.password !== 'two') throw AUTH;
      return a.stage;
    };
    calls = [];
    expect(await connectWithRotation({ cache, secretId: arn, onAuthRetry: (i) => stages.push(i.stage) }, connect, isAuth)).toBe(AWSPENDING);
    expect(stages).toEqual([AWSPENDING]);
    expect(calls).toEqual(['DescribeSecret', 'GetSecretValue']);
    tried.length = 0;
    calls = [];
    await connectWithRotation({ cache, secretId: arn }, connect, isAuth);
    expect(tried).toEqual(['two']);
    expect(calls).toEqual([]);
  });

  test('never loops: every version refused -> the driver error after at most one AWSCURRENT and one AWSPENDING retry', async () => {
    const cache = new SecretCache({ client: cacheSm, ttlMs: 3_600_000 });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    await putCurrent(arn, db('two'));
    await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(db('three')), VersionStages: [AWSPENDING] }));
    const tried: string[] = [];
    const connect = async (a: { credential: { password: string } }) => {
      tried.push(a.credential.password);
      throw AUTH;
    };
    await expect(connectWithRotation({ cache, secretId: arn }, connect, isAuth)).rejects.toBe(AUTH);
    expect(tried).toEqual(['one', 'two', 'three']);
  });

  test('a third retry only for a version that appeared after the second was chosen (rotations back to back, the password moving on during each attempt)', async () => {
    const cache = new SecretCache({ client: cacheSm, ttlMs: 3_600_000 });
    const arn = await secret(db('one'));
    await cache.getSecretString(arn);
    const stages: string[] = [];
    const tried: string[] = [];
    let twoId = '';
    // Each step happens while the attempt that meets it is in flight, so the server refuses what the client chose.
    const moveOn: Record<string, () => Promise<void>> = {
      // A rotation finishes: AWSCURRENT is "two", and the database has it.
      one: async () => {
        twoId = await putCurrent(arn, db('two'));
      },
      // The next rotation's setSecret: AWSPENDING "three" is in the database.
      two: async () => {
        await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(db('three')), VersionStages: [AWSPENDING] }));
      },
      // It finishes, and the one after it sets "four".
      three: async () => {
        const three = (await sm.send(new DescribeSecretCommand({ SecretId: arn }))).VersionIdsToStages!;
        const threeId = Object.keys(three).find((id) => three[id].includes(AWSPENDING))!;
        await sm.send(new UpdateSecretVersionStageCommand({ SecretId: arn, VersionStage: AWSCURRENT, MoveToVersionId: threeId, RemoveFromVersionId: twoId }));
        await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: JSON.stringify(db('four')), VersionStages: [AWSPENDING] }));
      },
    };
    const connect = async (a: { credential: { password: string } }) => {
      const pw = a.credential.password;
      tried.push(pw);
      if (pw === 'four') return pw;
      await moveOn[pw]();
      throw AUTH;
    };
    expect(await connectWithRotation({ cache, secretId: arn, onAuthRetry: (i) => stages.push(i.stage) }, connect, isAuth)).toBe('four');
    expect(tried).toEqual(['one', 'two', 'three', 'four']);
    expect(stages).toEqual([AWSCURRENT, AWSPENDING, AWSPENDING]);
  });

  test('errors that are not authentication failures are not retried', async () => {
    const cache = new SecretCache({ client: cacheSm });
    const arn = await secret(db('one'));
    const other = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    let n = 0;
    await expect(connectWithRotation({ cache, secretId: arn }, async () => {
      n++;
      throw other;
    }, isAuth)).rejects.toBe(other);
    expect(n).toBe(1);
  });

  test('the password is chosen when the driver asks: a version refused meanwhile is replaced by the newest usable one of the same user', async () => {
    const cache = new SecretCache({ client: cacheSm });
    const arn = await secret(db('one'));
    const v0 = (await cache.getVersion(arn))!;
    const attempt = { stage: AWSCURRENT, versionId: v0.versionId, credential: parseDatabaseCredential(v0.secretString, arn) };
    expect(latePassword({ cache, secretId: arn }, attempt)).toBe('one');
    await putCurrent(arn, db('two'));
    await cache.revalidate(arn, cache.mark());
    // Not refused: the attempt keeps its version.
    expect(latePassword({ cache, secretId: arn }, attempt)).toBe('one');
    // Another connection was refused with it: the newer version of the same user goes out, and the attempt records it.
    cache.markRefused(arn, v0.versionId);
    expect(latePassword({ cache, secretId: arn }, attempt)).toBe('two');
    expect(attempt.versionId).toBe(cache.peek(arn)!.versionId);
    // Another user's version is never sent under this user's name.
    const other = { stage: AWSCURRENT, versionId: attempt.versionId, credential: { ...attempt.credential, username: 'someone_else', password: 'x' } };
    cache.markRefused(arn, attempt.versionId);
    expect(latePassword({ cache, secretId: arn }, other)).toBe('x');
  });
});
