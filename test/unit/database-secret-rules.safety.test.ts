import { differingFields, engineFamily, parseDatabaseSecret, serializeDatabaseSecret, type DatabaseSecret } from '../../lambda/core/database-secret';
import { replaceTopLevel, topLevelMembers } from '../../lambda/core/json-members';
import { RotationError } from '../../lambda/core/errors';

/**
 * The secret model's refusals (lambda/core/database-secret.ts): each is a
 * configuration error naming the field and the version label, never a value;
 * what is accepted is returned as written.
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
 */
const BASE = { engine: 'postgres', host: 'db.example', port: 5432, username: 'app', password: 'Secret-Pa55' };
const parse = (o: Record<string, unknown>, label = 'AWSPENDING') => parseDatabaseSecret(JSON.stringify({ ...BASE, ...o }), label);

function refusal(text: string | undefined, label = 'AWSCURRENT'): RotationError {
  try {
    parseDatabaseSecret(text, label);
  } catch (e) {
    if (e instanceof RotationError) return e;
    throw e;
  }
  throw new Error('accepted');
}
const refused = (o: Record<string, unknown>, message: string) => {
  const e = refusal(JSON.stringify({ ...BASE, ...o }));
  expect(e.category).toBe('configuration');
  expect(e.detail).toBe(message);
  expect(e.action).toBe('Fix the JSON of the AWSCURRENT version of the secret (fields: engine, host, port, username, password, dbname; see docs/configuration.md), then rotate again.');
  expect(e.message).not.toContain('Secret-Pa55');
};
const W = 'the AWSCURRENT version of the secret';

describe('the whole value', () => {
  test('no SecretString, not JSON, not an object', () => {
    expect(refusal(undefined).detail).toBe(`${W} has no SecretString (binary secrets are not supported)`);
    expect(refusal('{').detail).toBe(`${W} is not valid JSON`);
    for (const t of ['[]', 'null', '"s"', '5']) expect(refusal(t).detail).toBe(`${W} is not a JSON object`);
  });

  test('nesting: 64 levels are accepted, 65 refused; brackets inside strings do not count', () => {
    const nest = (n: number) => '['.repeat(n - 1) + ']'.repeat(n - 1);
    const at = (n: number) => `{"engine":"postgres","host":"h","username":"u","password":"p","x":${nest(n)}}`;
    expect(JSON.stringify(parseDatabaseSecret(at(64), 'l').extra.x)).toBe(nest(64));
    expect(refusal(at(65)).detail).toBe(`${W} nests objects or arrays more than 64 levels deep`);
    // An escaped quote does not end the string: the brackets after it are still inside it.
    const inString = `{"engine":"postgres","host":"h","username":"u","password":"p","x":"${'{['.repeat(100)}\\"${'['.repeat(70)}"}`;
    expect(parseDatabaseSecret(inString, 'l').extra.x).toBe(`${'{['.repeat(100)}"${'['.repeat(70)}`);
    // Closing brackets bring the depth down: many shallow siblings are fine.
    const siblings = `{"engine":"postgres","host":"h","username":"u","password":"p","x":[${Array(100).fill('[[1]]').join(',')}]}`;
    expect((parseDatabaseSecret(siblings, 'l').extra.x as unknown[]).length).toBe(100);
    const objects = `{"engine":"postgres","host":"h","username":"u","password":"p","x":[${Array(100).fill('{"a":{}}').join(',')}]}`;
    expect((parseDatabaseSecret(objects, 'l').extra.x as unknown[]).length).toBe(100);
  });

  test('a repeated key is refused; a known key is named, another is not', () => {
    expect(refusal('{"engine":"postgres","host":"h","username":"u","password":"p","password":"q"}').detail).toBe(`${W} has the key "password" more than once`);
    expect(refusal('{"engine":"postgres","host":"h","username":"u","password":"p","hint":1,"hint":2}').detail).toBe(`${W} has the key (a field rotor does not interpret) more than once`);
  });
});

describe('fields', () => {
  test('required fields: missing, null, empty', () => {
    for (const f of ['engine', 'host', 'username', 'password']) {
      refused({ [f]: undefined }, `${W} has no "${f}" field`);
      refused({ [f]: null }, `${W} has no "${f}" field`);
      refused({ [f]: '' }, `"${f}" in ${W} is empty`);
    }
  });

  test('a field of the wrong type says which type it has', () => {
    refused({ username: 5 }, `"username" in ${W} must be a string, not a number`);
    refused({ username: ['a'] }, `"username" in ${W} must be a string, not an array`);
    refused({ dbname: { a: 1 } }, `"dbname" in ${W} must be a string, not an object`);
    refused({ masterarn: true }, `"masterarn" in ${W} must be a string, not a boolean`);
  });

  test('optional fields: absent or null are undefined; empty is kept', () => {
    const s = parse({ dbname: null, masterarn: '', dbInstanceIdentifier: 'db1', dbClusterIdentifier: 'c1' });
    expect(s).toMatchObject({ dbname: undefined, masterarn: '', dbInstanceIdentifier: 'db1', dbClusterIdentifier: 'c1' });
    expect(parse({}).dbInstanceIdentifier).toBeUndefined();
  });

  test('1024 characters at most; no NUL; no lone surrogate', () => {
    expect(parse({ dbname: 'd'.repeat(1024) }).dbname).toHaveLength(1024);
    refused({ dbname: 'd'.repeat(1025) }, `"dbname" in ${W} is longer than 1024 characters`);
    refused({ password: 'a\u0000b' }, `"password" in ${W} contains a NUL character`);
    refused({ dbname: 'a\ud800b' }, `"dbname" in ${W} contains a lone UTF-16 surrogate, which is not valid Unicode`);
    expect(parse({ dbname: 'a\u{1F600}b' }).dbname).toBe('a\u{1F600}b');
  });

  test('engine: one of the five', () => {
    for (const e of ['postgres', 'aurora-postgresql', 'mysql', 'mariadb', 'aurora-mysql']) expect(parse({ engine: e }).engine).toBe(e);
    refused({ engine: 'oracle' }, `"engine" in ${W} is not one of postgres, aurora-postgresql, mysql, mariadb, aurora-mysql`);
    refused({ engine: 'Postgres' }, `"engine" in ${W} is not one of postgres, aurora-postgresql, mysql, mariadb, aurora-mysql`);
  });

  test('host: printable ASCII without "/"', () => {
    for (const h of ['db.example', '10.0.0.1', '[::1]', '!~']) expect(parse({ host: h }).host).toBe(h);
    for (const h of ['db example', 'db/x', 'db\tx', 'dé.example', 'db\u007f']) {
      refused({ host: h }, `"host" in ${W} is not a host name or address (printable ASCII, no "/")`);
    }
  });

  test('port: 1-65535, a number or a string of digits; absent: the engine default', () => {
    expect(parse({ port: 1 }).port).toBe(1);
    expect(parse({ port: 65535 }).port).toBe(65535);
    expect(parse({ port: '3306' }).port).toBe(3306);
    expect(parse({ port: null, engine: 'mysql' }).port).toBe(3306);
    expect(parse({ port: undefined, engine: 'aurora-postgresql' }).port).toBe(5432);
    expect(parse({ port: undefined, engine: 'mariadb' }).port).toBe(3306);
    expect(parse({ port: undefined, engine: 'aurora-mysql' }).port).toBe(3306);
    for (const p of [0, 65536, -1, 1.5, '123456', 'abc', ' 5432', '5432 ', '1e3', '0x10', '', true]) refused({ port: p }, `"port" in ${W} must be an integer between 1 and 65535`);
  });

  test('username: no control or bidirectional-formatting character', () => {
    for (const u of ['a\u0001', 'a\u001f', 'a\u007f', 'a\u009f', 'a\u200e', 'a\u200f', 'a\u202a', 'a\u202e', 'a\u2066', 'a\u2069']) {
      refused({ username: u }, `"username" in ${W} contains a control or bidirectional-formatting character`);
    }
    for (const u of ['app user', 'ü', 'a\u00a0', 'a\u2065', 'a\u206a', 'a\u2010', 'a\u202f']) expect(parse({ username: u }).username).toBe(u);
  });

  test('ssl: true, false, or one of the modes', () => {
    expect(parse({ ssl: true }).ssl).toBe('verify-full');
    expect(parse({ ssl: false }).ssl).toBe('disable');
    expect(parse({ ssl: null }).ssl).toBeUndefined();
    for (const m of ['verify-full', 'require', 'disable']) expect(parse({ ssl: m }).ssl).toBe(m);
    for (const m of ['prefer', 'true', 1, 'REQUIRE']) refused({ ssl: m }, `"ssl" in ${W} must be one of verify-full, require, disable, true or false`);
  });

  test('fields rotor does not interpret are kept as data, __proto__ included; known ones are not in extra', () => {
    const s = parseDatabaseSecret('{"engine":"postgres","host":"h","username":"u","password":"p","dbname":"d","__proto__":{"polluted":1},"note":[1]}', 'l');
    expect(Object.keys(s.extra)).toEqual(['__proto__', 'note']);
    expect(Object.getOwnPropertyDescriptor(s.extra, '__proto__')?.value).toEqual({ polluted: 1 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(s.source).toBe('{"engine":"postgres","host":"h","username":"u","password":"p","dbname":"d","__proto__":{"polluted":1},"note":[1]}');
  });
});

describe('serializing', () => {
  test('a secret built in code: known fields first, optional ones only when set, then the extra fields', () => {
    const s: DatabaseSecret = { engine: 'mysql', host: 'h', port: 3306, username: 'u', password: 'p', extra: { z: 1 } };
    expect(serializeDatabaseSecret(s)).toBe('{"engine":"mysql","host":"h","port":3306,"username":"u","password":"p","z":1}');
    const all: DatabaseSecret = { ...s, dbname: 'd', ssl: 'require', masterarn: 'arn:m', dbInstanceIdentifier: 'i', dbClusterIdentifier: 'c', extra: {} };
    expect(JSON.parse(serializeDatabaseSecret(all))).toEqual({ engine: 'mysql', host: 'h', port: 3306, username: 'u', password: 'p', dbname: 'd', ssl: 'require', masterarn: 'arn:m', dbInstanceIdentifier: 'i', dbClusterIdentifier: 'c' });
    expect(Object.keys(JSON.parse(serializeDatabaseSecret(all)))).toEqual(['engine', 'host', 'port', 'username', 'password', 'dbname', 'ssl', 'masterarn', 'dbInstanceIdentifier', 'dbClusterIdentifier']);
  });

  test('a parsed secret: only username and password change in its text; editing another field is a bug, refused', () => {
    const text = '{ "engine" : "postgres", "host":"h", "port": 5432.0, "username":"u", "password":"p" , "n": 12345678901234567890 }';
    const s = parseDatabaseSecret(text, 'l');
    expect(serializeDatabaseSecret({ ...s, username: 'u_clone', password: 'q"\\' })).toBe('{ "engine" : "postgres", "host":"h", "port": 5432.0, "username":"u_clone", "password":"q\\"\\\\" , "n": 12345678901234567890 }');
    for (const edit of [{ host: 'other' }, { port: 1 }, { dbname: 'x' }, { extra: { n: 1 } }]) {
      let err: unknown;
      try {
        serializeDatabaseSecret({ ...s, ...edit });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RotationError);
      expect((err as RotationError).detail).toBe('internal: a field other than username or password changed on a parsed secret');
    }
  });
});

describe('comparing versions', () => {
  test('every target field and every extra field is compared; only names are returned', () => {
    const a = parse({ dbname: 'd', ssl: 'require', masterarn: 'm', dbInstanceIdentifier: 'i', dbClusterIdentifier: 'c', x: { deep: [1] } });
    expect(differingFields(a, parse({ dbname: 'd', ssl: 'require', masterarn: 'm', dbInstanceIdentifier: 'i', dbClusterIdentifier: 'c', x: { deep: [1] }, password: 'other' }), [])).toEqual([]);
    const b = parse({ engine: 'aurora-postgresql', host: 'h2', port: 1, dbname: 'e', ssl: 'disable', username: 'v', masterarn: 'n', dbInstanceIdentifier: 'j', dbClusterIdentifier: 'k', x: { deep: [2] }, y: 1 });
    expect(differingFields(a, b, [])).toEqual(['engine', 'host', 'port', 'dbname', 'ssl', 'username', 'masterarn', 'dbInstanceIdentifier', 'dbClusterIdentifier', 'x', 'y']);
    expect(differingFields(a, b, ['username', 'host'])).toEqual(['engine', 'port', 'dbname', 'ssl', 'masterarn', 'dbInstanceIdentifier', 'dbClusterIdentifier', 'x', 'y']);
    expect(differingFields(b, a, [])).toContain('y');
  });

  test('engine families', () => {
    expect(['postgres', 'aurora-postgresql', 'mysql', 'mariadb', 'aurora-mysql'].map((e) => engineFamily(e as never))).toEqual(['postgres', 'postgres', 'mysql', 'mysql', 'mysql']);
  });
});

describe('JSON member spans', () => {
  test('keys with escapes, nested values, strings with brackets, numbers and literals, any whitespace', () => {
    const text = ' {\n\t"a\\"b" :\r "x}\\\\" , "n":-1.5e3,"o":{"k":["]",{"z":"}"}]},"t":true ,"nul":null, "arr":[1,[2]] } ';
    const m = topLevelMembers(text);
    expect(m.map((x) => [x.key, text.slice(x.valueStart, x.valueEnd)])).toEqual([
      ['a"b', '"x}\\\\"'], ['n', '-1.5e3'], ['o', '{"k":["]",{"z":"}"}]}'], ['t', 'true'], ['nul', 'null'], ['arr', '[1,[2]]'],
    ]);
    expect(topLevelMembers('{}')).toEqual([]);
    const tight = '{"a":1,"b":true,"c":-2}';
    expect(topLevelMembers(tight).map((x) => tight.slice(x.valueStart, x.valueEnd))).toEqual(['1', 'true', '-2']);
    expect(topLevelMembers(' { } ')).toEqual([]);
    expect(() => topLevelMembers('[1]')).toThrow('not a JSON object');
  });

  test('replacing values keeps every other byte; a key that is not given stays', () => {
    // Values of other lengths than the ones they replace: every offset must still be right.
    const text = '{"password":"old","keep":"password","username":"u","nested":{"password":"inner"}}';
    expect(replaceTopLevel(text, { password: 'a-much-longer-one', username: 'vv' })).toBe('{"password":"a-much-longer-one","keep":"password","username":"vv","nested":{"password":"inner"}}');
    expect(replaceTopLevel(text, { password: '', username: 'a longer name' })).toBe('{"password":"","keep":"password","username":"a longer name","nested":{"password":"inner"}}');
    expect(replaceTopLevel(text, {})).toBe(text);
    expect(replaceTopLevel('{"toString":1,"password":"x"}', { password: 'y' })).toBe('{"toString":1,"password":"y"}');
  });
});
