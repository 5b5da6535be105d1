import type mysqlTypes from 'mysql2/promise';

/** A token of SHOW GRANTS / SHOW CREATE USER output. */
export interface Token {
  type: 'word' | 'ident' | 'string' | 'punct';
  value: string;
}

const BACKSLASH_ESCAPES: Record<string, string> = { 0: '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a', '%': '\\%', _: '\\_' };

/** Splits SQL text into words, quoted identifiers, strings (decoded) and single punctuation characters. */
export function tokenize(sql: string, ansiQuotes: boolean): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const quoted = (quote: string, backslashEscapes: boolean): string => {
    let value = '';
    i++;
    for (;;) {
      if (i >= sql.length) throw new Error('unterminated quoted text');
      const c = sql[i];
      if (backslashEscapes && c === '\\') {
        if (i + 1 >= sql.length) throw new Error('unterminated quoted text');
        const next = sql[i + 1];
        value += BACKSLASH_ESCAPES[next] ?? next;
        i += 2;
      } else if (c === quote) {
        if (sql[i + 1] !== quote) {
          i++;
          return value;
        }
        value += quote;
        i += 2;
      } else {
        value += c;
        i++;
      }
    }
  };
  while (i < sql.length) {
    const c = sql[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '`' || (c === '"' && ansiQuotes)) {
      tokens.push({ type: 'ident', value: quoted(c, false) });
    } else if (c === "'" || c === '"') {
      tokens.push({ type: 'string', value: quoted(c, true) });
    } else {
      const word = /^[A-Za-z0-9_$]+/.exec(sql.slice(i, i + 256));
      if (word) {
        tokens.push({ type: 'word', value: word[0] });
        i += word[0].length;
      } else {
        tokens.push({ type: 'punct', value: c });
        i++;
      }
    }
  }
  return tokens;
}

export const isWord = (t: Token | undefined, word: string) => t?.type === 'word' && t.value.toUpperCase() === word;
export const isName = (t: Token | undefined) => t?.type === 'ident' || t?.type === 'string';

/** Tokens back to SQL: identifiers and strings through the driver's escaping. */
export function renderTokens(tokens: Token[]): string {
  // The driver is loaded here, not with this module: `rotor doctor` parses grant lines for every
  // engine and must not load mysql2 to check a PostgreSQL secret.
  const mysql = require('mysql2/promise') as typeof mysqlTypes;
  let out = '';
  let prev: Token | undefined;
  for (const t of tokens) {
    const sql = t.type === 'ident' ? mysql.escapeId(t.value, true) : t.type === 'string' ? mysql.escape(t.value) : t.value;
    const tight = prev === undefined
      || (t.type === 'punct' && [',', ')', '.', '@'].includes(t.value))
      || (prev.type === 'punct' && ['(', '.', '@'].includes(prev.value));
    out += tight ? sql : ` ${sql}`;
    prev = t;
  }
  return out;
}
