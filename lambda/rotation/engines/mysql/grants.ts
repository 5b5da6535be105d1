import { isName, isWord, renderTokens, tokenize } from './sql-tokens';

/**
 * One line of SHOW GRANTS, without its grantee. `what` is the text between GRANT/REVOKE and
 * TO/FROM, rebuilt from tokens: identifiers and strings re-quoted by the driver (escapeId /
 * escape), keywords checked to be plain words, punctuation from a fixed set.
 */
export interface GrantLine {
  /** privileges: `GRANT privs ON obj`; role: `GRANT role[, role]`; proxy: `GRANT PROXY ON acct`; restriction: MySQL partial revoke `REVOKE privs ON obj`. */
  kind: 'privileges' | 'role' | 'proxy' | 'restriction';
  what: string;
  grantOption: boolean;
  adminOption: boolean;
}

/** Equal keys mean equal grants. */
export function grantKey(g: GrantLine): string {
  return `${g.kind} ${g.what}${g.grantOption ? ' WITH GRANT OPTION' : ''}${g.adminOption ? ' WITH ADMIN OPTION' : ''}`;
}

/** The statement that gives a grant line to another account: two placeholders `?@?` for it. */
export function grantStatement(g: GrantLine): string {
  if (g.kind === 'restriction') return `REVOKE ${g.what} FROM ?@?`;
  return `GRANT ${g.what} TO ?@?${g.grantOption ? ' WITH GRANT OPTION' : ''}${g.adminOption ? ' WITH ADMIN OPTION' : ''}`;
}


const HEAD_PUNCTUATION = new Set([',', '(', ')', '.', '*', '@']);

/**
 * Parses one line of `SHOW GRANTS FOR grantee` (MariaDB 10.x, MySQL 5.7 and 8.x shapes):
 *   GRANT <privs> ON [type] <level> TO <grantee> [IDENTIFIED ...] [REQUIRE ...] [WITH ...]
 *   GRANT <role>[@<host>][, ...] TO <grantee> [WITH ADMIN OPTION]
 *   GRANT PROXY ON <account> TO <grantee> [WITH GRANT OPTION]
 *   REVOKE <privs> ON <level> FROM <grantee>          (MySQL 8 partial revokes)
 *   SET DEFAULT ROLE <role> FOR <grantee>            (MariaDB; default roles are read from mysql.user)
 * The grantee is found as a token sequence (never by searching the text for the name, which may
 * also occur in object names) and must be exactly `grantee`. Everything after it is dropped except
 * WITH GRANT/ADMIN OPTION: password hashes and authentication are never copied, and REQUIRE and
 * limits are copied from mysql.user instead. Returns null for lines with nothing to copy
 * (USAGE alone, SET DEFAULT ROLE); throws an Error (naming no value) for any other shape.
 */
export function parseGrantLine(line: string, grantee: { user: string; host: string }, opts: { ansiQuotes?: boolean } = {}): GrantLine | null {
  const tokens = tokenize(line, opts.ansiQuotes ?? false);
  if (isWord(tokens[0], 'SET')) {
    if (isWord(tokens[1], 'DEFAULT') && isWord(tokens[2], 'ROLE')) return null;
    throw new Error('a SET line that is not SET DEFAULT ROLE');
  }
  const verb = isWord(tokens[0], 'GRANT') ? 'GRANT' : isWord(tokens[0], 'REVOKE') ? 'REVOKE' : undefined;
  if (!verb) throw new Error('neither GRANT nor REVOKE');
  // Privileges, roles and object names are quoted or plain keywords; TO/FROM never occurs among them.
  const at = tokens.findIndex((t, index) => index > 0 && isWord(t, verb === 'GRANT' ? 'TO' : 'FROM'));
  if (at < 0) throw new Error(`no ${verb === 'GRANT' ? 'TO' : 'FROM'} clause`);
  const [user, sep, host] = tokens.slice(at + 1, at + 4);
  if (!isName(user) || sep?.type !== 'punct' || sep.value !== '@' || !isName(host)) throw new Error('the grantee is not user@host');
  if (user.value !== grantee.user || host.value !== grantee.host) throw new Error('the grantee is another account');

  const head = tokens.slice(1, at);
  const tail = tokens.slice(at + 4);
  if (head.length === 0) throw new Error('nothing granted');
  for (const t of head) {
    if (t.type === 'word' && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(t.value)) throw new Error('an unexpected word');
    if (t.type === 'punct' && !HEAD_PUNCTUATION.has(t.value)) throw new Error('an unexpected character');
  }
  const option = (word: string) => tail.some((t, i) => isWord(t, word) && isWord(tail[i + 1], 'OPTION'));
  const on = head.findIndex((t) => isWord(t, 'ON'));

  let kind: GrantLine['kind'];
  if (verb === 'REVOKE') {
    if (on <= 0) throw new Error('a REVOKE line without ON');
    kind = 'restriction';
  } else if (isWord(head[0], 'PROXY') && on === 1) {
    kind = 'proxy';
  } else if (on > 0) {
    kind = 'privileges';
  } else {
    // Role names only: name[@host][, name[@host]]...
    if (!head.every((t) => isName(t) || (t.type === 'punct' && (t.value === '@' || t.value === ',')))) throw new Error('an unexpected role list');
    kind = 'role';
  }
  const grantOption = verb === 'GRANT' && kind !== 'role' && option('GRANT');
  const adminOption = kind === 'role' && option('ADMIN');
  if (kind === 'privileges' && on === 1 && isWord(head[0], 'USAGE') && !grantOption) return null;
  return { kind, what: renderTokens(head), grantOption, adminOption };
}
