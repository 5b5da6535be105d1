/**
 * Where each top-level member of a JSON object text sits, so a rotation can
 * replace the values of `username` and `password` and keep every other byte
 * of the secret as its owner wrote it: key order, number spelling (a number
 * beyond 2^53 survives, JSON.parse would round it), escapes, whitespace, and
 * keys such as `__proto__` that are plain data.
 */
export interface JsonMember {
  key: string;
  valueStart: number;
  valueEnd: number;
}

const WS = new Set([' ', '\t', '\n', '\r']);

/** Top-level members of `text`, which JSON.parse has already accepted as an object. */
export function topLevelMembers(text: string): JsonMember[] {
  const out: JsonMember[] = [];
  let i = skipWs(text, 0);
  if (text[i] !== '{') throw new Error('not a JSON object');
  i = skipWs(text, i + 1);
  while (text[i] !== '}') {
    const keyStart = i;
    i = endOfString(text, i);
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    i = skipWs(text, skipWs(text, i) + 1); // past ':'
    const valueStart = i;
    i = endOfValue(text, i);
    out.push({ key, valueStart, valueEnd: i });
    i = skipWs(text, i);
    if (text[i] === ',') i = skipWs(text, i + 1);
  }
  return out;
}

/** `text` with the values of the named top-level members replaced by the JSON of `values`. */
export function replaceTopLevel(text: string, values: Record<string, string>): string {
  const members = topLevelMembers(text).filter((m) => Object.prototype.hasOwnProperty.call(values, m.key));
  let out = text;
  // Right to left, so earlier offsets stay valid.
  for (const m of members.sort((a, b) => b.valueStart - a.valueStart)) {
    out = out.slice(0, m.valueStart) + JSON.stringify(values[m.key]) + out.slice(m.valueEnd);
  }
  return out;
}

function skipWs(text: string, i: number): number {
  while (i < text.length && WS.has(text[i])) i++;
  return i;
}

function endOfString(text: string, i: number): number {
  i++;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}

function endOfValue(text: string, i: number): number {
  const c = text[i];
  if (c === '"') return endOfString(text, i);
  if (c === '{' || c === '[') {
    let depth = 0;
    while (i < text.length) {
      const d = text[i];
      if (d === '"') {
        i = endOfString(text, i);
        continue;
      }
      i++;
      if (d === '{' || d === '[') depth++;
      else if (d === '}' || d === ']') {
        depth--;
        if (depth === 0) return i;
      }
    }
    return i;
  }
  while (i < text.length && !WS.has(text[i]) && text[i] !== ',' && text[i] !== '}' && text[i] !== ']') i++;
  return i;
}
