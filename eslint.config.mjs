// ESLint: the dependency rule of DESIGN.md and no floating promises.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const io = ['knex', 'pg', 'sip', 'fastify', 'node:dgram', 'dgram', 'node:net', 'net', '@electric-sql/pglite', 'knex-pglite'];
const ioPatterns = ['**/store/**', '**/sip/**', '**/http/**', '**/notify/**', '**/sweeper/**', '**/config/load'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '*.js', '*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/restrict-template-expressions': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/require-await': 'off',
      // Wire parsers must look for control characters (NUL, CR, LF) on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // presence/ (the domain) and bodies/ (pure codecs) do no I/O and read no environment.
    files: ['src/presence/**/*.ts', 'src/bodies/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: io, patterns: ioPatterns }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'config/ is the only reader of process.env' }],
    },
  },
  {
    files: ['src/**/*.ts'],
    // config/ reads the environment; main.ts (the process entry) hands it over.
    ignores: ['src/config/**', 'src/main.ts'],
    rules: {
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'config/ is the only reader of process.env' }],
    },
  },
);
