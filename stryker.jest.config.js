/**
 * The Jest configuration Stryker runs (npm run mutation): the project's
 * transforms and setup, restricted to the fast unit tests that exercise the
 * safety modules listed in stryker.conf.json. No database server is started.
 * The leak audit (test environment, capture, global setup/teardown) is left
 * out: it guards log output, not the mutants, and its per-run setup would be
 * paid once per mutant. `npx jest` still runs these files with it.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  roots: base.roots,
  transform: base.transform,
  transformIgnorePatterns: base.transformIgnorePatterns,
  setupFiles: base.setupFiles,
  testEnvironment: 'node',
  testMatch: [
    '<rootDir>/test/unit/**/*.test.ts',
    '<rootDir>/test/trigger/events.test.ts',
  ],
  // ROTOR_MUTATION_IGNORE=a.test.ts,b.test.ts leaves those files out (to measure the score without them).
  testPathIgnorePatterns: ['/node_modules/', ...(process.env.ROTOR_MUTATION_IGNORE ?? '').split(',').filter(Boolean)],
  testTimeout: 20000,
  maxWorkers: 1,
};
