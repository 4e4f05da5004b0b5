// House rules as lint: strict TypeScript, no floating promises, exhaustive switches,
// type-only imports, and Nx module boundaries (services depend on libs, never on each
// other; libs never on services; lower layers never on higher ones; production code never
// on the tooling libs @relay/testing and @relay/local-stack — only specs and benches may).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const services = ['gateway', 'validator', 'matcher', 'dispatcher', 'history'];

/**
 * Tags (project.json): `type:service` | `type:lib` | `type:tooling` (libs/testing,
 * libs/local-stack, tools/); `scope:<service>` | `scope:shared` (libs) | `scope:tools`;
 * `layer:*` orders the libs. `forTests` opens the tooling libs to specs and benches.
 */
function boundaries(forTests) {
  const tooling = forTests ? ['type:tooling'] : [];
  return [
    'error',
    {
      enforceBuildableLibDependency: false,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib', ...tooling] },
        { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib', ...tooling] },
        { sourceTag: 'type:tooling', onlyDependOnLibsWithTags: ['type:lib', 'type:tooling'] },
        ...services.map((s) => ({ sourceTag: `scope:${s}`, onlyDependOnLibsWithTags: [`scope:${s}`, 'scope:shared'] })),
        { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
        { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:tools'] },
        ...[
          ['layer:foundation', ['layer:foundation']],
          ['layer:domain', ['layer:foundation', 'layer:domain']],
          ['layer:infra', ['layer:foundation', 'layer:domain', 'layer:infra']],
          ['layer:tooling', ['layer:foundation', 'layer:domain', 'layer:infra', 'layer:tooling']],
        ].map(([sourceTag, allowed]) => ({ sourceTag, onlyDependOnLibsWithTags: forTests ? [...allowed, 'layer:tooling'] : allowed })),
      ],
    },
  ];
}

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.relay/**', '.nx/**', 'coverage/**', '**/*.js', '**/*.mjs'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@nx': nx },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@nx/enforce-module-boundaries': boundaries(false),
    },
  },
  {
    // NestJS needs runtime class references for dependency injection: a type-only import
    // of an injected class would erase the metadata it resolves providers by.
    files: ['services/**/*.ts', 'libs/observability/**/*.ts', 'libs/kafka/**/*.ts', 'libs/control-plane/src/postgres.module.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // Jest's asymmetric matchers (expect.any, expect.objectContaining…) are typed `any`.
    files: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
  {
    // Specs, end-to-end specs and benches start the stack and use the test helpers.
    files: ['**/*.spec.ts', '**/bench/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(true) },
  },
);
