/**
 * Start-up: a command loads only what it uses. Timing belongs to the bench (`npm run bench`); what
 * is checked here is what makes it fast: which modules a spawned `rc2 --help` and
 * `rc2 questions --json` load, seen through a module hook. Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Command, Help } from '../../src/commands/commander.js'
import type { CliContext } from '../../src/commands/context.js'
import { COMMANDS, invokedCommand } from '../../src/commands/registry.js'
import { BIN, REPO } from '../helpers/cli.js'

let dir: string
let preload: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-startup-'))
  // A resolve hook that reports every module file loaded, one line each on stderr.
  const hooks = join(dir, 'hooks.mjs')
  await writeFile(hooks, `export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  if (result.url.startsWith('file:')) process.stderr.write('LOADED ' + result.url + '\\n')
  return result
}
`)
  // Node 22.15+ has in-thread hooks that also see require(); there the off-thread ones of register()
  // can lose their last lines at exit (seen on Node 24), so use them where they exist.
  preload = join(dir, 'preload.mjs')
  await writeFile(preload, `import module from 'node:module'
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
`)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Files loaded by `rc2 <args>`, relative to the repository (packages as node_modules/<name>). */
function loaded(args: string[]): string[] {
  const run = spawnSync(process.execPath, ['--import', preload, BIN, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' }, maxBuffer: 64 * 1024 * 1024 })
  expect(run.status, run.stderr).toBe(0)
  const root = pathToFileURL(REPO).href
  return [...new Set(run.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7).replace(root, '').replace(/node_modules\/((?:@[^/]+\/)?[^/]+)\/.*/, 'node_modules/$1')))]
}

const HEAVY = ['node_modules/sharp', 'node_modules/ky', 'node_modules/ora', 'node_modules/cli-table3', 'node_modules/chalk', 'node_modules/zod', 'node_modules/cosmiconfig', 'node_modules/p-limit']

describe('start-up loads only what the command uses', () => {
  it('rc2 --help: the CLI and commander, no command module and no heavy package', { timeout: 30_000 }, () => {
    const files = loaded(['--help'])
    expect(files).toContain('dist/cli.js')
    for (const name of HEAVY) expect(files, name).not.toContain(name)
    expect(files.filter((f) => /^dist\/(commands\/(solve|resize|grid|balance|questions)|image|providers|solve|questions|output\/(io|render|sink|progress))\b/.test(f))).toEqual([])
  })

  it('rc2 questions --json: the question table, no index or parser, no table renderer, no colour, nothing of solving', { timeout: 30_000 }, () => {
    const files = loaded(['questions', '--json'])
    expect(files, files.join(', ')).toContain('dist/commands/questions.js')
    expect(files).toContain('dist/questions/table.js')
    for (const name of HEAVY) expect(files, name).not.toContain(name)
    expect(files.filter((f) => /^dist\/(commands\/(solve|resize|grid|balance)|image|providers|solve)\b|render-questions/.test(f))).toEqual([])
    // The whole list needs neither the name index nor the sentence parser (a query does).
    expect(files.filter((f) => /^dist\/questions\/(lookup|normalize|sentences)\b/.test(f))).toEqual([])
  })
})

describe('a dry run sends nothing, so it loads no HTTP code', () => {
  it('rc2 solve --dry-run describes the request from the providers\' facts, without ky or an adapter', { timeout: 30_000 }, () => {
    const files = loaded(['solve', join(REPO, 'fixtures/payload-3x3.png'), '-q', 'car', '--dry-run', '--json', '-p', 'yescaptcha,acedata,nopecha'])
    expect(files).toContain('dist/providers/facts/index.js')
    expect(files).not.toContain('node_modules/ky')
    expect(files.filter((f) => /^dist\/providers\/(http|retry|task-api|adapter-context|yescaptcha|acedata|nopecha|failover|index)\.js$/.test(f))).toEqual([])
  })
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
