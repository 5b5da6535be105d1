import { CreateSecretCommand, GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClient as Client } from '@aws-sdk/client-secrets-manager';
import { localClientConfig, type LocalSecretsManager } from '../../local';
import { startLocal, token, uniqueName } from './local-test-kit';

/* Rate limits and injected faults, through the API and the /_rotor/faults control route. */

let local: LocalSecretsManager;
let sm: Client;
let arn: string;

beforeAll(async () => {
  ({ local, sm } = await startLocal());
  arn = (await sm.send(new CreateSecretCommand({ Name: uniqueName('faults'), SecretString: 's', ClientRequestToken: token() }))).ARN!;
});
afterEach(() => local.faults.clear());
afterAll(async () => {
  sm.destroy();
  await local.stop();
});

const get = () => sm.send(new GetSecretValueCommand({ SecretId: arn }));

test('a rate limit answers ThrottlingException beyond the allowed TPS, for that operation only', async () => {
  local.faults.setRateLimit('GetSecretValue', 5);
  const results = await Promise.allSettled(Array.from({ length: 20 }, get));
  const throttled = results.filter((r) => r.status === 'rejected');
  expect(throttled.length).toBeGreaterThanOrEqual(10);
  for (const r of throttled) expect((r as PromiseRejectedResult).reason).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  // Other operations are not limited.
  await sm.send(new CreateSecretCommand({ Name: uniqueName('free'), SecretString: 's', ClientRequestToken: token() }));
  // The bucket refills.
  await new Promise((resolve) => setTimeout(resolve, 400));
  await get();
  local.faults.setRateLimit('GetSecretValue', undefined);
  await Promise.all(Array.from({ length: 20 }, get));
});

test('an injected InternalServiceError (HTTP 500) is seen by a client without retries; the SDK default retries recover from it', async () => {
  local.faults.inject({ op: 'GetSecretValue', error: 'InternalServiceError', times: 1 });
  await expect(get()).rejects.toMatchObject({ name: 'InternalServiceError', $fault: 'server', $metadata: { httpStatusCode: 500 } });
  await expect(get()).resolves.toMatchObject({ SecretString: 's' }); // times: 1
  local.faults.inject({ op: 'GetSecretValue', error: 'InternalServiceError', times: 2 });
  const retrying = new SecretsManagerClient({ ...localClientConfig(local.endpoint, local.region), maxAttempts: 3 });
  try {
    const out = await retrying.send(new GetSecretValueCommand({ SecretId: arn }));
    expect(out.$metadata.attempts).toBe(3);
  } finally {
    retrying.destroy();
  }
});

test('an injected delay slows the answer; probability 0 never fires; "*" matches every operation', async () => {
  local.faults.inject({ op: 'GetSecretValue', delayMs: 250 });
  const t0 = Date.now();
  await get();
  expect(Date.now() - t0).toBeGreaterThanOrEqual(240);
  local.faults.clear();
  local.faults.inject({ op: '*', error: 'ThrottlingException', probability: 0 });
  await get();
  local.faults.clear();
  local.faults.inject({ op: '*', error: 'ServiceUnavailable', times: 1, message: 'try later' });
  await expect(get()).rejects.toMatchObject({ name: 'ServiceUnavailable', message: 'try later', $metadata: { httpStatusCode: 503 } });
});

test('the /_rotor/faults control route sets, lists and clears faults and rate limits', async () => {
  const post = await fetch(`${local.endpoint}/_rotor/faults`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ rateLimits: { DescribeSecret: 2 }, inject: [{ op: 'GetSecretValue', error: 'ThrottlingException', times: 1 }] }),
  });
  expect(post.status).toBe(200);
  expect(await post.json()).toEqual({ rateLimits: { DescribeSecret: 2 }, faults: [{ op: 'GetSecretValue', error: 'ThrottlingException', times: 1 }] });
  await expect(get()).rejects.toMatchObject({ name: 'ThrottlingException' });
  await get();
  expect((await fetch(`${local.endpoint}/_rotor/faults`, { method: 'DELETE' })).status).toBe(200);
  expect(await (await fetch(`${local.endpoint}/_rotor/faults`)).json()).toEqual({ rateLimits: {}, faults: [] });
});

test('the events and health control routes answer JSON', async () => {
  const health = (await (await fetch(`${local.endpoint}/_rotor/health`)).json()) as Record<string, unknown>;
  expect(health).toMatchObject({ status: 'ok', region: 'us-east-1', accountId: '000000000000' });
  const events = (await (await fetch(`${local.endpoint}/_rotor/events?secretId=${encodeURIComponent(arn)}`)).json()) as { events: unknown[] };
  expect(events.events).toEqual([]);
});
