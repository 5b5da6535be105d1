/**
 * Adds up the leak audit's per-test-file reports of one jest run
 * (.tmp/leak-audit/<run>/*.json, written by test/support/leak-audit/environment.js)
 * into .tmp/leak-audit.json and prints one line. Exits 1 when a leak was
 * found, a file's audit was incomplete, or there is no report at all.
 *
 *   tsx scripts/leak-audit-report.ts [run]
 *
 * The run is the argument, else ROTOR_LEAK_AUDIT_RUN, else the newest run.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
export const PER_FILE_DIR = path.join(ROOT, '.tmp/leak-audit');
export const SUMMARY_PATH = path.join(ROOT, '.tmp/leak-audit.json');

interface FileReport {
  testFile: string;
  lines: number;
  bytes: number;
  sources: Record<string, { texts: number; lines: number; bytes: number }>;
  passwordsTracked: number;
  passwordsSkippedShort: number;
  passwordOrigins: Record<string, number>;
  localSecretsManagers: number;
  lifecycleEvents: number;
  /** Absent in reports written before the server logs were read. */
  serverLogs?: { servers: number; files: number; bytes: number; fixtureStatements: number };
  leaks: Array<{ source: string; form: string; preview: string }>;
  problems: string[];
}

export interface LeakAuditSummary {
  run: string;
  files: number;
  lines: number;
  bytes: number;
  passwords: number;
  passwordsSkippedShort: number;
  passwordOrigins: Record<string, number>;
  sources: Record<string, { lines: number; bytes: number }>;
  lifecycleEvents: number;
  /** The throwaway database servers' logs scanned (every statement they received), and fixture password statements left out. */
  serverLogs: { servers: number; files: number; bytes: number; fixtureStatements: number };
  leaks: number;
  /** Every leak with its file; previews have the password replaced by [REDACTED]. */
  leaksByFile: Array<{ testFile: string; source: string; form: string; preview: string }>;
  problems: Array<{ testFile: string; problem: string }>;
  /** Files whose output contained no captured text at all (e.g. pure CDK assertions). */
  filesWithoutText: string[];
}

/** The newest run directory under .tmp/leak-audit, if any. */
export function newestRun(): string | undefined {
  if (!fs.existsSync(PER_FILE_DIR)) return undefined;
  const runs = fs.readdirSync(PER_FILE_DIR, { withFileTypes: true }).filter((d) => d.isDirectory())
    .map((d) => ({ name: d.name, mtime: fs.statSync(path.join(PER_FILE_DIR, d.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  return runs[0]?.name;
}

export function aggregate(run = newestRun() ?? ''): LeakAuditSummary {
  const dir = path.join(PER_FILE_DIR, run);
  const s: LeakAuditSummary = {
    run, files: 0, lines: 0, bytes: 0, passwords: 0, passwordsSkippedShort: 0, passwordOrigins: {}, sources: {},
    lifecycleEvents: 0, serverLogs: { servers: 0, files: 0, bytes: 0, fixtureStatements: 0 }, leaks: 0, leaksByFile: [], problems: [], filesWithoutText: [],
  };
  const names = run && fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort() : [];
  for (const name of names) {
    const r = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as FileReport;
    s.files++;
    s.lines += r.lines;
    s.bytes += r.bytes;
    s.passwords += r.passwordsTracked;
    s.passwordsSkippedShort += r.passwordsSkippedShort;
    s.lifecycleEvents += r.lifecycleEvents;
    for (const k of ['servers', 'files', 'bytes', 'fixtureStatements'] as const) s.serverLogs[k] += r.serverLogs?.[k] ?? 0;
    for (const [k, v] of Object.entries(r.passwordOrigins)) s.passwordOrigins[k] = (s.passwordOrigins[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.sources)) {
      const t = (s.sources[k] ??= { lines: 0, bytes: 0 });
      t.lines += v.lines;
      t.bytes += v.bytes;
    }
    if (r.lines === 0) s.filesWithoutText.push(r.testFile);
    for (const l of r.leaks) s.leaksByFile.push({ testFile: r.testFile, source: l.source, form: l.form, preview: l.preview });
    for (const p of r.problems) s.problems.push({ testFile: r.testFile, problem: p });
  }
  s.leaks = s.leaksByFile.length;
  return s;
}

export function summaryLine(s: LeakAuditSummary): string {
  return `leak audit: ${s.lines} lines from ${s.files} test files (${s.serverLogs.files} database server logs), ${s.passwords} passwords, ${s.leaks} leaks` +
    (s.problems.length ? `, ${s.problems.length} incomplete` : '');
}

/** Writes .tmp/leak-audit.json; returns the summary. */
export function writeSummary(run?: string): LeakAuditSummary {
  const s = aggregate(run || undefined);
  fs.mkdirSync(path.dirname(SUMMARY_PATH), { recursive: true });
  fs.writeFileSync(SUMMARY_PATH, JSON.stringify(s, null, 2) + '\n');
  return s;
}

if (require.main === module) {
  const s = writeSummary(process.argv[2] || process.env.ROTOR_LEAK_AUDIT_RUN);
  console.log(summaryLine(s));
  for (const l of s.leaksByFile.slice(0, 20)) console.error(`  leak in ${l.testFile} (${l.source}, ${l.form}): ${l.preview}`);
  for (const p of s.problems.slice(0, 20)) console.error(`  audit incomplete in ${p.testFile}: ${p.problem}`);
  if (s.files === 0) console.error('  no leak-audit reports found (did jest run with test/support/leak-audit/environment.ts?)');
  process.exit(s.leaks > 0 || s.problems.length > 0 || s.files === 0 ? 1 : 0);
}
