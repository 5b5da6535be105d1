import { configurationError } from './errors';
import { replaceTopLevel, topLevelMembers } from './json-members';

/** Engines named in the secret's `engine` field (the RDS secret JSON structure). */
export const ENGINES = ['postgres', 'aurora-postgresql', 'mysql', 'mariadb', 'aurora-mysql'] as const;
export type EngineName = (typeof ENGINES)[number];

export const TLS_MODES = ['verify-full', 'require', 'disable'] as const;
export type TlsMode = (typeof TLS_MODES)[number];

/**
 * A database credential as stored in a secret version, validated.
 * See https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
 */
export interface DatabaseSecret {
  engine: EngineName;
  host: string;
  port: number;
  username: string;
  password: string;
  dbname?: string;
  /** TLS mode for this database; `true` means verify-full, `false` disable. */
  ssl?: TlsMode;
  masterarn?: string;
  dbInstanceIdentifier?: string;
  dbClusterIdentifier?: string;
  /** Fields we do not interpret are kept, so a rotation never drops them. */
  extra: Record<string, unknown>;
  /**
   * The SecretString this was parsed from. A new version is written by
   * replacing only `username` and `password` in it, so every other field
   * survives byte for byte.
   */
  source?: string;
}

const KNOWN = new Set([
  'engine', 'host', 'port', 'username', 'password', 'dbname', 'ssl', 'masterarn',
  'dbInstanceIdentifier', 'dbClusterIdentifier',
]);

const MAX_FIELD = 1024;
/** Deeper values are refused: comparing or copying them could exhaust the stack. */
const MAX_DEPTH = 64;

/** The deepest nesting of objects and arrays in a JSON text, counted without recursion. */
function nestingDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++;
    } else if (c === '{' || c === '[') {
      max = Math.max(max, ++depth);
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return max;
}

/**
 * Parses a SecretString into a DatabaseSecret. Every message names the field
 * and the version label, never a value.
 */
export function parseDatabaseSecret(secretString: string | undefined, label: string): DatabaseSecret {
  const where = `the ${label} version of the secret`;
  const fix = `Fix the JSON of ${where} (fields: engine, host, port, username, password, dbname; see docs/configuration.md), then rotate again.`;
  if (secretString === undefined) {
    throw configurationError(`${where} has no SecretString (binary secrets are not supported)`, fix);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw configurationError(`${where} is not valid JSON`, fix);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw configurationError(`${where} is not a JSON object`, fix);
  }
  const obj = raw as Record<string, unknown>;
  if (nestingDepth(secretString) > MAX_DEPTH) {
    throw configurationError(`${where} nests objects or arrays more than ${MAX_DEPTH} levels deep`, fix);
  }
  // JSON.parse keeps the last of repeated keys; another reader may keep the
  // first. Such a secret means two things at once: refuse it.
  const seen = new Set<string>();
  for (const { key } of topLevelMembers(secretString)) {
    if (seen.has(key)) {
      throw configurationError(`${where} has the key ${KNOWN.has(key) ? `"${key}"` : '(a field rotor does not interpret)'} more than once`, fix);
    }
    seen.add(key);
  }

  const str = (name: string, required: boolean): string | undefined => {
    const v = obj[name];
    if (v === undefined || v === null) {
      if (required) throw configurationError(`${where} has no "${name}" field`, fix);
      return undefined;
    }
    if (typeof v !== 'string') throw configurationError(`"${name}" in ${where} must be a string, not ${typeOf(v)}`, fix);
    if (required && v.length === 0) throw configurationError(`"${name}" in ${where} is empty`, fix);
    if (v.length > MAX_FIELD) throw configurationError(`"${name}" in ${where} is longer than ${MAX_FIELD} characters`, fix);
    if (v.includes('\u0000')) throw configurationError(`"${name}" in ${where} contains a NUL character`, fix);
    // A lone UTF-16 surrogate (JSON allows "\ud800") has no UTF-8 form: the driver would send U+FFFD instead.
    if (/\p{Cs}/u.test(v)) throw configurationError(`"${name}" in ${where} contains a lone UTF-16 surrogate, which is not valid Unicode`, fix);
    return v;
  };

  const engine = str('engine', true)!;
  if (!(ENGINES as readonly string[]).includes(engine)) {
    throw configurationError(
      `"engine" in ${where} is not one of ${ENGINES.join(', ')}`,
      fix,
    );
  }
  const host = str('host', true)!;
  // Host names and addresses are ASCII (IDNs travel as punycode): no space, slash or control
  // character, and no look-alike letters that lower-case into another name.
  if (!/^[\x21-\x7e]+$/.test(host) || host.includes('/')) throw configurationError(`"host" in ${where} is not a host name or address (printable ASCII, no "/")`, fix);

  const port = parsePort(obj.port, where, fix, engine as EngineName);
  const username = str('username', true)!;
  // Control and bidi characters have no place in a user name; printed by the CLI they could
  // rewrite the operator's terminal.
  if (/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(username)) {
    throw configurationError(`"username" in ${where} contains a control or bidirectional-formatting character`, fix);
  }
  const password = str('password', true)!;
  const dbname = str('dbname', false);
  const ssl = parseSsl(obj.ssl, where, fix);
  const masterarn = str('masterarn', false);
  const dbInstanceIdentifier = str('dbInstanceIdentifier', false);
  const dbClusterIdentifier = str('dbClusterIdentifier', false);

  // defineProperty: a key named "__proto__" is data, not the object's prototype.
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (!KNOWN.has(k)) Object.defineProperty(extra, k, { value: v, enumerable: true, writable: true, configurable: true });
  }

  return {
    engine: engine as EngineName, host, port, username, password, dbname, ssl, masterarn,
    dbInstanceIdentifier, dbClusterIdentifier, extra, source: secretString,
  };
}

/**
 * The JSON stored for a DatabaseSecret. A secret parsed from a SecretString
 * keeps that text with only `username` and `password` replaced; one built in
 * code is written with the known fields first.
 */
export function serializeDatabaseSecret(s: DatabaseSecret): string {
  if (s.source !== undefined) {
    const text = replaceTopLevel(s.source, { username: s.username, password: s.password });
    const check = parseDatabaseSecret(text, 'new');
    if (differingFields(check, s, []).length > 0 || check.password !== s.password) {
      // Only username and password may change; anything else means a caller
      // edited another field of a parsed secret, which the text cannot show.
      throw configurationError('internal: a field other than username or password changed on a parsed secret', 'This is a bug in rotor; report it.');
    }
    return text;
  }
  const out: Record<string, unknown> = {
    engine: s.engine, host: s.host, port: s.port, username: s.username, password: s.password,
  };
  if (s.dbname !== undefined) out.dbname = s.dbname;
  if (s.ssl !== undefined) out.ssl = s.ssl;
  if (s.masterarn !== undefined) out.masterarn = s.masterarn;
  if (s.dbInstanceIdentifier !== undefined) out.dbInstanceIdentifier = s.dbInstanceIdentifier;
  if (s.dbClusterIdentifier !== undefined) out.dbClusterIdentifier = s.dbClusterIdentifier;
  const merged: Record<string, unknown> = { ...out };
  for (const [k, v] of Object.entries(s.extra)) Object.defineProperty(merged, k, { value: v, enumerable: true, writable: true, configurable: true });
  return JSON.stringify(merged);
}

const DEFAULT_PORTS: Record<EngineName, number> = {
  postgres: 5432, 'aurora-postgresql': 5432, mysql: 3306, mariadb: 3306, 'aurora-mysql': 3306,
};

function parsePort(v: unknown, where: string, fix: string, engine: EngineName): number {
  if (v === undefined || v === null) return DEFAULT_PORTS[engine];
  // RDS-created secrets store the port as a number; hand-written ones often as a string.
  const n = typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 65535) {
    throw configurationError(`"port" in ${where} must be an integer between 1 and 65535`, fix);
  }
  return n;
}

function parseSsl(v: unknown, where: string, fix: string): TlsMode | undefined {
  if (v === undefined || v === null) return undefined;
  if (v === true) return 'verify-full';
  if (v === false) return 'disable';
  if (typeof v === 'string' && (TLS_MODES as readonly string[]).includes(v)) return v as TlsMode;
  throw configurationError(`"ssl" in ${where} must be one of ${TLS_MODES.join(', ')}, true or false`, fix);
}

function typeOf(v: unknown): string {
  return Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** The engine family decides which driver speaks to the database. */
export function engineFamily(engine: EngineName): 'postgres' | 'mysql' {
  return engine === 'postgres' || engine === 'aurora-postgresql' ? 'postgres' : 'mysql';
}

/** Fields compared between two versions; `extra` is compared as a whole. */
const TARGET_FIELDS = [
  'engine', 'host', 'port', 'dbname', 'ssl', 'username', 'masterarn', 'dbInstanceIdentifier', 'dbClusterIdentifier',
] as const;
export type TargetField = (typeof TARGET_FIELDS)[number];

/**
 * Invariant 3 of DESIGN.md: a pending secret may differ from the current one
 * only in what the strategy changes. Anyone who can write AWSPENDING must not
 * be able to point the function at another database or user.
 * Returns the names of the fields that differ (never their values).
 */
export function differingFields(a: DatabaseSecret, b: DatabaseSecret, mayDiffer: ReadonlyArray<TargetField>): string[] {
  const out: string[] = [];
  for (const f of TARGET_FIELDS) {
    if (mayDiffer.includes(f)) continue;
    if (a[f] !== b[f]) out.push(f);
  }
  const extraKeys = new Set([...Object.keys(a.extra), ...Object.keys(b.extra)]);
  for (const k of extraKeys) {
    if (JSON.stringify(a.extra[k]) !== JSON.stringify(b.extra[k])) out.push(k);
  }
  return out;
}
