import { arrayAt, eventBridgeId, isObject, isSecretArn, objectAt, optionalArray, optionalObject, optionalString, parseSecretId, parseTagFilters, stringAt } from '../../lambda/trigger/events/fields';
import { GLOBAL_EVENTS_REGION, ScopeCheck, parseArn, scopeFromFunctionArn } from '../../lambda/trigger/events/scope';
import { InvalidTriggerEventError } from '../../lambda/trigger/events/trigger-request';
import { thrownError } from '../support/rotation-error';

/**
 * The trigger's readers for untrusted event JSON (lambda/trigger/events/fields.ts)
 * and its account/Region scope (scope.ts). Every refusal is an invalid-event
 * error naming the path, never the value.
 */
const refused = (fn: () => unknown, message: RegExp) => {
  const e = thrownError(InvalidTriggerEventError, fn);
  expect(e.category).toBe('invalid-event');
  expect(e.message).toMatch(message);
  expect(e.action).toBe('Fix the event producer; this event is not retried.');
  return e;
};

describe('field readers', () => {
  test('objects: arrays and null are not objects', () => {
    expect(isObject({})).toBe(true);
    for (const v of [null, [], 'x', 1, undefined]) expect(isObject(v)).toBe(false);
    expect(objectAt({ a: 1 }, 'p')).toEqual({ a: 1 });
    refused(() => objectAt([], 'detail.x'), /^\[invalid-event\] detail\.x must be an object\./);
    expect(optionalObject(undefined, 'p')).toBeUndefined();
    expect(optionalObject(null, 'p')).toBeUndefined();
    refused(() => optionalObject('s', 'p.q'), /p\.q must be an object/);
  });

  test('strings: non-empty, at most max characters (2048 by default)', () => {
    expect(stringAt('a', 'p')).toBe('a');
    expect(stringAt('x'.repeat(2048), 'p')).toHaveLength(2048);
    refused(() => stringAt('x'.repeat(2049), 'p'), /p is longer than 2048 characters/);
    expect(stringAt('xyz', 'p', 3)).toBe('xyz');
    refused(() => stringAt('wxyz', 'p', 3), /p is longer than 3 characters/);
    refused(() => stringAt('', 'p'), /p must be a non-empty string/);
    refused(() => stringAt(5, 'p'), /p must be a non-empty string/);
    expect(optionalString(undefined, 'p')).toBeUndefined();
    expect(optionalString(null, 'p')).toBeUndefined();
    expect(optionalString('v', 'p')).toBe('v');
    refused(() => optionalString('abc', 'p', 2), /longer than 2/);
    refused(() => optionalString('x'.repeat(2049), 'p'), /longer than 2048/);
  });

  test('arrays: at most max entries', () => {
    expect(arrayAt([1, 2], 'p', 2)).toEqual([1, 2]);
    refused(() => arrayAt([1, 2, 3], 'p', 2), /p has more than 2 entries/);
    refused(() => arrayAt({}, 'p', 2), /p must be an array/);
    expect(optionalArray(undefined, 'p', 1)).toBeUndefined();
    expect(optionalArray(null, 'p', 1)).toBeUndefined();
    refused(() => optionalArray([1, 2], 'p', 1), /more than 1 entries/);
  });

  test('the EventBridge id: a string of at most 256 characters', () => {
    expect(eventBridgeId({ id: 'abc' })).toBe('abc');
    expect(eventBridgeId({ id: 'i'.repeat(256) })).toHaveLength(256);
    refused(() => eventBridgeId({ id: 'i'.repeat(257) }), /^\[invalid-event\] id is longer than 256/);
    refused(() => eventBridgeId({}), /id must be a non-empty string/);
  });

  test('messages never carry the value', () => {
    const e = thrownError(InvalidTriggerEventError, () => parseSecretId('secret value with spaces', 'detail.secretIds[0]'));
    expect(e.message).not.toContain('secret value');
  });
});

describe('tag filters', () => {
  test('1-10 filters of 1-20 values in Secrets Manager tag syntax', () => {
    expect(parseTagFilters([{ key: 'env', values: ['prod', ''] }, { key: 'a:b/c=d+e-f@g_h.i', values: ['x y'] }], 'tf'))
      .toEqual([{ key: 'env', values: ['prod', ''] }, { key: 'a:b/c=d+e-f@g_h.i', values: ['x y'] }]);
    expect(parseTagFilters(Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, values: ['v'] })), 'tf')).toHaveLength(10);
    refused(() => parseTagFilters(Array.from({ length: 11 }, () => ({ key: 'k', values: ['v'] })), 'tf'), /tf has more than 10 entries/);
    refused(() => parseTagFilters([], 'tf'), /tf must name at least one tag filter/);
    refused(() => parseTagFilters(['x'], 'tf'), /tf\[0\] must be an object/);
    refused(() => parseTagFilters([{ key: 'ok', values: ['v'] }, { key: 'bad*', values: ['v'] }], 'tf'), /tf\[1\]\.key is not a valid tag key/);
    refused(() => parseTagFilters([{ key: 'k'.repeat(129), values: ['v'] }], 'tf'), /tf\[0\]\.key is longer than 128/);
    expect(parseTagFilters([{ key: 'k'.repeat(128), values: ['v'.repeat(256)] }], 'tf')[0].key).toHaveLength(128);
    refused(() => parseTagFilters([{ key: 'k', values: ['v'.repeat(257)] }], 'tf'), /tf\[0\]\.values\[0\] is not a valid tag value/);
    refused(() => parseTagFilters([{ key: 'k', values: ['ok', 5] }], 'tf'), /tf\[0\]\.values\[1\] is not a valid tag value/);
    refused(() => parseTagFilters([{ key: 'k', values: ['a;b'] }], 'tf'), /values\[0\] is not a valid tag value/);
    refused(() => parseTagFilters([{ key: 'k', values: [] }], 'tf'), /tf\[0\]\.values must list at least one value/);
    refused(() => parseTagFilters([{ key: 'k', values: Array(21).fill('v') }], 'tf'), /tf\[0\]\.values has more than 20 entries/);
    refused(() => parseTagFilters([{ key: 'k' }], 'tf'), /tf\[0\]\.values must be an array/);
    refused(() => parseTagFilters([{ key: 'k x;', values: ['v'] }], 'tf'), /key is not a valid tag key/);
  });
});

describe('secret ids', () => {
  test('a name or a Secrets Manager ARN in any partition', () => {
    for (const id of ['prod/db-1', 'a+b=c.d@e_f-g', 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-AbCdEf', 'arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:x-AbCdEf']) {
      expect(parseSecretId(id, 'p')).toBe(id);
    }
    expect(parseSecretId('n'.repeat(512), 'p')).toHaveLength(512);
    refused(() => parseSecretId('n'.repeat(513), 'p'), /p is not a secret name or ARN/);
    refused(() => parseSecretId('a b', 'p'), /p is not a secret name or ARN/);
    refused(() => parseSecretId('x\nsecret', 'p'), /not a secret name or ARN/);
    refused(() => parseSecretId('name;', 'p'), /not a secret name or ARN/);
  });

  test('isSecretArn: only a whole Secrets Manager secret ARN with a 12-digit account', () => {
    expect(isSecretArn('arn:aws:secretsmanager:us-east-1:111122223333:secret:s-AbCdEf')).toBe(true);
    expect(isSecretArn('arn:aws-us-gov:secretsmanager:us-gov-west-1:111122223333:secret:s')).toBe(true);
    expect(isSecretArn('arn:aws:secretsmanager:us-east-1:1111:secret:s')).toBe(false);
    expect(isSecretArn('arn:aws:ssm:us-east-1:111122223333:secret:s')).toBe(false);
    expect(isSecretArn('arn:aws:secretsmanager:us-east-1:111122223333:key:s')).toBe(false);
    expect(isSecretArn('xarn:aws:secretsmanager:us-east-1:111122223333:secret:s')).toBe(false);
    expect(isSecretArn('arn:aws:secretsmanager:us-east-1:111122223333:secret:s x')).toBe(false);
    expect(isSecretArn('arn:gcp:secretsmanager:us-east-1:111122223333:secret:s')).toBe(false);
  });
});

describe('scope', () => {
  test('parseArn splits partition, service, Region, account and resource; other text is not an ARN', () => {
    expect(parseArn('arn:aws:rds:eu-west-1:111122223333:db:prod')).toEqual({ partition: 'aws', service: 'rds', region: 'eu-west-1', account: '111122223333', resource: 'db:prod' });
    expect(parseArn('arn:aws:iam::111122223333:user/bob')).toEqual({ partition: 'aws', service: 'iam', region: '', account: '111122223333', resource: 'user/bob' });
    expect(parseArn('arn:aws:health:us-east-1::event/x')).toMatchObject({ account: '', region: 'us-east-1' });
    expect(parseArn('arn:aws:rds:eu-west-1:1234:db:prod')).toBeUndefined();
    expect(parseArn('xarn:aws:rds:eu-west-1:111122223333:db:prod')).toBeUndefined();
    expect(parseArn('arn:aws:rds:eu-west-1:111122223333:')).toBeUndefined();
    expect(parseArn('arn:other:rds:eu-west-1:111122223333:db:x')).toBeUndefined();
  });

  test('the function ARN gives the scope; anything else gives none', () => {
    expect(scopeFromFunctionArn('arn:aws:lambda:eu-west-1:111122223333:function:rotor-trigger:live')).toEqual({ partition: 'aws', account: '111122223333', region: 'eu-west-1' });
    expect(scopeFromFunctionArn('arn:aws-cn:lambda:cn-north-1:111122223333:function:f')).toEqual({ partition: 'aws-cn', account: '111122223333', region: 'cn-north-1' });
    for (const bad of [undefined, 5, 'x', 'arn:aws:sqs:eu-west-1:111122223333:function:f', 'arn:aws:lambda::111122223333:function:f', 'arn:aws:lambda:eu-west-1::function:f', 'arn:aws:lambda:eu-west-1:111122223333:layer:f']) {
      expect(scopeFromFunctionArn(bad)).toBeUndefined();
    }
  });

  test('global events come from one Region per partition', () => {
    expect(GLOBAL_EVENTS_REGION).toEqual({ aws: 'us-east-1', 'aws-us-gov': 'us-gov-west-1', 'aws-cn': 'cn-north-1' });
  });

  test('a finding is accepted only in this account and Region; each refusal is recorded with its reason', () => {
    const s = new ScopeCheck({ partition: 'aws', account: '111122223333', region: 'eu-west-1' });
    expect(s.accepts('f0', 'the finding', '111122223333', 'eu-west-1')).toBe(true);
    expect(s.skipped).toEqual([]);
    expect(s.accepts('f1', 'the finding', undefined, 'eu-west-1')).toBe(false);
    expect(s.accepts('f2', 'the finding', '999999999999', 'eu-west-1')).toBe(false);
    expect(s.accepts('f3', 'the finding', '111122223333', undefined)).toBe(false);
    expect(s.accepts('f4', 'the finding', '111122223333', 'us-east-1')).toBe(false);
    expect(s.accepts('f5', 'the finding', '', '')).toBe(false);
    expect(s.skipped).toEqual([
      { finding: 'f1', reason: 'no-scope', detail: 'the finding names no account; a finding is acted on only when it names this account (111122223333)' },
      { finding: 'f2', reason: 'other-account', detail: "the finding is in account 999999999999, not this function's account 111122223333" },
      { finding: 'f3', reason: 'no-scope', detail: 'the finding names no Region; a finding is acted on only when it names this Region (eu-west-1)' },
      { finding: 'f4', reason: 'other-region', detail: "the finding is in Region us-east-1, not this function's Region eu-west-1" },
      { finding: 'f5', reason: 'no-scope', detail: 'the finding names no account; a finding is acted on only when it names this account (111122223333)' },
    ]);
  });

  test('an ARN named by a finding: its own account and Region must match where it has them', () => {
    const s = new ScopeCheck({ partition: 'aws', account: '111122223333', region: 'eu-west-1' });
    expect(s.acceptsArn('f', 'resource', 'arn:aws:iam::111122223333:user/bob')).toBe(true);
    expect(s.acceptsArn('f', 'resource', 'arn:aws:health:eu-west-1::event/x')).toBe(true);
    expect(s.acceptsArn('f', 'resource', 'not an arn')).toBe(true);
    expect(s.skipped).toEqual([]);
    expect(s.acceptsArn('g', 'resource', 'arn:aws:rds:us-east-1:111122223333:db:x')).toBe(false);
    expect(s.acceptsArn('h', 'resource', 'arn:aws:iam::999999999999:role/r')).toBe(false);
    expect(s.skipped.map((x) => [x.finding, x.reason, x.detail])).toEqual([
      ['g', 'other-region', "resource (arn:aws:rds:us-east-1:111122223333:db:x) is in Region us-east-1, not this function's Region eu-west-1"],
      ['h', 'other-account', "resource (arn:aws:iam::999999999999:role/r) is in account 999999999999, not this function's account 111122223333"],
    ]);
    const long = `arn:aws:iam::999999999999:role/${'r'.repeat(400)}`;
    s.acceptsArn('i', 'resource', long);
    expect(s.skipped[2].detail).toContain(`(${long.slice(0, 256)})`);
    expect(s.skipped[2].detail).not.toContain(long.slice(0, 257));
  });
});
