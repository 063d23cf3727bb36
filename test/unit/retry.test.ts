import { describe, expect, it } from 'vitest'
import { InterruptedError, ProviderError, type Rc2Error, RefusedError } from '../../src/errors.js'
import type { CallAccount } from '../../src/providers/types.js'
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

/** An account that records what a charged call tells it; `refuse(n)` refuses the n-th reservation. */
function recordingAccount(refuse?: (n: number, resend: boolean) => boolean) {
  const events: string[] = []
  let reservations = 0
  const account: CallAccount = {
    reserve: (_provider, _grid, resend) => {
      reservations += 1
      if (refuse?.(reservations, resend) === true)
        throw new RefusedError('budget', 'not resent: over --max-points', resend)
      events.push(resend ? 'reserve again' : 'reserve')
    },
    charged: () => void events.push('charged'),
    release: () => void events.push('release'),
    pushedBack: () => undefined,
    whileWaiting: (wait) => wait(),
    notice: () => undefined,
  }
  return { account, events }
}

const charged = (
  outcomes: (ProviderError | undefined)[],
  account: CallAccount,
  retries = outcomes.length,
) =>
  withChargedRetries(
    async () => {
      const next = outcomes.shift()
      if (next !== undefined) throw next
      return 'ok'
    },
    {
      retries,
      sleep: async () => undefined,
      charge: { account, provider: 'yescaptcha', grid: '3x3' },
    },
  ).then(
    (value) => value,
    (error: unknown) => error as Rc2Error,
  )

describe('withChargedRetries', () => {
  it('counts lost replies plus the answer, each charged with the account as it happens', async () => {
    const { account, events } = recordingAccount()
    const result = await charged([transient(true), transient(false), transient(true)], account)
    expect(result).toEqual({ value: 'ok', paidCalls: 3 })
    // One reservation held through the uncharged failure; a lost reply is charged, and resent.
    expect(events).toEqual([
      'reserve',
      'charged',
      'reserve again',
      'charged',
      'reserve again',
      'charged',
    ])
  })
})

describe('withChargedRetries when everything fails', () => {
  it('counts every lost reply, the last one included', async () => {
    const { account, events } = recordingAccount()
    const error = await charged([transient(true), transient(false), transient(true)], account, 2)
    expect(error).toMatchObject({ mayHaveCharged: true })
    expect(events.filter((e) => e === 'charged')).toHaveLength(2)
    expect(events.at(-1)).toBe('charged')
  })

  it('says so when only an earlier attempt may have been charged', async () => {
    const { account, events } = recordingAccount()
    const last = new ProviderError('provider', 'x: HTTP 500', { retryable: true })
    const error = await charged([transient(true), transient(true), last], account, 2)
    expect(events.filter((e) => e === 'charged')).toHaveLength(2)
    expect(error).toMatchObject({ mayHaveCharged: true })
    expect((error as Rc2Error).message).toContain('an earlier attempt may have been charged')
  })

  it('charges nothing and gives the reservation back when no request can have been charged', async () => {
    const { account, events } = recordingAccount()
    await charged([transient(false), transient(false)], account, 1)
    expect(events).toEqual(['reserve', 'release'])
  })
})

describe('withChargedRetries asks before a resend that may be charged again', () => {
  it('reserves again only after lost replies, and stops when the account refuses', async () => {
    const { account, events } = recordingAccount((n) => n === 3)
    const error = await charged(
      [transient(false), transient(true), transient(true), transient(true)],
      account,
      5,
    )
    // The first failure lost nothing (no new reservation); two lost replies, the second resend refused.
    expect(error).toBeInstanceOf(RefusedError)
    expect(events).toEqual(['reserve', 'charged', 'reserve again', 'charged'])
  })

  it('refuses before the first send without charging anything', async () => {
    const { account, events } = recordingAccount(() => true)
    const error = await charged([], account)
    expect(error).toMatchObject({ kind: 'budget' })
    expect(events).toEqual([])
  })
})
