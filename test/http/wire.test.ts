/**
 * The one wire (sendRequest) on its own, against loopback servers: each way a request can fail
 * comes back as the WireFailure kind the callers rely on (not sent means nothing can have been
 * charged), and the deadline helper it is built on.
 */
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { linkDeadline } from '../../src/providers/deadline.js'
import { sendRequest, WireFailure } from '../../src/providers/transport.js'
import type { WireRequest } from '../../src/providers/transport.js'
import { json, startHostileServer } from '../helpers/hostile-server.js'
import type { HostileServer } from '../helpers/hostile-server.js'

let hostile: HostileServer
const raw: Server[] = []
const sockets = new Set<Socket>()
beforeAll(async () => {
  hostile = await startHostileServer()
})
afterAll(async () => {
  await hostile.close()
  for (const socket of sockets) socket.destroy()
  await Promise.all(raw.map((server) => new Promise((resolve) => server.close(resolve))))
})

/** A TCP server that does `onSocket` with every connection. */
async function rawServer(onSocket: (socket: Socket) => void): Promise<string> {
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on('error', () => undefined)
    onSocket(socket)
  })
  raw.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

const GET: WireRequest = { method: 'GET', headers: {}, maxBytes: 1000, timeoutMs: 10_000 }

async function failure(url: string, request: Partial<WireRequest> = {}): Promise<WireFailure> {
  try {
    await sendRequest(new URL(url), { ...GET, ...request })
  } catch (error) {
    expect(error).toBeInstanceOf(WireFailure)
    return error as WireFailure
  }
  throw new Error('expected a failure')
}

describe('sendRequest', () => {
  it('reads a reply whole, status and headers included', async () => {
    hostile.setHandler(json(201, { ok: true }))
    const reply = await sendRequest(new URL(`${hostile.url}/x?y=1`), GET)
    expect(reply.status).toBe(201)
    expect(reply.header('content-type')).toBe('application/json')
    expect(JSON.parse(reply.body.toString('utf8'))).toEqual({ ok: true })
    expect(hostile.requests.at(-1)?.url).toBe('/x?y=1')
  })

  it('a refused connection is not_sent', async () => {
    const closed = await rawServer(() => undefined)
    raw.at(-1)?.close()
    await new Promise((resolve) => setTimeout(resolve, 50))
    const error = await failure(`http://${closed}/`)
    expect(error).toMatchObject({ kind: 'not_sent', sent: false })
    expect(error.codes).toContain('ECONNREFUSED')
  })

  it('a connection closed after the request was written is lost (sent)', async () => {
    const host = await rawServer((socket) => socket.once('data', () => socket.destroy()))
    const error = await failure(`http://${host}/`)
    expect(error).toMatchObject({ kind: 'lost', sent: true })
  })

  it('silence after the request is a timeout that was sent; silence in a TLS handshake one that was not', async () => {
    const host = await rawServer((socket) => socket.resume())
    expect(await failure(`http://${host}/`, { timeoutMs: 500 })).toMatchObject({
      kind: 'timeout',
      sent: true,
    })
    expect(await failure(`https://${host}/`, { timeoutMs: 500 })).toMatchObject({
      kind: 'timeout',
      sent: false,
    })
  })

  it('a body past maxBytes is too_large', async () => {
    hostile.setHandler(json(200, { padding: 'a'.repeat(5000) }))
    expect(await failure(`${hostile.url}/`)).toMatchObject({ kind: 'too_large' })
  })

  it("the caller's signal is aborted, its reason kept as the cause", async () => {
    const host = await rawServer((socket) => socket.resume())
    const controller = new AbortController()
    const reason = new Error('interrupted')
    setTimeout(() => controller.abort(reason), 300)
    const error = await failure(`http://${host}/`, { signal: controller.signal })
    expect(error).toMatchObject({ kind: 'aborted', sent: true })
    expect(error.cause).toBe(reason)
  })
})

describe('linkDeadline', () => {
  it('aborts with a TimeoutError when its time passes, and says so', async () => {
    const deadline = linkDeadline(undefined, 50, 'the test deadline')
    await expect(deadline.race(new Promise(() => undefined))).rejects.toMatchObject({
      name: 'TimeoutError',
      message: 'the test deadline',
    })
    expect(deadline.timedOut()).toBe(true)
    deadline.dispose()
  })

  it("aborts with the outer signal's reason, already aborted or later, and stops listening once disposed", async () => {
    const outer = new AbortController()
    const reason = new Error('stop')
    const later = linkDeadline(outer.signal, 60_000)
    outer.abort(reason)
    expect(later.signal.reason).toBe(reason)
    expect(later.timedOut()).toBe(false)
    later.dispose()
    const already = linkDeadline(outer.signal)
    await expect(already.race(Promise.resolve(1))).rejects.toBe(reason)
    already.dispose()

    const other = new AbortController()
    const disposed = linkDeadline(other.signal, 60_000)
    disposed.dispose()
    other.abort(reason)
    expect(disposed.signal.aborted).toBe(false)
  })
})
