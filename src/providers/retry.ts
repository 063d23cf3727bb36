/**
 * Retries of transient failures: exponential backoff with full jitter (a random wait between 0
 * and min(cap, base * 2^n)), or exactly what Retry-After asked for. Only errors marked
 * `retryable` are retried, and the caller's signal ends the waiting.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { ProviderError, Rc2Error } from '../errors.js'
import type { ProviderErrorKind } from './error-map.js'
import { deadlineError } from './http.js'
import type { Grid } from '../types.js'
import type { CallAccount, ProviderName, RetryTuning, SleepFunction } from './types.js'

const RETRY_DEFAULTS = {
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 60_000,
} as const

/**
 * A 429 that says when to come back is the service scheduling us, not a failure: waiting it out
 * does not use up a retry (the deadline still bounds it), up to this many times per call.
 */
const MAX_SCHEDULED_RETRIES = 10

export interface RetryOptions extends RetryTuning {
  /** Retries after the first attempt (0 = try once). */
  retries: number
  signal?: AbortSignal | undefined
  /** Names the operation in a deadline message, e.g. "yescaptcha: POST /createTask". */
  label?: string | undefined
  /** Runs each wait (a batch lends the input's slot to another input meanwhile). */
  whileWaiting?: (<R>(wait: () => Promise<R>) => Promise<R>) | undefined
  /** Called before each wait, e.g. to log "retrying in 480 ms". */
  onRetry?: ((error: Rc2Error, attempt: number, delayMs: number) => void) | undefined
}

export const sleepFor: SleepFunction = async (ms, signal) => {
  await delay(ms, undefined, signal === undefined ? undefined : { signal })
}

/**
 * Milliseconds to wait before retry number `attempt` (1-based), or undefined when the service
 * asked for a longer wait than we are willing to honour.
 */
export function computeRetryDelayMs(
  attempt: number,
  retryAfterSec: number | undefined,
  tuning: RetryTuning = {},
): number | undefined {
  if (retryAfterSec !== undefined) {
    const asked = Math.ceil(retryAfterSec * 1000)
    return asked > (tuning.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs) ? undefined : asked
  }
  const base = tuning.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs
  const cap = tuning.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs
  const ceiling = Math.min(cap, base * 2 ** (attempt - 1))
  return Math.floor((tuning.random ?? Math.random)() * ceiling)
}

/** The service asked for a longer wait than we honour: say so rather than fail silently. */
function waitTooLong(error: Rc2Error, options: RetryOptions): ProviderError {
  const limitSec = Math.round((options.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs) / 1000)
  return new ProviderError(
    error.kind as ProviderErrorKind,
    `${error.message} (the service asked to wait ${error.retryAfterSec} s before retrying, more than the ${limitSec} s rc2 waits)`,
    {
      code: error.code,
      hint: `try again in ${error.retryAfterSec} s`,
      retryAfterSec: error.retryAfterSec,
      mayHaveCharged: error.mayHaveCharged,
      cause: error,
    },
  )
}

/** Wait `waitMs` before the next attempt; the deadline ending the wait is the error thrown. */
async function waitToRetry(error: Rc2Error, waitMs: number, options: RetryOptions): Promise<void> {
  const sleep = options.sleep ?? sleepFor
  try {
    const wait = (): Promise<void> => sleep(waitMs, options.signal)
    await (options.whileWaiting === undefined ? wait() : options.whileWaiting(wait))
  } catch (sleepError) {
    if (options.signal?.aborted !== true) throw sleepError
    const ended = deadlineError(options.signal, options.label ?? 'request', error.mayHaveCharged)
    if (!(ended instanceof ProviderError)) throw ended
    throw new ProviderError(
      'timeout',
      `${ended.message} while waiting to retry after: ${error.message}`,
      // No new request went out: the one that failed was already reported to onRetry.
      { code: error.code, hint: ended.hint, mayHaveCharged: false, cause: error },
    )
  }
}

/** Run `operation` until it succeeds, fails for good, or runs out of retries. */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  let scheduled = 0
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt)
    } catch (error) {
      if (!(error instanceof Rc2Error) || !error.retryable) throw error
      // --retries 0 means one attempt, whatever the service asks.
      const asked =
        options.retries > 0 &&
        error.kind === 'rate_limit' &&
        (error.retryAfterSec ?? 0) > 0 &&
        scheduled < MAX_SCHEDULED_RETRIES
      if (asked) scheduled++
      const retry = attempt - scheduled
      if (retry > options.retries) throw error
      const waitMs = computeRetryDelayMs(Math.max(1, retry), error.retryAfterSec, options)
      if (waitMs === undefined) throw waitTooLong(error, options)
      options.onRetry?.(error, attempt, waitMs)
      await waitToRetry(error, waitMs, options)
    }
  }
}

export interface ChargedOutcome<T> {
  value: T
  /** Attempts that may have been charged: the one that answered plus every lost reply. */
  paidCalls: number
}

/** Who pays for a charged request: the input's account, and the provider and grid that set the price. */
export interface ChargeTo {
  account: CallAccount | undefined
  provider: ProviderName
  grid: Grid
}

/**
 * withRetries for a request the service charges for. Each send is reserved with the account first
 * (a resend after a lost reply too, and the account may refuse it); each attempt that reached the
 * service and may have been charged (the answer, or a reply lost after the request went out) is
 * counted there as it happens. When everything fails after a lost reply, the error says so.
 */
export async function withChargedRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions & { charge: ChargeTo },
): Promise<ChargedOutcome<T>> {
  const { account, provider, grid } = options.charge
  let lostReplies = 0
  // One reservation is held while an attempt may be charged; a charge or a release ends it.
  account?.reserve(provider, grid, false)
  let held = true
  try {
    const value = await withRetries(async (attempt) => {
      if (!held) {
        account?.reserve(provider, grid, true)
        held = true
      }
      try {
        return await operation(attempt)
      } catch (error) {
        if (error instanceof Rc2Error && error.mayHaveCharged) {
          lostReplies += 1
          held = false
          account?.charged(provider, grid)
        }
        throw error
      }
    }, options)
    account?.charged(provider, grid)
    held = false
    return { value, paidCalls: lostReplies + 1 }
  } catch (error) {
    if (held) account?.release(provider, grid)
    if (lostReplies > 0 && error instanceof ProviderError && !error.mayHaveCharged) {
      throw new ProviderError(
        error.kind as ProviderErrorKind,
        `${error.message} (an earlier attempt may have been charged)`,
        {
          code: error.code,
          hint: error.hint,
          retryable: error.retryable,
          retryAfterSec: error.retryAfterSec,
          mayHaveCharged: true,
          provider: error.provider,
          tooManyInFlight: error.tooManyInFlight,
          cause: error.cause,
        },
      )
    }
    throw error
  }
}
