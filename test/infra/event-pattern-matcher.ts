/**
 * A small EventBridge pattern matcher for tests (no AWS reachable here):
 * exact values, prefix, suffix, numeric ranges, anything-but, exists, and
 * nested objects; arrays in events match when any element matches.
 * https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html
 */
export function matchesPattern(pattern: Record<string, unknown>, event: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, rule]) => matchField(rule, event[key], key in event));
}

function matchField(rule: unknown, value: unknown, present: boolean): boolean {
  if (Array.isArray(rule)) {
    return rule.some((r) => matchLeaf(r, value, present));
  }
  if (rule !== null && typeof rule === 'object') {
    const inner = rule as Record<string, unknown>;
    const candidates = Array.isArray(value) ? value : [value];
    return candidates.some(
      (v) => v !== null && typeof v === 'object' && Object.entries(inner).every(([k, r]) => matchField(r, (v as Record<string, unknown>)[k], k in (v as object))),
    );
  }
  throw new Error(`pattern leaf must be an array, got ${JSON.stringify(rule)}`);
}

function matchLeaf(rule: unknown, value: unknown, present: boolean): boolean {
  const values = Array.isArray(value) ? value : [value];
  if (rule === null || typeof rule !== 'object') return present && values.some((v) => v === rule);
  const r = rule as Record<string, unknown>;
  if ('exists' in r) return r.exists ? present : !present;
  if (!present) return false;
  if ('prefix' in r) return values.some((v) => typeof v === 'string' && v.startsWith(r.prefix as string));
  if ('suffix' in r) return values.some((v) => typeof v === 'string' && v.endsWith(r.suffix as string));
  if ('anything-but' in r) {
    const but = r['anything-but'];
    const list = Array.isArray(but) ? but : [but];
    if (but !== null && typeof but === 'object' && !Array.isArray(but) && 'prefix' in but) {
      return values.every((v) => typeof v === 'string' && !v.startsWith((but as { prefix: string }).prefix));
    }
    return values.every((v) => !list.includes(v));
  }
  if ('numeric' in r) {
    const ops = r.numeric as (string | number)[];
    return values.some((v) => {
      if (typeof v !== 'number') return false;
      for (let i = 0; i < ops.length; i += 2) {
        const op = ops[i];
        const n = ops[i + 1] as number;
        const ok = op === '>' ? v > n : op === '>=' ? v >= n : op === '<' ? v < n : op === '<=' ? v <= n : op === '=' ? v === n : false;
        if (!ok) return false;
      }
      return true;
    });
  }
  throw new Error(`unsupported pattern operator ${JSON.stringify(rule)}`);
}
