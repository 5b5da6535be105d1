import { randomInt } from 'node:crypto';
import { configurationError } from './errors';
import type { PasswordPolicy } from './function-config';
import { CLASSES, EXCLUDED_BY, type CharClass } from './password-policy';

/**
 * A password drawn in the function with node:crypto, with the semantics of
 * Secrets Manager's GetRandomPassword
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetRandomPassword.html):
 * `length` characters from the included types (lowercase, uppercase,
 * numbers, punctuation `!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`; no space), minus
 * the excluded characters (the engine's defaults when the policy names
 * none); with `requireEachIncludedType`, at least one character of every
 * type that still has a character after the exclusions.
 *
 * Every password meeting the policy is equally likely: candidates are drawn
 * uniformly from the pool and those lacking a required type are drawn again
 * (for the default 32 characters over 4 types that is about 1 in 2,500).
 * Generating here saves the GetRandomPassword round trip and the IAM grant
 * on `*` that action needs.
 */
export function generatePassword(policy: PasswordPolicy, engineExcludes: string): string {
  const excluded = policy.excludeCharacters ?? engineExcludes;
  const included = (Object.keys(CLASSES) as CharClass[])
    .filter((cls) => policy[EXCLUDED_BY[cls]] !== true)
    .map((cls) => [...CLASSES[cls]].filter((c) => !excluded.includes(c)))
    .filter((chars) => chars.length > 0);
  if (included.length === 0) {
    throw configurationError(
      'the password policy excludes every character type, so no password can be generated',
      'Fix ROTOR_EXCLUDE_CHARACTERS / ROTOR_EXCLUDE_* on the rotation function (rotationFunction.excludeCharacters etc. in rotor.config.json). Nothing was changed.',
      'PasswordPolicyEmpty',
    );
  }
  const required = policy.requireEachIncludedType ? included : [];
  if (required.length > policy.length) {
    throw configurationError(
      `ROTOR_PASSWORD_LENGTH ${policy.length} is too short for one character of each of the ${required.length} required types`,
      'Raise ROTOR_PASSWORD_LENGTH or set ROTOR_REQUIRE_EACH_INCLUDED_TYPE=false. Nothing was changed.',
      'PasswordPolicyTooShort',
    );
  }
  const pool = included.flat();
  for (;;) {
    const chars = Array.from({ length: policy.length }, () => pool[randomInt(pool.length)]);
    if (required.every((cls) => chars.some((c) => cls.includes(c)))) return chars.join('');
  }
}
