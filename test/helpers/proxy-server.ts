/**
 * A real forward proxy on 127.0.0.1 (the `proxy` package: CONNECT tunnels and plain forwarding)
 * for the proxy tests, recording what it was asked; with `login`, it wants that user:password in
 * Proxy-Authorization and answers 407 otherwise.
 */
import { createServer } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { createProxy } from 'proxy'

export interface TestProxy {
  /** http://127.0.0.1:<port>, without the login. */
  url: string
  /** CONNECT targets (host:port) and forwarded URLs, in order. */
  asked: string[]
  /** The Proxy-Authorization headers received. */
  logins: (string | undefined)[]
  close(): Promise<void>
}

export async function startTestProxy(login?: {
  user: string
  password: string
}): Promise<TestProxy> {
  const asked: string[] = []
  const logins: (string | undefined)[] = []
  const sockets = new Set<Socket>()
  const server = createProxy(createServer())
  const expected =
    login === undefined
      ? undefined
      : `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}`
  server.authenticate = (req) => {
    logins.push(req.headers['proxy-authorization'])
    return expected === undefined || req.headers['proxy-authorization'] === expected
  }
  server.prependListener('connect', (req) => asked.push(req.url ?? ''))
  server.prependListener('request', (req) => asked.push(req.url ?? ''))
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    asked,
    logins,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
