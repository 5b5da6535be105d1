/**
 * What the leak audit collects for one test file. The test environment
 * (environment.js) creates it and puts it on the test file's global object;
 * the setup module (capture.ts) and the taps in test helpers add to it.
 */
export interface AuditInstance {
  /** A LocalSecretsManager (its lifecycle events are read when the file ends). */
  events(): unknown[];
}

export interface LeakAuditState {
  /** The test file, relative to the project root. */
  testFile: string;
  /** Captured text by source; joined and scanned when the file ends. */
  texts: Map<string, string[]>;
  /** Passwords the file created, by where they were seen first (for the report's figures). */
  passwords: Map<string, string>;
  instances: AuditInstance[];
  /** The test file's console (jest's): its buffer of messages is scanned when the file ends. */
  console?: unknown;
  /** Hooks that could not be installed (the report lists them; the run fails). */
  problems: string[];
  /** Throwaway database servers of this file not removed yet (their logs are read when they are, or when the file ends). */
  servers?: Set<import('../../../local/throwaway-server').ServerLogSource>;
  /** Figures of the server logs read (see server-logs.ts). */
  serverLogs?: import('./server-logs').ServerLogFigures;
  /** Set by capture.ts: scans what was captured and returns the file's report (called by the environment at teardown). */
  finish?: () => unknown;
}

export const STATE_KEY = '__rotorLeakAudit';

/** The state of the running test file, or undefined outside the leak-audit environment. */
export function auditState(): LeakAuditState | undefined {
  return (globalThis as Record<string, unknown>)[STATE_KEY] as LeakAuditState | undefined;
}

/** Adds captured text (a log line, command output, an error message) to the audit of the running test file. */
export function recordOutput(source: string, text: string | Buffer | undefined | null): void {
  const state = auditState();
  if (!state || text === undefined || text === null) return;
  const s = typeof text === 'string' ? text : text.toString('utf8');
  if (s.length === 0) return;
  let list = state.texts.get(source);
  if (!list) state.texts.set(source, (list = []));
  list.push(s);
}

/** Adds a password the test file created to the ones the audit searches for. */
export function recordPassword(password: unknown, origin: string): void {
  const state = auditState();
  if (!state || typeof password !== 'string' || password.length === 0) return;
  if (!state.passwords.has(password)) state.passwords.set(password, origin);
}

/** Every string under a key containing "password" (any case) in a secret's JSON value. */
export function passwordsInSecretString(secretString: string | undefined): string[] {
  if (!secretString) return [];
  let value: unknown;
  try {
    value = JSON.parse(secretString);
  } catch {
    return [];
  }
  const found: string[] = [];
  const walk = (v: unknown, depth: number) => {
    if (!v || typeof v !== 'object' || depth > 5) return;
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'string' && /password/i.test(k)) found.push(x);
      else walk(x, depth + 1);
    }
  };
  walk(value, 0);
  return found;
}
