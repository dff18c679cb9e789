import type { Config } from 'jest';

const config: Config = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 20_000,
  // Tests own their servers; a leaked handle fails loudly instead of hanging CI.
  forceExit: false,
  detectOpenHandles: false,
};

export default config;
