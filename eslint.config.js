import js from '@eslint/js'
import tseslint from 'typescript-eslint'

const SHARP = { name: 'sharp', message: 'only src/image/ touches sharp' }
const ABOVE_SOLVE = ['../commands/*', '../cli.js', '../index.js']
const ENGINE = ['../engine/*', '../report/*']
const ABOVE_LEAVES = [
  ...ABOVE_SOLVE,
  ...ENGINE,
  '../batch/*',
  '../inputs/*',
  '../output/*',
  '../config/*',
]
const EFFECTS = ['sharp', 'undici', 'node:fs*', 'node:child_process', 'chalk', 'ora']

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tmp/', 'bin/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      'no-console': 'error',
    },
  },
  // Layers (ARCHITECTURE.md): commands -> engine, report -> batch, inputs -> (image, questions,
  // providers) -> errors, types.
  // A lower layer never imports a higher one; only src/image/ touches sharp; the pure question and
  // detection code imports nothing with effects. (Flat config: the last matching block sets the rule.)
  {
    files: ['src/**/*.ts'],
    ignores: ['src/image/**'],
    rules: { 'no-restricted-imports': ['error', { paths: [SHARP] }] },
  },
  {
    files: ['src/engine/**/*.ts', 'src/report/**/*.ts', 'src/config/**/*.ts', 'src/output/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [SHARP],
          patterns: [
            {
              group: ABOVE_SOLVE,
              message: 'only cli.ts and commands/ sit above engine, report, config and output',
            },
          ],
        },
      ],
    },
  },
  // The batch runner and the input listing serve the engine: from it they take its result types.
  {
    files: ['src/batch/**/*.ts', 'src/inputs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [SHARP],
          patterns: [
            {
              group: [...ABOVE_SOLVE, ...ENGINE],
              allowTypeImports: true,
              message: 'batch/ and inputs/ sit below the engine: they take its types only',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/providers/**/*.ts', 'src/questions/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [SHARP],
          patterns: [{ group: ABOVE_LEAVES, message: 'a lower layer never imports a higher one' }],
        },
      ],
    },
  },
  {
    files: ['src/image/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [{ group: ABOVE_LEAVES, message: 'a lower layer never imports a higher one' }],
        },
      ],
    },
  },
  {
    files: ['src/questions/**/*.ts', 'src/image/detect*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: EFFECTS, message: 'pure code: no I/O, no terminal' },
            { group: ABOVE_LEAVES, message: 'a lower layer never imports a higher one' },
          ],
        },
      ],
    },
  },
  // rc2 serve sits beside commands/: it uses the library (index.ts) and the layers below, never a
  // command or the CLI; the HTTP server is Fastify, so the services' HTTP layer is not its own.
  {
    files: ['src/serve/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [SHARP],
          patterns: [
            { group: ['../commands/*', '../cli.js'], message: 'serve is a shell beside commands/' },
          ],
        },
      ],
    },
  },
  // Provider facts are read by a dry run and the budget without loading the HTTP code: from the
  // providers layer they take types only (and the shared grid table).
  {
    files: ['src/providers/facts/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [SHARP],
          patterns: [
            {
              group: [...EFFECTS, '../*.js', '!../types.js', '../../*/**'],
              message:
                'provider facts import types and each other only: no adapter, no HTTP code, no other layer',
            },
          ],
        },
      ],
    },
  },
  // A function a reader takes in at once: every line counts, comments and blank ones too.
  { files: ['src/**/*.ts'], rules: { 'max-lines-per-function': ['error', { max: 60 }] } },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts', 'fixtures/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
)
