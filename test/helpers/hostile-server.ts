/**
 * A loopback HTTP server that misbehaves on purpose, for the hostile-service tests: each test sets
 * the handler (drip a body, redirect, send a decompression bomb or a huge reply, put escape
 * sequences in an error). Every request is logged with its body, so a test can assert that a
 * second server received nothing.
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'

interface HostileRequest {
  method: string
  url: string
  headers: IncomingMessage['headers']
  body: string
}

export type HostileHandler = (req: IncomingMessage, res: ServerResponse, body: string) => void

export interface HostileServer {
  url: string
  requests: HostileRequest[]
  setHandler(handler: HostileHandler): void
  /** Connections accepted so far. */
  connections(): number
  close(): Promise<void>
}

/**
 * The server always listens on 127.0.0.1 only. `urlHost` names it in `url`: `[::ffff:7f00:1]` (127.0.0.1
 * written as an IPv4-mapped IPv6 address) reaches it over loopback yet is not a name rc2 counts as
 * loopback, so tests can play "another host" without opening a port to the network.
 */
export async function startHostileServer(
  handler?: HostileHandler,
  urlHost = '127.0.0.1',
): Promise<HostileServer> {
  let current: HostileHandler = handler ?? ((_req, res) => res.writeHead(404).end())
  const requests: HostileRequest[] = []
  const sockets = new Set<Socket>()
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body })
      current(req, res, body)
    })
  })
  let accepted = 0
  server.on('connection', (socket) => {
    accepted++
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://${urlHost}:${port}`,
    requests,
    setHandler(next) {
      current = next
    },
    connections: () => accepted,
    async close() {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

/** Headers at once, then one byte of a JSON body every `everyMs` for ever (until the client leaves). */
export function drip(everyMs = 1000): HostileHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    res.write('{')
    const timer = setInterval(() => {
      if (res.destroyed || res.writableEnded) clearInterval(timer)
      else res.write(' ')
    }, everyMs)
    res.on('close', () => clearInterval(timer))
  }
}

/** `total` bytes made by `chunk` repeated, produced lazily (nothing is held in memory). */
export function* lazyBytes(total: number, chunk: Buffer): Generator<Buffer> {
  for (let sent = 0; sent < total; sent += chunk.length)
    yield chunk.subarray(0, Math.min(chunk.length, total - sent))
}

/** A gzip-encoded reply that inflates to `inflatedBytes` of spaces inside a JSON string. */
export function gzipBomb(inflatedBytes: number): HostileHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' })
    const source = Readable.from(
      (function* () {
        yield Buffer.from('{"errorId":0,"padding":"')
        yield* lazyBytes(inflatedBytes, Buffer.alloc(1 << 20, 0x20))
        yield Buffer.from('"}')
      })(),
    )
    const gzip = createGzip({ level: 9 })
    source.pipe(gzip).pipe(res)
    res.on('close', () => {
      source.destroy()
      gzip.destroy()
    })
  }
}

/** A plain reply of `bytes` of valid JSON, streamed. */
export function hugeJson(bytes: number): HostileHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' })
    const source = Readable.from(
      (function* () {
        yield Buffer.from('{"errorId":0,"taskId":"1","status":"processing","padding":"')
        yield* lazyBytes(bytes, Buffer.alloc(1 << 20, 0x61))
        yield Buffer.from('"}')
      })(),
    )
    source.pipe(res)
    res.on('close', () => source.destroy())
  }
}

/** A redirect of the given status to `location`. */
export function redirect(status: number, location: string): HostileHandler {
  return (_req, res) => {
    res.writeHead(status, { location, 'content-type': 'text/plain' })
    res.end(`moved to ${location}`)
  }
}

/** A JSON reply. */
export function json(status: number, body: unknown): HostileHandler {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
}
