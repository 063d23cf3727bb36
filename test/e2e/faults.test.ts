/**
 * Failure handling that costs only what it must: a batch under the fault mix of a busy service,
 * and replies that hang past the per-attempt deadline. In-process (runCli) against the loopback
 * server with seeded faults: a spawned binary would show nothing more here.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runRc2InProcess, type InProcessResult } from '../helpers/cli-in-process.js'
import {
  BUSY_SERVICE_FAULTS,
  DEFAULT_TEST_KEY,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

let server: ProviderServer
let root: string

interface Result {
  input: string
  ok: boolean
  objects?: number[]
  paidCalls?: number
  error?: { kind: string; message: string }
}

const rc2 = (args: string[]): Promise<InProcessResult> =>
  runRc2InProcess([...args, '--endpoint', server.url], {
    cwd: root,
    env: { RC2_API_KEY: DEFAULT_TEST_KEY },
  })

const parseLines = (text: string): Result[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Result)

/** The red tiles of input k: the bits of k+1, so every input differs and has at least one. */
const redOf = (k: number): number[] =>
  [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((bit) => ((k + 1) >> bit) & 1)

/** `count` 300x300 JPEG payloads in `dir` (red tiles on grey); returns input name -> red tiles. */
async function makeBatch(dir: string, count: number): Promise<Map<string, number[]>> {
  await mkdir(join(root, dir), { recursive: true })
  const truth = new Map<string, number[]>()
  for (let k = 0; k < count; k++) {
    const data = Buffer.alloc(300 * 300 * 3)
    const red = redOf(k)
    for (let y = 0; y < 300; y++) {
      for (let x = 0; x < 300; x++) {
        const isRed = red.includes(Math.floor(y / 100) * 3 + Math.floor(x / 100))
        data.set(isRed ? [230, 20, 20] : [120, 125, 130], (y * 300 + x) * 3)
      }
    }
    const name = join(dir, `in-${String(k).padStart(4, '0')}.jpg`)
    await writeFile(
      join(root, name),
      await sharp(data, { raw: { width: 300, height: 300, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer(),
    )
    truth.set(name, red)
  }
  return truth
}

beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-faults-'))
})

afterAll(async () => {
  await server.close()
  await rm(root, { recursive: true, force: true })
})

beforeEach(() => {
  server.resetCounters()
  server.setFaults(undefined)
  server.setLatency(0)
})

describe('the fault mix of a busy service', () => {
  it('200 inputs: at least 199 solved, none wrong, and paid calls = answers + lost or malformed replies', async () => {
    const truth = await makeBatch('mix', 200)
    server.setLatency(50)
    server.setFaults({ seed: 15, ...BUSY_SERVICE_FAULTS })
    const r = await rc2([
      'solve',
      'mix',
      '-q',
      'cars',
      '--confidence',
      '0.5',
      '--ndjson',
      '--concurrency',
      '8',
    ])
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(200)
    expect(new Set(results.map((x) => x.input))).toEqual(new Set(truth.keys()))
    const ok = results.filter((x) => x.ok)
    for (const result of ok) expect(result.objects, result.input).toEqual(truth.get(result.input))
    expect(ok.length, JSON.stringify(results.filter((x) => !x.ok))).toBeGreaterThanOrEqual(199)
    expect(r.code).toBe(ok.length === 200 ? 0 : 6)

    const faults = server.faultCounts
    for (const name of [
      'rateLimit',
      'serverError',
      'resetBeforeWork',
      'malformed',
      'internalError',
      'resetAfterWork',
    ] as const) {
      expect(faults[name], name).toBeGreaterThan(0)
    }
    // The service charged once per answer, plus once per reply it lost or garbled after doing the
    // work: malformed replies were resent like lost ones, nothing else cost anything.
    expect(server.paidCount).toBe(ok.length + faults.resetAfterWork + faults.malformed)
    // rc2 accounts for every one of them; a reset before any work looks the same from here, so it
    // is counted as possibly charged too, and that is the only difference.
    const reported = results.reduce((n, x) => n + (x.paidCalls ?? (x.ok ? 1 : 0)), 0)
    expect(reported).toBe(server.paidCount + faults.resetBeforeWork)
    console.log(
      `fault mix: ${ok.length}/200 ok; server charged ${server.paidCount}, rc2 reports ${reported}; faults ${JSON.stringify(faults)}`,
    )
  }, 120_000)
})

describe('replies that hang', () => {
  it('8% of replies hanging past the deadline: each attempt is abandoned in time and every input is solved', async () => {
    // Scaled from "hang 40 s, --timeout 30" by 0.3 (the retry backoff is not scaled, so the
    // margin is smaller here): an attempt gives up after a third of --timeout, 3 s, and the
    // resend has the rest of the deadline.
    const truth = await makeBatch('hang', 40)
    server.setLatency(50)
    server.setFaults({ seed: 8, slow: 0.08, slowMs: 12_000 })
    const started = Date.now()
    const r = await rc2([
      'solve',
      'hang',
      '-q',
      'cars',
      '--confidence',
      '0.5',
      '--ndjson',
      '--concurrency',
      '8',
      '--timeout',
      '9',
    ])
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(40)
    expect(results.filter((x) => !x.ok)).toEqual([])
    for (const result of results)
      expect(result.objects, result.input).toEqual(truth.get(result.input))
    expect(r.code).toBe(0)
    expect(server.faultCounts.slow).toBeGreaterThan(0)
    // A hung reply was charged: the input that resent it says it may have cost twice.
    const twice = results.filter((x) => (x.paidCalls ?? 1) > 1)
    expect(twice.length).toBeGreaterThan(0)
    expect(results.reduce((n, x) => n + (x.paidCalls ?? 1), 0)).toBe(server.paidCount)
    // No attempt waited for the hung reply itself (12 s).
    expect(Date.now() - started).toBeLessThan(12_000)
  }, 60_000)
})
