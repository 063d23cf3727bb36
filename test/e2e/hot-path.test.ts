/**
 * The hot path of a batch of standard payloads: what a spawned `rc2 solve` loads. Timing belongs to
 * the bench; checked here is what keeps a clean batch close to a bare client's CPU: a standard
 * JPEG payload is checked from its header and sent as it is, so libvips (sharp) is never loaded.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, runRc2 } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

let dir: string
let probe: string
let server: ProviderServer

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-hot-path-'))
  server = await startProviderServer()
  // Preloaded into the spawned rc2: says at exit whether sharp was ever required.
  probe = join(dir, 'probe.cjs')
  await writeFile(
    probe,
    `process.on('exit', () => {
  const loaded = Object.keys(require.cache).some((file) => file.includes('/node_modules/sharp/'))
  process.stderr.write('SHARP ' + loaded + '\\n')
})
`,
  )
  await mkdir(join(dir, 'jpeg'))
  await writeFile(
    join(dir, 'jpeg', 'a.jpg'),
    await renderRedGrid('3x3', [0, 4], { format: 'jpeg' }),
  )
  await writeFile(
    join(dir, 'jpeg', 'b.jpg'),
    await renderRedGrid('4x4', [1, 15], { format: 'jpeg' }),
  )
  await writeFile(join(dir, 'jpeg', 'c.jpg'), await renderRedGrid('1x1', [0], { format: 'jpeg' }))
}, 60_000)

afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

function solve(inputs: string[]) {
  return runRc2(['solve', ...inputs, '-q', 'cars', '--ndjson', '--endpoint', server.url], {
    env: { RC2_API_KEY: DEFAULT_TEST_KEY, HOME: dir, NODE_OPTIONS: `--require ${probe}` },
    timeoutMs: 60_000,
  })
}

describe('a batch of standard JPEG payloads', () => {
  it('is solved without loading sharp', { timeout: 90_000 }, async () => {
    const run = await solve([join(dir, 'jpeg')])
    expect(run.code, run.stderr).toBe(0)
    const results = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { ok: boolean; grid: string })
    expect(results.map((r) => r.grid).sort()).toEqual(['1x1', '3x3', '4x4'])
    expect(results.every((r) => r.ok)).toBe(true)
    expect(run.stderr).toContain('SHARP false\n')
  })

  it(
    'loads sharp once an input needs pixels (a widget screenshot): the probe can tell',
    { timeout: 90_000 },
    async () => {
      const run = await solve([join(dir, 'jpeg'), join(FIXTURES, 'widget-3x3-1x.png')])
      expect(run.code, run.stderr).toBe(0)
      expect(run.stdout.trim().split('\n')).toHaveLength(4)
      expect(run.stderr).toContain('SHARP true\n')
    },
  )
})

describe('sharp that cannot load (a broken install)', () => {
  it('is said as such, not as a damaged image', { timeout: 90_000 }, async () => {
    // Preloaded into the spawned rc2: require('sharp') fails as it does without its native binary.
    const broken = join(dir, 'no-sharp.cjs')
    await writeFile(
      broken,
      `const Module = require('node:module')
const load = Module._load
Module._load = function (request, ...rest) {
  if (request === 'sharp') throw new Error('Could not load the "sharp" module (test)')
  return load.call(this, request, ...rest)
}
`,
    )
    const created = server.createCount
    const run = await runRc2(
      [
        'solve',
        join(FIXTURES, 'payload-3x3.png'),
        join(FIXTURES, 'widget-3x3-1x.png'),
        '-q',
        'cars',
        '--ndjson',
        '--endpoint',
        server.url,
      ],
      {
        env: { RC2_API_KEY: DEFAULT_TEST_KEY, HOME: dir, NODE_OPTIONS: `--require ${broken}` },
        timeoutMs: 60_000,
      },
    )
    const results = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { ok: boolean; error?: { message: string } })
    expect(results).toHaveLength(2)
    for (const result of results) {
      expect(result.ok).toBe(false)
      expect(result.error?.message).toContain('Could not load the "sharp" module (test)')
      expect(result.error?.message).not.toMatch(/damaged|could not be decoded/)
    }
    expect(server.createCount).toBe(created)
  })
})

describe('a run left with nothing to wake it', () => {
  it('says it is an internal error and exits 1, not with Node’s silent 13', async () => {
    // A stand-in for a deadlock: fstat's callback never comes, so reading the input never ends
    // and nothing else is pending.
    const stall = join(dir, 'stall.cjs')
    await writeFile(
      stall,
      "const fs = require('node:fs')\nfs.fstat = () => {}\nrequire('node:module').syncBuiltinESMExports()\n",
    )
    const run = await runRc2(
      ['solve', join(FIXTURES, 'payload-3x3.png'), '-q', 'cars', '--dry-run'],
      { env: { RC2_API_KEY: DEFAULT_TEST_KEY, HOME: dir, NODE_OPTIONS: `--require ${stall}` } },
    )
    expect(run.code, run.stderr).toBe(1)
    expect(run.stderr).toContain('rc2: internal error: the run stopped with work unfinished')
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
  })
})

describe('Node without WebAssembly (node --jitless)', () => {
  it('finds the same grids and clicks: detection falls back to plain JavaScript', async () => {
    const args = ['solve', 'widget-3x3-1x.png', 'widget-4x4-2x.jpg', 'tiles-3x3-1.5x.png']
    const solve = (env: Record<string, string>) =>
      runRc2([...args, '-q', 'cars', '--dry-run', '--ndjson'], {
        cwd: FIXTURES,
        env: { RC2_API_KEY: DEFAULT_TEST_KEY, HOME: dir, ...env },
        timeoutMs: 60_000,
      })
    const [usual, jitless] = await Promise.all([solve({}), solve({ NODE_OPTIONS: '--jitless' })])
    expect([usual.code, jitless.code]).toEqual([0, 0])
    // One line per input, in the order they finished: compared by input.
    const results = (stdout: string) =>
      stdout
        .trim()
        .split('\n')
        .map(
          (line) => JSON.parse(line) as { input: string; grid: string; clicksIfChosen: unknown[] },
        )
        .sort((x, y) => x.input.localeCompare(y.input))
    expect(results(usual.stdout).map((r) => [r.input, r.grid, r.clicksIfChosen.length])).toEqual([
      ['tiles-3x3-1.5x.png', '3x3', 9],
      ['widget-3x3-1x.png', '3x3', 9],
      ['widget-4x4-2x.jpg', '4x4', 16],
    ])
    expect(results(jitless.stdout)).toEqual(results(usual.stdout))
  })
})
