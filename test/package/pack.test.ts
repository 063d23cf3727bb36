/**
 * The package as users get it: `npm pack`, install the tarball into an empty prefix, run the
 * installed `rc2`. Slow (npm resolves the runtime dependencies, from its cache when it can), hence
 * one file with long timeouts. Needs `npm run build` first, like every spawned-CLI test.
 */
import { execFile } from 'node:child_process'
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, REPO } from '../helpers/cli.js'

const run = promisify(execFile)
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const LONG = 300_000

let dir: string
let tarball: string
let files: string[]
let prefix: string
let work: string
let env: NodeJS.ProcessEnv

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-pack-'))
  prefix = join(dir, 'prefix')
  work = join(dir, 'work')
  await mkdir(work)
  // Not the variables of an outer `npm test` (they describe this checkout, not a user's shell),
  // nor the user's rc2 settings; HOME is empty so no config file is found.
  env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !/^(npm_(?!config_(cache|registry|userconfig)$)|RC2_)/i.test(k),
    ),
  )
  env.HOME = work
  env.npm_config_cache = process.env.npm_config_cache ?? join(process.env.HOME ?? tmpdir(), '.npm')
  // --ignore-scripts: `prepack` rebuilds dist/, which the other test files are using right now.
  const { stdout } = await run(
    NPM,
    ['pack', '--json', '--ignore-scripts', '--pack-destination', dir],
    { cwd: REPO, env, maxBuffer: 16 << 20 },
  )
  const [info] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[]
  tarball = join(dir, info!.filename)
  files = info!.files.map((f) => f.path).sort()
}, LONG)
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('npm pack', () => {
  it('ships dist, bin, the man page, README, LICENSE and the config example, and no tests', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
      version: string
    }
    expect(tarball.endsWith(`recaptcha-rc2-${pkg.version}.tgz`)).toBe(true)
    const outside = files.filter((f) => !f.startsWith('dist/') && !f.startsWith('bin/'))
    expect(outside).toEqual([
      '.recaptcharc.example',
      'LICENSE',
      'README.md',
      'man/rc2.1',
      'package.json',
    ])
    expect(files).toEqual(
      expect.arrayContaining([
        'bin/rc2.js',
        'dist/index.js',
        'dist/index.d.ts',
        'dist/cli.cjs',
        'dist/image/prepare.js',
      ]),
    )
    expect(files.filter((f) => f.startsWith('bin/'))).toEqual(['bin/package.json', 'bin/rc2.js'])
    expect(files.filter((f) => /\.test\.|\.map$|^dist\/.*\.ts$(?<!\.d\.ts$)/.test(f))).toEqual([])
  })

  it('ships the licence of every package whose code the CLI bundles', async () => {
    expect(files).toContain('dist/THIRD-PARTY-NOTICES.md')
    const notices = await readFile(join(REPO, 'dist', 'THIRD-PARTY-NOTICES.md'), 'utf8')
    const named = [...notices.matchAll(/^## (\S+) \S+ \((\S+)\)$/gm)].map((m) => `${m[1]} ${m[2]}`)
    // The build lists what the bundler read from node_modules: a package bundled anew shows up here.
    expect(named).toEqual(['chalk MIT', 'commander MIT', 'undici MIT', 'zod MIT'])
    for (const section of notices.split('\n## ').slice(1))
      expect(section).toMatch(/Permission is hereby granted, free of charge/)
  })
})

describe('the installed package', () => {
  beforeAll(async () => {
    await run(
      NPM,
      [
        'install',
        '--global',
        '--prefix',
        prefix,
        '--prefer-offline',
        '--no-audit',
        '--no-fund',
        tarball,
      ],
      { cwd: work, env },
    )
    await copyFile(join(FIXTURES, 'payload-3x3.png'), join(work, 'payload-3x3.png'))
  }, LONG)

  it(
    'runs rc2 --version from the prefix',
    async () => {
      const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {
        version: string
      }
      const { stdout } = await run(join(prefix, 'bin', 'rc2'), ['--version'], { cwd: work, env })
      expect(stdout.trim()).toBe(pkg.version)
    },
    LONG,
  )

  it(
    'puts the man page where man looks: `man rc2` after a global install',
    async () => {
      const page = await readFile(join(prefix, 'share', 'man', 'man1', 'rc2.1'), 'utf8')
      expect(page).toMatch(/^\.TH RC2 1 /)
      expect(page).toContain('.SS rc2 solve [options] [input...]')
    },
    LONG,
  )

  it(
    'prepares a real fixture end to end with --dry-run, sending nothing',
    async () => {
      const { stdout, stderr } = await run(
        join(prefix, 'bin', 'rc2'),
        ['solve', 'payload-3x3.png', '-q', 'car', '--dry-run', '--json'],
        { cwd: work, env },
      )
      const out = JSON.parse(stdout) as {
        ok: boolean
        dryRun: boolean
        question: { id: string }
        grid: string
        size: number
        image: { width: number; format: string }
      }
      expect(out).toMatchObject({
        ok: true,
        dryRun: true,
        question: { id: '/m/0k4j' },
        grid: '3x3',
        size: 300,
        image: { width: 300, format: 'jpeg' },
      })
      expect(stderr).not.toMatch(/at .+\.js:\d+/)
    },
    LONG,
  )

  it(
    'works through npx from the tarball',
    async () => {
      const { stdout } = await run(
        NPM,
        [
          'exec',
          '--yes',
          '--prefer-offline',
          '--package',
          tarball,
          '--',
          'rc2',
          'questions',
          'hydrant',
          '--json',
        ],
        { cwd: work, env },
      )
      const { questions } = JSON.parse(stdout) as { questions: { id: string }[] }
      expect(questions.map((q) => q.id)).toContain('/m/01pns0')
    },
    LONG,
  )
})
