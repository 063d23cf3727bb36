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
import type { ProxyProblem, ProxyRoute, WireReply } from './transport.js'

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
const CHECK_NETWORK = `check --endpoint and your network${FREE}`
const CHECK_UP = `check --endpoint and that the service is up${FREE}`
const CHECK_DNS = `check --endpoint and your DNS / network${FREE}`
const CHECK_TLS = `check --endpoint and the system clock and certificates${FREE}`
const MAYBE_CHARGED = 'check --endpoint (the request may have been processed and charged)'

/** A cause told by an error code along the chain: the codes, the words (`%s`: the code), retryable, hint. */
type CodeRule = readonly [codes: RegExp, text: string, retryable: boolean, hint: string]

/** A request that never went out. A reset during the TLS handshake, say, falls through. */
const NOT_SENT_RULES: readonly CodeRule[] = [
  [/^ECONNREFUSED$/, 'connection refused', true, CHECK_UP],
  [/^(ENOTFOUND|EAI_AGAIN)$/, 'host name not found', true, CHECK_DNS],
  [TLS_CODE, 'TLS failure (%s)', false, CHECK_TLS],
]

/** A reply came but could not be read: as good as one lost after sending, but not a lost connection. */
const LOST_RULES: readonly CodeRule[] = [
  [GARBLED_CODE, 'a reply that is not valid HTTP (%s)', true, MAYBE_CHARGED],
  [DAMAGED_CODE, 'a compressed reply that does not decompress (%s)', true, MAYBE_CHARGED],
]

/** The first rule (in order) that a code along the chain matches; else `fallback`, the first code beside it. */
function describeCodes(
  codes: readonly string[],
  rules: readonly CodeRule[],
  fallback: NetworkFailure,
): NetworkFailure {
  for (const [pattern, text, retryable, hint] of rules) {
    const code = codes.find((candidate) => pattern.test(candidate))
    if (code !== undefined) return { text: text.replace('%s', code), retryable, hint }
  }
  const detail = codes[0] === undefined ? '' : ` (${codes[0]})`
  return { ...fallback, text: `${fallback.text}${detail}` }
}

const describeNotSent = (codes: readonly string[]): NetworkFailure =>
  describeCodes(codes, NOT_SENT_RULES, {
    text: 'could not connect',
    retryable: true,
    hint: CHECK_NETWORK,
  })

// Anything else (reset, "other side closed") happened after the request went out.
const describeLost = (codes: readonly string[]): NetworkFailure =>
  describeCodes(codes, LOST_RULES, {
    text: 'connection lost before the reply',
    retryable: true,
    hint: 'the request may have been processed and charged; check your network',
  })

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

/** Why a request failed on the network, in words: the proxy, no connection in time, lost, or never sent. */
function describeNetwork(failure: WireFailure, timeoutSec: number): NetworkFailure {
  if (failure.proxy !== undefined) return describeProxy(failure.proxy, failure.codes)
  // No connection in time (a port that drops packets, a TLS handshake never answered).
  if (failure.kind === 'timeout')
    return {
      text: `could not connect within ${timeoutSec} s`,
      retryable: true,
      hint: CHECK_NETWORK,
    }
  return failure.sent ? describeLost(failure.codes) : describeNotSent(failure.codes)
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

/** What every request of one client shares: its options, its limit, how to log and redact. */
interface Client extends HttpClientOptions {
  maxReplyBytes: number
  log: (line: string) => void
  redact: (text: string) => string
}

/** One request as the steps below see it: its client, where it goes, what it sent. */
interface Exchange {
  client: Client
  method: 'POST' | 'GET'
  url: URL
  /** The URL as logs and messages show it. */
  shownUrl: string
  /** "provider: METHOD /path", the start of every message. */
  what: string
  sentBytes: number
  started: number
}

function logOutcome(exchange: Exchange, outcome: string): void {
  const elapsed = Math.round(performance.now() - exchange.started)
  exchange.client.log(
    `${exchange.method} ${exchange.shownUrl} -> ${outcome} in ${elapsed} ms (${formatBytes(exchange.sentBytes)} sent)`,
  )
}

/** The error for a request that did not complete: too large, the deadline, our timeout, or the network. */
function transportFailure(
  exchange: Exchange,
  failure: WireFailure,
  signal: AbortSignal | undefined,
): Error {
  const { what } = exchange
  const { maxReplyBytes } = exchange.client
  const cause = failure.cause
  if (failure.kind === 'too_large') {
    logOutcome(exchange, `reply over ${formatBytes(maxReplyBytes)}, not read`)
    return new ProviderError(
      'provider',
      `${what}: the reply is larger than ${formatBytes(maxReplyBytes)}; rc2 stopped reading it`,
      {
        hint: 'a real reply is a few hundred bytes: check --endpoint (the request may have been processed and charged)',
        retryable: false,
        mayHaveCharged: true,
      },
    )
  }
  if (failure.kind === 'aborted' && signal?.aborted === true) {
    logOutcome(exchange, 'aborted (deadline)')
    return deadlineError(signal, what, failure.sent)
  }
  const seconds = exchange.client.requestTimeoutMs / 1000
  if (failure.kind === 'timeout' && failure.sent) {
    logOutcome(exchange, 'timed out')
    return new ProviderError('timeout', `${what}: no reply within ${seconds} s`, {
      hint: 'the service is slow; try again later (the request may have been processed and charged)',
      retryable: true,
      mayHaveCharged: true,
      cause,
    })
  }
  const { text, retryable, hint } = describeNetwork(failure, seconds)
  logOutcome(exchange, failure.kind === 'timeout' ? 'timed out connecting' : `failed (${text})`)
  return new ProviderError(
    'network',
    exchange.client.redact(`${what}: ${text} at ${exchange.shownUrl}`),
    {
      hint,
      retryable,
      mayHaveCharged: failure.sent,
      cause,
    },
  )
}

/** A redirect is never followed: the error it means. */
function redirectError(exchange: Exchange, reply: WireReply): ProviderError {
  const target = describeRedirect(reply.header('location'), exchange.url)
  logOutcome(exchange, `${reply.status} redirect to ${target} (not followed)`)
  return new ProviderError(
    'provider',
    exchange.client.redact(
      `${exchange.what}: the service answered HTTP ${reply.status}, a redirect to ${target}; rc2 does not follow redirects`,
    ),
    {
      hint: 'check --endpoint: if the service has really moved and you trust the new address, give it as --endpoint',
      retryable: false,
    },
  )
}

/** The reply read as JSON; a redirect, or a body that is not JSON, as the error it means. */
function readReply(exchange: Exchange, reply: WireReply): JsonReply {
  const { status } = reply
  const { method, url } = exchange
  const { provider, redact } = exchange.client
  if (status >= 300 && status < 400) throw redirectError(exchange, reply)
  logOutcome(exchange, String(status))
  const retryAfterSec = parseRetryAfter(reply.header('retry-after'))
  const text = reply.body.toString('utf8')
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

const JSON_BODY = { 'content-type': 'application/json' }
const ACCEPT_JSON = { accept: 'application/json' }

/** Send one request and read its reply as JSON; every failure is a ProviderError worded for the user. */
async function exchange(
  client: Client,
  method: 'POST' | 'GET',
  url: URL,
  payload: string | undefined,
  signal: AbortSignal | undefined,
): Promise<JsonReply> {
  const what = `${client.provider}: ${method} ${url.pathname}`
  if (signal?.aborted === true) throw deadlineError(signal, what, false)
  const current: Exchange = {
    client,
    method,
    url,
    what,
    shownUrl: renderSafeUrl(url),
    sentBytes: payload === undefined ? 0 : Buffer.byteLength(payload),
    started: performance.now(),
  }
  let reply: WireReply
  try {
    reply = await sendRequest(url, {
      method,
      headers: { ...(payload === undefined ? {} : JSON_BODY), ...ACCEPT_JSON, ...client.headers },
      body: payload,
      signal,
      timeoutMs: client.requestTimeoutMs,
      maxBytes: client.maxReplyBytes,
      proxy: client.proxy,
    })
  } catch (error) {
    if (!(error instanceof WireFailure)) throw error
    throw transportFailure(current, error, signal)
  }
  return readReply(current, reply)
}

export function createHttpClient(options: HttpClientOptions): HttpClient {
  const secrets = options.secrets ?? []
  const redact = (text: string): string => redactSecrets(text, secrets)
  const client: Client = {
    ...options,
    maxReplyBytes: options.maxReplyBytes ?? MAX_REPLY_BYTES,
    redact,
    log: (line) => options.log?.(redact(line)),
  }
  const urlOf = (path: string): URL => new URL(path.replace(/^\//, ''), options.baseUrl)
  return {
    provider: options.provider,
    postJson: (path, body, signal) =>
      exchange(client, 'POST', urlOf(path), JSON.stringify(body), signal),
    getJson: (path, query, signal) => {
      const url = urlOf(path)
      for (const [name, value] of Object.entries(query)) url.searchParams.set(name, value)
      return exchange(client, 'GET', url, undefined, signal)
    },
  }
}
