import { describe, expect, it } from 'vitest'
import { ProviderError, Rc2Error } from '../../src/errors.js'
import type { CallAccount } from '../../src/providers/types.js'
import { runBatch } from '../../src/batch/runner.js'
import type { SolveResult, SolveSuccess } from '../../src/engine/result.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function success(input: string, points = 6, paidCalls?: number): SolveSuccess {
  return {
    schemaVersion: 1,
    input,
    ok: true,
    question: { id: '/m/0k4j', name: 'cars' },
    grid: '3x3',
    size: 300,
    type: 'multi',
    objects: [1],
    hasObject: null,
    confidences: null,
    clicks: [{ tile: 1, x: 150, y: 50 }],
    provider: 'yescaptcha',
    taskId: 't',
    points,
    elapsedMs: 1,
    ...(paidCalls !== undefined ? { paidCalls } : {}),
  }
}

/** One YesCaptcha 3x3 call (6 points) through the input's account: reserved, then charged. */
function pay(account: CallAccount, resend = false): void {
  account.reserve('yescaptcha', '3x3', resend)
  account.charged('yescaptcha', '3x3')
}

const items = (n: number): { input: string }[] =>
  Array.from({ length: n }, (_, i) => ({ input: `in-${i}.png` }))

describe('runBatch', () => {
  it('never has more than --concurrency inputs in flight and reports each once', async () => {
    let active = 0
    let peak = 0
    const seen: string[] = []
    const summary = await runBatch(
      items(40),
      {
        run: async (item, ctx) => {
          pay(ctx.account)
          active++
          peak = Math.max(peak, active)
          await sleep(2 + (Number(item.input.slice(3, -4)) % 5))
          active--
          return success(item.input)
        },
        onResult: (r) => {
          seen.push(r.input)
        },
      },
      { concurrency: 5 },
    )
    expect(peak).toBe(5)
    expect(new Set(seen).size).toBe(40)
    expect(summary).toMatchObject({ total: 40, solved: 40, failed: 0, points: 240 })
    expect(summary.latencyMs.p50).not.toBeNull()
  })

  it('turns a thrown error into that input failure and goes on', async () => {
    const results: SolveResult[] = []
    const summary = await runBatch(
      items(6),
      {
        run: async (item) => {
          if (item.input === 'in-2.png')
            throw new Rc2Error('input', 'in-2.png is not an image', { hint: 'pass an image' })
          return success(item.input)
        },
        onResult: (r) => {
          results.push(r)
        },
      },
      { concurrency: 2 },
    )
    expect(summary).toMatchObject({ solved: 5, failed: 1, failedByKind: { input: 1 } })
    const bad = results.find((r) => r.input === 'in-2.png')
    expect(bad).toMatchObject({
      ok: false,
      error: {
        kind: 'input',
        message: 'in-2.png is not an image',
        hint: 'pass an image',
        code: null,
      },
    })
  })

  it('stops submitting after a bad key: the rest end as errors that say why', async () => {
    let sent = 0
    const results: SolveResult[] = []
    const summary = await runBatch(
      items(10),
      {
        run: async (item, ctx) => {
          ctx.account.reserve('yescaptcha', '3x3', false)
          sent++
          await sleep(1)
          ctx.account.release('yescaptcha', '3x3')
          throw new ProviderError('auth', 'yescaptcha: ERROR_KEY_DOES_NOT_EXIST', {
            code: 'ERROR_KEY_DOES_NOT_EXIST',
            hint: 'set RC2_API_KEY',
          })
        },
        onResult: (r) => {
          results.push(r)
        },
      },
      { concurrency: 1 },
    )
    expect(sent).toBe(1)
    expect(summary.failed).toBe(10)
    expect(summary.unsentStopped).toBe(9)
    expect(results.filter((r) => !r.ok && r.error.kind === 'auth')).toHaveLength(10)
    expect(results.filter((r) => !r.ok && r.sent === false)).toHaveLength(9)
  })

  it('never spends past --max-points, counting what is in flight', async () => {
    const results: SolveResult[] = []
    const summary = await runBatch(
      items(20),
      {
        run: async (item, ctx) => {
          ctx.account.reserve('yescaptcha', '3x3', false)
          await sleep(3)
          ctx.account.charged('yescaptcha', '3x3')
          return success(item.input, 6)
        },
        onResult: (r) => {
          results.push(r)
        },
      },
      { concurrency: 8, maxPoints: 40 },
    )
    expect(summary.points).toBeLessThanOrEqual(40)
    expect(summary.solved).toBe(6)
    expect(summary.unsentBudget).toBe(14)
    // A budget stop is its own kind: not an empty account, and no provider code.
    expect(summary.failedByKind).toEqual({ budget: 14 })
    for (const r of results.filter((x) => !x.ok))
      expect(r).toMatchObject({ sent: false, error: { kind: 'budget', code: null } })
  })

  it('counts a retried call that may have been charged twice', async () => {
    const summary = await runBatch(
      items(3),
      {
        run: async (item, ctx) => {
          pay(ctx.account)
          // in-1: the first reply was lost, the resend answered.
          if (item.input === 'in-1.png') pay(ctx.account, true)
          return success(item.input, 6, item.input === 'in-1.png' ? 2 : undefined)
        },
        onResult: () => {},
      },
      { concurrency: 3 },
    )
    expect(summary.points).toBe(24)
    expect(summary.extraPaidCalls).toBe(1)
  })

  it('counts the calls a failed input may have been charged for, and reports them in its result', async () => {
    const results: SolveResult[] = []
    const summary = await runBatch(
      items(2),
      {
        run: async (item, ctx) => {
          pay(ctx.account)
          if (item.input === 'in-0.png') return success(item.input)
          pay(ctx.account, true)
          throw new ProviderError('timeout', 'x: no reply', { mayHaveCharged: true })
        },
        onResult: (result) => {
          results.push(result)
        },
      },
      { concurrency: 1 },
    )
    expect(summary.points).toBe(6 + 12)
    expect(summary.extraPaidCalls).toBe(2)
    const failure = results.find((r) => !r.ok)
    expect(failure).toMatchObject({ ok: false, paidCalls: 2, error: { kind: 'timeout' } })
    expect(results.find((r) => r.ok)).not.toHaveProperty('paidCalls')
  })

  it('a resend after a lost reply reserves again, and a refused one is not counted as unsent', async () => {
    const results: SolveResult[] = []
    const summary = await runBatch(
      items(3),
      {
        run: async (item, ctx) => {
          ctx.account.reserve('yescaptcha', '3x3', false)
          if (item.input !== 'in-0.png') {
            await sleep(1)
            ctx.account.charged('yescaptcha', '3x3')
            return success(item.input)
          }
          // in-0: its reply was lost (the others hold their share); the resend must fit too.
          ctx.account.charged('yescaptcha', '3x3')
          await sleep(10)
          pay(ctx.account, true)
          return success(item.input, 6, 2)
        },
        onResult: (result) => {
          results.push(result)
        },
      },
      { concurrency: 3, maxPoints: 18 },
    )
    // Three first calls take the whole budget: the resend is refused, its lost call still counted.
    const refused = results.find((r) => !r.ok)
    expect(refused).toMatchObject({
      input: 'in-0.png',
      paidCalls: 1,
      error: { kind: 'budget' },
    })
    expect(refused).not.toHaveProperty('sent')
    expect(refused && !refused.ok ? refused.error.message : '').toMatch(
      /^not resent after its reply was lost/,
    )
    expect(summary.unsentBudget).toBe(0)
    expect(summary.points).toBe(18)
  })

  it('a resend after a lost reply is refused once the batch stopped, and not counted as unsent', async () => {
    const results: SolveResult[] = []
    const summary = await runBatch(
      items(2),
      {
        run: async (item, ctx) => {
          ctx.account.reserve('yescaptcha', '3x3', false)
          if (item.input === 'in-1.png') {
            ctx.account.release('yescaptcha', '3x3')
            throw new ProviderError('auth', 'x: bad key', { code: 'ERROR_KEY_DENIED' })
          }
          ctx.account.charged('yescaptcha', '3x3')
          await sleep(10)
          pay(ctx.account, true)
          return success(item.input)
        },
        onResult: (result) => {
          results.push(result)
        },
      },
      { concurrency: 2 },
    )
    const resend = results.find((r) => r.input === 'in-0.png')
    expect(resend && !resend.ok ? resend.error.message : '').toMatch(
      /^not resent after its reply was lost .*: the batch stopped after "x: bad key"/,
    )
    expect(summary.unsentStopped).toBe(0)
  })

  it('slows down when told too many are in flight, and speeds up again', async () => {
    let active = 0
    const peaks: number[] = []
    let pushed = false
    await runBatch(
      items(60),
      {
        run: async (item, ctx) => {
          active++
          peaks.push(active)
          if (!pushed && item.input === 'in-8.png') {
            pushed = true
            ctx.account.pushedBack(
              new ProviderError('rate_limit', 'x: too many', { tooManyInFlight: true }),
            )
          }
          await sleep(4)
          active--
          return success(item.input)
        },
        onResult: () => {},
      },
      { concurrency: 8 },
    )
    const afterPush = peaks.slice(peaks.indexOf(peaks[8] as number) + 1)
    expect(Math.max(...peaks)).toBe(8)
    // Right after the push-back, fewer than 8 ran at once; by the end it climbed back.
    expect(Math.min(...afterPush.slice(0, 10))).toBeLessThan(8)
    expect(Math.max(...peaks.slice(-10))).toBeGreaterThan(4)
  })

  it('keeps full speed through sporadic 429s, and halves under sustained ones', async () => {
    const run = async (share: number): Promise<number[]> => {
      let active = 0
      const peaks: number[] = []
      let k = 0
      await runBatch(
        items(80),
        {
          run: async (item, ctx) => {
            active++
            peaks.push(active)
            // Every input's call is pushed back `share` of the time, evenly spread.
            if ((k++ * share) % 1 >= 1 - share)
              ctx.account.pushedBack(
                new ProviderError('rate_limit', 'x: 429', { retryAfterSec: 1 }),
              )
            await sleep(3)
            active--
            return success(item.input)
          },
          onResult: () => {},
        },
        { concurrency: 8 },
      )
      return peaks
    }
    // One in twenty (a few percent, as a busy service does): every start still finds 8 slots free.
    const sporadic = await run(0.05)
    expect(Math.min(...sporadic.slice(8, 70))).toBeGreaterThanOrEqual(7)
    // Most calls pushed back: the batch sends fewer at once.
    const sustained = await run(0.75)
    expect(Math.min(...sustained.slice(16))).toBeLessThan(5)
  })

  it('a retry waiting out its delay lends its slot, and goes before new inputs when the wait ends', async () => {
    const order: string[] = []
    let active = 0
    let peak = 0
    const summary = await runBatch(
      items(6),
      {
        run: async (item, ctx) => {
          active++
          peak = Math.max(peak, active)
          order.push(`start ${item.input}`)
          if (item.input === 'in-0.png') {
            active--
            // Retry-After: this input waits; the other slot's input and a new one run meanwhile.
            await ctx.account.whileWaiting(() => sleep(30))
            active++
            peak = Math.max(peak, active)
            order.push('resume in-0.png')
          }
          await sleep(20)
          active--
          return success(item.input)
        },
        onResult: () => {},
      },
      { concurrency: 2 },
    )
    expect(summary.solved).toBe(6)
    // Never more than 2 sending at once, waiting ones aside.
    expect(peak).toBeLessThanOrEqual(2)
    // While in-0 waited, in-1 and in-2 ran (in-2 took the lent slot)...
    expect(order.indexOf('start in-2.png')).toBeLessThan(order.indexOf('resume in-0.png'))
    // ...and when slots freed after its wait ended (at ~40 ms), in-0 got one before in-5 started.
    expect(order.indexOf('resume in-0.png')).toBeLessThan(order.indexOf('start in-5.png'))
  })

  it('on interrupt starts nothing new, lets in-flight inputs finish within the grace period', async () => {
    const controller = new AbortController()
    const finished: string[] = []
    const summary = await runBatch(
      items(20),
      {
        run: async (item, ctx) => {
          if (item.input === 'in-3.png') setTimeout(() => controller.abort(), 5)
          await sleep(item.input === 'in-4.png' ? 500 : 20)
          ctx.signal.throwIfAborted()
          return success(item.input)
        },
        onResult: (r) => {
          finished.push(r.input)
        },
      },
      { concurrency: 5, signal: controller.signal, graceMs: 100 },
    )
    // in-0..in-3 finish within the grace period; in-4 is cut off; in-5.. never start.
    expect(finished.sort()).toEqual(['in-0.png', 'in-1.png', 'in-2.png', 'in-3.png'])
    expect(summary.interrupted).toBe(16)
  })

  it('skips inputs whose run returns null (already solved)', async () => {
    const summary = await runBatch(
      items(4),
      {
        run: async (item) => (item.input === 'in-0.png' ? null : success(item.input)),
        onResult: () => {},
      },
      { concurrency: 2 },
    )
    expect(summary).toMatchObject({ total: 4, solved: 3, skipped: 1, failed: 0 })
  })
})
