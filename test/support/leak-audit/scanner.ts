/**
 * The leak scanner: finds passwords in captured text (log lines, EMF metrics,
 * lifecycle events, error messages, command output). Pure: no I/O, and the
 * report it returns never contains a password - a hit is described by where
 * it was found, how it was encoded, and a preview with the password replaced.
 */

/** Passwords shorter than this are not searched for (too likely to match by chance); the report counts them. */
export const MIN_PASSWORD_LENGTH = 8;
const PREVIEW_CONTEXT = 60;
export const REDACTED = '[REDACTED]';

export interface CapturedText {
  /** Where the text came from, e.g. `stdout`, `function-output`, `lifecycle-events`, `cli`. */
  source: string;
  text: string;
}

export interface Leak {
  source: string;
  /** How the password appeared: exact, json-escaped, json-escaped-twice, url-encoded; or `pattern:<name>` for a structural hit. */
  form: string;
  passwordLength?: number;
  /** The surroundings of the hit with every tracked password (and the hit itself) replaced by [REDACTED]. */
  preview: string;
}

export interface SourceFigures {
  texts: number;
  lines: number;
  bytes: number;
}

export interface ScanResult {
  lines: number;
  bytes: number;
  sources: Record<string, SourceFigures>;
  /** Distinct passwords searched for (>= MIN_PASSWORD_LENGTH). */
  passwordsTracked: number;
  /** Distinct passwords too short to search for. */
  passwordsSkippedShort: number;
  leaks: Leak[];
}

/** The spellings of a password a log or JSON document could contain. */
export function passwordForms(password: string): Array<{ form: string; needle: string }> {
  const forms = new Map<string, string>();
  const add = (form: string, needle: string) => {
    if (!forms.has(needle)) forms.set(needle, form);
  };
  add('exact', password);
  const once = JSON.stringify(password).slice(1, -1);
  add('json-escaped', once);
  add('json-escaped-twice', JSON.stringify(once).slice(1, -1));
  try {
    add('url-encoded', encodeURIComponent(password));
  } catch {
    // A lone surrogate cannot be URL-encoded, so it cannot appear that way either.
  }
  return [...forms].map(([needle, form]) => ({ form, needle }));
}

/**
 * Values that say "a password was here" without being one; a structural hit
 * with such a value is not a leak.
 */
function looksRedacted(value: string): boolean {
  return value === '' || /^\[?(redacted|hidden|masked|omitted)\]?$/i.test(value) || /^\*+$/.test(value) || /^<[^>]*>$/.test(value) || value.includes(REDACTED);
}

/**
 * Password hashes as a server stores them: what the rotation function sends instead of a password
 * (a SCRAM-SHA-256 verifier to PostgreSQL, a mysql_native_password or caching_sha2_password hash
 * to MariaDB/MySQL), so a statement log holds them. A structural hit with such a value is not a
 * leak of a plain-text password (a known password inside one is still found as an exact hit).
 */
export function looksHashed(value: string): boolean {
  return /^\*[0-9A-F]{40}$/.test(value)
    || /^SCRAM-SHA-256\$\d+:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$/.test(value)
    || /^md5[0-9a-f]{32}$/.test(value)
    || /^\$A\$\d{3}\$[\s\S]{20}[./0-9A-Za-z]{43}$/.test(value);
}

/**
 * Shapes that carry a password whatever its value, so that a password the
 * audit does not know (one made in a child process) is still caught:
 * a JSON `"...password": "value"` pair, a URL with `user:password@`, and SQL
 * `PASSWORD '...'` / `IDENTIFIED BY '...'`.
 */
const PATTERNS: Array<{ name: string; re: RegExp }> = [
  { name: 'json-password-field', re: /\\*"[A-Za-z_]*[Pp]assword\\*"\s*:\s*\\*"((?:[^"\\]|\\(?!"))*)\\*"/dg },
  { name: 'url-userinfo', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@"'\\]+:([^\s@/"'\\]+)@/dgi },
  { name: 'sql-password-literal', re: /\b(?:PASSWORD|IDENTIFIED\s+BY)\s+'((?:[^'\\]|'')*)'/dgi },
];

/** Replaces every spelling of every given password in `text` (longest first, so a password inside another is handled). */
export function redact(text: string, passwords: Iterable<string>): string {
  const needles = [...new Set([...passwords].filter((p) => p.length >= MIN_PASSWORD_LENGTH).flatMap((p) => passwordForms(p).map((f) => f.needle)))];
  needles.sort((a, b) => b.length - a.length);
  let out = text;
  for (const n of needles) out = out.split(n).join(REDACTED);
  return out;
}

function preview(text: string, start: number, end: number, passwords: string[]): string {
  // Redact a wider window than is shown, so a password cut by the window's edge is still replaced whole.
  const before = redact(text.slice(Math.max(0, start - 4 * PREVIEW_CONTEXT), start), passwords).slice(-PREVIEW_CONTEXT);
  const after = redact(text.slice(end, end + 4 * PREVIEW_CONTEXT), passwords).slice(0, PREVIEW_CONTEXT);
  return `${before}${REDACTED}${after}`.replace(/[\r\n]+/g, ' ');
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < text.length - 1; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Scans every text for every password (and for password-shaped values); the result holds counts and redacted previews only. */
export function scanTexts(texts: Iterable<CapturedText>, passwords: Iterable<string>): ScanResult {
  const all = [...new Set(passwords)].filter((p) => typeof p === 'string' && p.length > 0);
  const tracked = all.filter((p) => p.length >= MIN_PASSWORD_LENGTH);
  const result: ScanResult = { lines: 0, bytes: 0, sources: {}, passwordsTracked: tracked.length, passwordsSkippedShort: all.length - tracked.length, leaks: [] };
  const needles = tracked.flatMap((p) => passwordForms(p).map((f) => ({ ...f, length: p.length })));

  for (const { source, text } of texts) {
    const lines = countLines(text);
    const bytes = Buffer.byteLength(text);
    result.lines += lines;
    result.bytes += bytes;
    const s = (result.sources[source] ??= { texts: 0, lines: 0, bytes: 0 });
    s.texts++;
    s.lines += lines;
    s.bytes += bytes;

    for (const n of needles) {
      for (let at = text.indexOf(n.needle); at !== -1; at = text.indexOf(n.needle, at + n.needle.length)) {
        result.leaks.push({ source, form: n.form, passwordLength: n.length, preview: preview(text, at, at + n.needle.length, tracked) });
      }
    }
    for (const { name, re } of PATTERNS) {
      re.lastIndex = 0;
      for (let m = re.exec(text); m; m = re.exec(text)) {
        const value = m[1];
        if (looksRedacted(value) || looksHashed(value) || looksRedacted(redact(value, tracked))) continue;
        // A tracked password here is already reported above as an exact hit.
        if (tracked.some((p) => value.includes(p))) continue;
        const [at, end] = m.indices![1];
        result.leaks.push({ source, form: `pattern:${name}`, passwordLength: value.length, preview: preview(text, at, end, tracked) });
      }
    }
  }
  return result;
}
