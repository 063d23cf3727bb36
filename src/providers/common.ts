/** What every adapter shares: option defaults, request checks, polling and secret redaction. */
import { InputError, ProviderError, Rc2Error } from '../errors.js'
import { GRID_SIZE } from '../types.js'
import { isTooManyInFlight } from './error-map.js'
import { createHttpClient, deadlineError, resolveEndpoint } from './http.js'
import type { HttpClient } from './http.js'
import { redactError, redactSecrets } from './redact.js'
import { sleepFor } from './retry.js'
import type { RetryOptions } from './retry.js'
import type { ProviderName, ProviderOptions, RecognitionRequest, SleepFunction } from './types.js'

/** The limits YesCaptcha and CapSolver document for getTaskResult. */
const DEFAULT_MAX_POLLS = 120
const DEFAULT_MAX_POLL_MS = 5 * 60_000
const DEFAULT_RETRIES = 3

/** Each provider's longest wait for one reply (Ace's synchronous recognition can take 120 s). */
function defaultRequestTimeoutMs(name: ProviderName): number {
  return name === 'acedata' ? 130_000 : 30_000
}

/**
 * The deadline of one attempt: a third of the overall one, so that a hung connection is abandoned
 * with time left for two more attempts, or the provider's default when that is shorter. A
 * configured value wins, but never exceeds the overall deadline.
 */
export function attemptTimeoutMs(name: ProviderName, overallMs: number, configuredMs?: number): number {
  if (configuredMs !== undefined) return Math.min(configuredMs, overallMs)
  return Math.min(defaultRequestTimeoutMs(name), Math.ceil(overallMs / 3))
}

export interface AdapterDefaults {
  endpoint: string
  requestTimeoutMs: number
  pollIntervalMs: number
  /** Extra headers carrying the key (Ace's Bearer token). */
  headers?: (apiKey: string) => Record<string, string>
}

export interface AdapterContext {
  name: ProviderName
  apiKey: string
  http: HttpClient
  pollIntervalMs: number
  maxPolls: number
  maxPollMs: number
  sleep: SleepFunction
  /** Retry options without the signal; `retryOptions(signal, label, request)` completes them with the request's hooks. */
  retryOptions: (signal: AbortSignal | undefined, label: string, request?: Pick<RecognitionRequest, 'whileWaiting' | 'onPushBack'>) => RetryOptions
  /** Runs `work`, masking the key in any error it throws. */
  guard: <T>(work: () => Promise<T>) => Promise<T>
}

export function createAdapterContext(name: ProviderName, options: ProviderOptions, defaults: AdapterDefaults): AdapterContext {
  if (options.apiKey.trim() === '') {
    throw new ProviderError('auth', `${name}: no API key given`, {
      hint: `set RC2_API_KEY or providers.${name}.apiKey in the config file`,
    })
  }
  const secrets = [options.apiKey]
  const baseUrl = resolveEndpoint(options.endpoint ?? defaults.endpoint, name, options.allowInsecure ?? false)
  const http = createHttpClient({
    provider: name,
    baseUrl,
    requestTimeoutMs: options.requestTimeoutMs ?? defaults.requestTimeoutMs,
    headers: defaults.headers?.(options.apiKey),
    secrets,
    log: options.log,
  })
  const sleep = options.retry?.sleep ?? sleepFor
  const retries = options.retries ?? DEFAULT_RETRIES
  const log = options.log
  return {
    name,
    apiKey: options.apiKey,
    http,
    pollIntervalMs: options.pollIntervalMs ?? defaults.pollIntervalMs,
    maxPolls: options.maxPolls ?? DEFAULT_MAX_POLLS,
    maxPollMs: options.maxPollMs ?? DEFAULT_MAX_POLL_MS,
    sleep,
    retryOptions: (signal, label, request) => ({
      ...options.retry,
      sleep,
      retries,
      signal,
      label,
      whileWaiting: request?.whileWaiting,
      onRetry: (error, attempt, delayMs) => {
        // Tell the batch runner the service is pushing back, so it sends fewer at once.
        if (error.kind === 'rate_limit') (request?.onPushBack ?? options.onPushBack)?.(error.retryAfterSec, isTooManyInFlight(error))
        log?.(`${label}: ${error.kind} (${error.code ?? 'no code'}), retry ${attempt} of ${retries} in ${delayMs} ms`)
      },
    }),
    guard: async (work) => {
      let value
      try {
        value = await work()
      } catch (error) {
        throw redactError(error, secrets)
      }
      // A service that echoes the key back (as a taskId, say) must not put it in results or files.
      return redactReply(value, secrets)
    },
  }
}

/** `value` with every string field (one level deep: taskId, label, …) masked of the secrets. */
function redactReply<T>(value: T, secrets: readonly string[]): T {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value
  let copy: Record<string, unknown> | undefined
  for (const [key, field] of Object.entries(value)) {
    if (typeof field !== 'string') continue
    const masked = redactSecrets(field, secrets)
    if (masked !== field) (copy ??= { ...(value as Record<string, unknown>) })[key] = masked
  }
  return (copy ?? value) as T
}

/** Check a request before anything is sent; returns the bare base64 image. */
export function checkRequest(name: ProviderName, request: RecognitionRequest): string {
  const expected = GRID_SIZE[request.grid]
  if (request.size !== expected) {
    throw new InputError(`${name}: the image is ${request.size} px but a ${request.grid} grid needs ${expected}x${expected}`, {
      hint: 'run `rc2 resize` or pass the right --grid',
    })
  }
  if (!request.question.startsWith('/m/')) {
    throw new InputError(`${name}: question "${request.question}" is not a /m/ id`, {
      hint: 'run `rc2 questions` to find the id',
    })
  }
  if (request.confidence !== undefined && !(request.confidence >= 0 && request.confidence <= 1)) {
    throw new InputError(`${name}: confidence ${request.confidence} is outside 0..1`, { hint: 'pass --confidence between 0 and 1' })
  }
  // The services want bare base64; a data: prefix is harmless to drop here.
  const image = request.image.replace(/^data:[^,]*;base64,/, '')
  if (image === '') throw new InputError(`${name}: the image is empty`, { hint: 'check the input file' })
  return image
}

/**
 * Poll until `check` returns a value: wait `pollIntervalMs` before each call, stop after
 * `maxPolls` calls or `maxPollMs`, or when the signal aborts. The task exists by then, so
 * giving up may have cost a charge.
 */
export async function pollTask<T>(
  context: AdapterContext,
  taskId: string,
  signal: AbortSignal | undefined,
  check: (poll: number) => Promise<T | undefined>,
): Promise<T> {
  const started = Date.now()
  const what = `${context.name}: task ${taskId}`
  let polls = 0
  for (let poll = 1; poll <= context.maxPolls; poll++) {
    try {
      await context.sleep(context.pollIntervalMs, signal)
    } catch (error) {
      if (signal?.aborted === true) throw deadlineError(signal, `${what} was still running`, true)
      throw error
    }
    if (Date.now() - started > context.maxPollMs) break
    polls = poll
    const value = await check(poll)
    if (value !== undefined) return value
  }
  const seconds = Math.round((Date.now() - started) / 1000)
  throw new ProviderError('timeout', `${what} had no answer after ${polls} polls in ${seconds} s`, {
    hint: 'the service is slow or the task is stuck; try again later',
    mayHaveCharged: true,
  })
}

/** Run what follows a charged request: any failure in it still cost `paidCalls` (the batch counts them). */
export async function afterCharge<T>(paidCalls: number, work: () => Promise<T>): Promise<T> {
  try {
    return await work()
  } catch (error) {
    if (error instanceof Rc2Error && error.paidCalls === 0) error.paidCalls = paidCalls
    throw error
  }
}
