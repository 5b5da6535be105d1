import { summaryLine, writeSummary } from '../../../scripts/leak-audit-report';

/**
 * Jest globalTeardown: adds up this run's per-file reports into
 * .tmp/leak-audit.json and prints the summary line (not under .ci/run, which
 * prints it itself, right before its `tests:` line). A leak has already
 * failed its test file.
 */
export default function leakAuditSummary(): void {
  const s = writeSummary(process.env.ROTOR_LEAK_AUDIT_RUN);
  if (!process.env.ROTOR_LEAK_AUDIT_QUIET) process.stderr.write(`${summaryLine(s)}\n`);
}
