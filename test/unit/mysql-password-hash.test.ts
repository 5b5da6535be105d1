import {
  cachingSha2PasswordHash,
  mysqlNativePasswordHash,
  passwordHash,
  sha256CryptDigest,
} from '../../lambda/rotation/engines/mysql/password-hash';
import { authPluginsOf } from '../../lambda/rotation/engines/mysql/password';

/**
 * The hashes the MySQL engine sends instead of passwords. mysql_native_password is also checked
 * against a real MariaDB (test/rotation/mysql-engine.test.ts logs in with the password it set);
 * caching_sha2_password (MySQL 8) only here: no MySQL 8 server runs in the tests.
 */
const latin1 = (s: string) => Buffer.from(s, 'latin1');
const bytes = (a: number[]) => Buffer.from(a).toString('latin1');

describe('mysql_native_password', () => {
  test('is * + upper-case hex SHA1(SHA1(password)), as PASSWORD() returns', () => {
    // MariaDB 10.11: SELECT PASSWORD('password'); the MySQL / StarRocks manuals: PASSWORD('123456').
    expect(mysqlNativePasswordHash('password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
    expect(mysqlNativePasswordHash('123456')).toBe('*6BB4837EB74329105EE4568DDA7DC67ED2CA2AD9');
    expect(mysqlNativePasswordHash('')).toBe('');
    expect(passwordHash('mysql_native_password', 'password')).toBe('*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19');
  });
});

describe('SHA-256-crypt (the digest of caching_sha2_password)', () => {
  test('Drepper\'s published vectors (https://www.akkadia.org/drepper/SHA-crypt.txt; salts there cut to 16 characters)', () => {
    // The first two also from `openssl passwd -5 -salt <salt> <password>`.
    expect(sha256CryptDigest(latin1('Hello world!'), latin1('saltstring'))).toBe('5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5');
    expect(sha256CryptDigest(latin1('This is just a test'), latin1('toolongsaltstrin'))).toBe('Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5');
    expect(sha256CryptDigest(latin1('Hello world!'), latin1('saltstringsaltst'), 10000)).toBe('3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA');
    expect(sha256CryptDigest(latin1('a very much longer text to encrypt.  This one even stretches over morethan one line.'), latin1('anotherlongsalts'), 1400))
      .toBe('Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1');
    expect(sha256CryptDigest(latin1('we have a short salt string but not a short password'), latin1('short'), 77777))
      .toBe('JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/');
  });

  test('MySQL\'s own vectors with 20-character salts (mysql-server unittest/gunit sha2_password-t.cc, fast_authenticate)', () => {
    // Digests given there as byte arrays; MySQL authenticates these passwords against them.
    expect(sha256CryptDigest(latin1('HahaH0hO1234#$@#%'), latin1('AbCd!@#\tEfgH%^&*01@#'))).toBe(bytes([
      0x64, 0x4e, 0x46, 0x65, 0x67, 0x45, 0x61, 0x34, 0x4f, 0x47, 0x44, 0x72, 0x6e, 0x45, 0x75, 0x37, 0x4d, 0x34, 0x54, 0x2e, 0x6e, 0x6b,
      0x6d, 0x6d, 0x37, 0x39, 0x34, 0x78, 0x49, 0x2f, 0x51, 0x6f, 0x43, 0x52, 0x33, 0x5a, 0x2e, 0x78, 0x70, 0x4c, 0x4f, 0x57, 0x36,
    ]));
    expect(sha256CryptDigest(latin1(';bCdEF34^i9&*":({\\56"'), latin1('CVlq))+AC>Q)#4!@# x!'))).toBe(bytes([
      0x53, 0x50, 0x4d, 0x4e, 0x2f, 0x4c, 0x38, 0x2e, 0x6e, 0x6f, 0x4b, 0x71, 0x65, 0x38, 0x49, 0x58, 0x56, 0x5a, 0x32, 0x44, 0x70, 0x43,
      0x45, 0x36, 0x77, 0x32, 0x39, 0x62, 0x31, 0x30, 0x36, 0x76, 0x43, 0x51, 0x65, 0x63, 0x61, 0x70, 0x39, 0x4a, 0x4b, 0x70, 0x41,
    ]));
    expect(sha256CryptDigest(latin1(' CQ#$ML CF%IF$#(<#R ()<_q@#(rq'), latin1('X#y)+q x2cx3,qr2##3\t'))).toBe(bytes([
      0x72, 0x50, 0x38, 0x4a, 0x6e, 0x38, 0x4d, 0x74, 0x70, 0x36, 0x58, 0x43, 0x4d, 0x78, 0x31, 0x51, 0x6a, 0x53, 0x44, 0x41, 0x38, 0x4e,
      0x53, 0x61, 0x6c, 0x66, 0x56, 0x4d, 0x53, 0x42, 0x4e, 0x4d, 0x49, 0x72, 0x32, 0x79, 0x71, 0x63, 0x45, 0x69, 0x36, 0x51, 0x38,
    ]));
  });
});

describe('caching_sha2_password authentication string', () => {
  test('$A$005$ + 20 salt characters + the 43-character digest of 5000 rounds: 70 characters', () => {
    const salt = 'AbCdEfGhIjKlMnOp/.01';
    const h = cachingSha2PasswordHash('HahaH0hO1234#$@#%', salt);
    expect(h).toBe(`$A$005$${salt}${sha256CryptDigest(latin1('HahaH0hO1234#$@#%'), latin1(salt), 5000)}`);
    expect(h).toHaveLength(70);
  });

  test('a random salt from the crypt alphabet (nothing to escape), different every time', () => {
    const a = passwordHash('caching_sha2_password', 'same-Pw-1');
    const b = passwordHash('caching_sha2_password', 'same-Pw-1');
    expect(a).not.toBe(b);
    for (const h of [a, b]) {
      expect(h).toMatch(/^\$A\$005\$[./0-9A-Za-z]{20}[./0-9A-Za-z]{43}$/);
      expect(h.slice(27)).toBe(sha256CryptDigest(latin1('same-Pw-1'), latin1(h.slice(7, 27))));
    }
    expect(() => cachingSha2PasswordHash('x', 'short')).toThrow(/20 characters/);
  });
});

describe('authPluginsOf (SHOW CREATE USER)', () => {
  test('MariaDB 10.11 shapes (as the server prints them)', () => {
    expect(authPluginsOf("CREATE USER `n1`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", 'mariadb')).toEqual(['mysql_native_password']);
    expect(authPluginsOf('CREATE USER `n0`@`%`', 'mariadb')).toEqual(['mysql_native_password']);
    expect(authPluginsOf("CREATE USER `e1`@`%` IDENTIFIED VIA ed25519 USING 'RBIiSdwSgBldhFZLFzRCTTc1Q0pRJ3pFZudlQ78k40o'", 'mariadb')).toEqual(['ed25519']);
    expect(authPluginsOf("CREATE USER `o1`@`%` IDENTIFIED VIA unix_socket OR mysql_native_password USING '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19'", 'mariadb'))
      .toEqual(['unix_socket', 'mysql_native_password']);
    expect(authPluginsOf('CREATE USER `s1`@`%` IDENTIFIED VIA unix_socket', 'mariadb')).toEqual(['unix_socket']);
    expect(authPluginsOf("CREATE USER `u`@`%` IDENTIFIED BY PASSWORD '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE SSL WITH MAX_USER_CONNECTIONS 3", 'mariadb'))
      .toEqual(['mysql_native_password']);
    // A user called IDENTIFIED is an identifier, not the keyword.
    expect(authPluginsOf('CREATE USER `IDENTIFIED`@`%`', 'mariadb')).toEqual(['mysql_native_password']);
    expect(authPluginsOf('CREATE USER "a"@"%" IDENTIFIED VIA ed25519 USING PASSWORD(\'x\')', 'mariadb', { ansiQuotes: true })).toEqual(['ed25519']);
  });

  test('MySQL 8 / 5.7 shapes (from the reference manual; untested against a server)', () => {
    expect(authPluginsOf("CREATE USER `u`@`%` IDENTIFIED WITH 'caching_sha2_password' AS '$A$005$abcdefghijklmnopqrstABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopq' REQUIRE NONE PASSWORD EXPIRE DEFAULT ACCOUNT UNLOCK", 'mysql8'))
      .toEqual(['caching_sha2_password']);
    expect(authPluginsOf("CREATE USER `u`@`%` IDENTIFIED WITH 'caching_sha2_password' AS 0x24412430303524 REQUIRE NONE", 'mysql8')).toEqual(['caching_sha2_password']);
    expect(authPluginsOf("CREATE USER 'u'@'%' IDENTIFIED WITH 'mysql_native_password' AS '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19' REQUIRE NONE", 'mysql57'))
      .toEqual(['mysql_native_password']);
    expect(authPluginsOf("CREATE USER `u`@`localhost` IDENTIFIED WITH 'auth_socket' REQUIRE NONE", 'mysql8')).toEqual(['auth_socket']);
  });

  test('unknown shapes are refused with a message that quotes nothing of the line', () => {
    const hash = '*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19';
    for (const [line, flavor] of [
      [`CREATE USER \`u\`@\`%\` IDENTIFIED BY '${hash}'`, 'mariadb'],
      [`GRANT USAGE ON *.* TO \`u\`@\`%\` IDENTIFIED BY PASSWORD '${hash}'`, 'mariadb'],
      ['CREATE USER `u`@`%`', 'mysql8'],
      [`CREATE USER \`u\`@\`%\` IDENTIFIED VIA ed25519 USING ${hash}`, 'mariadb'],
      [`CREATE USER \`u\`@\`%\` IDENTIFIED VIA '${hash}'`, 'mariadb'],
      // MySQL 8.0.27+ multifactor authentication: a second factor is not something to re-password.
      [`CREATE USER \`u\`@\`%\` IDENTIFIED WITH 'caching_sha2_password' AS '${hash}' AND IDENTIFIED WITH 'authentication_ldap_simple' REQUIRE NONE`, 'mysql8'],
    ] as const) {
      let message = '';
      try {
        authPluginsOf(line, flavor);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).not.toBe('');
      expect(message).not.toContain(hash);
      expect(message).not.toContain('2470C0');
    }
  });
});
