import { describe, expect, it } from 'vitest'
import { InterruptedError, ProviderError, Rc2Error } from '../../src/errors.js'
import { parseRetryAfter } from '../../src/providers/http.js'
import { computeRetryDelayMs, withChargedRetries, withRetries } from '../../src/providers/retry.js'

const transient = (mayHaveCharged = false, retryAfterSec?: number): ProviderError =>
  new ProviderError('network', 'x: connection lost', {
    retryable: true,
    mayHaveCharged,
    retryAfterSec,
  })

describe('computeRetryDelayMs', () => {
  it('uses full jitter under an exponential ceiling capped at maxDelayMs', () => {
    const tuning = { random: () => 0.999, baseDelayMs: 500, maxDelayMs: 8000 }
    expect([1, 2, 3, 4, 5, 6].map((n) => computeRetryDelayMs(n, undefined, tuning))).toEqual([
      499, 999, 1998, 3996, 7992, 7992,
    ])
    expect(computeRetryDelayMs(3, undefined, { random: () => 0 })).toBe(0)
  })

  it('honours Retry-After up to the limit', () => {
    expect(computeRetryDelayMs(1, 2.5)).toBe(2500)
    expect(computeRetryDelayMs(1, 61)).toBeUndefined()
    expect(computeRetryDelayMs(1, 61, { maxRetryAfterMs: 120_000 })).toBe(61_000)
  })
})

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z')
    expect(parseRetryAfter('7', now)).toBe(7)
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:10 GMT', now)).toBe(10)
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now)).toBe(0)
    expect(parseRetryAfter('soon', now)).toBeUndefined()
    expect(parseRetryAfter(null, now)).toBeUndefined()
  })
})

describe('withRetries', () => {
  it('retries only retryable errors, up to `retries` times', async () => {
    const sleeps: number[] = []
    let calls = 0
    const error = await withRetries(
      async () => {
        calls += 1
        throw transient()
      },
      { retries: 3, random: () => 0.5, sleep: async (ms) => void sleeps.push(ms) },
    ).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ProviderError)
    expect(calls).toBe(4)
    expect(sleeps).toEqual([250, 500, 1000])

    calls = 0
    await withRetries(
      async () => {
        calls += 1
        throw new ProviderError('auth', 'bad key')
      },
      { retries: 3, sleep: async () => undefined },
    ).catch(() => undefined)
    expect(calls).toBe(1)
  })

  it('a 429 that says when to come back does not use up a retry; one that does not say, and --retries 0, do', async () => {
    const limited = (retryAfterSec?: number): ProviderError =>
      new ProviderError('rate_limit', 'x: too many requests', { retryable: true, retryAfterSec })
    const run = async (
      errors: ProviderError[],
      retries: number,
    ): Promise<{ calls: number; sleeps: number[]; failed: boolean; waits: number }> => {
      const sleeps: number[] = []
      let calls = 0
      let waits = 0
      const failed = await withRetries(
        async () => {
          const next = errors[calls++]
          if (next !== undefined) throw next
          return 'ok'
        },
        {
          retries,
          sleep: async (ms) => void sleeps.push(ms),
          random: () => 0.5,
          whileWaiting: async (wait) => {
            waits++
            return wait()
          },
        },
      ).then(
        () => false,
        () => true,
      )
      return { calls, sleeps, failed, waits }
    }
    // Four 429s with Retry-After 1 and one reset: with --retries 1 it still ends in an answer,
    // each 429 waited exactly as asked, every wait run through whileWaiting (the slot is lent).
    const scheduled = await run([limited(1), limited(1), limited(1), transient(), limited(1)], 1)
    expect(scheduled).toMatchObject({ calls: 6, failed: false, waits: 5 })
    expect(scheduled.sleeps.filter((ms) => ms === 1000)).toHaveLength(4)
    // Without Retry-After a 429 counts like any transient failure.
    expect(await run([limited(), limited()], 1)).toMatchObject({ calls: 2, failed: true })
    // --retries 0: one attempt, whatever the service asks.
    expect(await run([limited(1)], 0)).toMatchObject({ calls: 1, failed: true })
  })

  it('does not retry plain Errors (bugs)', async () => {
    let calls = 0
    await expect(
      withRetries(
        async () => {
          calls += 1
          throw new TypeError('bug')
        },
        { retries: 2, sleep: async () => undefined },
      ),
    ).rejects.toThrow('bug')
    expect(calls).toBe(1)
  })

  it('stops waiting when the signal aborts, with a timeout error or the abort reason', async () => {
    const started = Date.now()
    const error = await withRetries(async () => Promise.reject(transient(false, 20)), {
      retries: 5,
      signal: AbortSignal.timeout(50),
      label: 'yescaptcha: POST /createTask',
    }).catch((e: unknown) => e as ProviderError)
    expect(error).toMatchObject({ kind: 'timeout', retryable: false })
    expect((error as Error).message).toMatch(
      /^yescaptcha: POST \/createTask: the overall deadline was reached while waiting to retry/,
    )
    expect(Date.now() - started).toBeLessThan(1000)

    const controller = new AbortController()
    const interrupted = withRetries(async () => Promise.reject(transient(false, 30)), {
      retries: 5,
      signal: controller.signal,
    })
    setTimeout(() => controller.abort(new InterruptedError()), 10)
    await expect(interrupted).rejects.toBeInstanceOf(InterruptedError)
  })
})

describe('withChargedRetries', () => {
  it('counts lost replies plus the answer', async () => {
    const outcomes = [transient(true), transient(false), transient(true)]
    const result = await withChargedRetries(
      async () => {
        const next = outcomes.shift()
        if (next !== undefined) throw next
        return 'ok'
      },
      { retries: 3, sleep: async () => undefined },
    )
    expect(result).toEqual({ value: 'ok', paidCalls: 3 })
  })
})

describe('withChargedRetries when everything fails', () => {
  const failWith = (outcomes: ProviderError[]) =>
    withChargedRetries(
      async () => {
        throw outcomes.shift() ?? new Error('ran out')
      },
      { retries: outcomes.length - 1, sleep: async () => undefined },
    ).then(
      () => null,
      (error: unknown) => error as ProviderError,
    )

  it('counts every lost reply, the last one included', async () => {
    const error = await failWith([transient(true), transient(false), transient(true)])
    expect(error?.paidCalls).toBe(2)
    expect(error?.mayHaveCharged).toBe(true)
  })

  it('says so when only an earlier attempt may have been charged', async () => {
    const last = new ProviderError('provider', 'x: HTTP 500', { retryable: true })
    const error = await failWith([transient(true), transient(true), last])
    expect(error?.paidCalls).toBe(2)
    expect(error?.message).toContain('an earlier attempt may have been charged')
  })

  it('counts nothing when no request can have been charged', async () => {
    const error = await failWith([transient(false), transient(false)])
    expect(error?.paidCalls).toBe(0)
  })
})

describe('withChargedRetries asks before a resend that may be charged again', () => {
  it('calls beforeChargedRetry only after lost replies, and stops when it refuses', async () => {
    let asked = 0
    const refusal = new Rc2Error('balance', 'not resent: budget', { code: 'MAX_POINTS' })
    const outcomes = [transient(false), transient(true), transient(true)]
    const error = await withChargedRetries(
      async () => {
        throw outcomes.shift() ?? new Error('ran out')
      },
      {
        retries: 5,
        sleep: async () => undefined,
        beforeChargedRetry: () => {
          asked += 1
          if (asked === 2) throw refusal
        },
      },
    ).then(
      () => null,
      (e: unknown) => e as Rc2Error,
    )
    // The first failure lost nothing (no question asked); two lost replies, the second resend refused.
    expect(asked).toBe(2)
    expect(error).toBe(refusal)
    expect(error?.paidCalls).toBe(2)
  })
})
