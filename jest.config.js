/** Jest with @swc/jest: type-checking is its own step (`npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] },
  testTimeout: 30000,
  // Integration suites start servers and databases; two workers fit a 2-core machine.
  maxWorkers: 2,
};
