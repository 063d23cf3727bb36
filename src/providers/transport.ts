/**
 * The one wire under every request rc2 makes (service calls and images fetched by URL): undici's
 * dispatcher (keep-alive pools, HTTP/1.1 parser, proxies), a deadline over the whole exchange, the
 * reply read capped after decompression, no redirect followed, and every failure typed by what it
 * means to the caller: not sent (cannot have been charged), lost after sending, timed out, too
 * large, aborted by the caller. The request is counted as sent once undici starts writing it on a
 * connected socket (for https, after the handshake; through a proxy, after the tunnel is open).
 */
import type { Transform } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'
import { Agent, EnvHttpProxyAgent, errors, Pool } from 'undici'
import type { Dispatcher } from 'undici'
import { linkDeadline } from './deadline.js'
import { renderProxy } from './redact.js'

// Idle sockets are dropped after 4 s, before a server's usual 5 s keep-alive closes them under a
// request being written (which would look like a reply lost after sending).
const IDLE_SOCKET_MS = 4_000
// A service behind Cloudflare's Browser Integrity Check (on by default) challenges a request
// without a user-agent instead of answering it; undici sends none of its own.
const USER_AGENT = 'rc2'

/** Where requests go: a proxy per scheme and the hosts that bypass it (curl's NO_PROXY rules). */
export interface ProxyRoute {
  httpProxy?: string | undefined
  httpsProxy?: string | undefined
  noProxy?: string | undefined
}

export interface WireRequest {
  method: 'POST' | 'GET'
  headers: Record<string, string>
  body?: string | undefined
  /** The caller's signal (an interrupt, an overall deadline): a failure of kind 'aborted'. */
  signal?: AbortSignal | undefined
  /** This request's own deadline over the whole exchange: a failure of kind 'timeout'. */
  timeoutMs?: number | undefined
  /** Largest body read, after decompression. */
  maxBytes: number
  proxy?: ProxyRoute | undefined
}

export interface WireReply {
  status: number
  /** The reason phrase ("Not Found"), as the server sent it. */
  statusText: string
  header: (name: string) => string | null
  /** Empty for a redirect (its body is not read). */
  body: Buffer
}

/**
 * not_sent: the connection failed before the request could be written (nothing charged).
 * lost: the request was written and no complete reply came (it may have been charged).
 * timeout: `timeoutMs` passed (`sent` says which side of the line). too_large: the reply passed
 * `maxBytes`. aborted: the caller's signal (its reason is `cause`).
 */
export type WireFailureKind = 'not_sent' | 'lost' | 'timeout' | 'too_large' | 'aborted'

export class WireFailure extends Error {
  constructor(
    readonly kind: WireFailureKind,
    /** Whether the request had started to go out (see the file comment). */
    readonly sent: boolean,
    /** Every error code along the cause chain, outermost first. */
    readonly codes: readonly string[],
    /** Set when the proxy, not the service, failed: the proxy as it may be shown. */
    readonly proxy?: ProxyProblem | undefined,
    options?: { cause?: unknown },
  ) {
    super(`request failed (${kind})`, options)
  }
}

/** A proxy that could not be reached (`status` undefined) or refused to open a tunnel (`status`). */
export interface ProxyProblem {
  shown: string
  status?: number | undefined
}

/** Send `request` to `url` and read the reply whole; every failure is a WireFailure. */
export async function sendRequest(url: URL, request: WireRequest): Promise<WireReply> {
  const deadline = linkDeadline(request.signal, request.timeoutMs, 'request timeout')
  const progress = { sent: false }
  try {
    return await deadline.race(dispatch(url, request, deadline.signal, progress))
  } catch (error) {
    throw classify(error, progress.sent, deadline.timedOut(), request.signal)
  } finally {
    deadline.dispose()
  }
}

class ReplyTooLarge extends Error {}

function classify(
  error: unknown,
  sent: boolean,
  timedOut: boolean,
  signal: AbortSignal | undefined,
): WireFailure {
  if (error instanceof WireFailure) return error
  const codes = collectErrorCodes(error)
  const proxy = findProxyProblem(error)
  // llhttp's errors carry a code when it names one; a reply that is not HTTP at all has none.
  if (error instanceof errors.HTTPParserError && !codes.some((code) => code.startsWith('HPE_')))
    codes.push('HPE_INVALID')
  if (error instanceof ReplyTooLarge)
    return new WireFailure('too_large', true, codes, undefined, { cause: error })
  if (timedOut) return new WireFailure('timeout', sent, codes, proxy, { cause: error })
  if (signal?.aborted === true)
    return new WireFailure('aborted', sent, codes, undefined, { cause: signal.reason })
  return new WireFailure(sent ? 'lost' : 'not_sent', sent, codes, proxy, { cause: error })
}

/** Every `code` found along the cause chain (AggregateError, from trying each address of a host, lists them). */
function collectErrorCodes(error: unknown, seen = new Set<unknown>()): string[] {
  if (typeof error !== 'object' || error === null || seen.has(error)) return []
  seen.add(error)
  const codes: string[] = []
  const record = error as { code?: unknown; cause?: unknown; errors?: unknown }
  if (typeof record.code === 'string') codes.push(record.code)
  codes.push(...collectErrorCodes(record.cause, seen))
  if (Array.isArray(record.errors))
    for (const inner of record.errors) codes.push(...collectErrorCodes(inner, seen))
  return codes
}

function dispatch(
  url: URL,
  request: WireRequest,
  signal: AbortSignal,
  progress: { sent: boolean },
): Promise<WireReply> {
  return new Promise<WireReply>((resolve, reject) => {
    const reading = new ReplyReader(request.maxBytes, signal, progress, resolve, reject)
    dispatcherFor(request.proxy).dispatch(
      {
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: request.method,
        headers: {
          'user-agent': USER_AGENT,
          ...request.headers,
          ...(request.body === undefined
            ? {}
            : { 'content-length': String(Buffer.byteLength(request.body)) }),
        },
        body: request.body ?? null,
        // The deadline covers the whole exchange; undici's own idle timers only back it up.
        headersTimeout: request.timeoutMs ?? 0,
        bodyTimeout: request.timeoutMs ?? 0,
      },
      reading,
    )
  })
}

type Controller = Dispatcher.DispatchController

/** undici's handler for one exchange: headers, then the body counted (after decompression) as it comes. */
class ReplyReader implements Dispatcher.DispatchHandler {
  private chunks: Buffer[] = []
  private total = 0
  private head: Omit<WireReply, 'body'> | undefined
  private inflate: Transform | undefined
  private settled = false

  constructor(
    private readonly maxBytes: number,
    private readonly signal: AbortSignal,
    private readonly progress: { sent: boolean },
    private readonly resolve: (reply: WireReply) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  onRequestStart(controller: Controller): void {
    // An abort before the socket was ready ends the request here, before a byte is written.
    if (this.signal.aborted) {
      controller.abort(this.signal.reason)
      return
    }
    if (this.progress.sent) return
    this.progress.sent = true
    this.signal.addEventListener('abort', () => this.stop(controller, this.signal.reason), {
      once: true,
    })
  }

  onResponseStart(
    controller: Controller,
    status: number,
    headers: Record<string, string | string[] | undefined>,
    statusText: string,
  ): void {
    // An informational 1xx comes before the real reply.
    if (status < 200) return
    const header = (name: string): string | null => {
      const value = headers[name]
      if (value === undefined) return null
      return Array.isArray(value) ? value.join(', ') : value
    }
    this.head = { status, statusText, header }
    if (status >= 300 && status < 400) {
      // A redirect is never followed and its body never read.
      this.finish(undefined, { ...this.head, body: Buffer.alloc(0) })
      controller.abort(new Error('redirect not read'))
      return
    }
    const encoding = (header('content-encoding') ?? '').trim().toLowerCase()
    const declared = Number(header('content-length') ?? '')
    if (encoding === '' && Number.isFinite(declared) && declared > this.maxBytes) {
      this.stop(controller, new ReplyTooLarge())
      return
    }
    this.inflate = inflaterFor(encoding)
    this.inflate?.on('data', (chunk: Buffer) => this.take(controller, chunk))
    this.inflate?.on('error', (error) => this.stop(controller, error))
    this.inflate?.on('end', () => this.complete())
  }

  onResponseData(controller: Controller, chunk: Buffer): void {
    if (this.settled) return
    if (this.inflate === undefined) this.take(controller, chunk)
    else this.inflate.write(chunk)
  }

  onResponseEnd(): void {
    if (this.inflate === undefined) this.complete()
    else this.inflate.end()
  }

  onResponseError(_controller: Controller, error: Error): void {
    this.finish(error)
  }

  private take(controller: Controller, chunk: Buffer): void {
    if (this.settled) return
    this.total += chunk.length
    if (this.total > this.maxBytes) this.stop(controller, new ReplyTooLarge())
    else this.chunks.push(chunk)
  }

  private complete(): void {
    if (this.head === undefined) return
    const body =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.total)
    this.finish(undefined, { ...this.head, body })
  }

  /** Fail with `error` and close the connection (the rest of the reply is not read). */
  private stop(controller: Controller, error: unknown): void {
    this.finish(error)
    controller.abort(error as Error)
  }

  private finish(error: unknown, reply?: WireReply): void {
    if (this.settled) return
    this.settled = true
    this.chunks = []
    this.inflate?.destroy()
    if (error === undefined) this.resolve(reply as WireReply)
    else this.reject(error)
  }
}

/** An inflater for the encodings fetch would inflate; none for a body sent as it is. */
function inflaterFor(encoding: string): Transform | undefined {
  if (encoding === 'gzip' || encoding === 'x-gzip') return createGunzip()
  if (encoding === 'deflate') return createInflate()
  if (encoding === 'br') return createBrotliDecompress()
  return undefined
}

const dispatchers = new Map<string, Dispatcher>()

const AGENT_OPTIONS = {
  keepAliveTimeout: IDLE_SOCKET_MS,
  keepAliveMaxTimeout: IDLE_SOCKET_MS,
} as const

/** One dispatcher per route, kept for the process: direct, or through the route's proxies. */
function dispatcherFor(route: ProxyRoute | undefined): Dispatcher {
  const proxied = route?.httpProxy !== undefined || route?.httpsProxy !== undefined
  const key = proxied ? JSON.stringify([route?.httpProxy, route?.httpsProxy, route?.noProxy]) : ''
  let dispatcher = dispatchers.get(key)
  if (dispatcher === undefined) {
    dispatcher = proxied
      ? new EnvHttpProxyAgent({
          ...AGENT_OPTIONS,
          // Given explicitly, so undici reads nothing from process.env itself.
          httpProxy: route?.httpProxy ?? '',
          httpsProxy: route?.httpsProxy ?? '',
          noProxy: route?.noProxy ?? '',
          clientFactory: proxyClient,
        })
      : new Agent(AGENT_OPTIONS)
    dispatchers.set(key, dispatcher)
  }
  return dispatcher
}

/** Proxy failures, by the error undici passes on, so that a message can name the proxy. */
const proxyProblems = new WeakMap<object, ProxyProblem>()

class ProxyRefused extends Error {
  constructor(readonly status: number) {
    super(`the proxy answered HTTP ${status} to CONNECT`)
  }
}

function findProxyProblem(error: unknown): ProxyProblem | undefined {
  return typeof error === 'object' && error !== null ? proxyProblems.get(error) : undefined
}

/**
 * The connection to a proxy (undici's `clientFactory`, a Pool as by default): its CONNECT
 * refusals (407, 403, 502) become a typed error carrying the status, and every failure of it is
 * remembered as the proxy's.
 */
function proxyClient(origin: URL, options: object): Dispatcher {
  const shown = renderProxy(origin)
  const pool = new Pool(origin, options)
  const connect = pool.connect.bind(pool) as (
    params: Dispatcher.ConnectOptions,
  ) => Promise<Dispatcher.ConnectData>
  const tunnel = async (params: Dispatcher.ConnectOptions): Promise<Dispatcher.ConnectData> => {
    let reply: Dispatcher.ConnectData
    try {
      reply = await connect(params)
    } catch (error) {
      if (typeof error === 'object' && error !== null) proxyProblems.set(error, { shown })
      throw error
    }
    if (reply.statusCode !== 200) {
      reply.socket.destroy()
      const refused = new ProxyRefused(reply.statusCode)
      proxyProblems.set(refused, { shown, status: reply.statusCode })
      throw refused
    }
    return reply
  }
  return Object.assign(pool, { connect: tunnel })
}
