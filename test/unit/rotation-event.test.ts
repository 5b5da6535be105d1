import { parseRotationEvent } from '../../lambda/rotation/event';
import { RotationError } from '../../lambda/core/errors';

const TOKEN = '0123456789abcdef0123456789abcdef';
const ok = { Step: 'createSecret', SecretId: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:x-AbCdEf', ClientRequestToken: TOKEN };

describe('parseRotationEvent', () => {
  test('accepts a Secrets Manager event and keeps RotationToken', () => {
    expect(parseRotationEvent({ ...ok, RotationToken: 'opaque' })).toEqual({
      step: 'createSecret', secretId: ok.SecretId, token: TOKEN, rotationToken: 'opaque',
    });
  });

  test.each([
    ['not an object', 'x', /not a JSON object/],
    ['array', [], /not a JSON object/],
    ['null', null, /not a JSON object/],
    ['unknown step', { ...ok, Step: 'dropDatabase' }, /unknown Step "dropDatabase"/],
    ['missing step', { ...ok, Step: undefined }, /no Step/],
    ['numeric step', { ...ok, Step: 3 }, /no Step/],
    ['missing secret', { ...ok, SecretId: undefined }, /no valid SecretId/],
    ['empty secret', { ...ok, SecretId: '' }, /no valid SecretId/],
    ['short token', { ...ok, ClientRequestToken: 'abc' }, /ClientRequestToken/],
    ['long token', { ...ok, ClientRequestToken: 'a'.repeat(65) }, /ClientRequestToken/],
    ['token with space', { ...ok, ClientRequestToken: `${TOKEN} x` }, /ClientRequestToken/],
    ['rotation token wrong type', { ...ok, RotationToken: 5 }, /RotationToken/],
  ])('rejects %s with a configuration error', (_name, event, re) => {
    let err: unknown;
    try {
      parseRotationEvent(event);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RotationError);
    expect((err as RotationError).category).toBe('configuration');
    expect((err as RotationError).message).toMatch(re);
    expect((err as RotationError).message).toMatch(/invoked by Secrets Manager/);
  });
});
