/**
 * Start-up: a command loads only what it uses. Timing belongs to the bench (`npm run bench`); what
 * is checked here is what makes it fast: `npm run build` bundles the CLI as CommonJS (dist/cli.cjs,
 * with each lazily imported module in a chunk of dist/chunks/, scripts/build-cli.mjs), and a
 * spawned `rc2 --help` reads the shim and that one file, no package, no chunk and no ES module, as
 * Node's own module log (NODE_DEBUG=esm,module) shows. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, REPO, runInProcess } from '../helpers/cli.js'

let dir: string
/** A question's id that only the question table holds (taxis). */
const TAXIS = '/m/0pg52'

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-startup-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/**
 * Files of the repository that `rc2 <args>` loads, ES modules and require()d ones alike, as Node
 * logs them; a package shows as node_modules/<name>.
 */
function loaded(args: string[]): string[] {
  const files = new Set<string>()
  for (const match of moduleLog(args).matchAll(/(?:file:\/\/)?(\/[^\s"'\]]+\.[cm]?js)\b/g)) {
    const path = match[1] as string
    if (!path.startsWith(REPO)) continue
    files.add(
      path.slice(REPO.length).replace(/node_modules\/((?:@[^/]+\/)?[^/]+)\/.*/, 'node_modules/$1'),
    )
  }
  return [...files].sort()
}

/** The shim, the bundle and chunks of it: no package, no file of tsc's output. */
function bundleOnly(files: string[]): boolean {
  const chunks = files.filter((f) => /^dist\/chunks\/[\w-]+\.cjs$/.test(f))
  return files.join() === ['bin/rc2.js', ...chunks, 'dist/cli.cjs'].join()
}

/** What Node logs of the modules `rc2 <args>` loads (NODE_DEBUG=esm,module, on stderr). */
function moduleLog(args: string[], cwd?: string): string {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', NODE_DEBUG: 'esm,module' },
    maxBuffer: 64 * 1024 * 1024,
  })
  expect(run.status, run.stderr.slice(-2000)).toBe(0)
  return run.stderr
}

describe("Node's module log, as this file reads it", () => {
  it('sees a package required inside a command: rc2 grid loads sharp', { timeout: 30_000 }, () => {
    const files = loaded(['grid', join(REPO, 'fixtures/payload-3x3.png'), '--json'])
    expect(files).toContain('bin/rc2.js')
    expect(files).toContain('dist/cli.cjs')
    expect(files).toContain('node_modules/sharp')
  })
})

describe('start-up loads only what the command uses', () => {
  it(
    'rc2 --help: the shim and the one bundled file, no chunk, no package (commander is inside it)',
    { timeout: 30_000 },
    () => {
      const files = loaded(['--help'])
      expect(files).toEqual(['bin/rc2.js', 'dist/cli.cjs'])
      // CommonJS throughout: Node's ES module loader, which logs as ESM, never starts.
      expect(moduleLog(['--help'])).not.toMatch(/^ESM \d+:/m)
      // Not the question table (nor, with it, the code of `rc2 questions` that prints it).
      expect(files.filter((f) => readFileSync(join(REPO, f), 'utf8').includes(TAXIS))).toEqual([])
      // Nor child_process, which commander uses only for executable subcommands (rc2 has none).
      expect(moduleLog(['--help'])).not.toContain('child_process')
      expect(moduleLog(['completion', 'bash'])).not.toContain('child_process')
    },
  )

  it(
    'rc2 questions --json: the bundle and its chunks, the question table among them, no package',
    { timeout: 30_000 },
    () => {
      const files = loaded(['questions', '--json'])
      expect(bundleOnly(files)).toBe(true)
      expect(files.some((f) => readFileSync(join(REPO, f), 'utf8').includes(TAXIS))).toBe(true)
    },
  )

  it(
    'a run that finds a config file reads it without starting the ES module loader',
    { timeout: 30_000 },
    async () => {
      const project = join(dir, 'with-config')
      await mkdir(project)
      await writeFile(join(project, '.recaptcharc'), 'provider: nopecha\n')
      const args = ['solve', join(REPO, 'fixtures/payload-3x3.png'), '-q', 'car', '--dry-run']
      const log = moduleLog([...args, '--json'], project)
      // The config's parser (cosmiconfig) was loaded, and as CommonJS: no ESM line in the log.
      expect(log).toContain('node_modules/cosmiconfig')
      expect(log).not.toMatch(/^ESM \d+:/m)
    },
  )

  it(
    'a dry run sends nothing, so it loads no HTTP code: rc2 solve --dry-run without undici',
    { timeout: 30_000 },
    () => {
      const files = loaded([
        'solve',
        join(REPO, 'fixtures/payload-3x3.png'),
        '-q',
        'car',
        '--dry-run',
        '--json',
        '-p',
        'yescaptcha,acedata,nopecha',
      ])
      expect(files).toContain('node_modules/sharp')
      // undici is bundled into a chunk of its own: found by an error code only undici's code holds.
      const undici = (f: string): boolean =>
        readFileSync(join(REPO, f), 'utf8').includes('UND_ERR_CONNECT_TIMEOUT')
      const chunks = readdirSync(join(REPO, 'dist', 'chunks')).map((f) => `dist/chunks/${f}`)
      expect(chunks.filter(undici)).toHaveLength(1)
      expect(files.filter((f) => f.startsWith('node_modules/undici'))).toEqual([])
      expect(files.filter((f) => f.startsWith('dist/')).filter(undici)).toEqual([])
    },
  )
})

/** stdout of a spawned `rc2 <args>` that exits 0. */
function printed(args: string[]): string {
  const run = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
  })
  expect(run.status, run.stderr).toBe(0)
  expect(run.stderr).toBe('')
  return run.stdout
}

/** What `rc2 <args>` shows on a pseudo-terminal `columns` wide (script(1), as in edges.test.ts). */
function onTerminal(args: string, columns: number): string {
  const typescript = join(dir, `tty-${columns}-${args.replace(/\W/g, '')}.txt`)
  const run = spawnSync(
    'script',
    ['-qec', `stty cols ${columns} rows 30; '${process.execPath}' '${BIN}' ${args}`, typescript],
    {
      env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', TERM: 'xterm' },
      stdio: 'ignore',
      timeout: 30_000,
    },
  )
  expect(run.status).toBe(0)
  // script(1) may add lines of its own around what rc2 wrote ("Script started/done ...").
  return readFileSync(typescript, 'utf8')
    .replace(/\r/g, '')
    .replace(/^Script started[^\n]*\n/, '')
    .replace(/\n?Script done[^\n]*\n?$/, '')
}

describe('rc2 --help from the bundled CLI', () => {
  it(
    'is what the source prints in this process, and the same as rc2 help and -h',
    { timeout: 30_000 },
    async () => {
      const help = printed(['--help'])
      expect(help).toMatch(/^Usage: rc2 \[options\] \[command\]\n/)
      for (const command of ['solve', 'resize', 'questions', 'grid', 'balance', 'report'])
        expect(help).toMatch(new RegExp(`^  ${command} \\[options\\]`, 'm'))
      expect(printed(['-h'])).toBe(help)
      expect(printed(['help'])).toBe(help)
      expect((await runInProcess(['--help'])).stdout).toBe(help)
    },
  )

  it(
    'wraps to the terminal: 80 columns on a pipe, wider on a wider terminal',
    { timeout: 30_000 },
    () => {
      const piped = printed(['--help'])
      // What commander wraps (usage, description, options, commands; not the examples after them).
      const widest = (text: string): number =>
        Math.max(
          ...text
            .slice(0, text.indexOf('\nExamples:'))
            .split('\n')
            .map((l) => l.length),
        )
      expect(widest(piped)).toBeLessThanOrEqual(80)
      expect(onTerminal('--help', 80)).toBe(piped)
      const wide = onTerminal('--help', 120)
      expect(widest(wide)).toBeGreaterThan(80)
      expect(widest(wide)).toBeLessThanOrEqual(120)
      // The same words, wrapped differently.
      expect(wide.replace(/\s+/g, ' ')).toBe(piped.replace(/\s+/g, ' '))
    },
  )
})
