import { randomInt } from 'node:crypto';
import { InvalidParameterException } from './errors';

/*
 * GetRandomPassword: https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html
 * Length 1-4096 (default 32); by default upper and lower case letters,
 * digits and the punctuation !"#$%&'()*+,-./:;<=>?@[\]^_`{|}~; the space only
 * with IncludeSpace; RequireEachIncludedType (default true) puts at least one
 * of every included type in the password.
 */

export const PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const DIGITS = '0123456789';

export interface PasswordOptions {
  PasswordLength?: number;
  ExcludeCharacters?: string;
  ExcludeNumbers?: boolean;
  ExcludePunctuation?: boolean;
  ExcludeUppercase?: boolean;
  ExcludeLowercase?: boolean;
  IncludeSpace?: boolean;
  RequireEachIncludedType?: boolean;
}

export function generatePassword(o: PasswordOptions): string {
  const length = o.PasswordLength ?? 32;
  const excluded = new Set(o.ExcludeCharacters ?? '');
  const keep = (chars: string) => [...chars].filter((c) => !excluded.has(c)).join('');
  const classes: { name: string; chars: string; required: boolean }[] = [
    { name: 'lowercase', chars: o.ExcludeLowercase ? '' : keep(LOWER), required: true },
    { name: 'uppercase', chars: o.ExcludeUppercase ? '' : keep(UPPER), required: true },
    { name: 'numbers', chars: o.ExcludeNumbers ? '' : keep(DIGITS), required: true },
    { name: 'punctuation', chars: o.ExcludePunctuation ? '' : keep(PUNCTUATION), required: true },
    // The space is allowed, never required ("at least one upper and lowercase letter, one number, and one punctuation").
    { name: 'space', chars: o.IncludeSpace ? keep(' ') : '', required: false },
  ].filter((c) => c.chars.length > 0);

  if (classes.length === 0) {
    throw new InvalidParameterException('The password cannot be generated: every character type is excluded.');
  }
  const requireEach = o.RequireEachIncludedType ?? true;
  const required = requireEach ? classes.filter((c) => c.required) : [];
  if (required.length > length) {
    throw new InvalidParameterException(
      `PasswordLength ${length} is too short to include one character of each of the ${required.length} required types; ` +
        'increase PasswordLength or set RequireEachIncludedType to false.',
    );
  }
  const pool = classes.map((c) => c.chars).join('');
  const chars: string[] = required.map((c) => c.chars[randomInt(c.chars.length)]);
  while (chars.length < length) chars.push(pool[randomInt(pool.length)]);
  // Fisher-Yates, so the required characters are not always in front.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j], chars[i]];
  }
  return chars.join('');
}
