// Unit specs sit beside the code (*.spec.ts); integration and end-to-end specs
// (*.int.spec.ts, *.e2e.spec.ts) run against real Kafka, Apicurio, PostgreSQL and
// ClickHouse that libs/testing starts once per run (globalSetup) on free ports.
const swc = [
  '@swc/jest',
  {
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2023',
    },
    module: { type: 'commonjs' },
  },
];
const moduleNameMapper = { '^@relay/(.*)$': '<rootDir>/libs/$1/src/index.ts' };
const base = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
};
module.exports = {
  // Integration specs start real services; their hooks need more than Jest's 5 s default.
  testTimeout: 120000,
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: ['<rootDir>/{libs,services,tools}/**/*.spec.ts'],
      testPathIgnorePatterns: [...base.testPathIgnorePatterns, '\\.int\\.spec\\.ts$', '\\.e2e\\.spec\\.ts$', '\\.chaos\\.spec\\.ts$'],
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/{libs,services,tools}/**/*.{int,e2e}.spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
    },
    {
      // The CI-sized subset of `npm run chaos` (`npm run chaos:subset`): same shared
      // infrastructure as the integration specs.
      ...base,
      displayName: 'chaos',
      testMatch: ['<rootDir>/tools/chaos/**/*.chaos.spec.ts'],
      globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
      globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
    },
  ],
};
