// ESLint (flat config): typescript-eslint's recommended rules, the thread boundary as import
// rules, no import cycles, and a size bound per module. Formatting is Prettier's
// (.prettierrc.json); eslint-config-prettier turns off the rules that would disagree with it.
import js from '@eslint/js'
import prettier from 'eslint-config-prettier'
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript'
import importX from 'eslint-plugin-import-x'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', '.kafka/', 'test-artifacts/', '.tap/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.lint.json' })] },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      // The thread boundary (docs/architecture.md, "Source map"): src/shared/ is loaded by the main
      // thread and the worker threads and imports nothing outside itself; workers/ imports only
      // src/shared/; main-thread code reaches workers only through src/shared/'s protocol.
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            { target: './workers', from: './src', except: ['./shared'], message: 'workers/ may import only src/shared/' },
            {
              target: './src/shared',
              from: ['./src', './workers'],
              except: ['./shared'],
              message: 'src/shared/ imports nothing outside itself',
            },
            { target: './src', from: './workers', message: 'main-thread code talks to workers only through src/shared/protocol.ts' },
            {
              target: ['./src', './workers'],
              from: ['./test', './test-support', './bench'],
              message: 'the product never imports tests or benchmarks',
            },
          ],
        },
      ],
    },
  },
  {
    // One concern a module; the actor's hot path (workers/) may be longer where splitting would cost a call per record.
    files: ['src/**/*.ts', 'workers/**/*.ts'],
    rules: { 'max-lines': ['error', { max: 300 }] },
  },
  // Tests read JSON bodies and log lines whose shape the assertions check.
  { files: ['test/**/*.ts', 'test-support/**/*.ts'], rules: { '@typescript-eslint/no-explicit-any': 'off' } },
  { files: ['web/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
  prettier,
)
