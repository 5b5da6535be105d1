import { CreateSecretCommand, PutSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { LocalSecretsManager } from '../../local';
import { fakeSigV4Headers, rawCall, rawSocketExchange, startLocal, token, uniqueName } from './local-test-kit';

/*
 * Requests the SDK would never send: each gets a clear AWS-shaped error
 * (HTTP status, `__type`, `x-amzn-ErrorType`, message), and the server stays up.
 */

let local: LocalSecretsManager;
let sm: SecretsManagerClient;
let secretArn: string;

beforeAll(async () => {
  ({ local, sm } = await startLocal());
  secretArn = (await sm.send(new CreateSecretCommand({ Name: uniqueName('bad'), SecretString: 's', ClientRequestToken: token() }))).ARN!;
});
afterAll(async () => {
  sm.destroy();
  await local.stop();
});

afterEach(async () => {
  const health = await fetch(`${local.endpoint}/_rotor/health`);
  expect(health.status).toBe(200);
});

function expectError(res: { status: number; json: Record<string, unknown>; headers: Headers }, status: number, type: string, message?: RegExp): void {
  expect({ status: res.status, type: res.json.__type }).toEqual({ status, type });
  expect(res.headers.get('x-amzn-errortype')).toBe(type);
  expect(res.headers.get('content-type')).toBe('application/x-amz-json-1.1');
  expect(typeof res.json.message).toBe('string');
  if (message) expect(res.json.message).toMatch(message);
}

const GET = 'secretsmanager.GetSecretValue';

describe('authentication', () => {
  test('an unsigned request is MissingAuthenticationTokenException', async () => {
    expectError(await rawCall(local.endpoint, GET, JSON.stringify({ SecretId: secretArn }), { unsigned: true }), 400, 'MissingAuthenticationTokenException');
  });

  test.each([
    ['another scheme', 'Bearer abc', 'IncompleteSignatureException', /algorithm/],
    ['no Credential', 'AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64), 'IncompleteSignatureException', /Credential/],
    ['no Signature', 'AWS4-HMAC-SHA256 Credential=a/20300101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host', 'IncompleteSignatureException', /Signature/],
    ['a short Credential', 'AWS4-HMAC-SHA256 Credential=a/us-east-1, SignedHeaders=host, Signature=' + '0'.repeat(64), 'IncompleteSignatureException', /Credential/],
    ['a malformed Signature', 'AWS4-HMAC-SHA256 Credential=a/{d}/us-east-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=xyz', 'IncompleteSignatureException', /Signature/],
    ['host not signed', 'AWS4-HMAC-SHA256 Credential=a/{d}/us-east-1/secretsmanager/aws4_request, SignedHeaders=x-amz-date, Signature=' + '0'.repeat(64), 'IncompleteSignatureException', /Host/],
    ['another service', 'AWS4-HMAC-SHA256 Credential=a/{d}/us-east-1/kms/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64), 'InvalidSignatureException', /secretsmanager/],
    ['another Region', 'AWS4-HMAC-SHA256 Credential=a/{d}/eu-west-1/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=' + '0'.repeat(64), 'InvalidSignatureException', /eu-west-1/],
  ])('an Authorization header with %s is refused', async (_what, header, type, message) => {
    const signed = fakeSigV4Headers();
    const auth = header.replace('{d}', signed['X-Amz-Date'].slice(0, 8));
    expectError(await rawCall(local.endpoint, GET, JSON.stringify({ SecretId: secretArn }), { headers: { Authorization: auth } }), 400, type, message);
  });

  test('a signature more than 15 minutes old is InvalidSignatureException; no X-Amz-Date is IncompleteSignatureException', async () => {
    const old = fakeSigV4Headers('us-east-1', new Date(Date.now() - 20 * 60 * 1000));
    expectError(await rawCall(local.endpoint, GET, JSON.stringify({ SecretId: secretArn }), { headers: old }), 400, 'InvalidSignatureException', /expired/);
    const res = await fetch(`${local.endpoint}/`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': GET, Authorization: fakeSigV4Headers().Authorization },
      body: JSON.stringify({ SecretId: secretArn }),
    });
    expect(((await res.json()) as { __type: string }).__type).toBe('IncompleteSignatureException');
  });
});

describe('protocol', () => {
  test('an unknown or missing operation is UnknownOperationException', async () => {
    expectError(await rawCall(local.endpoint, 'secretsmanager.DropAllSecrets', '{}'), 400, 'UnknownOperationException');
    expectError(await rawCall(local.endpoint, 'kms.Decrypt', '{}'), 400, 'UnknownOperationException');
    expectError(await rawCall(local.endpoint, undefined, '{}'), 400, 'UnknownOperationException');
    expectError(await rawCall(local.endpoint, GET, '', { method: 'GET' }), 400, 'UnknownOperationException');
    expectError(await rawCall(local.endpoint, GET, '{}', { headers: { 'Content-Type': 'application/json' } }), 400, 'UnknownOperationException', /x-amz-json-1.1/);
  });

  test.each([
    ['not JSON', '{"SecretId": '],
    ['empty', ''],
    ['an array', '[1,2]'],
    ['a string', '"SecretId"'],
  ])('a body that is %s is SerializationException', async (_what, body) => {
    expectError(await rawCall(local.endpoint, GET, body), 400, 'SerializationException');
  });

  test.each([
    ['SecretId', { SecretId: 42 }],
    ['SecretString', { SecretId: 'x', ClientRequestToken: 'a'.repeat(36), SecretString: { nested: true } }],
    ['VersionStages', { SecretId: 'x', ClientRequestToken: 'a'.repeat(36), SecretString: 's', VersionStages: 'AWSCURRENT' }],
    ['VersionStages member', { SecretId: 'x', ClientRequestToken: 'a'.repeat(36), SecretString: 's', VersionStages: [1] }],
    ['SecretBinary', { SecretId: 'x', ClientRequestToken: 'a'.repeat(36), SecretBinary: 'not base64!' }],
  ])('a wrong JSON type for %s is SerializationException', async (_member, body) => {
    expectError(await rawCall(local.endpoint, 'secretsmanager.PutSecretValue', JSON.stringify(body)), 400, 'SerializationException');
  });

  test('a wrong type for a number or boolean is SerializationException', async () => {
    expectError(await rawCall(local.endpoint, 'secretsmanager.GetRandomPassword', JSON.stringify({ PasswordLength: '32' })), 400, 'SerializationException');
    expectError(await rawCall(local.endpoint, 'secretsmanager.GetRandomPassword', JSON.stringify({ PasswordLength: 3.5 })), 400, 'SerializationException');
    expectError(await rawCall(local.endpoint, 'secretsmanager.GetRandomPassword', JSON.stringify({ IncludeSpace: 'yes' })), 400, 'SerializationException');
  });

  test('a missing required member is ValidationException naming it', async () => {
    const res = await rawCall(local.endpoint, GET, '{}');
    expectError(res, 400, 'ValidationException', /Value null at 'secretId' failed to satisfy constraint: Member must not be null/);
  });

  test('several constraint violations are reported together', async () => {
    const res = await rawCall(
      local.endpoint,
      'secretsmanager.PutSecretValue',
      JSON.stringify({ SecretId: secretArn, ClientRequestToken: 'short', SecretString: 's', VersionStages: Array(21).fill('L') }),
    );
    expectError(res, 400, 'ValidationException', /^2 validation errors detected: /);
    expect(res.json.message).toMatch(/'clientRequestToken'.*length greater than or equal to 32/);
    expect(res.json.message).toMatch(/'versionStages'.*length less than or equal to 20/);
  });

  test('a raw PutSecretValue without ClientRequestToken is InvalidRequestException (the SDKs fill it in)', async () => {
    const res = await rawCall(local.endpoint, 'secretsmanager.PutSecretValue', JSON.stringify({ SecretId: secretArn, SecretString: 's' }));
    expectError(res, 400, 'InvalidRequestException', /ClientRequestToken/);
    const rot = await rawCall(local.endpoint, 'secretsmanager.RotateSecret', JSON.stringify({ SecretId: secretArn }));
    expectError(rot, 400, 'InvalidParameterException', /ClientRequestToken/);
  });

  test('oversized values through the SDK: ValidationException, and the value is not echoed', async () => {
    const e = await sm.send(new PutSecretValueCommand({ SecretId: secretArn, ClientRequestToken: token(), SecretString: 'S'.repeat(70_000) })).catch((x: Error) => x);
    expect((e as Error).name).toBe('ValidationException');
    expect((e as Error).message).not.toContain('SSSS');
  });

  test('a body over 2 MB is refused with 413 and the connection closed', async () => {
    const res = await rawCall(local.endpoint, 'secretsmanager.PutSecretValue', JSON.stringify({ SecretId: secretArn, SecretString: 'x'.repeat(3 * 1024 * 1024) }));
    expectError(res, 413, 'RequestEntityTooLargeException');
  });

  test('garbage that is not HTTP gets a 400 and does not hurt the server', async () => {
    const reply = await rawSocketExchange(local.endpoint, 'HELLO \x00\x01 NOT HTTP\r\n\r\n');
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
  });

  test('control routes: unknown path is 404, bad fault spec is 400', async () => {
    expect((await fetch(`${local.endpoint}/_rotor/nothing`)).status).toBe(404);
    const json = { 'Content-Type': 'application/json' };
    const bad = await fetch(`${local.endpoint}/_rotor/faults`, { method: 'POST', headers: json, body: JSON.stringify({ inject: { op: 'GetSecretValue', probability: 7 } }) });
    expect(bad.status).toBe(400);
    expect((await fetch(`${local.endpoint}/_rotor/faults`, { method: 'POST', headers: json, body: '{not json' })).status).toBe(400);
  });
});
