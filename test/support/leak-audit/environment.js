// The Node test environment plus the leak audit (see docs/leak-audit.md).
// Plain JavaScript on purpose: a TypeScript test environment, transformed by
// ts-jest, keeps jest workers from exiting gracefully.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { TestEnvironment } = require('jest-environment-node');

/**
 * Where each test file's figures go: .tmp/leak-audit/<run>/, one directory
 * per jest run (global-setup.ts names it in ROTOR_LEAK_AUDIT_RUN), so that
 * two runs in one checkout do not mix; scripts/leak-audit-report.ts adds them up.
 */
const REPORT_DIR = '.tmp/leak-audit';
const STATE_KEY = '__rotorLeakAudit';

/** Test output is printed only when asked for (ROTOR_TEST_LOGS=1); otherwise it is captured for the audit and dropped. */
function passThroughStreams() {
  const v = process.env.ROTOR_TEST_LOGS;
  return v !== undefined && v !== '' && v !== '0';
}

/**
 * In a single-file run jest prints console.* output through this process's
 * own streams (CustomConsole); that output must still reach the terminal (its
 * messages are audited from the console's buffer). In workers the console
 * only buffers, so this is false there and costs nothing.
 */
function fromJestConsole(env) {
  const c = env.global && env.global.console;
  if (!c || typeof c._logError !== 'function') return false;
  return /[\\/]@jest[\\/]console[\\/]/.test(new Error().stack || '');
}

/**
 * While a test file runs, this process's stdout and stderr are captured
 * (Powertools log lines and EMF metrics go there); capture.ts (jest
 * setupFilesAfterEnv) adds the rest and learns the passwords. After the
 * file's last afterAll, the captured text is scanned (state.finish, set by
 * capture.ts), the figures are written to .tmp/leak-audit/, and a leak fails
 * the file.
 */
class LeakAuditEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.rootDir = config.projectConfig.rootDir;
    this.testFile = path.relative(this.rootDir, context.testPath);
    this.restore = [];
    this.state = { testFile: this.testFile, texts: new Map(), passwords: new Map(), instances: [], problems: [], console: undefined, finish: undefined };
    this.global[STATE_KEY] = this.state;
  }

  async setup() {
    await super.setup();
    const state = this.state;
    const env = this;
    for (const name of ['stdout', 'stderr']) {
      const stream = process[name];
      const own = Object.prototype.hasOwnProperty.call(stream, 'write');
      const original = stream.write;
      stream.write = function (chunk, encoding, cb) {
        const text = typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) || chunk instanceof Uint8Array ? Buffer.from(chunk).toString('utf8') : String(chunk);
        if (passThroughStreams() || text.startsWith('[reliability] ') || fromJestConsole(env)) {
          return original.call(stream, chunk, encoding, cb);
        }
        let list = state.texts.get(name);
        if (!list) state.texts.set(name, (list = []));
        list.push(text);
        const done = typeof encoding === 'function' ? encoding : cb;
        if (typeof done === 'function') process.nextTick(done);
        return true;
      };
      this.restore.push(() => {
        if (own) stream.write = original;
        else delete stream.write;
      });
    }
  }

  async teardown() {
    for (const r of this.restore.reverse()) r();
    this.restore = [];
    let report;
    try {
      if (typeof this.state.finish !== 'function') throw new Error('test/support/leak-audit/capture.ts did not run (is it in setupFilesAfterEnv?)');
      report = this.state.finish();
    } catch (e) {
      report = { testFile: this.testFile, lines: 0, bytes: 0, sources: {}, passwordsTracked: 0, passwordsSkippedShort: 0, passwordOrigins: {}, localSecretsManagers: 0, lifecycleEvents: 0, serverLogs: { servers: 0, files: 0, bytes: 0, fixtureStatements: 0 }, leaks: [], problems: [String(e && e.message)] };
    }
    await super.teardown();
    const dir = path.join(this.rootDir, REPORT_DIR, process.env.ROTOR_LEAK_AUDIT_RUN || 'unnamed-run');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${this.testFile.replace(/[^A-Za-z0-9._-]/g, '_')}.json`), JSON.stringify(report, null, 2) + '\n');
    if (report.leaks.length > 0 || report.problems.length > 0) {
      const what = [
        ...report.leaks.map((l) => `  ${l.source} (${l.form}): ${l.preview}`),
        ...report.problems.map((p) => `  audit incomplete: ${p}`),
      ];
      throw new Error(`leak audit: ${report.leaks.length} leak(s), ${report.problems.length} problem(s) in ${this.testFile}\n${what.slice(0, 20).join('\n')}`);
    }
  }
}

module.exports = LeakAuditEnvironment;
module.exports.default = LeakAuditEnvironment;
