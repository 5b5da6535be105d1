/**
 * The fields of a database secret that a client needs, parsed on its own so
 * that the client does not depend on the rotation function's code. The JSON
 * structure is AWS's:
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_secret_json_structure.html
 */
export interface DatabaseCredential {
  engine: string;
  host: string;
  port: number;
  username: string;
  /** Never logged, never part of an error message. */
  password: string;
  dbname?: string;
  /** The secret's `ssl` field: verify-full (also when absent or true), require, disable (or false). */
  tlsMode: 'verify-full' | 'require' | 'disable';
}

/** A secret value that is not a usable database credential. Names the field, never a value. */
export class CredentialFormatError extends Error {
  override readonly name = 'CredentialFormatError';
}

export function parseDatabaseCredential(secretString: string, secretId: string): DatabaseCredential {
  const bad = (what: string) => new CredentialFormatError(`secret ${secretId}: ${what} (expected the JSON of a database secret: engine, host, port, username, password, dbname)`);
  let raw: unknown;
  try {
    raw = JSON.parse(secretString);
  } catch {
    throw bad('the value is not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('the value is not a JSON object');
  const o = raw as Record<string, unknown>;
  const str = (k: string): string => {
    const v = o[k];
    if (typeof v !== 'string' || v.length === 0) throw bad(`"${k}" is missing or not a string`);
    return v;
  };
  const port = typeof o.port === 'string' && /^[0-9]+$/.test(o.port) ? Number(o.port) : o.port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) throw bad('"port" is missing or not a port number');
  const dbname = o.dbname === undefined || o.dbname === null ? undefined : str('dbname');
  const ssl = o.ssl;
  let tlsMode: DatabaseCredential['tlsMode'];
  if (ssl === undefined || ssl === null || ssl === true || ssl === 'verify-full') tlsMode = 'verify-full';
  else if (ssl === 'require') tlsMode = 'require';
  else if (ssl === false || ssl === 'disable') tlsMode = 'disable';
  else throw bad('"ssl" is not verify-full, require, disable, true or false');
  return { engine: str('engine'), host: str('host'), port, username: str('username'), password: str('password'), dbname, tlsMode };
}
