/**
 * The shared HTTP layer and the only importer of ky: POST JSON, read the reply body whatever the
 * status (CapSolver and Ace put their errors in 4xx/5xx JSON bodies), and turn every transport
 * failure into a ProviderError. ky's own retry and timeout are off: retries live in retry.ts, and
 * our timer covers the body as well as the headers (ky's stops at the headers).
 */
import { performance } from 'node:perf_hooks'
import ky from 'ky'
import { ConfigError, InterruptedError, ProviderError, Rc2Error } from '../errors.js'
import { mapProviderError } from './error-map.js'
import { redactSecrets, renderSafeUrl } from './redact.js'
import type { ProviderName, RequestLogger } from './types.js'

export interface HttpClientOptions {
  provider: ProviderName
  /** Base URL, already checked by resolveEndpoint. */
  baseUrl: URL
  /** Per-request timeout in ms, covering the whole exchange. */
  requestTimeoutMs: number
  /** Extra headers (Ace's authorization). */
  headers?: Record<string, string> | undefined
  /** Strings masked in every log line and message (the API key). */
  secrets?: readonly string[] | undefined
  log?: RequestLogger | undefined
}

export interface JsonReply {
  status: number
  /** The parsed JSON body (any JSON value). */
  body: unknown
  /** Seconds from a Retry-After header, when there was one. */
  retryAfterSec: number | undefined
}

export interface HttpClient {
  readonly provider: ProviderName
  /** POST `body` as JSON to `path` under the base URL; the reply body is parsed whatever the status. */
  postJson(path: string, body: unknown, signal?: AbortSignal): Promise<JsonReply>
}

/** Hosts where plain http cannot leak anything off the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** Parse and check a provider base URL: https, or http only to loopback or with allowInsecure. */
export function resolveEndpoint(endpoint: string, provider: ProviderName, allowInsecure = false): URL {
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    throw new ConfigError(`${provider}: endpoint "${endpoint}" is not a valid URL`, {
      hint: 'give --endpoint a full URL such as https://api.example.com',
    })
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigError(`${provider}: endpoint ${renderSafeUrl(url)} must use https`, {
      hint: 'give --endpoint an https:// URL',
    })
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError(`${provider}: endpoint ${renderSafeUrl(url)} must not contain a user name or password`, {
      hint: 'remove "user:password@" from --endpoint; the API key is sent separately',
    })
  }
  if (url.protocol === 'http:' && !allowInsecure && !isLoopbackHost(url.hostname)) {
    throw new ConfigError(
      `${provider}: endpoint ${renderSafeUrl(url)} uses plain http, which would send the API key unencrypted`,
      { hint: 'use https, or pass --allow-insecure if this network is trusted' },
    )
  }
  // A trailing slash lets new URL(path, base) keep any path prefix of the endpoint.
  if (!url.pathname.endsWith('/')) url.pathname += '/'
  url.search = ''
  url.hash = ''
  return url
}

/** Retry-After as seconds: delta-seconds or an HTTP date (never negative). */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined
  const trimmed = value.trim()
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed)
  const date = Date.parse(trimmed)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, Math.ceil((date - nowMs) / 1000))
}

/** "512 B", "1.8 kB", "2.4 MB". */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`
  return `${(bytes / 1_000_000).toFixed(1)} MB`
}

/** Error codes that mean the request never left this machine (so it cannot have been charged). */
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'UND_ERR_CONNECT_TIMEOUT',
])
const TLS_CODE = /^(CERT_|ERR_TLS_|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_)/

/** Every `code` found along the cause chain (undici nests them, AggregateError lists them). */
function collectErrorCodes(error: unknown, seen = new Set<unknown>()): string[] {
  if (typeof error !== 'object' || error === null || seen.has(error)) return []
  seen.add(error)
  const codes: string[] = []
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown }
  if (typeof record.code === 'string') codes.push(record.code)
  codes.push(...collectErrorCodes(record.cause, seen))
  if (Array.isArray(record.errors)) for (const inner of record.errors) codes.push(...collectErrorCodes(inner, seen))
  return codes
}

function describeNetworkFailure(codes: string[]): { text: string; sent: boolean; retryable: boolean; hint: string } {
  const has = (code: string): boolean => codes.includes(code)
  if (has('ECONNREFUSED')) {
    return { text: 'connection refused', sent: false, retryable: true, hint: 'check --endpoint and that the service is up' }
  }
  if (has('ENOTFOUND') || has('EAI_AGAIN')) {
    return { text: 'host name not found', sent: false, retryable: true, hint: 'check --endpoint and your DNS / network' }
  }
  const tls = codes.find((code) => TLS_CODE.test(code))
  if (tls !== undefined) {
    return { text: `TLS failure (${tls})`, sent: false, retryable: false, hint: 'check --endpoint and the system clock and certificates' }
  }
  const notSent = codes.find((code) => NOT_SENT_CODES.has(code))
  if (notSent !== undefined) {
    return { text: `could not connect (${notSent})`, sent: false, retryable: true, hint: 'check --endpoint and your network' }
  }
  // Anything else (reset, "other side closed") may have happened after the request went out.
  const detail = codes[0] === undefined ? '' : ` (${codes[0]})`
  return {
    text: `connection lost before the reply${detail}`,
    sent: true,
    retryable: true,
    hint: 'the request may have been processed and charged; check your network',
  }
}

/** The error for an aborted caller signal: its reason when that is ours, else a deadline timeout. */
export function deadlineError(signal: AbortSignal, what: string, mayHaveCharged: boolean): Error {
  const reason: unknown = signal.reason
  if (reason instanceof Rc2Error || reason instanceof InterruptedError) return reason
  return new ProviderError('timeout', `${what}: the overall deadline was reached`, {
    hint: 'raise --timeout (the deadline covers submitting and polling)',
    retryable: false,
    mayHaveCharged,
  })
}

/** Read through a function so TypeScript does not keep an earlier narrowing of `aborted`. */
function isAborted(signal: AbortSignal | undefined): signal is AbortSignal {
  return signal?.aborted === true
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  return flat.length > 60 ? `${flat.slice(0, 60)}…` : flat
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { provider, requestTimeoutMs } = options
  const secrets = options.secrets ?? []
  const redact = (text: string): string => redactSecrets(text, secrets)
  const log = (line: string): void => options.log?.(redact(line))

  async function postJson(path: string, body: unknown, signal?: AbortSignal): Promise<JsonReply> {
    const url = new URL(path.replace(/^\//, ''), options.baseUrl)
    const shownUrl = renderSafeUrl(url)
    const what = `${provider}: POST ${url.pathname}`
    if (signal?.aborted === true) throw deadlineError(signal, what, false)

    const payload = JSON.stringify(body)
    const sentBytes = Buffer.byteLength(payload)
    const timer = new AbortController()
    const timeoutId = setTimeout(() => timer.abort(), requestTimeoutMs)
    const combined = signal === undefined ? timer.signal : AbortSignal.any([signal, timer.signal])
    const started = performance.now()
    const elapsed = (): number => Math.round(performance.now() - started)
    const logOutcome = (outcome: string): void =>
      log(`POST ${shownUrl} -> ${outcome} in ${elapsed()} ms (${formatBytes(sentBytes)} sent)`)

    let status: number
    let text: string
    let retryAfterHeader: string | null
    try {
      const response = await ky.post(url, {
        body: payload,
        headers: { 'content-type': 'application/json', accept: 'application/json', ...options.headers },
        signal: combined,
        timeout: false,
        retry: 0,
        throwHttpErrors: false,
      })
      status = response.status
      retryAfterHeader = response.headers.get('retry-after')
      text = await response.text()
    } catch (error) {
      if (isAborted(signal)) {
        logOutcome('aborted (deadline)')
        throw deadlineError(signal, what, true)
      }
      if (timer.signal.aborted) {
        logOutcome('timed out')
        throw new ProviderError('timeout', `${what}: no reply within ${requestTimeoutMs / 1000} s`, {
          hint: 'the service is slow; try again later (the request may have been processed and charged)',
          retryable: true,
          mayHaveCharged: true,
          cause: error,
        })
      }
      const failure = describeNetworkFailure(collectErrorCodes(error))
      logOutcome(`failed (${failure.text})`)
      throw new ProviderError('network', redact(`${what}: ${failure.text} at ${shownUrl}`), {
        hint: failure.hint,
        retryable: failure.retryable,
        mayHaveCharged: failure.sent,
        cause: error,
      })
    } finally {
      clearTimeout(timeoutId)
    }

    logOutcome(String(status))
    const retryAfterSec = parseRetryAfter(retryAfterHeader)
    let parsed: unknown
    try {
      parsed = text.trim() === '' ? undefined : JSON.parse(text)
    } catch {
      parsed = undefined
    }
    if (parsed !== undefined) return { status, body: parsed, retryAfterSec }

    // No JSON: a gateway page on 429/5xx, or a broken reply.
    if (status >= 400) throw mapProviderError({ provider, status, retryAfterSec })
    const problem = text.trim() === '' ? 'an empty body' : `a body that is not JSON ("${redact(snippet(text))}")`
    throw new ProviderError('provider', `${provider} reply: POST ${url.pathname} returned HTTP ${status} with ${problem}`, {
      hint: 'the reply was lost or garbled; try again (the request may have been processed and charged)',
      retryable: false,
      mayHaveCharged: true,
    })
  }

  return { provider, postJson }
}
