import { differingFields, parseDatabaseSecret, serializeDatabaseSecret } from '../../lambda/core/database-secret';
import { RotationError } from '../../lambda/core/errors';

const base = { engine: 'postgres', host: 'db.example.internal', port: 5432, username: 'app', password: 'Sup3r-Secret!pw', dbname: 'app' };

function failure(input: unknown): RotationError {
  try {
    parseDatabaseSecret(typeof input === 'string' ? input : JSON.stringify(input), 'AWSCURRENT');
  } catch (e) {
    if (e instanceof RotationError) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('parseDatabaseSecret', () => {
  test('parses the RDS JSON structure and keeps unknown fields through a round trip', () => {
    const s = parseDatabaseSecret(JSON.stringify({ ...base, proxy: 'p1' }), 'AWSCURRENT');
    expect(s).toMatchObject({ engine: 'postgres', host: 'db.example.internal', port: 5432, username: 'app', dbname: 'app' });
    expect(JSON.parse(serializeDatabaseSecret({ ...s, password: 'new' }))).toEqual({ ...base, password: 'new', proxy: 'p1' });
  });

  test('accepts a string port and fills the engine default port', () => {
    expect(parseDatabaseSecret(JSON.stringify({ ...base, port: '6543' }), 'x').port).toBe(6543);
    const { port: _p, ...noPort } = base;
    expect(parseDatabaseSecret(JSON.stringify(noPort), 'x').port).toBe(5432);
    expect(parseDatabaseSecret(JSON.stringify({ ...noPort, engine: 'mariadb' }), 'x').port).toBe(3306);
  });

  test('ssl: booleans map to verify-full / disable, modes pass through', () => {
    expect(parseDatabaseSecret(JSON.stringify({ ...base, ssl: true }), 'x').ssl).toBe('verify-full');
    expect(parseDatabaseSecret(JSON.stringify({ ...base, ssl: false }), 'x').ssl).toBe('disable');
    expect(parseDatabaseSecret(JSON.stringify({ ...base, ssl: 'require' }), 'x').ssl).toBe('require');
  });

  test.each([
    ['not JSON', '{"engine": ', /not valid JSON/],
    ['an array', [], /not a JSON object/],
    ['no engine', { ...base, engine: undefined }, /no "engine" field/],
    ['unknown engine', { ...base, engine: 'oracle-ee' }, /"engine" .* is not one of/],
    ['no host', { ...base, host: undefined }, /no "host"/],
    ['host with a slash', { ...base, host: 'a/b' }, /"host"/],
    ['port 0', { ...base, port: 0 }, /"port"/],
    ['port 70000', { ...base, port: 70000 }, /"port"/],
    ['port 1.5', { ...base, port: 1.5 }, /"port"/],
    ['no username', { ...base, username: undefined }, /no "username"/],
    ['numeric username', { ...base, username: 7 }, /"username" .* must be a string, not a number/],
    ['empty password', { ...base, password: '' }, /"password" .* is empty/],
    ['NUL in password', { ...base, password: 'a\u0000b' }, /NUL/],
    ['bad ssl', { ...base, ssl: 'sometimes' }, /"ssl"/],
  ])('rejects %s with a configuration error naming the field, never the value', (_n, input, re) => {
    const e = failure(input);
    expect(e.category).toBe('configuration');
    expect(e.message).toMatch(re);
    expect(e.message).toMatch(/AWSCURRENT/);
    expect(e.message).not.toContain('Sup3r-Secret!pw');
  });
});

describe('differingFields', () => {
  const a = parseDatabaseSecret(JSON.stringify(base), 'a');
  test('password may always differ; target fields may not', () => {
    expect(differingFields(a, { ...a, password: 'other' }, [])).toEqual([]);
    expect(differingFields(a, { ...a, host: 'evil', port: 1 }, [])).toEqual(['host', 'port']);
    expect(differingFields(a, { ...a, username: 'app_clone' }, [])).toEqual(['username']);
    expect(differingFields(a, { ...a, username: 'app_clone' }, ['username'])).toEqual([]);
    expect(differingFields(a, { ...a, extra: { proxy: 'x' } }, [])).toEqual(['proxy']);
    expect(differingFields(a, { ...a, ssl: 'disable' }, [])).toEqual(['ssl']);
  });
});
