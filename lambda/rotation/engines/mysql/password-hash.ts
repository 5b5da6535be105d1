import { createHash, randomBytes } from 'node:crypto';

/**
 * Password hashes computed in the function, so that the statements that set a password carry a
 * hash, never the password (the server's general log, the slow log, RDS log exports and
 * performance_schema would otherwise hold it). The PostgreSQL engine does the same with a SCRAM
 * verifier (engines/postgres.ts).
 *
 * - mysql_native_password (MariaDB, MySQL 5.7/8): `*` + upper-case hex of SHA1(SHA1(password)),
 *   what PASSWORD() returns. Tested against MariaDB 10.11 (PASSWORD() and logging in).
 * - caching_sha2_password (MySQL 8): `$A$005$` + 20 salt characters + the 43-character
 *   SHA-256-crypt digest with 5000 rounds (Drepper's "Unix crypt using SHA-256", with MySQL's
 *   20-character salt, include/crypt_genhash_impl.h CRYPT_SALT_LENGTH). Only unit-tested: against
 *   Drepper's published vectors and the vectors of MySQL's own unit test of the plugin
 *   (unittest/gunit sha2_password-t.cc); no MySQL 8 server runs in the tests.
 */

/** Authentication plugins whose stored hash the function can compute. */
export type HashablePlugin = 'mysql_native_password' | 'caching_sha2_password';

/** What PASSWORD(password) returns on MariaDB / MySQL 5.7: '' for the empty password. */
export function mysqlNativePasswordHash(password: string): string {
  if (password === '') return '';
  const stage1 = createHash('sha1').update(Buffer.from(password, 'utf8')).digest();
  return `*${createHash('sha1').update(stage1).digest('hex').toUpperCase()}`;
}

const CRYPT_ALPHABET = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** The byte order of the final encoding of SHA-256-crypt (Drepper, step 22). */
const SHA256_CRYPT_ORDER: Array<[number, number, number]> = [
  [0, 10, 20], [21, 1, 11], [12, 22, 2], [3, 13, 23], [24, 4, 14],
  [15, 25, 5], [6, 16, 26], [27, 7, 17], [18, 28, 8], [9, 19, 29],
];

/** `len` bytes of `block` repeated. */
function repeatTo(block: Buffer, len: number): Buffer {
  const out = Buffer.alloc(len);
  for (let i = 0; i < len; i += block.length) block.copy(out, i, 0, Math.min(block.length, len - i));
  return out;
}

/**
 * The 43-character digest of SHA-256-crypt (https://www.akkadia.org/drepper/SHA-crypt.txt) for
 * `password` and `salt` (used as given: no truncation, no '$' handling) with `rounds` rounds.
 */
export function sha256CryptDigest(password: Buffer, salt: Buffer, rounds = 5000): string {
  const sha = () => createHash('sha256');
  const b = sha().update(password).update(salt).update(password).digest();
  const a = sha().update(password).update(salt);
  a.update(repeatTo(b, password.length));
  for (let n = password.length; n > 0; n >>= 1) a.update(n & 1 ? b : password);
  let c = a.digest();

  let dp = sha();
  for (let i = 0; i < password.length; i++) dp = dp.update(password);
  const p = repeatTo(dp.digest(), password.length);
  let ds = sha();
  for (let i = 0; i < 16 + c[0]; i++) ds = ds.update(salt);
  const s = repeatTo(ds.digest(), salt.length);

  for (let i = 0; i < rounds; i++) {
    const h = sha();
    h.update(i & 1 ? p : c);
    if (i % 3 !== 0) h.update(s);
    if (i % 7 !== 0) h.update(p);
    h.update(i & 1 ? c : p);
    c = h.digest();
  }

  let out = '';
  const emit = (b2: number, b1: number, b0: number, n: number) => {
    let w = (b2 << 16) | (b1 << 8) | b0;
    for (let i = 0; i < n; i++) {
      out += CRYPT_ALPHABET[w & 0x3f];
      w >>= 6;
    }
  };
  for (const [x, y, z] of SHA256_CRYPT_ORDER) emit(c[x], c[y], c[z], 4);
  emit(0, c[31], c[30], 3);
  return out;
}

/** MySQL 8's caching_sha2_password default: 5000 rounds, written as 005 (thousands). */
const CACHING_SHA2_ROUNDS = 5000;
const CACHING_SHA2_SALT_LENGTH = 20;

/**
 * The authentication string caching_sha2_password stores (mysql.user.authentication_string):
 * `$A$005$<20-character salt><43-character digest>`, 70 characters. The salt is drawn from the
 * crypt alphabet, so the string needs no escaping beyond an ordinary string literal.
 */
export function cachingSha2PasswordHash(password: string, salt = randomSalt(CACHING_SHA2_SALT_LENGTH)): string {
  if (salt.length !== CACHING_SHA2_SALT_LENGTH || salt.includes('$')) throw new Error('caching_sha2_password: the salt must be 20 characters without "$"');
  const digest = sha256CryptDigest(Buffer.from(password, 'utf8'), Buffer.from(salt, 'latin1'), CACHING_SHA2_ROUNDS);
  return `$A$${String(CACHING_SHA2_ROUNDS / 1000).padStart(3, '0')}$${salt}${digest}`;
}

function randomSalt(length: number): string {
  const bytes = randomBytes(length);
  let salt = '';
  for (const byte of bytes) salt += CRYPT_ALPHABET[byte & 0x3f];
  return salt;
}

/** The hash `plugin` stores for `password`. */
export function passwordHash(plugin: HashablePlugin, password: string): string {
  return plugin === 'mysql_native_password' ? mysqlNativePasswordHash(password) : cachingSha2PasswordHash(password);
}
