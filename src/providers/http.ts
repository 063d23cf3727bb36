/**
 * The services' HTTP client over the one wire (transport.ts): POST or GET JSON, read the reply
 * body whatever the status (CapSolver and Ace put their errors in 4xx/5xx JSON bodies), and turn
 * every typed wire failure into a ProviderError worded for the user. Retries live in retry.ts.
 */
import { performance } from 'node:perf_hooks'
import { ConfigError, InterruptedError, ProviderError, Rc2Error } from '../errors.js'
import { mapProviderError } from './error-map.js'
import { capReplyTexts, redactSecrets, renderSafeUrl } from './redact.js'
import type { ProviderName, RequestLogger } from './types.js'
import { sendRequest, WireFailure } from './transport.js'
import type { ProxyProblem, ProxyRoute } from './transport.js'

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
  /** The proxies to go through (none: direct). */
  proxy?: ProxyRoute | undefined
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

// ERR_SSL_* and EPROTO: OpenSSL's own (a handshake refused, or https spoken to a plain-http port).
const TLS_CODE =
  /^(CERT_|ERR_TLS_|ERR_SSL_|EPROTO$|DEPTH_ZERO_|SELF_SIGNED_|UNABLE_TO_(GET|VERIFY)_)/
/** A reply that came but is not HTTP (llhttp's codes, undici's header limit). */
const GARBLED_CODE = /^(HPE_|UND_ERR_HEADERS_OVERFLOW$|UND_ERR_RES_CONTENT_LENGTH_MISMATCH$)/
/** A body marked compressed that does not decompress (zlib's and brotli's codes). */
const DAMAGED_CODE = /^(Z_|ERR_BROTLI|ERR__ERROR_)/

interface NetworkFailure {
  text: string
  retryable: boolean
  hint: string
}

// Said in every not-sent hint: the user wants to know it cost nothing.
const FREE = '; nothing was sent, so nothing was charged'
const MAYBE_CHARGED = 'check --endpoint (the request may have been processed and charged)'

/** A request that never went out: why, in words, from the codes along its cause chain. */
function describeNotSent(codes: readonly string[]): NetworkFailure {
  const has = (code: string): boolean => codes.includes(code)
  if (has('ECONNREFUSED'))
    return {
      text: 'connection refused',
      retryable: true,
      hint: `check --endpoint and that the service is up${FREE}`,
    }
  if (has('ENOTFOUND') || has('EAI_AGAIN'))
    return {
      text: 'host name not found',
      retryable: true,
      hint: `check --endpoint and your DNS / network${FREE}`,
    }
  const tls = codes.find((code) => TLS_CODE.test(code))
  if (tls !== undefined)
    return {
      text: `TLS failure (${tls})`,
      retryable: false,
      hint: `check --endpoint and the system clock and certificates${FREE}`,
    }
  // A reset during the TLS handshake, say: the request was still in undici's queue.
  const detail = codes[0] === undefined ? '' : ` (${codes[0]})`
  return {
    text: `could not connect${detail}`,
    retryable: true,
    hint: `check --endpoint and your network${FREE}`,
  }
}

/** A request that went out and got no complete reply: it may have been charged. */
function describeLost(codes: readonly string[]): NetworkFailure {
  // A reply came but could not be read: as good as one lost after sending, but not a lost connection.
  const garbled = codes.find((code) => GARBLED_CODE.test(code))
  if (garbled !== undefined)
    return {
      text: `a reply that is not valid HTTP (${garbled})`,
      retryable: true,
      hint: MAYBE_CHARGED,
    }
  const damaged = codes.find((code) => DAMAGED_CODE.test(code))
  if (damaged !== undefined)
    return {
      text: `a compressed reply that does not decompress (${damaged})`,
      retryable: true,
      hint: MAYBE_CHARGED,
    }
  // Anything else (reset, "other side closed") happened after the request went out.
  const detail = codes[0] === undefined ? '' : ` (${codes[0]})`
  return {
    text: `connection lost before the reply${detail}`,
    retryable: true,
    hint: 'the request may have been processed and charged; check your network',
  }
}

/** The proxy failed, not the service: one line naming it (its login masked). */
function describeProxy(proxy: ProxyProblem, codes: readonly string[]): NetworkFailure {
  const hint = `check --proxy, the proxy settings (HTTPS_PROXY, HTTP_PROXY, NO_PROXY) and that the proxy is up${FREE}`
  if (proxy.status === 407)
    return {
      text: `the proxy ${proxy.shown} refused the request: it wants a login (HTTP 407)`,
      retryable: false,
      hint: `give the proxy's user and password in its URL (http://user:password@host:port)${FREE}`,
    }
  if (proxy.status !== undefined)
    return {
      text: `the proxy ${proxy.shown} refused to connect to the service (HTTP ${proxy.status})`,
      retryable: proxy.status >= 500,
      hint,
    }
  const reason = describeNotSent(codes).text
  return { text: `cannot reach the proxy ${proxy.shown} (${reason})`, retryable: true, hint }
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

function logOutcome(exchange: Exchange, outcome: string): void {
  const elapsed = Math.round(performance.now() - exchange.started)
  exchange.log(
    `${exchange.method} ${exchange.shownUrl} -> ${outcome} in ${elapsed} ms (${formatBytes(exchange.sentBytes)} sent)`,
  )
}

/** Send the request and read the reply's status, headers and (capped) body. */
async function transfer(
  exchange: Exchange,
  payload: string | undefined,
  options: HttpClientOptions,
  maxReplyBytes: number,
  signal: AbortSignal | undefined,
): Promise<RawReply> {
  const reply = await sendRequest(exchange.url, {
    method: exchange.method,
    headers: {
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      accept: 'application/json',
      ...options.headers,
    },
    body: payload,
    signal,
    timeoutMs: options.requestTimeoutMs,
    maxBytes: maxReplyBytes,
    proxy: options.proxy,
  })
  const { status } = reply
  const retryAfterHeader = reply.header('retry-after')
  if (status >= 300 && status < 400)
    return { status, text: '', retryAfterHeader, location: reply.header('location') }
  return { status, text: reply.body.toString('utf8'), retryAfterHeader, location: null }
}

/** The error for a request that did not complete: too large, the deadline, our timeout, or the network. */
function transportFailure(
  exchange: Exchange,
  failure: WireFailure,
  signal: AbortSignal | undefined,
  limits: { requestTimeoutMs: number; maxReplyBytes: number },
): Error {
  const { what } = exchange
  const cause = failure.cause
  if (failure.kind === 'too_large') {
    logOutcome(exchange, `reply over ${formatBytes(limits.maxReplyBytes)}, not read`)
    return new ProviderError(
      'provider',
      `${what}: the reply is larger than ${formatBytes(limits.maxReplyBytes)}; rc2 stopped reading it`,
      {
        hint: 'a real reply is a few hundred bytes: check --endpoint (the request may have been processed and charged)',
        retryable: false,
        mayHaveCharged: true,
      },
    )
  }
  if (failure.kind === 'aborted' && isAborted(signal)) {
    logOutcome(exchange, 'aborted (deadline)')
    return deadlineError(signal, what, failure.sent)
  }
  const seconds = limits.requestTimeoutMs / 1000
  if (failure.kind === 'timeout' && failure.sent) {
    logOutcome(exchange, 'timed out')
    return new ProviderError('timeout', `${what}: no reply within ${seconds} s`, {
      hint: 'the service is slow; try again later (the request may have been processed and charged)',
      retryable: true,
      mayHaveCharged: true,
      cause,
    })
  }
  const described =
    failure.proxy !== undefined
      ? describeProxy(failure.proxy, failure.codes)
      : failure.kind === 'timeout'
        ? // No connection in time (a port that drops packets, a TLS handshake never answered).
          {
            text: `could not connect within ${seconds} s`,
            retryable: true,
            hint: `check --endpoint and your network${FREE}`,
          }
        : failure.sent
          ? describeLost(failure.codes)
          : describeNotSent(failure.codes)
  logOutcome(
    exchange,
    failure.kind === 'timeout' ? 'timed out connecting' : `failed (${described.text})`,
  )
  return new ProviderError(
    'network',
    exchange.redact(`${what}: ${described.text} at ${exchange.shownUrl}`),
    {
      hint: described.hint,
      retryable: described.retryable,
      mayHaveCharged: failure.sent,
      cause,
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
  // Every text a service sends is capped here, before it can reach a message or an output.
  if (parsed !== undefined) return { status, body: capReplyTexts(parsed, redact), retryAfterSec }

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
    let raw: RawReply
    try {
      raw = await transfer(current, payload, options, maxReplyBytes, signal)
    } catch (error) {
      if (!(error instanceof WireFailure)) throw error
      throw transportFailure(current, error, signal, { requestTimeoutMs, maxReplyBytes })
    }
    return readReply(current, raw)
  }

  return {
    provider,
    postJson: (path, body, signal) => exchange('POST', path, body, {}, signal),
    getJson: (path, query, signal) => exchange('GET', path, undefined, query, signal),
  }
}
