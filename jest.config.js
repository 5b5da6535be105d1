/** @type {import('jest').Config} */
module.exports = {
  // The Node environment plus the leak audit (captures test output, scans it for the passwords the file created).
  testEnvironment: '<rootDir>/test/support/leak-audit/environment.js',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }],
    // @middy/core is ESM-only; Jest on Node 20 cannot require() it, so it is compiled to CommonJS.
    '^.+/node_modules/@middy/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  // Integration suites start their own database servers; two workers match the two cores.
  maxWorkers: 2,
  testTimeout: 60000,
  setupFiles: ['<rootDir>/test/support/jest-env.ts'],
  setupFilesAfterEnv: ['<rootDir>/test/support/leak-audit/capture.ts'],
  globalSetup: '<rootDir>/test/support/leak-audit/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/leak-audit/global-teardown.ts',
};
