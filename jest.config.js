/** Jest in ESM mode (NODE_OPTIONS=--experimental-vm-modules, set by `npm test`). */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
    // ESM-only packages that a CommonJS dependency require()s: Node 20 allows
    // that, Jest's module loader does not, so they are compiled to CommonJS.
    '^.+/node_modules/(content-disposition)/.+\\.js$': [
      'ts-jest',
      { useESM: true, tsconfig: { allowJs: true, checkJs: false, isolatedModules: true } },
    ],
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition)/)'],
  testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts', '<rootDir>/test/**/*.spec.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  setupFilesAfterEnv: ['<rootDir>/test/support/jest-setup.ts'],
  resolver: '<rootDir>/test/support/jest-resolver.cjs',
  testTimeout: 60_000,
  maxWorkers: 2,
};
