import { readFunctionConfig } from '../../lambda/core/function-config';

describe('readFunctionConfig', () => {
  test('defaults: 32 characters, verify-full, 5 s connect timeout', () => {
    const c = readFunctionConfig({});
    expect(c.password).toMatchObject({ length: 32, excludeCharacters: undefined, requireEachIncludedType: true });
    expect(c.tlsMode).toBe('verify-full');
    expect(c.connectTimeoutMs).toBe(5000);
  });

  test('reads the policy', () => {
    const c = readFunctionConfig({ ROTOR_PASSWORD_LENGTH: '48', ROTOR_EXCLUDE_PUNCTUATION: 'true', ROTOR_EXCLUDE_CHARACTERS: 'abc', ROTOR_TLS_MODE: 'require' });
    expect(c.password).toMatchObject({ length: 48, excludePunctuation: true, excludeCharacters: 'abc' });
    expect(c.tlsMode).toBe('require');
  });

  test.each([
    [{ ROTOR_TLS_MODE: 'prefer' }, /ROTOR_TLS_MODE is "prefer"/],
    [{ ROTOR_PASSWORD_LENGTH: 'long' }, /ROTOR_PASSWORD_LENGTH/],
    [{ ROTOR_PASSWORD_LENGTH: '4' }, /from 8 to 4096/],
    [{ ROTOR_EXCLUDE_NUMBERS: 'yes' }, /not true or false/],
    [{ ROTOR_TLS_CA_FILE: '/nonexistent/ca.pem' }, /does not exist/],
  ])('rejects %j', (env, re) => {
    expect(() => readFunctionConfig(env)).toThrow(re);
  });
});
