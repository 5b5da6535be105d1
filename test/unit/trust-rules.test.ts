import { passwordPolicyViolation } from '../../lambda/core/password-policy';
import { generatePassword } from '../../lambda/core/password-generator';
import { effectiveTlsMode, strongerTls } from '../../lambda/core/tls-policy';
import { replaceTopLevel, topLevelMembers } from '../../lambda/core/json-members';
import { parseDatabaseSecret, serializeDatabaseSecret } from '../../lambda/core/database-secret';
import { targetFingerprint } from '../../lambda/rotation/rotated-target';
import { masterLogin } from '../../lambda/rotation/master-credential';
import { RotationError } from '../../lambda/core/errors';
import type { PasswordPolicy } from '../../lambda/core/function-config';

const POLICY: PasswordPolicy = {
  length: 12, excludeNumbers: false, excludePunctuation: false, excludeUppercase: false, excludeLowercase: false, requireEachIncludedType: true,
};

describe('passwordPolicyViolation', () => {
  test('a password the policy could produce passes', () => {
    expect(passwordPolicyViolation('Aa1!Bb2#Cc3%', POLICY, '/@"')).toBeUndefined();
  });
  test.each([
    ['too short', 'Aa1!Bb2#Cc3', POLICY, /11 characters, fewer than the policy's 12/],
    ['no digit', 'Aa!!Bb##Cc%%', POLICY, /no numbers/],
    ['no upper case', 'aa1!bb2#cc3%', POLICY, /no uppercase/],
    ['no lower case', 'AA1!BB2#CC3%', POLICY, /no lowercase/],
    ['no punctuation', 'Aa1xBb2yCc3z', POLICY, /no punctuation/],
    ['an engine-excluded character', 'Aa1!Bb2#Cc3@', POLICY, /a character the policy excludes/],
    ['a configured exclusion', 'Aa1!Bb2#Cc3%', { ...POLICY, excludeCharacters: '%' }, /a character the policy excludes/],
    ['an excluded class', 'Aa1!Bb2#Cc3%', { ...POLICY, excludeNumbers: true }, /numbers, which the policy excludes/],
    ['a space', 'Aa1!Bb2# Cc3%', POLICY, /outside the letters/],
    ['a non-ASCII letter', 'Aa1!Bb2#Cc3%\u00e9', POLICY, /outside the letters/],
  ])('%s is refused', (_name, pw, policy, why) => {
    expect(passwordPolicyViolation(pw, policy, '/@"')).toMatch(why);
  });
  test('length counts code points, and the reason never quotes the password', () => {
    // 12 code points, 13 UTF-16 units: counted in code points it is one short of 13.
    const pw = 'Aa1!Bb2#Cc3\u{1F600}';
    const why = passwordPolicyViolation(pw, { ...POLICY, length: 13 }, '');
    expect(why).toBe("it has 12 characters, fewer than the policy's 13");
    expect(passwordPolicyViolation(pw, POLICY, '')).toBe('it holds a character outside the letters, digits and punctuation the policy draws from');
    for (const reason of [why, passwordPolicyViolation('Aa1!Bb2#Cc3 ', POLICY, '')]) {
      expect(reason).not.toContain('Aa1');
      expect(reason).not.toContain('Cc3');
    }
  });
  test('a class left with no usable character is not required', () => {
    // Every digit excluded: requireEachIncludedType cannot ask for one.
    expect(passwordPolicyViolation('Aa!!Bb##Cc%%', { ...POLICY, excludeCharacters: '0123456789' }, '')).toBeUndefined();
  });
  test('without requireEachIncludedType a single class is enough', () => {
    expect(passwordPolicyViolation('abcdefghijkl', { ...POLICY, requireEachIncludedType: false }, '')).toBeUndefined();
  });
});

describe('TLS floor', () => {
  test('a secret may raise the floor, not lower it', () => {
    expect(effectiveTlsMode(undefined, 'require')).toBe('require');
    expect(effectiveTlsMode('verify-full', 'require')).toBe('verify-full');
    expect(effectiveTlsMode('require', 'require')).toBe('require');
    expect(() => effectiveTlsMode('require', 'verify-full')).toThrow(/below this deployment's floor "verify-full" \(ROTOR_TLS_MODE\)/);
    expect(() => effectiveTlsMode('disable', 'require')).toThrow(RotationError);
  });
  test('the stronger of two modes; undefined asks for nothing', () => {
    expect(strongerTls('disable', 'verify-full')).toBe('verify-full');
    expect(strongerTls('verify-full', 'require')).toBe('verify-full');
    expect(strongerTls('require', 'disable')).toBe('require');
    expect(strongerTls(undefined, 'require')).toBe('require');
    expect(strongerTls('disable', undefined)).toBe('disable');
    expect(strongerTls(undefined, undefined)).toBeUndefined();
  });
});

describe('master login', () => {
  const user = parseDatabaseSecret(JSON.stringify({ engine: 'postgres', host: 'db.example', port: 5432, username: 'app', password: 'p', dbname: 'appdb', ssl: 'disable' }), 'u');
  const master = parseDatabaseSecret(JSON.stringify({ engine: 'postgres', host: 'DB.example', port: 5432, username: 'admin', password: 'm', ssl: 'verify-full' }), 'm');
  test('on the user\'s server, in the user\'s database, with the stronger TLS mode', () => {
    const login = masterLogin(user, master, 'postgres', 'postgres');
    expect({ host: login.host, username: login.username, dbname: login.dbname, ssl: login.ssl }).toEqual({ host: 'DB.example', username: 'admin', dbname: 'appdb', ssl: 'verify-full' });
  });
  test('another host, port or engine family is refused', () => {
    expect(() => masterLogin(user, { ...master, host: 'other.example' }, 'postgres', 'postgres')).toThrow(/not at the user's server/);
    expect(() => masterLogin(user, { ...master, port: 5433 }, 'postgres', 'postgres')).toThrow(/not at the user's server/);
    expect(() => masterLogin(user, master, 'mysql', 'postgres')).toThrow(/does not match/);
  });
});

describe('recorded target', () => {
  const base = { engine: 'postgres', host: 'db.example', port: 5432, username: 'app', password: 'p', dbname: 'appdb' };
  const fp = (o: Record<string, unknown>, mayDiffer: Array<'username'> = []) => targetFingerprint(parseDatabaseSecret(JSON.stringify({ ...base, ...o }), 't'), mayDiffer);
  test('the password and host case do not matter; every target field does', () => {
    expect(fp({ password: 'other' })).toBe(fp({}));
    expect(fp({ host: 'DB.EXAMPLE' })).toBe(fp({}));
    for (const change of [{ host: 'x.example' }, { port: 5433 }, { dbname: 'x' }, { username: 'x' }, { engine: 'aurora-postgresql' },
      { masterarn: 'arn:x' }, { dbInstanceIdentifier: 'db1' }, { dbClusterIdentifier: 'c1' }]) {
      expect({ change, fp: fp(change) }).not.toEqual({ change, fp: fp({}) });
    }
  });
  test('alternating users: name and name_clone are one target', () => {
    expect(fp({ username: 'app_clone' }, ['username'])).toBe(fp({}, ['username']));
    expect(fp({ username: 'app_clone' })).not.toBe(fp({}));
  });
});

describe('secret text kept byte for byte', () => {
  const text = '{ "engine":"postgres" , "host":"h","port":"5432","username":"u","password":"old",\n"__proto__":{"a":1},"big":12345678901234567890123,"s":"x\\"}y","arr":[{"password":"nested"}],"n":null,"t":true}';
  test('top-level members are found with their exact spans', () => {
    const m = topLevelMembers(text);
    expect(m.map((x) => x.key)).toEqual(['engine', 'host', 'port', 'username', 'password', '__proto__', 'big', 's', 'arr', 'n', 't']);
    expect(m.map((x) => text.slice(x.valueStart, x.valueEnd))).toEqual(['"postgres"', '"h"', '"5432"', '"u"', '"old"', '{"a":1}', '12345678901234567890123', '"x\\"}y"', '[{"password":"nested"}]', 'null', 'true']);
  });
  test('only the named top-level values change', () => {
    expect(replaceTopLevel(text, { password: 'n"ew' })).toBe(text.replace('"old"', '"n\\"ew"'));
  });
  test('a parsed secret is serialized as its text with the new password; __proto__ stays data', () => {
    const s = parseDatabaseSecret(text, 'AWSCURRENT');
    expect(Object.getPrototypeOf(s.extra)).toBe(Object.prototype);
    expect(Object.keys(s.extra)).toContain('__proto__');
    expect(serializeDatabaseSecret({ ...s, password: 'fresh' })).toBe(text.replace('"old"', '"fresh"'));
  });
  test('a key given twice is refused, whatever its escapes', () => {
    expect(() => parseDatabaseSecret('{"engine":"postgres","host":"a","username":"u","password":"p","host":"b"}', 'AWSCURRENT')).toThrow(/"host" more than once/);
    expect(() => parseDatabaseSecret('{"engine":"postgres","host":"a","username":"u","password":"p","\\u0068ost":"b"}', 'AWSCURRENT')).toThrow(/"host" more than once/);
  });
});

describe('generatePassword (GetRandomPassword semantics, in the function)', () => {
  test.each([
    ['the default policy', { ...POLICY, length: 32 }, ':/@"\'\\'],
    ['no punctuation', { ...POLICY, excludePunctuation: true }, ''],
    ['digits only', { ...POLICY, excludeLowercase: true, excludeUppercase: true, excludePunctuation: true }, ''],
    ['a custom exclusion list', { ...POLICY, excludeCharacters: 'abcABC012!#' }, '/@'],
    ['no required types', { ...POLICY, length: 8, requireEachIncludedType: false }, ''],
    ['exactly one of each type', { ...POLICY, length: 4 }, ''],
  ])('%s: every password is one the policy check accepts', (_n, policy, engineExcludes) => {
    for (let i = 0; i < 200; i++) {
      const pw = generatePassword(policy, engineExcludes);
      expect(pw).toHaveLength(policy.length);
      expect(passwordPolicyViolation(pw, policy, engineExcludes)).toBeUndefined();
    }
  });
  test('draws from the whole pool: every allowed character appears, no excluded one', () => {
    const seen = new Set(Array.from({ length: 400 }, () => generatePassword({ ...POLICY, length: 64 }, '/@"')).join(''));
    expect(seen.size).toBe(26 + 26 + 10 + 32 - 3);
    for (const c of '/@" ') expect(seen.has(c)).toBe(false);
  });
  test('two passwords differ', () => {
    expect(generatePassword(POLICY, '')).not.toBe(generatePassword(POLICY, ''));
  });
  test('a policy that excludes everything, or is too short for its required types, is a configuration error', () => {
    const none = { ...POLICY, excludeLowercase: true, excludeUppercase: true, excludeNumbers: true, excludePunctuation: true };
    expect(() => generatePassword(none, '')).toThrow(/excludes every character type/);
    expect(() => generatePassword({ ...POLICY, length: 3 }, '')).toThrow(/ROTOR_PASSWORD_LENGTH 3 is too short/);
  });
});
