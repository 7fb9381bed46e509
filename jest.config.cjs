/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  moduleFileExtensions: ['ts', 'js', 'cjs', 'mjs', 'json'],
  transform: { '^.+\\.(ts|js|mjs)$': '<rootDir>/scripts/jest-transform.cjs' },
  testTimeout: 60000,
  // Two workers on CI's two cores: the suites mostly wait for the emulated host's commands, which
  // run in their own processes (measured here: the suite took 16 min with one worker and
  // NODE_EXTRA_CA_CERTS set, 5 min 43 s with two workers and it unset).
  maxWorkers: 2,
  // Refuses a run that would skip the root-only suites (test/setup/require-root.cjs).
  globalSetup: '<rootDir>/test/setup/require-root.cjs',
  // A test that writes through console fails (test/setup/quiet.cjs).
  setupFilesAfterEnv: ['<rootDir>/test/setup/quiet.cjs'],
};
