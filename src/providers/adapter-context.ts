/**
 * What every adapter starts from: its options completed with the service's facts, the HTTP client,
 * retry options carrying the request's hooks, and the guard that keeps the key out of errors and
 * results.
 */
import { ProviderError } from '../errors.js'
import type { Grid } from '../types.js'
import { isTooManyInFlight } from './error-map.js'
import { describeRequest, pointsFor, PROVIDER_FACTS } from './facts/index.js'
import { createHttpClient, resolveEndpoint } from './http.js'
import type { HttpClient } from './http.js'
import { redactError, redactSecrets } from './redact.js'
import { sleepFor } from './retry.js'
import type { RetryOptions } from './retry.js'
import type {
  CallAccount,
  DescribedRequest,
  ProviderFacts,
  ProviderName,
  ProviderOptions,
  RecognitionRequest,
  RequestParts,
  SleepFunction,
} from './types.js'

/** The limits YesCaptcha and CapSolver document for getTaskResult. */
const DEFAULT_MAX_POLLS = 120
const DEFAULT_MAX_POLL_MS = 5 * 60_000
const DEFAULT_RETRIES = 3

export interface AdapterContext {
  name: ProviderName
  facts: ProviderFacts
  apiKey: string
  http: HttpClient
  pollIntervalMs: number
  maxPolls: number
  maxPollMs: number
  sleep: SleepFunction
  /** Retry options for one call; with the request, its account hears of push-back and runs the waits. */
  retryOptions: (
    signal: AbortSignal | undefined,
    label: string,
    request?: Pick<RecognitionRequest, 'account'>,
  ) => RetryOptions
  /** Runs `work`, masking the key in any error it throws. */
  guard: <T>(work: () => Promise<T>) => Promise<T>
  /** The Provider members answered from the facts alone: the request it would send, and what a call counts. */
  describeRequest: (parts: RequestParts) => DescribedRequest
  pointsFor: (grid: Grid) => number
}

export function createAdapterContext(name: ProviderName, options: ProviderOptions): AdapterContext {
  const facts = PROVIDER_FACTS[name]
  if (options.apiKey.trim() === '') {
    throw new ProviderError('auth', `${name}: no API key given`, {
      hint: `set RC2_API_KEY or providers.${name}.apiKey in the config file`,
    })
  }
  const secrets = [options.apiKey]
  const baseUrl = resolveEndpoint(
    options.endpoint ?? facts.endpoint(options.region),
    name,
    options.allowInsecure ?? false,
  )
  const http = createHttpClient({
    provider: name,
    baseUrl,
    requestTimeoutMs: options.requestTimeoutMs ?? facts.requestTimeoutMs,
    proxy: options.proxy,
    headers: facts.headers?.(options.apiKey),
    secrets,
    log: options.log,
  })
  const sleep = options.retry?.sleep ?? sleepFor
  return {
    name,
    facts,
    apiKey: options.apiKey,
    http,
    pollIntervalMs: options.pollIntervalMs ?? facts.pollIntervalMs,
    maxPolls: options.maxPolls ?? DEFAULT_MAX_POLLS,
    // A service with a long documented deadline (2Captcha) is polled for all of it.
    maxPollMs:
      options.maxPollMs ??
      (facts.imageTimeoutSec === undefined ? DEFAULT_MAX_POLL_MS : facts.imageTimeoutSec * 1000),
    sleep,
    retryOptions: (signal, label, request) =>
      retryOptionsFor(options, { sleep, signal, label }, request?.account),
    guard: (work) => guardSecrets(work, secrets),
    describeRequest: (parts) =>
      describeRequest(name, parts, { endpoint: options.endpoint, region: options.region }),
    pointsFor: (grid) => pointsFor(name, grid),
  }
}

/** Retry options for one call: the input's account (if any) hears of push-back and runs the waits. */
function retryOptionsFor(
  options: ProviderOptions,
  call: Pick<RetryOptions, 'sleep' | 'signal' | 'label'>,
  account: CallAccount | undefined,
): RetryOptions {
  const retries = options.retries ?? DEFAULT_RETRIES
  return {
    ...options.retry,
    ...call,
    retries,
    whileWaiting: account?.whileWaiting.bind(account),
    onRetry: (error, attempt, delayMs) => {
      // Tell the batch runner the service is pushing back, so it sends fewer at once.
      if (error.kind === 'rate_limit') {
        if (account !== undefined) account.pushedBack(error)
        else options.onPushBack?.(error.retryAfterSec, isTooManyInFlight(error))
      }
      options.log?.(
        `${call.label}: ${error.kind} (${error.code ?? 'no code'}), retry ${attempt} of ${retries} in ${delayMs} ms`,
      )
    },
  }
}

/** Runs `work`, masking the secrets in any error it throws and in the string fields of its value. */
async function guardSecrets<T>(work: () => Promise<T>, secrets: readonly string[]): Promise<T> {
  let value
  try {
    value = await work()
  } catch (error) {
    throw redactError(error, secrets)
  }
  // A service that echoes the key back (as a taskId, say) must not put it in results or files.
  return redactReply(value, secrets)
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
