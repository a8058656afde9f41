// Lint rules for the whole tree; `npm test` runs them (scripts/test.js). Formatting is Prettier's job
// (.prettierrc.json), so eslint-config-prettier switches off every stylistic rule that would disagree.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

// Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O libraries, and from
// the product only the pure modules (src/run, the error types). Types may come from anywhere.
const NODE_BUILTINS = [
  'assert',
  'buffer',
  'child_process',
  'crypto',
  'dns',
  'events',
  'fs',
  'fs/promises',
  'http',
  'https',
  'net',
  'os',
  'path',
  'process',
  'stream',
  'timers',
  'tls',
  'url',
  'util',
  'worker_threads',
  'zlib',
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.tools/**', 'test/fixtures/**', 'docker/**', 'examples/**', '**/*.js', '**/*.mjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise nobody awaits hides its failure (and in a workflow, its ordering).
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's describe/it return promises the runner itself tracks.
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      // tsc (noUnusedLocals/Parameters) already reports these, with the project's own conventions.
      '@typescript-eslint/no-unused-vars': 'off',
      // CommonJS project: lazily loaded modules (CLI commands, dev tools) use require on purpose.
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: true }],
      'object-shorthand': ['error', 'always'],
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...NODE_BUILTINS, ...NODE_BUILTINS.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'workflow code runs in the deterministic sandbox: no Node built-ins',
          })),
          patterns: [
            {
              group: ['@temporalio/worker', '@temporalio/client', '@temporalio/activity', '@aws-sdk/*', '@azure/*', 'pino'],
              message: 'not in the workflow sandbox: call an activity instead',
              allowTypeImports: true,
            },
            {
              regex: '^\\.\\./src/(?!run/|contracts/(errors|window)$)',
              message: 'workflow code may import only the pure modules src/run/* and src/contracts/errors|window',
              allowTypeImports: true,
            },
            { regex: '^\\.\\./activities', message: 'workflow code takes only the activity types (import type)', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
  prettier,
);
