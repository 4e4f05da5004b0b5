// House rules as lint: strict TypeScript, no floating promises, exhaustive switches,
// type-only imports, and Nx module boundaries (services depend on libs, never on each
// other; libs never on services; lower layers never on higher ones).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

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
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: false,
          allow: [],
          depConstraints: [
            { sourceTag: 'type:service', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
            { sourceTag: 'layer:foundation', onlyDependOnLibsWithTags: ['layer:foundation'] },
            { sourceTag: 'layer:domain', onlyDependOnLibsWithTags: ['layer:foundation', 'layer:domain'] },
            { sourceTag: 'layer:infra', onlyDependOnLibsWithTags: ['layer:foundation', 'layer:domain', 'layer:infra'] },
            { sourceTag: 'layer:tooling', onlyDependOnLibsWithTags: ['layer:foundation', 'layer:domain', 'layer:infra', 'layer:tooling'] },
          ],
        },
      ],
    },
  },
  {
    // NestJS needs runtime class references for dependency injection: a type-only import
    // of an injected class would erase the metadata it resolves providers by.
    files: ['services/**/*.ts', 'libs/observability/**/*.ts', 'libs/kafka/**/*.ts'],
    rules: { '@typescript-eslint/consistent-type-imports': 'off' },
  },
  {
    // Jest's asymmetric matchers (expect.any, expect.objectContaining…) are typed `any`.
    files: ['**/*.spec.ts'],
    rules: { '@typescript-eslint/unbound-method': 'off', '@typescript-eslint/no-unsafe-assignment': 'off' },
  },
);
