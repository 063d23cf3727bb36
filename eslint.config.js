import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Only the output layer writes; the pure question and detection code imports nothing with effects.
    files: ['src/questions/**/*.ts', 'src/image/detect*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['sharp', 'ky', 'node:fs*', 'node:child_process', 'chalk', 'ora'] }],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/image/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'sharp', message: 'only src/image/ touches sharp' }] }] },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'fixtures/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
)
