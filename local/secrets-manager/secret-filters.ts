import { InvalidParameterException } from './errors';
import type { SecretRecord } from './model';
import type { FilterInput } from './operation-shapes';

/*
 * ListSecrets / BatchGetSecretValue filters:
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Filter.html
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/manage_search-secret.html
 * - description: prefix, not case-sensitive; name, tag-key, tag-value,
 *   primary-region, owning-service: prefix, case-sensitive;
 *   all: the value is broken into words, every attribute is searched, not case-sensitive.
 * - A value starting with "!" negates it.
 * Several values of one filter: any positive value may match, and no negated
 * value may match. Several filters: all must match.
 */

export type SecretPredicate = (s: SecretRecord) => boolean;

export function compileFilters(filters: FilterInput[] | undefined): SecretPredicate {
  const preds = (filters ?? []).map(compileFilter);
  return (s) => preds.every((p) => p(s));
}

function compileFilter(f: FilterInput): SecretPredicate {
  if (f.Key === undefined) throw new InvalidParameterException('A filter needs a Key.');
  if (!f.Values || f.Values.length === 0) throw new InvalidParameterException(`The filter ${f.Key} needs at least one value.`);
  const key = f.Key;
  const positives: string[] = [];
  const negatives: string[] = [];
  for (const v of f.Values) {
    if (v.startsWith('!')) negatives.push(v.slice(1));
    else positives.push(v);
  }
  return (s) => {
    const matches = (value: string) => attributeMatches(key, s, value);
    if (positives.length > 0 && !positives.some(matches)) return false;
    return !negatives.some(matches);
  };
}

function attributeMatches(key: string, s: SecretRecord, value: string): boolean {
  switch (key) {
    case 'name':
      return s.name.startsWith(value);
    case 'description':
      return (s.description ?? '').toLowerCase().startsWith(value.toLowerCase());
    case 'tag-key':
      return s.tags.some((t) => t.Key.startsWith(value));
    case 'tag-value':
      return s.tags.some((t) => t.Value.startsWith(value));
    case 'primary-region':
      return s.primaryRegion.startsWith(value);
    case 'owning-service':
      return (s.owningService ?? '').startsWith(value) && s.owningService !== undefined;
    case 'all': {
      const wanted = words(value);
      if (wanted.length === 0) return true;
      const have = [s.name, s.description ?? '', ...s.tags.flatMap((t) => [t.Key, t.Value])].flatMap(words);
      return wanted.some((w) => have.some((h) => h.startsWith(w)));
    }
    default:
      return false;
  }
}

/**
 * "The words are separated by any change from uppercase to lowercase, from
 * letter to number, or from number/letter to punctuation"; lower-cased.
 */
export function words(text: string): string[] {
  return (text.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+/g) ?? []).map((w) => w.toLowerCase());
}
