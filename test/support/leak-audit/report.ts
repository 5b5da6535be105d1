import { scanTexts, type CapturedText, type Leak, type SourceFigures } from './scanner';
import { readServerLogs, type ServerLogFigures } from './server-logs';
import type { LeakAuditState } from './state';

/** One test file's audit, as written to .tmp/leak-audit/<file>.json: counts and redacted previews only. */
export interface FileReport {
  testFile: string;
  lines: number;
  bytes: number;
  sources: Record<string, SourceFigures>;
  passwordsTracked: number;
  passwordsSkippedShort: number;
  /** Distinct passwords by where the audit learnt them (secret-version, database-server, ...). */
  passwordOrigins: Record<string, number>;
  localSecretsManagers: number;
  lifecycleEvents: number;
  /** The throwaway servers' logs read (servers, files, bytes) and fixture password statements left out. */
  serverLogs: ServerLogFigures;
  leaks: Leak[];
  problems: string[];
}

/** Stream chunks are joined as written (a line may span writes); other captures are one text each. */
const STREAM_SOURCES = new Set(['stdout', 'stderr']);

/** Reads the lifecycle events of every LocalSecretsManager the file started, then scans everything captured. */
export function buildReport(state: LeakAuditState): FileReport {
  // Servers the file did not stop: their logs so far (they keep running until the process exits).
  const serverLogs = state.serverLogs ?? { servers: 0, files: 0, bytes: 0, fixtureStatements: 0 };
  for (const server of state.servers ?? []) {
    for (const { source, text } of readServerLogs(server, serverLogs, state.problems)) addText(state, source, text);
  }
  state.servers?.clear();
  let lifecycleEvents = 0;
  const eventLines: string[] = [];
  for (const instance of state.instances) {
    try {
      for (const e of instance.events()) {
        eventLines.push(JSON.stringify(e));
        lifecycleEvents++;
      }
    } catch (e) {
      state.problems.push(`could not read the lifecycle events of a LocalSecretsManager: ${(e as Error).message}`);
    }
  }
  const consoleMessages = consoleBuffer(state.console);
  if (consoleMessages.length > 0) state.texts.set('console', consoleMessages);
  const texts: CapturedText[] = [];
  for (const [source, list] of state.texts) {
    texts.push({ source, text: STREAM_SOURCES.has(source) ? list.join('') : list.map((s) => (s.endsWith('\n') ? s : `${s}\n`)).join('') });
  }
  if (eventLines.length > 0) texts.push({ source: 'lifecycle-events', text: eventLines.join('\n') + '\n' });

  const scan = scanTexts(texts, state.passwords.keys());
  const passwordOrigins: Record<string, number> = {};
  for (const origin of state.passwords.values()) passwordOrigins[origin] = (passwordOrigins[origin] ?? 0) + 1;
  return {
    testFile: state.testFile,
    lines: scan.lines,
    bytes: scan.bytes,
    sources: scan.sources,
    passwordsTracked: scan.passwordsTracked,
    passwordsSkippedShort: scan.passwordsSkippedShort,
    passwordOrigins,
    localSecretsManagers: state.instances.length,
    lifecycleEvents,
    serverLogs,
    leaks: scan.leaks,
    problems: state.problems,
  };
}

/** recordOutput for a given state (buildReport may run outside the test file's global). */
function addText(state: LeakAuditState, source: string, text: string): void {
  if (text.length === 0) return;
  let list = state.texts.get(source);
  if (!list) state.texts.set(source, (list = []));
  list.push(text);
}

/** Messages of jest's console (BufferedConsole and CustomConsole keep them in `_buffer`; getBuffer() where it exists). */
function consoleBuffer(c: unknown): string[] {
  const holder = c as { getBuffer?: () => unknown; _buffer?: unknown } | undefined;
  let buffer: unknown;
  try {
    buffer = typeof holder?.getBuffer === 'function' ? holder.getBuffer() : holder?._buffer;
  } catch {
    buffer = undefined;
  }
  if (buffer === undefined && holder?._buffer !== undefined) buffer = holder._buffer;
  return Array.isArray(buffer) ? buffer.map((e) => String((e as { message?: unknown }).message ?? '')) : [];
}
