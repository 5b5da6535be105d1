import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalSecretsManager } from '../../local';
import { fakeRotationHandler, labels, startLocal, token, uniqueName } from './local-test-kit';

/* State in a JSON file: loaded at start, written atomically after every change. */

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rotor-local-state-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('state survives stop and start: secrets, ARNs, versions, labels, values, tags, rotation settings', async () => {
  const statePath = path.join(dir, 'state.json');
  const first = await startLocal({ statePath, rotation: { maxAttempts: 1 } });
  const name = uniqueName('kept');
  const created = await first.sm.send(
    new CreateSecretCommand({ Name: name, SecretString: '{"password":"one"}', ClientRequestToken: token(), Tags: [{ Key: 'team', Value: 'x' }] }),
  );
  await first.sm.send(new PutSecretValueCommand({ SecretId: name, ClientRequestToken: token(), SecretBinary: Buffer.from([1, 2, 3]) }));
  await first.sm.send(new TagResourceCommand({ SecretId: name, Tags: [{ Key: 'env', Value: 'dev' }] }));
  const fn = first.local.lambdaArn('persist');
  first.local.registerRotationFunction(fn, { kind: 'in-process', handler: fakeRotationHandler(first.sm) });
  await first.sm.send(new CreateSecretCommand({ Name: `${name}-r`, SecretString: '{"password":"p"}', ClientRequestToken: token() }));
  const rot = await first.sm.send(new RotateSecretCommand({ SecretId: `${name}-r`, RotationLambdaARN: fn, RotationRules: { AutomaticallyAfterDays: 5 } }));
  await first.local.waitForRotation(`${name}-r`, { versionId: rot.VersionId });
  const before = {
    describe: await first.sm.send(new DescribeSecretCommand({ SecretId: name })),
    rotated: await first.sm.send(new DescribeSecretCommand({ SecretId: `${name}-r` })),
    labels: await labels(first.sm, name),
  };
  first.sm.destroy();
  await first.local.stop();
  expect(statSync(statePath).mode & 0o777).toBe(0o600);

  const second = await startLocal({ statePath });
  try {
    const describe = await second.sm.send(new DescribeSecretCommand({ SecretId: created.ARN }));
    expect({ ...describe, $metadata: undefined }).toEqual({ ...before.describe, $metadata: undefined });
    expect({ ...(await second.sm.send(new DescribeSecretCommand({ SecretId: `${name}-r` }))), $metadata: undefined }).toEqual({
      ...before.rotated,
      $metadata: undefined,
    });
    expect(await labels(second.sm, name)).toEqual(before.labels);
    expect(Buffer.from((await second.sm.send(new GetSecretValueCommand({ SecretId: name }))).SecretBinary!)).toEqual(Buffer.from([1, 2, 3]));
    expect((await second.sm.send(new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }))).SecretString).toBe('{"password":"one"}');
  } finally {
    second.sm.destroy();
    await second.local.stop();
  }
});

test('the file is never half-written: a reader parsing it during a burst of writes always sees valid JSON', async () => {
  const statePath = path.join(dir, 'state.json');
  const { local, sm } = await startLocal({ statePath });
  try {
    const { ARN } = await sm.send(new CreateSecretCommand({ Name: uniqueName('burst'), SecretString: 'x'.repeat(20_000), ClientRequestToken: token() }));
    let reads = 0;
    let stop = false;
    const reader = (async () => {
      while (!stop) {
        const text = readFileSync(statePath, 'utf8');
        expect(() => JSON.parse(text)).not.toThrow();
        reads++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await Promise.all(
      Array.from({ length: 60 }, (_, i) => sm.send(new PutSecretValueCommand({ SecretId: ARN, ClientRequestToken: token(), SecretString: `${i}`.repeat(20_000) }))),
    );
    stop = true;
    await reader;
    expect(reads).toBeGreaterThan(10);
    // Every acknowledged write is on disk, and no temporary file is left behind.
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { secrets: { versions: unknown[] }[] };
    expect(state.secrets[0].versions).toHaveLength(61);
    expect(readdirSync(dir)).toEqual(['state.json']);
  } finally {
    sm.destroy();
    await local.stop();
  }
});

test('a state file that is not valid state stops the start with a clear error', async () => {
  const statePath = path.join(dir, 'state.json');
  writeFileSync(statePath, '{"formatVersion": 1, "secrets": [');
  await expect(LocalSecretsManager.start({ port: 0, statePath })).rejects.toThrow(/not valid JSON/);
  writeFileSync(statePath, '{"hello": "world"}');
  await expect(LocalSecretsManager.start({ port: 0, statePath })).rejects.toThrow(/not a rotor local state file/);
});

test('a state path in a folder that does not exist yet (the README\'s .tmp/secrets.json on a fresh clone): the folder is made, the file written at start, every change saved', async () => {
  const statePath = path.join(dir, 'not', 'yet', 'secrets.json');
  const { local, sm } = await startLocal({ statePath });
  try {
    expect(statSync(path.dirname(statePath)).mode & 0o777).toBe(0o700);
    expect(JSON.parse(readFileSync(statePath, 'utf8'))).toMatchObject({ formatVersion: 1, secrets: [] });
    const name = uniqueName('fresh');
    await sm.send(new CreateSecretCommand({ Name: name, SecretString: '{"password":"one"}', ClientRequestToken: token() }));
    expect(JSON.parse(readFileSync(statePath, 'utf8')).secrets.map((s: { name: string }) => s.name)).toEqual([name]);
  } finally {
    sm.destroy();
    await local.stop();
  }
});

test('a state path that cannot be written stops the start with its reason, instead of failing every change later', async () => {
  const blocker = path.join(dir, 'a-file');
  writeFileSync(blocker, 'not a folder');
  await expect(LocalSecretsManager.start({ port: 0, statePath: path.join(blocker, 'secrets.json') }))
    .rejects.toThrow(/state file .*a-file\/secrets\.json cannot be written \(.*\); choose another --state path/);
});
