/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
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
};
