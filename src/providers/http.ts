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
import { sendRequest } from './transport.js'
import type { WireReply } from './transport.js'

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
  /** Largest reply body read, after decompression (default MAX_REPLY_BYTES). */
  maxReplyBytes?: number | undefined
}

/** Replies are a few hundred bytes; anything past this is not a service answering (a bomb, a wrong host). */
export const MAX_REPLY_BYTES = 4 * 1024 * 1024

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
  /** GET `path` with `query` (NopeCHA's result and status calls); the query never appears in logs. */
  getJson(path: string, query: Record<string, string>, signal?: AbortSignal): Promise<JsonReply>
}

/** Hosts where plain http cannot leak anything off the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase()
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)
}

/** Parse and check a provider base URL: https, or http only to loopback or with allowInsecure. */
export function resolveEndpoint(
  endpoint: string,
  provider: ProviderName,
  allowInsecure = false,
): URL {
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
    throw new ConfigError(
      `${provider}: endpoint ${renderSafeUrl(url)} must not contain a user name or password`,
      {
        hint: 'remove "user:password@" from --endpoint; the API key is sent separately',
      },
    )
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
function formatBytes(bytes: number): string {
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
])
// ERR_SSL_* and EPROTO: OpenSSL's own (a handshake refused, or https spoken to a plain-http port).
const TLS_CODE =
  /^(CERT_|ERR_TLS_|ERR_SSL_|EPROTO$|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_)/

/** Every `code` found along the cause chain (AggregateError, from trying each address of a host, lists them). */
function collectErrorCodes(error: unknown, seen = new Set<unknown>()): string[] {
  if (typeof error !== 'object' || error === null || seen.has(error)) return []
  seen.add(error)
  const codes: string[] = []
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown; message?: unknown }
  if (typeof record.code === 'string') codes.push(record.code)
  codes.push(...collectErrorCodes(record.cause, seen))
  if (Array.isArray(record.errors))
    for (const inner of record.errors) codes.push(...collectErrorCodes(inner, seen))
  return codes
}

/** `connected`: the connection could carry the request (see WireRequest.onConnected); before it, nothing was sent. */
function describeNetworkFailure(
  codes: string[],
  connected: boolean,
): { text: string; sent: boolean; retryable: boolean; hint: string } {
  const has = (code: string): boolean => codes.includes(code)
  // Said in every not-sent hint: the user wants to know it cost nothing.
  const free = '; nothing was sent, so nothing was charged'
  if (has('ECONNREFUSED')) {
    return {
      text: 'connection refused',
      sent: false,
      retryable: true,
      hint: `check --endpoint and that the service is up${free}`,
    }
  }
  if (has('ENOTFOUND') || has('EAI_AGAIN')) {
    return {
      text: 'host name not found',
      sent: false,
      retryable: true,
      hint: `check --endpoint and your DNS / network${free}`,
    }
  }
  const tls = codes.find((code) => TLS_CODE.test(code))
  if (tls !== undefined) {
    return {
      text: `TLS failure (${tls})`,
      sent: false,
      retryable: false,
      hint: `check --endpoint and the system clock and certificates${free}`,
    }
  }
  const notSent = codes.find((code) => NOT_SENT_CODES.has(code))
  if (notSent !== undefined) {
    return {
      text: `could not connect (${notSent})`,
      sent: false,
      retryable: true,
      hint: `check --endpoint and your network${free}`,
    }
  }
  const detail = codes[0] === undefined ? '' : ` (${codes[0]})`
  // A reset during the TLS handshake, say: the request was still in Node's buffer.
  if (!connected) {
    return {
      text: `could not connect${detail}`,
      sent: false,
      retryable: true,
      hint: `check --endpoint and your network${free}`,
    }
  }
  // A reply came but could not be read: as good as one lost after sending, but not a lost connection.
  const garbled = codes.find((code) => code.startsWith('HPE_'))
  if (garbled !== undefined) {
    return {
      text: `a reply that is not valid HTTP (${garbled})`,
      sent: true,
      retryable: true,
      hint: 'check --endpoint (the request may have been processed and charged)',
    }
  }
  const damaged = codes.find((code) => /^(Z_|ERR_BROTLI|ERR__ERROR_)/.test(code))
  if (damaged !== undefined) {
    return {
      text: `a compressed reply that does not decompress (${damaged})`,
      sent: true,
      retryable: true,
      hint: 'check --endpoint (the request may have been processed and charged)',
    }
  }
  // Anything else (reset, "other side closed") may have happened after the request went out.
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

class ReplyTooLargeError extends Error {}

/** Where a redirect pointed, safe to show: resolved, without user:password or query. */
function describeRedirect(location: string | null, base: URL): string {
  if (location === null || location.trim() === '') return '(no Location header)'
  try {
    return renderSafeUrl(new URL(location, base))
  } catch {
    return `"${snippet(location)}"`
  }
}

/** One request as the steps below see it: where it goes, what it sent, how to log and redact. */
interface Exchange {
  provider: ProviderName
  method: 'POST' | 'GET'
  url: URL
  /** The URL as logs and messages show it. */
  shownUrl: string
  /** "provider: METHOD /path", the start of every message. */
  what: string
  sentBytes: number
  started: number
  log: (line: string) => void
  redact: (text: string) => string
}

/** The reply as it came over the wire, before it is read as JSON. */
interface RawReply {
  status: number
  text: string
  retryAfterHeader: string | null
  location: string | null
}

/** A request's own abort: the per-request timer and the caller's signal feed one controller. */
interface RequestAbort {
  controller: AbortController
  /** Rejects when the controller aborts; every wait races it. */
  aborted: Promise<never>
  timedOut: () => boolean
  /** Stop the timer and stop listening to the caller. */
  dispose: () => void
}

function logOutcome(exchange: Exchange, outcome: string): void {
  const elapsed = Math.round(performance.now() - exchange.started)
  exchange.log(
    `${exchange.method} ${exchange.shownUrl} -> ${outcome} in ${elapsed} ms (${formatBytes(exchange.sentBytes)} sent)`,
  )
}

/**
 * One controller of our own, held by the request, the timer and the caller's listener: a signal
 * built with AbortSignal.any (as ky does with the one it is given) is only weakly held by its
 * sources and can be garbage-collected mid-request, which silently loses the abort.
 */
function armAbort(requestTimeoutMs: number, signal: AbortSignal | undefined): RequestAbort {
  const controller = new AbortController()
  let timedOut = false
  const timeoutId = setTimeout(() => {
    timedOut = true
    controller.abort(new DOMException('request timeout', 'TimeoutError'))
  }, requestTimeoutMs)
  const onCallerAbort = (): void => controller.abort(signal?.reason)
  signal?.addEventListener('abort', onCallerAbort, { once: true })
  // Every wait races this, so the deadline holds whatever the transport does with the signal.
  const aborted = new Promise<never>((_resolve, reject) => {
    controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), {
      once: true,
    })
  })
  aborted.catch(() => undefined)
  return {
    controller,
    aborted,
    timedOut: () => timedOut,
    dispose: () => {
      clearTimeout(timeoutId)
      signal?.removeEventListener('abort', onCallerAbort)
    },
  }
}

/** Send the request and read the reply's status, headers and (capped) body. */
async function transfer(
  exchange: Exchange,
  payload: string | undefined,
  headers: Record<string, string> | undefined,
  abort: RequestAbort,
  maxReplyBytes: number,
  progress: { connected: boolean },
): Promise<RawReply> {
  const { signal } = abort.controller
  let wire: WireReply | undefined
  // ky builds the request; the wire under it is node:http (transport.ts), which reads the reply
  // whole, capped, before ky sees a Response. The signal goes to the wire, not to ky, which would
  // wrap it in an AbortSignal.any (see armAbort).
  const sent = ky(exchange.url, {
    method: exchange.method,
    headers: {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      accept: 'application/json',
      ...headers,
    },
    fetch: async (input) => {
      const request = input as Request
      wire = await sendRequest(exchange.url, {
        method: exchange.method,
        headers: Object.fromEntries(request.headers),
        body: payload,
        signal,
        maxBytes: maxReplyBytes,
        tooLarge: () => new ReplyTooLargeError(),
        onConnected: () => {
          progress.connected = true
        },
      })
      return new Response(null, {
        status: wire.status >= 200 && wire.status <= 599 ? wire.status : 200,
      })
    },
    timeout: false,
    retry: 0,
    throwHttpErrors: false,
  })
  // The wire ends on the abort itself; the race keeps the deadline whatever happens above it.
  await Promise.race([sent, abort.aborted])
  const reply = wire as WireReply
  const status = reply.status
  const retryAfterHeader = reply.header('retry-after')
  if (status >= 300 && status < 400)
    return { status, text: '', retryAfterHeader, location: reply.header('location') }
  return { status, text: reply.body.toString('utf8'), retryAfterHeader, location: null }
}

/** The error for a request that did not complete: too large, the deadline, our timeout, or the network. */
function transportFailure(
  exchange: Exchange,
  error: unknown,
  failed: {
    signal: AbortSignal | undefined
    timedOut: boolean
    connected: boolean
    requestTimeoutMs: number
    maxReplyBytes: number
  },
): Error {
  const { what } = exchange
  if (error instanceof ReplyTooLargeError) {
    logOutcome(exchange, `reply over ${formatBytes(failed.maxReplyBytes)}, not read`)
    return new ProviderError(
      'provider',
      `${what}: the reply is larger than ${formatBytes(failed.maxReplyBytes)}; rc2 stopped reading it`,
      {
        hint: 'a real reply is a few hundred bytes: check --endpoint (the request may have been processed and charged)',
        retryable: false,
        mayHaveCharged: true,
      },
    )
  }
  if (isAborted(failed.signal)) {
    logOutcome(exchange, 'aborted (deadline)')
    return deadlineError(failed.signal, what, failed.connected)
  }
  if (failed.timedOut && !failed.connected) {
    // No connection in time (a port that drops packets, a TLS handshake never answered): nothing sent.
    logOutcome(exchange, 'timed out connecting')
    return new ProviderError(
      'network',
      exchange.redact(
        `${what}: could not connect within ${failed.requestTimeoutMs / 1000} s at ${exchange.shownUrl}`,
      ),
      {
        hint: 'check --endpoint and your network; nothing was sent, so nothing was charged',
        retryable: true,
        mayHaveCharged: false,
        cause: error,
      },
    )
  }
  if (failed.timedOut) {
    logOutcome(exchange, 'timed out')
    return new ProviderError(
      'timeout',
      `${what}: no reply within ${failed.requestTimeoutMs / 1000} s`,
      {
        hint: 'the service is slow; try again later (the request may have been processed and charged)',
        retryable: true,
        mayHaveCharged: true,
        cause: error,
      },
    )
  }
  const failure = describeNetworkFailure(collectErrorCodes(error), failed.connected)
  logOutcome(exchange, `failed (${failure.text})`)
  return new ProviderError(
    'network',
    exchange.redact(`${what}: ${failure.text} at ${exchange.shownUrl}`),
    {
      hint: failure.hint,
      retryable: failure.retryable,
      mayHaveCharged: failure.sent,
      cause: error,
    },
  )
}

/** The reply read as JSON; a redirect, or a body that is not JSON, as the error it means. */
function readReply(exchange: Exchange, raw: RawReply): JsonReply {
  const { status, text } = raw
  const { provider, method, url, what, redact } = exchange
  if (status >= 300 && status < 400) {
    const target = describeRedirect(raw.location, url)
    logOutcome(exchange, `${status} redirect to ${target} (not followed)`)
    throw new ProviderError(
      'provider',
      redact(
        `${what}: the service answered HTTP ${status}, a redirect to ${target}; rc2 does not follow redirects`,
      ),
      {
        hint: 'check --endpoint: if the service has really moved and you trust the new address, give it as --endpoint',
        retryable: false,
      },
    )
  }

  logOutcome(exchange, String(status))
  const retryAfterSec = parseRetryAfter(raw.retryAfterHeader)
  let parsed: unknown
  try {
    parsed = text.trim() === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = undefined
  }
  if (parsed !== undefined) return { status, body: parsed, retryAfterSec }

  // No JSON: a gateway page on 429/5xx, or a broken reply.
  if (status >= 400) throw mapProviderError({ provider, status, retryAfterSec })
  const problem =
    text.trim() === '' ? 'an empty body' : `a body that is not JSON ("${redact(snippet(text))}")`
  // As good as a lost reply: resent like one (for a paid call, within the budget).
  throw new ProviderError(
    'provider',
    `${provider} reply: ${method} ${url.pathname} returned HTTP ${status} with ${problem}`,
    {
      hint: 'the reply was lost or garbled; try again (the request may have been processed and charged)',
      retryable: true,
      mayHaveCharged: true,
    },
  )
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const { provider, requestTimeoutMs } = options
  const maxReplyBytes = options.maxReplyBytes ?? MAX_REPLY_BYTES
  const secrets = options.secrets ?? []
  const redact = (text: string): string => redactSecrets(text, secrets)
  const log = (line: string): void => options.log?.(redact(line))

  async function exchange(
    method: 'POST' | 'GET',
    path: string,
    body: unknown,
    query: Record<string, string>,
    signal?: AbortSignal,
  ): Promise<JsonReply> {
    const url = new URL(path.replace(/^\//, ''), options.baseUrl)
    for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
    const shownUrl = renderSafeUrl(url)
    const what = `${provider}: ${method} ${url.pathname}`
    if (signal?.aborted === true) throw deadlineError(signal, what, false)

    const payload = method === 'POST' ? JSON.stringify(body) : undefined
    const sentBytes = payload === undefined ? 0 : Buffer.byteLength(payload)
    const abort = armAbort(requestTimeoutMs, signal)
    const current: Exchange = {
      provider,
      method,
      url,
      shownUrl,
      what,
      sentBytes,
      started: performance.now(),
      log,
      redact,
    }
    const progress = { connected: false }
    let raw: RawReply
    try {
      raw = await transfer(current, payload, options.headers, abort, maxReplyBytes, progress)
    } catch (error) {
      throw transportFailure(current, error, {
        signal,
        timedOut: abort.timedOut(),
        connected: progress.connected,
        requestTimeoutMs,
        maxReplyBytes,
      })
    } finally {
      abort.dispose()
    }
    return readReply(current, raw)
  }

  return {
    provider,
    postJson: (path, body, signal) => exchange('POST', path, body, {}, signal),
    getJson: (path, query, signal) => exchange('GET', path, undefined, query, signal),
  }
}
