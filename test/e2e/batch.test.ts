/**
 * Batches end to end: the built binary on directories of inputs against the loopback server with
 * latency and seeded faults. Every input must end with exactly one result, every answer must be
 * right, and every paid call must be accounted for.
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, unlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BIN, hasStackTrace, runRc2, type RunResult } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  FAULT_NAMES,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let root: string
const outputs: RunResult[] = []

interface Result {
  input: string
  ok: boolean
  objects?: number[]
  paidCalls?: number
  sent?: false
  error?: { kind: string; code: string | null; message: string; hint: string | null }
}

function rc2(
  args: string[],
  options: {
    env?: Record<string, string>
    onSpawn?: (child: ChildProcess) => void
    timeoutMs?: number
  } = {},
): Promise<RunResult> {
  // Every solve goes to the loopback server, never to a real service.
  const full = args[0] === 'solve' ? [...args, '--endpoint', server.url] : args
  return runRc2(full, {
    env: { HOME: root, RC2_API_KEY: KEY, ...options.env },
    cwd: root,
    timeoutMs: options.timeoutMs ?? 60_000,
    ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
  }).then((result) => {
    outputs.push(result)
    return result
  })
}

function parseLines(text: string): Result[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Result)
}

/** The red tiles of input k: the bits of k+1, so every input differs and has at least one. */
const redOf = (k: number): number[] =>
  [0, 1, 2, 3, 4, 5, 6, 7, 8].filter((bit) => ((k + 1) >> bit) & 1)

/** A 3x3 payload with `red` tiles pure red and the others grey: quick to make, unique per set. */
async function grid(red: number[]): Promise<Buffer> {
  const data = Buffer.alloc(300 * 300 * 3)
  for (let row = 0; row < 3; row++) {
    // One pixel row of this tile row, copied down its 100 rows.
    const line = data.subarray(row * 100 * 900, row * 100 * 900 + 900)
    for (let col = 0; col < 3; col++) {
      const colour = red.includes(row * 3 + col) ? [230, 20, 20] : [120, 125, 130]
      for (let x = col * 100; x < col * 100 + 100; x++) line.set(colour, x * 3)
    }
    for (let y = 1; y < 100; y++) line.copy(data, (row * 100 + y) * 900)
  }
  return sharp(data, { raw: { width: 300, height: 300, channels: 3 } })
    .png({ compressionLevel: 1 })
    .toBuffer()
}

/** `count` unique inputs in `dir` (created); returns input name -> red tiles. */
async function makeBatch(dir: string, count: number, from = 0): Promise<Map<string, number[]>> {
  await mkdir(join(root, dir), { recursive: true })
  const truth = new Map<string, number[]>()
  for (let k = from; k < from + count; k++) {
    const name = join(dir, `in-${String(k).padStart(4, '0')}.png`)
    await writeFile(join(root, name), await grid(redOf(k)))
    truth.set(name, redOf(k))
  }
  return truth
}

/** Resolve once `condition` holds (polled); give up quietly after `timeoutMs` (the test's asserts then fail). */
async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > until) return new Promise(() => undefined)
    await new Promise((r) => setTimeout(r, 20))
  }
}

beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-e2e-batch-'))
})

afterAll(async () => {
  await server.close()
  for (const r of outputs) {
    expect(r.stdout).not.toContain(KEY)
    expect(r.stderr).not.toContain(KEY)
  }
  await chmod(join(root, 'bad', 'noperm.png'), 0o644).catch(() => undefined)
  await rm(root, { recursive: true, force: true })
})

beforeEach(async () => {
  // A slow reply the last test's client gave up on may still be held by the server: let it go,
  // so it neither counts in this test's peaks nor triggers "too many threads" here. (A reset
  // restarts the peak at what is in flight now.)
  await waitFor(() => {
    server.resetCounters()
    return server.maxInFlightSeen === 0
  })
  server.resetCounters()
  server.setFaults(undefined)
  server.setLatency(0)
  server.setZeroBalance(false)
  server.setKeys([KEY])
})

describe('a batch of 500 under faults', () => {
  it('ends with one result per input, right answers, and every paid call explained', async () => {
    const truth = await makeBatch('many', 500)
    server.setLatency(5)
    // Every kind of fault once at the start, whatever the timing, then a seeded mix. The mix is
    // drawn in arrival order, which concurrency varies: the asserts below hold for any draw.
    server.pushReply(...FAULT_NAMES.map((fault) => ({ fault })))
    server.setFaults({
      seed: 4242,
      rateLimit: 0.004,
      rateLimitNoHeader: 0.004,
      retryAfterSec: 1,
      serverError: 0.04,
      resetBeforeWork: 0.02,
      resetAfterWork: 0.02,
      malformed: 0.01,
      slow: 0.004,
      slowMs: 4500,
      maxInFlight: 12,
    })
    const r = await rc2(
      [
        'solve',
        'many',
        '-q',
        'cars',
        '--confidence',
        '0.5',
        '--ndjson',
        '--concurrency',
        '16',
        '--retries',
        '4',
        '--timeout',
        '4',
      ],
      { timeoutMs: 90_000 },
    )
    expect(hasStackTrace(r.stderr)).toBe(false)
    const results = parseLines(r.stdout)
    // Exactly one result per input.
    expect(results).toHaveLength(500)
    expect(new Set(results.map((x) => x.input))).toEqual(new Set(truth.keys()))

    const ok = results.filter((x) => x.ok)
    const failed = results.filter((x) => !x.ok)
    for (const result of ok) expect(result.objects, result.input).toEqual(truth.get(result.input))
    for (const result of failed) {
      const { kind, message, hint } = result.error ?? {}
      expect(['rate_limit', 'provider', 'network', 'timeout'], message).toContain(kind)
      // Says why, on one line, and what to do.
      expect(message, result.input).toMatch(/reply|connection|deadline|HTTP|too many|service/i)
      expect(message).not.toContain('\n')
      expect(hint, message).toBeTruthy()
      // An answer lost after the work was done is never resent blindly, and says it may have cost.
      if (result.paidCalls !== undefined) expect(result.paidCalls).toBeGreaterThan(0)
    }
    // Retries turn most faults into answers.
    expect(ok.length).toBeGreaterThan(450)
    expect(r.code).toBe(failed.length === 0 ? 0 : 6)

    // The faults really happened...
    for (const fault of FAULT_NAMES) expect(server.faultCounts[fault], fault).toBeGreaterThan(0)
    // ...and every call the server charged for is in the results: each answer cost at least one,
    // and lost replies are reported as paidCalls on the result they belong to.
    const reported =
      ok.reduce((n, x) => n + (x.paidCalls ?? 1), 0) +
      failed.reduce((n, x) => n + (x.paidCalls ?? 0), 0)
    expect(server.paidCount).toBeGreaterThanOrEqual(ok.length)
    expect(server.paidCount).toBeLessThanOrEqual(reported)
    // A reset before any work looks exactly like a reset after it, so it is reported as possibly
    // charged although it was not: that is the only allowed gap.
    expect(reported - server.paidCount).toBeLessThanOrEqual(server.faultCounts.resetBeforeWork)
    // Answers that cost twice (a lost reply, then a retry) exist in this mix and are flagged.
    expect(ok.some((x) => (x.paidCalls ?? 1) > 1)).toBe(true)
    // The summary agrees with the results: solved, extra calls, and points at 6 per 3x3 call.
    const summary = r.stderr.trim().split('\n').at(-1) ?? ''
    expect(summary).toContain(`${ok.length}/500 solved`)
    expect(summary).toContain(
      `${reported - ok.length} call(s) may have been charged without an answer`,
    )
    expect(summary).toContain(` ${reported * 6} points`)
    // For the record (the issue asks for the figures): what the faults did to this batch.
    console.log(
      `500 under faults: ${ok.length} ok, ${failed.length} failed; server charged ${server.paidCount}, results report ${reported}; faults ${JSON.stringify(server.faultCounts)}; ${summary}`,
    )
  }, 120_000)
})

describe('push-back', () => {
  it('slows down under "too many threads" and still solves everything', async () => {
    const truth = await makeBatch('threads', 60, 100)
    const limit = 4
    const latency = 100
    server.setLatency(latency)
    server.setFaults({ seed: 1, maxInFlight: limit })
    // The first 16 go out together before any reply can slow rc2 down, and the refused ones are
    // retried within the next half second whatever the batch decides (they are already in
    // flight). A second after that wave the counters restart: what is seen from then on is what
    // rc2 chose to send.
    let settling: { creates: number; refused: number; paid: number; peak: number } | undefined
    const r = await rc2(
      [
        'solve',
        'threads',
        '-q',
        'cars',
        '--confidence',
        '0.5',
        '--ndjson',
        '--concurrency',
        '16',
        '--retries',
        '8',
      ],
      {
        onSpawn: () => {
          void waitFor(() => server.createCount >= 16)
            .then(() => new Promise((resolve) => setTimeout(resolve, latency + 1000)))
            .then(() => {
              settling = {
                creates: server.createCount,
                refused: server.faultCounts.threads,
                paid: server.paidCount,
                peak: server.maxInFlightSeen,
              }
              server.resetCounters()
            })
        },
      },
    )
    expect(r.code).toBe(0)
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(60)
    for (const result of results) expect(result.objects).toEqual(truth.get(result.input))
    expect(settling).toBeDefined()
    const wave = settling as NonNullable<typeof settling>
    // The first wave really overran the limit and was refused...
    expect(wave.peak).toBeGreaterThan(limit)
    expect(wave.refused).toBeGreaterThan(0)
    console.log(
      `push-back: first wave and its retries ${wave.creates} calls, ${wave.refused} refused, peak ${wave.peak}; ` +
        `afterwards ${server.createCount} calls, ${server.faultCounts.threads} refused, peak ${server.maxInFlightSeen}`,
    )
    // ...and afterwards rc2 kept near the limit instead of its --concurrency of 16: it goes over
    // only when probing for more room, and halves at once. Measured over a dozen runs: peak 5 or
    // 6 and 6 to 10 refusals with the adaptive limit; peak 7 to 10 and 20 to 43 refusals without.
    expect(server.maxInFlightSeen).toBeLessThanOrEqual(2 * limit)
    expect(server.faultCounts.threads).toBeLessThan(16)
    // Refusals are free: exactly one paid call per input.
    expect(wave.paid + server.paidCount).toBe(60)
  }, 60_000)
})

describe('Ctrl-C and --resume', () => {
  it('stops cleanly, keeps whole lines, and the rerun solves only the rest', async () => {
    const truth = await makeBatch('resume', 60, 200)
    server.setLatency(150)
    const out = join(root, 'results.ndjson')
    const lines = async (): Promise<string[]> =>
      (await readFile(out, 'utf8').catch(() => '')).split('\n').filter((l) => l !== '')
    const first = await rc2(
      [
        'solve',
        'resume',
        '-q',
        'cars',
        '--confidence',
        '0.5',
        '--ndjson',
        '--concurrency',
        '4',
        '--output',
        'results.ndjson',
      ],
      {
        onSpawn: (child) => {
          void waitFor(async () => (await lines()).length >= 8).then(() => child.kill('SIGINT'))
        },
      },
    )
    expect(first.code).toBe(130)
    expect(hasStackTrace(first.stderr)).toBe(false)
    const text = await readFile(out, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    const firstResults = parseLines(text)
    expect(firstResults.length).toBeGreaterThanOrEqual(8)
    expect(firstResults.length).toBeLessThan(60)
    // Requests in flight at Ctrl-C finished within the grace period and were written: nothing paid is lost.
    expect(server.createCount).toBe(firstResults.length)
    expect(server.paidCount).toBe(firstResults.length)
    const firstCreates = server.createCount
    // stdout streamed the same results, whole lines only, and stderr says what was left.
    const streamed = parseLines(first.stdout)
    expect(streamed.map((x) => x.input).sort()).toEqual(firstResults.map((x) => x.input).sort())
    expect(first.stderr).toContain(`${firstResults.length}/60 solved`)
    expect(first.stderr).toContain(`${60 - firstResults.length} not finished (interrupted)`)

    server.resetCounters()
    const second = await rc2([
      'solve',
      'resume',
      '-q',
      'cars',
      '--confidence',
      '0.5',
      '--ndjson',
      '--concurrency',
      '4',
      '--output',
      'results.ndjson',
      '--resume',
    ])
    expect(second.code).toBe(0)
    expect(server.createCount).toBe(60 - firstResults.length)
    expect(server.paidCount).toBe(60 - firstResults.length)
    expect(firstCreates + server.createCount).toBe(60)
    expect(second.stderr).toContain(`${firstResults.length} already solved (--resume)`)

    const all = parseLines(await readFile(out, 'utf8'))
    expect(all).toHaveLength(60)
    expect(new Set(all.map((x) => x.input)).size).toBe(60)
    for (const result of all) expect(result.objects).toEqual(truth.get(result.input))
  }, 60_000)
})

describe('stopping for the account and the budget', () => {
  it('a bad key stops the batch after the first calls; every input still gets a result', async () => {
    await makeBatch('badkey', 30, 300)
    server.setLatency(20)
    const r = await rc2(['solve', 'badkey', '-q', 'cars', '--ndjson', '--concurrency', '3'], {
      env: { RC2_API_KEY: 'not-the-key-123' },
    })
    expect(r.code).toBe(3)
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(30)
    expect(results.every((x) => !x.ok && x.error?.kind === 'auth')).toBe(true)
    // Only the calls in flight when the first refusal came back reached the service...
    expect(server.createCount).toBeGreaterThan(0)
    expect(server.createCount).toBeLessThanOrEqual(3)
    // ...and every other input says it was not sent, and why.
    const unsent = results.filter((x) => x.error?.message.startsWith('not sent: the batch stopped'))
    expect(unsent).toHaveLength(30 - server.createCount)
    for (const result of unsent) expect(result.error?.hint).toMatch(/RC2_API_KEY|apiKey/)
    expect(r.stderr).toContain(`${30 - server.createCount} not sent (batch stopped)`)
  })

  it('a balance that runs out mid-batch stops submitting the rest', async () => {
    const truth = await makeBatch('broke', 40, 400)
    server.setLatency(30)
    const r = await rc2(
      ['solve', 'broke', '-q', 'cars', '--confidence', '0.5', '--ndjson', '--concurrency', '2'],
      {
        onSpawn: () => {
          void waitFor(() => server.createCount >= 10).then(() => server.setZeroBalance(true))
        },
      },
    )
    expect(r.code).toBe(6)
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(40)
    const ok = results.filter((x) => x.ok)
    expect(ok.length).toBeGreaterThanOrEqual(8)
    for (const result of ok) expect(result.objects).toEqual(truth.get(result.input))
    const failed = results.filter((x) => !x.ok)
    expect(failed.every((x) => x.error?.kind === 'balance')).toBe(true)
    // The service refused the calls that reached it: the first refusal and, at --concurrency 2,
    // at most one more already in flight. Nothing was sent after that...
    const unsent = failed.filter((x) => x.sent === false)
    const refused = failed.filter((x) => !unsent.includes(x))
    expect(refused.length).toBeGreaterThanOrEqual(1)
    expect(refused.length).toBeLessThanOrEqual(2)
    expect(server.createCount).toBe(ok.length + refused.length)
    expect(server.paidCount).toBe(ok.length)
    // ...and the rest say so, with the service's own code.
    expect(unsent).toHaveLength(40 - server.createCount)
    for (const result of failed) expect(result.error?.code).toBe('ERROR_ZERO_BALANCE')
    expect(r.stderr).toContain(`${40 - server.createCount} not sent (batch stopped)`)
  })

  it('--max-points never spends more than the budget and says what was left', async () => {
    await makeBatch('budget', 30, 500)
    server.setLatency(20)
    const r = await rc2([
      'solve',
      'budget',
      '-q',
      'cars',
      '--ndjson',
      '--concurrency',
      '4',
      '--max-points',
      '40',
    ])
    expect(r.code).toBe(6)
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(30)
    // YesCaptcha: 6 points per 3x3 image, so 40 points buy 6 images.
    expect(server.paidCount * 6).toBeLessThanOrEqual(40)
    expect(results.filter((x) => x.ok)).toHaveLength(6)
    const over = results.filter((x) => x.error?.kind === 'budget')
    expect(over).toHaveLength(24)
    for (const result of over) expect(result.error?.message).toMatch(/--max-points 40/)
    const summary = r.stderr.trim().split('\n').at(-1) ?? ''
    expect(summary).toContain('6/30 solved')
    expect(summary).toContain(' 36 points')
    expect(summary).toContain('24 not sent: --max-points 40 reached')
  })

  it('--max-points holds when replies are lost: a resend that may be charged again asks the budget first', async () => {
    await makeBatch('budget-lost', 30, 530)
    server.setLatency(20)
    // About a third of the calls are charged and then their connection dropped: rc2 cannot know
    // they were not answered for free, and each resend would cost again.
    server.setFaults({ seed: 7, resetAfterWork: 0.35 })
    const r = await rc2([
      'solve',
      'budget-lost',
      '-q',
      'cars',
      '--ndjson',
      '--concurrency',
      '4',
      '--retries',
      '3',
      '--max-points',
      '60',
    ])
    expect(hasStackTrace(r.stderr)).toBe(false)
    const results = parseLines(r.stdout)
    expect(results).toHaveLength(30)
    expect(server.faultCounts.resetAfterWork).toBeGreaterThan(0)
    console.log(
      `budget under lost replies: server charged ${server.paidCount} x 6 points against --max-points 60; ${results.filter((x) => x.ok).length} ok`,
    )
    // Never more than the budget, counting every call the service charged.
    expect(server.paidCount * 6).toBeLessThanOrEqual(60)
    // Every charged call is in the results (answers, and lost replies as paidCalls).
    const reported = results.reduce((n, x) => n + (x.paidCalls ?? (x.ok ? 1 : 0)), 0)
    expect(reported).toBeGreaterThanOrEqual(server.paidCount)
    const over = results.filter((x) => x.error?.kind === 'budget')
    const unsent = over.filter((x) => x.sent === false)
    expect(unsent.length).toBeGreaterThan(0)
    expect(r.stderr).toContain(`${unsent.length} not sent: --max-points 60 reached`)
    for (const x of over.filter((y) => !unsent.includes(y))) {
      expect(x.error?.message).toMatch(/^not resent after its reply was lost/)
      expect(x.paidCalls).toBeGreaterThanOrEqual(1)
    }
  })
})

describe('a directory of bad inputs', () => {
  it('gives each bad file its own clear error and solves the good ones', async () => {
    const dir = join(root, 'bad')
    await mkdir(dir)
    const good = await grid([0, 4])
    const png = await grid([8])
    const jpeg = await sharp(png).jpeg().toBuffer()
    await writeFile(join(dir, 'a-good.png'), good)
    await writeFile(join(dir, 'b-good.jpg'), jpeg)
    await writeFile(join(dir, 'empty.png'), Buffer.alloc(0))
    await writeFile(join(dir, 'truncated.png'), png.subarray(0, Math.floor(png.length / 2)))
    await writeFile(join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)))
    await writeFile(join(dir, 'text.png'), 'this is a text file, not a picture\n')
    await writeFile(
      join(dir, 'vector.svg'),
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><rect width="300" height="300" fill="red"/></svg>',
    )
    const frames = [await grid([2, 6]), await grid([1])]
    await writeFile(
      join(dir, 'animated.gif'),
      await sharp(frames, { join: { animated: true } })
        .gif()
        .toBuffer(),
    )
    await writeFile(join(dir, 'bomb.png'), pngHeaderOnly(30_000, 30_000))
    await writeFile(join(dir, 'noperm.png'), good)
    await chmod(join(dir, 'noperm.png'), 0o000)
    await symlink('loop-b.png', join(dir, 'loop-a.png'))
    await symlink('loop-a.png', join(dir, 'loop-b.png'))
    await writeFile(join(dir, 'notes.txt'), 'not an image, and not pretending to be one\n')
    await writeFile(join(dir, 'zz-deleted.png'), good)
    // Root reads anything (tests may run as root): then the "unreadable" file is simply solved.
    const readable = await readFile(join(dir, 'noperm.png')).then(
      () => true,
      () => false,
    )

    server.setLatency(200)
    const r = await rc2(
      ['solve', 'bad', '-q', 'cars', '--confidence', '0.5', '--ndjson', '--concurrency', '1'],
      {
        // Deleted after listing: the first request is out, the last file has not been read yet.
        onSpawn: () => {
          void waitFor(() => server.createCount >= 1).then(() =>
            unlink(join(dir, 'zz-deleted.png')),
          )
        },
      },
    )
    expect(r.code).toBe(6)
    expect(hasStackTrace(r.stderr)).toBe(false)
    const results = new Map(parseLines(r.stdout).map((x) => [x.input.replace(/^bad\//, ''), x]))
    expect([...results.keys()].sort()).toEqual([
      'a-good.png',
      'animated.gif',
      'b-good.jpg',
      'bomb.png',
      'empty.png',
      'loop-a.png',
      'loop-b.png',
      'noperm.png',
      'text.png',
      'truncated.jpg',
      'truncated.png',
      'vector.svg',
      'zz-deleted.png',
    ])
    expect(results.get('a-good.png')?.objects).toEqual([0, 4])
    expect(results.get('b-good.jpg')?.objects).toEqual([8])
    // GIF: the first frame is the challenge.
    expect(results.get('animated.gif')?.objects).toEqual([2, 6])

    const expectInputError = (name: string, pattern: RegExp): void => {
      const result = results.get(name)
      expect(result?.ok, name).toBe(false)
      expect(result?.error?.kind, name).toBe('input')
      expect(result?.error?.message, name).toContain(name)
      expect(result?.error?.message, `${name}: ${result?.error?.message}`).toMatch(pattern)
    }
    expectInputError('empty.png', /empty/)
    expectInputError('truncated.png', /truncated|corrupt|damaged|incomplete/i)
    expectInputError('truncated.jpg', /truncated|corrupt|damaged|incomplete/i)
    expectInputError('text.png', /not an image/)
    expectInputError('vector.svg', /SVG/)
    expectInputError('bomb.png', /30000x30000/)
    expectInputError('loop-a.png', /link loop/)
    expectInputError('loop-b.png', /link loop/)
    expectInputError('zz-deleted.png', /disappeared before it could be read/)
    if (readable) expect(results.get('noperm.png')?.objects).toEqual([0, 4])
    else expectInputError('noperm.png', /permission denied/)
    // Every bad file's error is its own, one line, names what to do, and is repeated on stderr.
    const failures = [...results].filter(([, result]) => !result.ok)
    expect(new Set(failures.map(([, result]) => result.error?.message)).size).toBe(failures.length)
    for (const [name, result] of failures) {
      expect(result.error?.message, name).not.toContain('\n')
      expect(result.error?.hint, name).toBeTruthy()
      expect(r.stderr, name).toContain(result.error?.message)
      expect(r.stderr, name).not.toContain(`${result.input}: ${result.input}`)
    }

    expect(r.stderr).toMatch(/skipped bad\/notes\.txt/)
    // Only the readable images were sent, and the same content once (noperm.png is a-good.png's).
    expect(server.createCount).toBe(3)
  }, 60_000)
})

describe('progress and streams', () => {
  it('with stderr not a terminal: no spinner on stderr, only results on stdout', async () => {
    await makeBatch('quiet', 12, 600)
    server.setLatency(50)
    // Spawned directly: the shared helper sets CI, which would hide the spinner for another reason.
    const { stdout, stderr, code } = await new Promise<{
      stdout: string
      stderr: string
      code: number | null
    }>((resolve) => {
      const child = spawn(
        process.execPath,
        [
          BIN,
          'solve',
          'quiet',
          '-q',
          'cars',
          '--ndjson',
          '--concurrency',
          '3',
          '--endpoint',
          server.url,
        ],
        {
          cwd: root,
          env: { PATH: process.env.PATH ?? '', HOME: root, RC2_API_KEY: KEY },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let out = ''
      let err = ''
      child.stdout.on('data', (d: Buffer) => (out += d.toString()))
      child.stderr.on('data', (d: Buffer) => (err += d.toString()))
      child.on('close', (c) => resolve({ stdout: out, stderr: err, code: c }))
    })
    outputs.push({ stdout, stderr, code, signal: null })
    expect(code).toBe(0)
    const lines = stdout.split('\n').filter((l) => l !== '')
    expect(lines).toHaveLength(12)
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow()
    // No spinner frames, no cursor control, no carriage returns: one summary line.
    expect(stderr).not.toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]|\r/)
    expect(stderr).not.toContain('\u001b[')
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain('12/12 solved')
  })
})

describe('progress on a terminal', () => {
  /**
   * Run rc2 with stderr on a pseudo-terminal made by `script` (util-linux; bsdutils is essential on
   * Debian), stdout to a file. `columns` 0 leaves the terminal without a width, as some ptys do.
   */
  async function onTerminal(
    dir: string,
    columns: number,
  ): Promise<{ code: number | null; terminal: string; stdout: string }> {
    const typescript = join(root, `tty-${columns}.txt`)
    const out = join(root, `tty-${columns}.ndjson`)
    const size = columns > 0 ? `stty cols ${columns} rows 30; ` : ''
    const command = `${size}'${process.execPath}' '${BIN}' solve ${dir} -q cars --ndjson --concurrency 2 --endpoint ${server.url} > '${out}'`
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('script', ['-qec', command, typescript], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: root, RC2_API_KEY: KEY, TERM: 'xterm' },
        stdio: ['ignore', 'ignore', 'ignore'],
      })
      // A spinner that never stops would hang here: fail instead.
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
      child.on('error', reject)
      child.on('close', (c) => {
        clearTimeout(timer)
        resolve(c)
      })
    })
    const result = {
      code,
      terminal: await readFile(typescript, 'utf8'),
      stdout: await readFile(out, 'utf8'),
    }
    outputs.push({ code, signal: null, stdout: result.stdout, stderr: result.terminal })
    return result
  }

  it('shows a spinner with done/total, ok, failed, points and rate, then the summary; stdout stays results', async () => {
    await makeBatch('tty', 10, 700)
    server.setLatency(80)
    const r = await onTerminal('tty', 100)
    expect(r.code).toBe(0)
    expect(r.terminal).toMatch(/\d+\/10 done · \d+ ok · 0 failed · \d+ points · [\d.]+\/s/)
    expect(r.terminal).toContain('10/10 solved')
    const lines = r.stdout.split('\n').filter((l) => l !== '')
    expect(lines).toHaveLength(10)
    for (const line of lines) expect(line).toMatch(/^\{"schemaVersion":1,/)
  })

  it('finishes without a spinner on a terminal that reports no width', async () => {
    const r = await onTerminal('tty', 0)
    expect(r.code).toBe(0)
    expect(r.terminal).not.toContain('done ·')
    expect(r.terminal).toContain('10/10 solved')
    expect(r.terminal.length).toBeLessThan(5000)
  })
})

/** A PNG signature and an IHDR chunk claiming width x height, then IEND: a decompression bomb's header. */
function pngHeaderOnly(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(width, 0)
  ihdr.writeUInt32BE(height, 4)
  ihdr.set([8, 2, 0, 0, 0], 8) // 8-bit RGB, deflate, no filter, no interlace
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'latin1')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

function crc32(bytes: Buffer): number {
  let crc = 0xffffffff
  for (const byte of bytes) {
    crc ^= byte
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1
  }
  return (crc ^ 0xffffffff) >>> 0
}
