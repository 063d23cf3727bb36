/**
 * Help that is true: what --help says -p takes is what the command accepts (balance asks each
 * provider of a comma list; report names one service and has no default), resize and grid take no
 * sentence so their --grid help does not mention one, and `report --from` reads what `--json`
 * printed (an array) as well as NDJSON.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let dir: string

function envFor(...names: (keyof ProviderServer['endpoints'])[]): Record<string, string> {
  const env: Record<string, string> = { HOME: dir }
  for (const name of names) {
    env[`RC2_${name.toUpperCase()}_API_KEY`] = KEY
    env[`RC2_${name.toUpperCase()}_ENDPOINT`] = server.endpoints[name]
  }
  return env
}

/** Help text with its wrapping undone. */
const flat = (text: string): string => text.replace(/\s+/g, ' ')

const rc2 = (args: string[], env: Record<string, string> = { HOME: dir }) =>
  runInProcess(args, { env, cwd: dir })

beforeAll(async () => {
  server = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-help-'))
  await writeFile(join(dir, 'a.png'), await renderRedGrid('3x3', [1, 2]))
  await writeFile(join(dir, 'b.png'), await renderRedGrid('3x3', [4]))
})

afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe('-p as each command takes it', () => {
  it('balance --help says a comma list asks each, and it does, one line each', async () => {
    const help = await rc2(['balance', '--help'])
    expect(flat(help.stdout)).toContain('a comma list asks each')
    expect(help.stdout).not.toContain('failover')
    const r = await rc2(['balance', '-p', 'capsolver,nopecha'], envFor('capsolver', 'nopecha'))
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    const lines = r.stdout.trim().split('\n')
    expect(lines).toHaveLength(2)
    expect(lines[0]).toMatch(/^capsolver: \d/)
    // NopeCHA's reset times as dates (the stand-in's lastreset is 1: the first second of 1970).
    expect(lines[1]).toMatch(/^nopecha: \d+ credits .*last reset 1970-01-01 00:00 UTC/)
    expect(lines[1]).toMatch(/next reset \d{4}-\d\d-\d\d \d\d:\d\d UTC \(in 1m\)/)
    const json = await rc2(
      ['balance', '-p', 'capsolver,nopecha', '--json'],
      envFor('capsolver', 'nopecha'),
    )
    expect((JSON.parse(json.stdout) as { provider: string }[]).map((b) => b.provider)).toEqual([
      'capsolver',
      'nopecha',
    ])
  })

  it('balance of a list where one cannot answer: the others shown, that one said, exit 6', async () => {
    const r = await rc2(['balance', '-p', 'acedata,capsolver'], envFor('acedata', 'capsolver'))
    expect(r.code).toBe(6)
    expect(r.stdout).toMatch(/^capsolver: \d/)
    expect(r.stderr).toContain('acedata has no balance call')
  })

  it('report --help names the services with a report call and claims no default', async () => {
    const help = await rc2(['report', '--help'])
    const p = flat(help.stdout).slice(flat(help.stdout).indexOf('-p, --provider'))
    expect(p.slice(0, 300)).toMatch(/2captcha, capsolver or capmonster/)
    expect(p.slice(0, 300)).not.toMatch(/default: yescaptcha|failover/)
    const r = await rc2(['report', '123'], envFor('2captcha'))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('-p <provider>')
  })

  it('only solve says the grid may come from the sentence', async () => {
    for (const command of ['resize', 'grid']) {
      const help = await rc2([command, '--help'])
      expect(flat(help.stdout), command).toContain('(default: auto, from the image)')
      expect(help.stdout, command).not.toContain('sentence')
    }
    const solve = await rc2(['solve', '--help'])
    expect(flat(solve.stdout)).toContain('(default: auto, from the image or the sentence)')
  })
})

describe('report --from', () => {
  it('takes the array --json printed, as it takes NDJSON', async () => {
    const solved = await rc2(
      ['solve', 'a.png', 'b.png', '-q', 'bus', '-p', 'capsolver', '--json'],
      envFor('capsolver'),
    )
    expect(solved.code, solved.stderr).toBe(0)
    expect(solved.stdout.trimStart().startsWith('[')).toBe(true)
    await writeFile(join(dir, 'r.json'), solved.stdout)
    const before = server.reports.length
    const r = await rc2(['report', '--from', 'r.json', '--json'], envFor('capsolver'))
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    const outcomes = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { input: string; ok: boolean })
    expect(outcomes.map((o) => [o.input, o.ok]).sort()).toEqual([
      ['a.png', true],
      ['b.png', true],
    ])
    expect(server.reports.length - before).toBe(2)
  })

  it('takes one result as --json prints it for one input (an object over several lines)', async () => {
    const solved = await rc2(
      ['solve', 'a.png', '-q', 'bus', '-p', 'capsolver', '--json'],
      envFor('capsolver'),
    )
    await writeFile(join(dir, 'one.json'), solved.stdout)
    const r = await rc2(['report', '--from', 'one.json', '--json'], envFor('capsolver'))
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    expect(JSON.parse(r.stdout)).toMatchObject({ input: 'a.png', ok: true })
  })
})
