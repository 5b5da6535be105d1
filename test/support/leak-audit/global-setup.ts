import * as fs from 'node:fs';
import * as path from 'node:path';
import { PER_FILE_DIR } from '../../../scripts/leak-audit-report';

const KEEP_MS = 24 * 60 * 60 * 1000;

/**
 * Jest globalSetup: names this run's report directory (.tmp/leak-audit/<run>/,
 * inherited by the workers through ROTOR_LEAK_AUDIT_RUN) and starts it empty.
 * .ci/run sets the name itself; runs older than a day are removed.
 */
export default function startLeakAuditRun(): void {
  process.env.ROTOR_LEAK_AUDIT_RUN ||= `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`;
  const dir = path.join(PER_FILE_DIR, process.env.ROTOR_LEAK_AUDIT_RUN);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  for (const name of fs.readdirSync(PER_FILE_DIR)) {
    const p = path.join(PER_FILE_DIR, name);
    try {
      if (Date.now() - fs.statSync(p).mtimeMs > KEEP_MS) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // Another run removed it.
    }
  }
}
