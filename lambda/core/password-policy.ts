import type { PasswordPolicy } from './function-config';

/** GetRandomPassword's character classes (API_GetRandomPassword: "punctuation ... !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"). */
export const CLASSES = {
  lowercase: 'abcdefghijklmnopqrstuvwxyz',
  uppercase: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  numbers: '0123456789',
  punctuation: '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
} as const;
export type CharClass = keyof typeof CLASSES;

export const EXCLUDED_BY: Record<CharClass, keyof PasswordPolicy> = {
  lowercase: 'excludeLowercase',
  uppercase: 'excludeUppercase',
  numbers: 'excludeNumbers',
  punctuation: 'excludePunctuation',
};

function classOf(c: string): CharClass | undefined {
  return (Object.keys(CLASSES) as CharClass[]).find((k) => CLASSES[k].includes(c));
}

/**
 * Why `password` is not one the policy could have produced (length, classes,
 * exclusions), or undefined when it could have. The reason never quotes the
 * password or any character of it.
 * @param engineExcludes the engine's default exclusions, used when the policy names none
 */
export function passwordPolicyViolation(password: string, policy: PasswordPolicy, engineExcludes: string): string | undefined {
  const chars = [...password];
  if (chars.length < policy.length) return `it has ${chars.length} characters, fewer than the policy's ${policy.length}`;
  const excluded = policy.excludeCharacters ?? engineExcludes;
  const present = new Set<CharClass>();
  for (const c of chars) {
    const cls = classOf(c);
    if (!cls) return 'it holds a character outside the letters, digits and punctuation the policy draws from';
    if (policy[EXCLUDED_BY[cls]] === true) return `it holds ${cls}, which the policy excludes`;
    if (excluded.includes(c)) return 'it holds a character the policy excludes';
    present.add(cls);
  }
  if (policy.requireEachIncludedType) {
    for (const cls of Object.keys(CLASSES) as CharClass[]) {
      const included = policy[EXCLUDED_BY[cls]] !== true && [...CLASSES[cls]].some((c) => !excluded.includes(c));
      if (included && !present.has(cls)) return `it has no ${cls}, which the policy requires`;
    }
  }
  return undefined;
}
