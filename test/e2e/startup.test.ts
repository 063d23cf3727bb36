/**
 * Start-up: a command loads only what it uses. Timing belongs to the bench (`npm run bench`); what
 * is checked here is what makes it fast: which modules a spawned `rc2 --help` and
 * `rc2 questions --json` load, seen through a module hook. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Command, Help } from '../../src/commands/commander.js'
import type { CliContext } from '../../src/commands/context.js'
import { COMMANDS, invokedCommand } from '../../src/commands/registry.js'
import { BIN, REPO, runInProcess } from '../helpers/cli.js'

let dir: string
let preload: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-startup-'))
  // A resolve hook that reports every module file loaded, one line each on stderr.
  const hooks = join(dir, 'hooks.mjs')
  // writeSync to fd 2, not process.stderr: in the hooks' worker thread (Node 20) process.stderr is
  // forwarded to the main thread later, and a process that exits at once (--help) loses the line.
  await writeFile(
    hooks,
    `import { writeSync } from 'node:fs'
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (result.url.startsWith('file:')) writeSync(2, 'LOADED ' + result.url + '\\n')
  return result
}
`,
  )
  // Node 22.15+ has in-thread hooks that also see require(); there the off-thread ones of register()
  // can lose their last lines at exit (seen on Node 24), so use them where they exist.
  preload = join(dir, 'preload.mjs')
  await writeFile(
    preload,
    `import module from 'node:module'
if (typeof module.registerHooks === 'function') {
  module.registerHooks({
    resolve(specifier, context, next) {
      const result = next(specifier, context)
      if (result.url.startsWith('file:')) process.stderr.write('LOADED ' + result.url + '\\n')
      return result
    },
  })
} else {
  module.register(${JSON.stringify(pathToFileURL(hooks).href)})
}
// Setting up standard input is start-up time too (importing node:process as a module does it).
const stdin = Object.getOwnPropertyDescriptor(process, 'stdin')
Object.defineProperty(process, 'stdin', { ...stdin, get() {
  process.stderr.write('LOADED process.stdin\\n')
  return stdin.get.call(this)
} })
`,
  )
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('the start-up probe', () => {
  it('sees standard input set up', { timeout: 30_000 }, () => {
    const run = spawnSync(process.execPath, ['--import', preload, '-e', 'process.stdin'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stderr).toContain('LOADED process.stdin\n')
  })
})

/** Files loaded by `rc2 <args>`, relative to the repository (packages as node_modules/<name>). */
function loaded(args: string[]): string[] {
  const run = spawnSync(process.execPath, ['--import', preload, BIN, ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' },
    maxBuffer: 64 * 1024 * 1024,
  })
  expect(run.status, run.stderr).toBe(0)
  const root = pathToFileURL(REPO).href
  return [
    ...new Set(
      run.stderr
        .split('\n')
        .filter((l) => l.startsWith('LOADED '))
        .map((l) =>
          l
            .slice(7)
            .replace(root, '')
            .replace(/node_modules\/((?:@[^/]+\/)?[^/]+)\/.*/, 'node_modules/$1'),
        ),
    ),
  ]
}

const HEAVY = [
  'node_modules/sharp',
  'node_modules/undici',
  'node_modules/ora',
  'node_modules/cli-table3',
  'node_modules/chalk',
  'node_modules/zod',
  'node_modules/cosmiconfig',
  'node_modules/p-limit',
]

describe('start-up loads only what the command uses', () => {
  it(
    'rc2 --help: only bin/rc2.js printing the prebuilt text: no CLI module, no commander, no stdin',
    { timeout: 30_000 },
    () => {
      const files = loaded(['--help'])
      expect(files).toEqual(['bin/rc2.js'])
      // The same without the prebuilt text path: the CLI and commander, nothing of a command.
      const live = loaded(['help'])
      expect(live).toContain('dist/cli.js')
      expect(live).toContain('dist/commands/commander.js')
      expect(live).not.toContain('process.stdin')
      // (Node 20's module hooks do not see require(), so commander shows as the module that requires it.)
      expect(files).not.toContain('dist/commands/commander.js')
      expect(files).not.toContain('node_modules/commander')
      for (const name of HEAVY) expect(files, name).not.toContain(name)
      expect(
        files.filter((f) =>
          /^dist\/(commands\/(solve|resize|grid|balance|questions)|image|providers|solve|questions|output\/(io|render|sink|progress))\b/.test(
            f,
          ),
        ),
      ).toEqual([])
    },
  )

  it(
    'rc2 questions --json: the question table, no index or parser, no table renderer, no colour, nothing of solving, no stdin',
    { timeout: 30_000 },
    () => {
      const files = loaded(['questions', '--json'])
      expect(files, files.join(', ')).toContain('dist/commands/questions.js')
      expect(files).not.toContain('process.stdin')
      expect(files).toContain('dist/questions/table.js')
      for (const name of HEAVY) expect(files, name).not.toContain(name)
      expect(
        files.filter((f) =>
          /^dist\/(commands\/(solve|resize|grid|balance)|image|providers|engine|batch|inputs|report)\b|render-questions/.test(
            f,
          ),
        ),
      ).toEqual([])
      // The whole list needs neither the name index nor the sentence parser (a query does).
      expect(
        files.filter((f) => /^dist\/questions\/(lookup|normalize|sentences)\b/.test(f)),
      ).toEqual([])
    },
  )
})

describe('a dry run sends nothing, so it loads no HTTP code', () => {
  it(
    "rc2 solve --dry-run describes the request from the providers' facts, without undici or an adapter",
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
      expect(files).toContain('dist/providers/facts/index.js')
      expect(files).not.toContain('node_modules/undici')
      expect(
        files.filter((f) =>
          /^dist\/providers\/(http|retry|task-api|adapter-context|yescaptcha|acedata|nopecha|failover|index)\.js$/.test(
            f,
          ),
        ),
      ).toEqual([])
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

describe('the prebuilt rc2 --help (dist/help.txt, written by npm run build)', () => {
  it(
    'is exactly what commander prints live: rc2 help, and runCli in this process',
    { timeout: 30_000 },
    async () => {
      const prebuilt = readFileSync(join(REPO, 'dist/help.txt'), 'utf8')
      expect(prebuilt).toMatch(/^Usage: rc2 \[options\] \[command\]\n/)
      expect(printed(['--help'])).toBe(prebuilt)
      expect(printed(['-h'])).toBe(prebuilt)
      // `rc2 help` always goes through commander, and so does runCli (the prebuilt text is bin/rc2.js's).
      expect(printed(['help'])).toBe(prebuilt)
      expect((await runInProcess(['--help'])).stdout).toBe(prebuilt)
    },
  )

  it(
    'is used only 80 columns wide: a wider terminal gets help wrapped to its width',
    { timeout: 30_000 },
    () => {
      const prebuilt = readFileSync(join(REPO, 'dist/help.txt'), 'utf8')
      expect(onTerminal('--help', 80)).toBe(prebuilt)
      // What commander wraps (usage, description, options, commands; not the examples after them).
      const widest = (text: string): number =>
        Math.max(
          ...text
            .slice(0, text.indexOf('\nExamples:'))
            .split('\n')
            .map((l) => l.length),
        )
      expect(widest(prebuilt)).toBeLessThanOrEqual(80)
      const wide = onTerminal('--help', 120)
      expect(widest(wide)).toBeGreaterThan(80)
      expect(widest(wide)).toBeLessThanOrEqual(120)
      expect(wide).toBe(onTerminal('help', 120))
      // The same words, wrapped differently.
      expect(wide.replace(/\s+/g, ' ')).toBe(prebuilt.replace(/\s+/g, ' '))
    },
  )
})

describe('the command registry', () => {
  it('lists each command as its module defines it (name, usage and summary in --help)', async () => {
    const ctx = {} as CliContext
    for (const entry of COMMANDS) {
      const program = new Command('rc2')
      ;(await entry.load()).register(program, ctx)
      const command = program.commands.find((c) => c.name() === entry.name)
      expect(command, entry.name).toBeDefined()
      expect(new Help().subcommandTerm(command!), entry.name).toBe(entry.term)
      expect(command!.description(), entry.name).toBe(entry.summary)
    }
  })

  it('finds the command the arguments run', () => {
    expect(invokedCommand(['solve', 'a.png', '-q', 'car'])?.name).toBe('solve')
    expect(invokedCommand(['--config', 'questions', 'grid', 'x.png'])?.name).toBe('grid')
    expect(invokedCommand(['--no-color', 'help', 'resize'])?.name).toBe('resize')
    expect(invokedCommand(['--help'])).toBeUndefined()
    expect(invokedCommand(['solv'])).toBeUndefined()
  })
})
