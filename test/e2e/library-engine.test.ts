/**
 * The library runs everything the CLI does, seen from a user's program: each test is an ES module
 * run by Node inside the package, so `import … from 'recaptcha-rc2'` resolves through the package's exports to
 * the built dist/ (needs `npm run build`), against loopback services. Dynamic rounds (`tiles`,
 * `since` as bytes), failover lists, provider names in any case, keys from RC2_<NAME>_API_KEY and a
 * named config file, a Buffer's `name`, solveMany under a budget, balance and report.
 */
import { spawn } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { REPO, TILES_DIR } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'
import { renderRoundPair } from '../helpers/rounds.js'

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let second: ProviderServer
let dir: string

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Run an ES module body with cwd = the repository, so that 'recaptcha-rc2' resolves to this package. */
function runModule(body: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', body], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The JSON the module printed, once it ran cleanly. */
async function run(body: string, env: Record<string, string> = {}): Promise<unknown> {
  const r = await runModule(body, env)
  expect(r.stderr).toBe('')
  expect(r.code).toBe(0)
  expect(r.stdout).not.toContain(KEY)
  return JSON.parse(r.stdout)
}

const path = (name: string): string => JSON.stringify(join(dir, name))

beforeAll(async () => {
  server = await startProviderServer()
  second = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-engine-'))
  const grid = await renderRedGrid('3x3', [2, 3, 7])
  await writeFile(join(dir, 'grid.png'), grid)
  // Red tiles 2 and 7 differ by one pixel: a run asks the same image only once, and each tile of
  // a dynamic round must be its own task.
  const { data, info } = await sharp(grid).raw().toBuffer({ resolveWithObject: true })
  const inTile7 = (250 * info.width + 150) * info.channels
  data[inTile7] = data[inTile7]! ^ 0x80
  await writeFile(join(dir, 'grid-distinct.png'), await sharp(data, { raw: info }).png().toBuffer())
  for (const [k, tiles] of [[0], [1], [2], [3, 4]].entries())
    await writeFile(join(dir, `batch-${k}.png`), await renderRedGrid('3x3', tiles))
  const files = readdirSync(TILES_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(TILES_DIR, f))
  const pair = await renderRoundPair(files, 3, { redShare: 1 })
  await writeFile(join(dir, 'before.png'), pair.before)
  await writeFile(join(dir, 'after.png'), pair.after)
  await writeFile(join(dir, 'replaced.json'), JSON.stringify(pair.replaced))
})

beforeEach(() => {
  server.resetCounters()
  second.resetCounters()
  second.setReply(undefined)
})

afterAll(async () => {
  await server.close()
  await second.close()
  await rm(dir, { recursive: true, force: true })
})

describe('solve() does a dynamic round', () => {
  it('with tiles: only those tiles are sent, each a 100x100 task, and the result says checked', async () => {
    const out = (await run(
      `import { solve } from 'recaptcha-rc2'
       const r = await solve(${path('grid-distinct.png')}, { question: 'cars', tiles: [2, 4, 7], endpoint: ${JSON.stringify(server.url)} })
       console.log(JSON.stringify({ checked: r.checked, objects: r.objects, size: r.size, points: r.points, clicks: r.clicks }))`,
      { RC2_API_KEY: KEY },
    )) as Record<string, unknown>
    expect(out).toEqual({
      checked: [2, 4, 7],
      objects: [2, 7],
      size: 100,
      points: 6, // three tiles at 2 points each, not a whole solve's 6 for one grid
      clicks: [
        { tile: 2, x: 250, y: 50 },
        { tile: 7, x: 150, y: 250 },
      ],
    })
    expect(server.createCount).toBe(3)
  })

  it('with since as bytes and a Buffer input with a name: the changed tiles are classified', async () => {
    const out = (await run(
      `import { solve } from 'recaptcha-rc2'
       import { readFileSync } from 'node:fs'
       const r = await solve(readFileSync(${path('after.png')}), {
         question: 'cars', name: 'after-shot.png', since: readFileSync(${path('before.png')}),
         endpoint: ${JSON.stringify(server.url)},
       })
       console.log(JSON.stringify({ input: r.input, checked: r.checked, objects: r.objects }))`,
      { RC2_API_KEY: KEY },
    )) as { input: string; checked: number[]; objects: number[] }
    const { readFile } = await import('node:fs/promises')
    const replaced = JSON.parse(await readFile(join(dir, 'replaced.json'), 'utf8')) as number[]
    expect(out).toEqual({ input: 'after-shot.png', checked: replaced, objects: replaced })
    expect(server.createCount).toBe(replaced.length)
  })
})

describe('solve() builds its providers as the CLI does', () => {
  it('a failover list: the first service fails, the second answers', async () => {
    second.setReply({ json: { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE' } })
    const out = (await run(
      `import { solve } from 'recaptcha-rc2'
       const r = await solve(${path('grid.png')}, { question: 'cars', provider: ['YesCaptcha', 'capsolver'], confidence: 0.5 })
       console.log(JSON.stringify({ provider: r.provider, objects: r.objects, attempts: r.attempts }))`,
      {
        RC2_YESCAPTCHA_API_KEY: KEY,
        RC2_YESCAPTCHA_ENDPOINT: second.endpoints.yescaptcha,
        RC2_CAPSOLVER_API_KEY: KEY,
        RC2_CAPSOLVER_ENDPOINT: server.endpoints.capsolver,
      },
    )) as { provider: string; objects: number[]; attempts: { provider: string; kind: string }[] }
    expect(out.provider).toBe('capsolver')
    expect(out.objects).toEqual([2, 3, 7])
    expect(out.attempts).toMatchObject([{ provider: 'yescaptcha', kind: 'unsolvable' }])
    expect(second.createCount).toBe(1)
    expect(server.createCount).toBe(1)
  })

  it('a name in any case, its key from RC2_<NAME>_API_KEY; a comma list works too', async () => {
    const out = (await run(
      `import { solve } from 'recaptcha-rc2'
       const one = await solve(${path('grid.png')}, { question: 'cars', provider: 'CapSolver' })
       const list = await solve(${path('grid.png')}, { question: 'cars', provider: 'CAPSOLVER,yescaptcha' })
       console.log(JSON.stringify([one.provider, one.objects, list.provider]))`,
      {
        RC2_CAPSOLVER_API_KEY: KEY,
        RC2_CAPSOLVER_ENDPOINT: server.endpoints.capsolver,
        RC2_YESCAPTCHA_API_KEY: KEY,
        RC2_YESCAPTCHA_ENDPOINT: server.url,
      },
    )) as unknown[]
    expect(out).toEqual(['capsolver', [2, 3, 7], 'capsolver'])
    expect(server.requests.filter((r) => r.provider === 'capsolver' && r.key === KEY)).toHaveLength(
      2,
    )
  })

  it('an unknown provider is a UsageError naming the known ones, before anything is sent', async () => {
    const out = (await run(
      `import { solve, UsageError } from 'recaptcha-rc2'
       try {
         await solve(${path('grid.png')}, { question: 'cars', provider: 'capsolvr' })
       } catch (error) {
         console.log(JSON.stringify({ usage: error instanceof UsageError, kind: error.kind, message: error.message }))
       }`,
      { RC2_API_KEY: KEY, RC2_ENDPOINT: server.url },
    )) as { usage: boolean; kind: string; message: string }
    expect(out.usage).toBe(true)
    expect(out.kind).toBe('usage')
    expect(out.message).toContain('capsolvr')
    expect(out.message).toContain('yescaptcha, acedata, capsolver')
    expect(server.createCount).toBe(0)
  })

  it('keys and endpoints from the config file named by `config` or RC2_CONFIG', async () => {
    const config = join(dir, 'rc2.json')
    await writeFile(
      config,
      JSON.stringify({
        provider: 'capsolver',
        providers: { capsolver: { apiKey: KEY, endpoint: server.endpoints.capsolver } },
      }),
      { mode: 0o600 },
    )
    const out = (await run(
      `import { solve } from 'recaptcha-rc2'
       const named = await solve(${path('grid.png')}, { question: 'cars', config: ${JSON.stringify(config)} })
       const fromEnv = await solve(${path('grid.png')}, { question: 'cars' })
       console.log(JSON.stringify([named.provider, fromEnv.provider]))`,
      { RC2_CONFIG: config },
    )) as unknown[]
    expect(out).toEqual(['capsolver', 'capsolver'])
    expect(server.createCount).toBe(2)
  })

  it('a Buffer is called by its name in errors, not stdin', async () => {
    const out = (await run(
      `import { solve } from 'recaptcha-rc2'
       try {
         await solve(Buffer.from('no picture here'), { question: 'cars', name: 'shot-17.png' })
       } catch (error) {
         console.log(JSON.stringify({ kind: error.kind, message: error.message }))
       }`,
      { RC2_API_KEY: KEY, RC2_ENDPOINT: server.url },
    )) as { kind: string; message: string }
    expect(out.kind).toBe('input')
    expect(out.message).toContain('shot-17.png')
    expect(out.message).not.toContain('stdin')
  })
})

describe('solveMany()', () => {
  it('stops sending at maxPoints and yields the unsent and a bad input as ok: false', async () => {
    const out = (await run(
      `import { solveMany } from 'recaptcha-rc2'
       const inputs = [0, 1, 2, 3].map((k) => ${JSON.stringify(dir)} + '/batch-' + k + '.png')
       inputs.push({ name: 'broken.png', bytes: Buffer.from('not an image') })
       const results = []
       for await (const r of solveMany(inputs, { question: 'cars', confidence: 0.5, maxPoints: 12, concurrency: 1 }))
         results.push(r.ok ? { input: r.input, ok: true, objects: r.objects } : { input: r.input, ok: false, kind: r.error.kind })
       console.log(JSON.stringify(results))`,
      { RC2_API_KEY: KEY, RC2_ENDPOINT: server.url },
    )) as { input: string; ok: boolean; objects?: number[]; kind?: string }[]
    expect(out).toHaveLength(5)
    const answered = out.filter((r) => r.ok)
    // 6 points a 3x3 grid at YesCaptcha: two fit in 12.
    expect(answered).toHaveLength(2)
    expect(server.createCount).toBe(2)
    const bad = out.find((r) => r.input === 'broken.png')
    expect(bad).toEqual({ input: 'broken.png', ok: false, kind: 'input' })
    expect(out.filter((r) => !r.ok)).toHaveLength(3)
  })

  it('stops when its signal aborts and throws the reason after what finished', async () => {
    server.setLatency(3000)
    try {
      const out = (await run(
        `import { solveMany } from 'recaptcha-rc2'
         const inputs = [0, 1, 2, 3].map((k) => ${JSON.stringify(dir)} + '/batch-' + k + '.png')
         const controller = new AbortController()
         setTimeout(() => controller.abort(new Error('enough')), 1000)
         const seen = []
         try {
           for await (const r of solveMany(inputs, { question: 'cars', concurrency: 1, signal: controller.signal })) seen.push(r.input)
         } catch (error) {
           console.log(JSON.stringify({ seen, reason: error.message }))
         }`,
        { RC2_API_KEY: KEY, RC2_ENDPOINT: server.url },
      )) as { seen: string[]; reason: string }
      expect(out).toEqual({ seen: [], reason: 'enough' })
      // Four inputs, one at a time, three seconds each: the abort stopped the rest.
      expect(server.createCount).toBeLessThanOrEqual(1)
    } finally {
      server.setLatency(0)
    }
  })
})

describe('balance() and report()', () => {
  it('ask the service named, with its key from the environment', async () => {
    const out = (await run(
      `import { solve, balance, report } from 'recaptcha-rc2'
       const b = await balance({ provider: 'CapSolver' })
       const solved = await solve(${path('grid.png')}, { question: 'cars', provider: 'capsolver' })
       const reports = await report([solved.taskId], { provider: 'capsolver' })
       console.log(JSON.stringify({ provider: b.provider, balance: b.balance, reports: reports.map((r) => [r.ok, r.taskId === solved.taskId]) }))`,
      { RC2_CAPSOLVER_API_KEY: KEY, RC2_CAPSOLVER_ENDPOINT: server.endpoints.capsolver },
    )) as { provider: string; balance: number; reports: unknown[] }
    expect(out.provider).toBe('capsolver')
    expect(typeof out.balance).toBe('number')
    expect(out.reports).toEqual([[true, true]])
    expect(server.reports).toMatchObject([{ provider: 'capsolver', correct: false }])
  })
})
