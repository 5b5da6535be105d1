/**
 * The throwaway database servers' logs, for the leak audit: PostgreSQL logs every statement
 * (log_statement=all) and MariaDB writes a general query log (test/support/postgres-server.ts,
 * local/mariadb-server.ts). A server hands its log files over when it is removed
 * (`tapServerLogs` in local/throwaway-server.ts); servers still running when the test file ends
 * are read then.
 *
 * What is scanned: every line, except the password-setting statements of fixture sessions.
 * Fixtures create users and set passwords in plain text on purpose (`CREATE USER ... IDENTIFIED BY
 * '...'`, `ALTER ROLE ... PASSWORD '...'`); the harness's own sessions do not log at all, but tests
 * that open their own connections do. The rotation function's sessions are told apart: on
 * PostgreSQL by their application_name (`rotor-rotation`, in every line's prefix), on MariaDB by
 * the marker comment in their first statement (SESSION_MARKER of engines/mysql/session.ts), which
 * marks the whole thread. Everything the rotation function sends is scanned, its password
 * statements included; so is every other statement of every session (a password in a SELECT, in a
 * parameter, in an error).
 */
import * as fs from 'node:fs';
import type { ServerLogFile, ServerLogSource } from '../../../local/throwaway-server';

/** The rotation function's application_name (engines/postgres.ts). */
const PRODUCT_APPLICATION = 'rotor-rotation';
/** The comment the MySQL engine puts into each session's first statement (engines/mysql/session.ts). */
const PRODUCT_MARKER = '/* rotor-rotation */';

/** A statement that sets a password (in fixture sessions, not scanned). */
const PASSWORD_STATEMENT = /^\s*(?:(?:CREATE|ALTER)\s+(?:USER|ROLE)\b[\s\S]*\b(?:IDENTIFIED|PASSWORD)\b|SET\s+PASSWORD\b|GRANT\b[\s\S]*\bIDENTIFIED\b)/i;

export interface ServerLogScan {
  /** The text to scan (the log minus fixture password statements). */
  text: string;
  /** Fixture password statements left out. */
  fixtureStatements: number;
}

interface Entry {
  /** The whole entry as logged (header and continuation lines). */
  text: string;
  /** The statement, when the entry is one. */
  statement?: string;
  product: boolean;
}

function scanEntries(entries: Entry[]): ServerLogScan {
  let fixtureStatements = 0;
  const kept: string[] = [];
  for (const e of entries) {
    if (!e.product && e.statement !== undefined && PASSWORD_STATEMENT.test(e.statement)) {
      fixtureStatements++;
      continue;
    }
    kept.push(e.text);
  }
  return { text: kept.join(''), fixtureStatements };
}

/** Lines with their line ends. */
function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

const PG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] (?:\{app=(.*?) user=(.*?)\} )?(?:LOG|DETAIL|ERROR|STATEMENT|HINT|FATAL|WARNING|NOTICE|CONTEXT|PANIC|INFO|DEBUG\d?):\s+([\s\S]*)$/;

/**
 * PostgreSQL's log: `<time> [<pid>] {app=<application_name> user=<user>} LOG:  statement: ...`
 * (log_line_prefix of test/support/postgres-server.ts); a statement's further lines follow unprefixed.
 */
export function scanPostgresLog(text: string): ServerLogScan {
  const entries: Entry[] = [];
  for (const line of lines(text)) {
    const m = PG_LINE.exec(line);
    const last = entries[entries.length - 1];
    if (!m && last) {
      last.text += line;
      if (last.statement !== undefined) last.statement += line;
      continue;
    }
    const message = m?.[3] ?? line;
    const statement = /^(?:statement|execute [^:]*):\s*([\s\S]*)$/.exec(message)?.[1];
    entries.push({ text: line, statement, product: m?.[1] === PRODUCT_APPLICATION });
  }
  return scanEntries(entries);
}

/** `[yymmdd hh:mm:ss]\t<spaces><thread id> <Command>\t<argument>` */
const GENERAL_LINE = /^(?:\d{6}\s+\d{1,2}:\d\d:\d\d)?\s+(\d+) ([A-Za-z][A-Za-z ]*?)\t([\s\S]*)$/;
/** The header mariadbd writes each time it (re)opens the log: thread ids start again. */
const GENERAL_HEADER = /^\S+, Version: .* started with:\s*$/;

/** MariaDB's general query log; an entry's further lines (a multi-line statement) follow unprefixed. */
export function scanMariadbGeneralLog(text: string): ServerLogScan {
  const entries: Array<Entry & { thread?: string; segment: number }> = [];
  let segment = 0;
  for (const line of lines(text)) {
    if (GENERAL_HEADER.test(line)) segment++;
    const m = GENERAL_LINE.exec(line);
    const last = entries[entries.length - 1];
    if (!m && last && !GENERAL_HEADER.test(line) && last.thread !== undefined) {
      last.text += line;
      if (last.statement !== undefined) last.statement += line;
      continue;
    }
    const isStatement = m && ['Query', 'Prepare', 'Execute'].includes(m[2]);
    entries.push({ text: line, thread: m?.[1], segment, statement: isStatement ? m![3] : undefined, product: false });
  }
  // A thread is the function's when one of its statements carries the marker.
  const product = new Set(entries.filter((e) => e.thread !== undefined && e.statement?.includes(PRODUCT_MARKER)).map((e) => `${e.segment}:${e.thread}`));
  for (const e of entries) e.product = e.thread !== undefined && product.has(`${e.segment}:${e.thread}`);
  return scanEntries(entries);
}

/** The text of one log file to scan (a stderr log without statements is scanned whole). */
export function scanServerLogFile(kind: ServerLogFile['kind'], text: string): ServerLogScan {
  if (kind === 'postgres-log') return scanPostgresLog(text);
  if (kind === 'mariadb-general') return scanMariadbGeneralLog(text);
  return { text, fixtureStatements: 0 };
}

/** What a test file's audit learnt from server logs. */
export interface ServerLogFigures {
  servers: number;
  files: number;
  bytes: number;
  /** Fixture password statements not scanned. */
  fixtureStatements: number;
}

/**
 * Reads every log file of `server` (synchronously: the server's dir is removed right after) and
 * returns the texts to scan, by source (`server-log:<kind>`). A file that cannot be read is a problem.
 */
export function readServerLogs(server: ServerLogSource, figures: ServerLogFigures, problems: string[]): Array<{ source: string; text: string }> {
  const out: Array<{ source: string; text: string }> = [];
  figures.servers++;
  for (const file of server.logFiles()) {
    let text: string;
    try {
      text = fs.readFileSync(file.path, 'utf8');
    } catch (e) {
      // The general log appears with the first statement; a server that never started has none.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      problems.push(`could not read the ${file.kind} log of a ${server.tag}: ${(e as Error).message}`);
      continue;
    }
    figures.files++;
    figures.bytes += Buffer.byteLength(text);
    const scan = scanServerLogFile(file.kind, text);
    figures.fixtureStatements += scan.fixtureStatements;
    out.push({ source: `server-log:${file.kind}`, text: scan.text });
  }
  return out;
}
