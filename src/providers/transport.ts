/**
 * The wire under ky (service calls) and under images fetched by URL: one request on node:http / node:https with keep-alive, its reply read capped
 * (after decompression) and ended by the abort. Node's global fetch costs about twice the CPU per
 * call of http.request (a WHATWG Request, Response and streams per call, on top of ky's own): on a
 * batch of thousands that was most of rc2's work, more than a bare fetch loop spends in all.
 * node:http never follows a redirect and does not ask for compression.
 */
import http from 'node:http'
import type { IncomingMessage } from 'node:http'
import https from 'node:https'
import type { Readable } from 'node:stream'
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib'

// Idle sockets are dropped after 4 s, before a server's usual 5 s keep-alive closes them under a
// request being written (which would look like a reply lost after sending).
const IDLE_SOCKET_MS = 4_000
// fetch sent "user-agent: node"; node:http sends none, and a service behind Cloudflare's Browser
// Integrity Check (on by default) challenges a request without one instead of answering it.
const USER_AGENT = 'rc2'
let httpAgent: http.Agent | undefined
let httpsAgent: https.Agent | undefined

function agentFor(url: URL): http.Agent {
  if (url.protocol === 'https:')
    return (httpsAgent ??= new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }))
  return (httpAgent ??= new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }))
}

export interface WireRequest {
  method: 'POST' | 'GET'
  headers: Record<string, string>
  body?: string | undefined
  signal: AbortSignal
  /** Largest body read, after decompression. */
  maxBytes: number
  /** The caller's error for a body past `maxBytes`. */
  tooLarge: () => Error
  /**
   * Called once the connection can carry the request: connected (for https, the TLS handshake
   * done) or a kept-alive socket. Until then the request waits in Node's buffer: a failure or an
   * abort before it means nothing reached the service.
   */
  onConnected?: () => void
}

export interface WireReply {
  status: number
  /** The reason phrase ("Not Found"), as the server sent it. */
  statusText: string
  header: (name: string) => string | null
  /** Empty for a redirect (its body is not read). */
  body: Buffer
}

/** Send `request` to `url` and read the reply; rejects with the signal's reason when it aborts. */
export function sendRequest(url: URL, request: WireRequest): Promise<WireReply> {
  const { signal } = request
  if (signal.aborted) return Promise.reject(signal.reason as Error)
  return new Promise<WireReply>((resolve, reject) => {
    let settled = false
    const client = (url.protocol === 'https:' ? https : http).request(url, {
      method: request.method,
      headers: {
        'user-agent': USER_AGENT,
        ...request.headers,
        ...(request.body === undefined
          ? {}
          : { 'content-length': String(Buffer.byteLength(request.body)) }),
      },
      agent: agentFor(url),
    })
    let reading: Readable | undefined
    const finish = (error: Error | undefined, reply?: WireReply): void => {
      if (settled) return
      settled = true
      signal.removeEventListener('abort', onAbort)
      if (error === undefined) {
        resolve(reply as WireReply)
        return
      }
      reading?.destroy()
      client.destroy()
      reject(error)
    }
    const onAbort = (): void => finish(signal.reason as Error)
    signal.addEventListener('abort', onAbort, { once: true })
    client.on('error', (error) => finish(error))
    client.on('socket', (socket) => {
      if (client.reusedSocket) request.onConnected?.()
      else
        socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () =>
          request.onConnected?.(),
        )
    })
    client.on('response', (response) => {
      const header = (name: string): string | null => headerValue(response, name)
      const status = response.statusCode ?? 0
      const statusText = response.statusMessage ?? ''
      if (status >= 300 && status < 400) {
        response.destroy()
        finish(undefined, { status, statusText, header, body: Buffer.alloc(0) })
        return
      }
      const encoding = (header('content-encoding') ?? '').trim().toLowerCase()
      const declared = Number(header('content-length') ?? '')
      if (encoding === '' && Number.isFinite(declared) && declared > request.maxBytes) {
        finish(request.tooLarge())
        return
      }
      reading = decoded(response, encoding)
      readCapped(reading, request.maxBytes, request.tooLarge).then(
        (body) => finish(undefined, { status, statusText, header, body }),
        (error: Error) => finish(error),
      )
    })
    client.end(request.body)
  })
}

function headerValue(response: IncomingMessage, name: string): string | null {
  const value = response.headers[name]
  if (value === undefined) return null
  return Array.isArray(value) ? value.join(', ') : value
}

/** The body as sent, or inflated for the encodings fetch would inflate (capped by the reader). */
function decoded(response: IncomingMessage, encoding: string): Readable {
  const inflate =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? createGunzip()
      : encoding === 'deflate'
        ? createInflate()
        : encoding === 'br'
          ? createBrotliDecompress()
          : undefined
  if (inflate === undefined) return response
  response.on('error', (error) => inflate.destroy(error))
  return response.pipe(inflate)
}

/** Every chunk, refused as soon as the total passes `maxBytes` (the stream is then destroyed). */
function readCapped(stream: Readable, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let total = 0
    stream.on('data', (chunk: Buffer) => {
      total += chunk.length
      if (total > maxBytes) {
        stream.destroy()
        reject(tooLarge())
        return
      }
      chunks.push(chunk)
    })
    stream.on('end', () =>
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total)),
    )
    stream.on('error', reject)
    // A reply cut short by the server ends with 'aborted'/'close' and no 'end' on older Nodes.
    stream.on('close', () =>
      reject(Object.assign(new Error('the reply was cut off'), { code: 'ECONNRESET' })),
    )
  })
}
