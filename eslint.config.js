// One lint config for the whole monorepo. The rules here carry the architecture (see docs/architecture.md):
// type-only imports, `node:` built-ins, no undeclared dependencies, kebab-case files, no floating promises,
// no deep imports into another package's src/, and no console in libraries (use the logger).
import importX from 'eslint-plugin-import-x';
import unicorn from 'eslint-plugin-unicorn';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.data/**', 'apps/cli/bin/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX, unicorn },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      'unicorn/prefer-node-protocol': 'error',
      'unicorn/filename-case': ['error', { case: 'kebabCase' }],
      'import-x/no-extraneous-dependencies': ['error', { includeInternal: false }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@ensemble/*/src/*', '../../packages/*', '../../../packages/*'], message: 'Import a package through its public barrel.' }] },
      ],
    },
  },
  {
    files: ['packages/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // On Node 20's V8, whatever a getter or setter in an object literal closes over (a request, a socket,
    // a DAG's records) survives every young collection until the next full one. One such literal per
    // request promoted ~3 KB per request into the gateway's old generation. Accessors go on a class,
    // whose prototype holds them once. See "Hot paths" in docs/conventions.md.
    files: ['apps/**/*.ts', 'packages/**/*.ts', 'tools/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "ObjectExpression > Property[kind='get'], ObjectExpression > Property[kind='set']", message: 'An accessor in an object literal keeps what it closes over alive past young GCs: use a class.' },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', '*.config.ts'],
    rules: {
      'import-x/no-extraneous-dependencies': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
);
