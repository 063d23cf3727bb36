/**
 * https on node:https against loopback servers: the certificate is checked, and a connection that
 * fails before the request could leave (a TLS failure, a reset or silence during the handshake)
 * is a network error with nothing charged. The certificate is made with openssl at test time.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { createServer as createNetServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHttpClient, resolveEndpoint } from '../../src/providers/http.js'
import { catchError, KEY } from './support.js'

let dir: string
let key: Buffer
let cert: Buffer
const servers: Server[] = []
const sockets = new Set<Socket>()

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rc2-tls-'))
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ],
    { stdio: 'ignore' },
  )
  key = readFileSync(join(dir, 'key.pem'))
  cert = readFileSync(join(dir, 'cert.pem'))
})
afterAll(async () => {
  for (const socket of sockets) socket.destroy()
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  rmSync(dir, { recursive: true, force: true })
})

async function listen(server: Server): Promise<string> {
  servers.push(server)
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function post(endpoint: string, requestTimeoutMs = 10_000, signal?: AbortSignal) {
  const logs: string[] = []
  const client = createHttpClient({
    provider: 'capsolver',
    baseUrl: resolveEndpoint(endpoint, 'capsolver'),
    requestTimeoutMs,
    secrets: [KEY],
    log: (line) => logs.push(line),
  })
  return { logs, call: () => client.postJson('/createTask', { clientKey: KEY }, signal) }
}

describe('https', () => {
  it('refuses a self-signed certificate: a TLS network error, nothing sent, nothing charged', async () => {
    let requests = 0
    const endpoint = await listen(
      createHttpsServer({ key, cert }, (_req, res) => {
        requests++
        res.end('{"errorId":0,"taskId":"t"}')
      }),
    )
    const error = await catchError(post(endpoint).call)
    expect(error).toMatchObject({ kind: 'network', mayHaveCharged: false })
    expect(error.message).toContain('TLS failure (DEPTH_ZERO_SELF_SIGNED_CERT)')
    expect(error.hint).toContain('nothing was charged')
    expect(requests).toBe(0)
  })

  it('reports https spoken to a plain-http port as a TLS failure, not a reply lost after sending', async () => {
    let requests = 0
    const endpoint = await listen(
      createHttpServer((_req, res) => {
        requests++
        res.end('{}')
      }),
    )
    const error = await catchError(post(endpoint).call)
    expect(error).toMatchObject({ kind: 'network', mayHaveCharged: false, retryable: false })
    expect(error.message).toMatch(/TLS failure \((EPROTO|ERR_SSL_[A-Z_]+)\)/)
    expect(requests).toBe(0)
  })

  it('reports a connection closed during the TLS handshake as not sent', async () => {
    const endpoint = await listen(
      createNetServer((socket) => {
        socket.on('error', () => undefined)
        socket.once('data', () => socket.destroy())
      }),
    )
    const error = await catchError(post(endpoint).call)
    expect(error).toMatchObject({ kind: 'network', mayHaveCharged: false, retryable: true })
    expect(error.message).toContain('could not connect (ECONNRESET)')
    expect(error.hint).toContain('nothing was charged')
  })

  it('reports a TLS handshake never answered as a connection that timed out, nothing charged', async () => {
    // Accepts the connection and reads the ClientHello, then says nothing.
    const endpoint = await listen(
      createNetServer((socket) => socket.on('error', () => undefined).resume()),
    )
    const { call, logs } = post(endpoint, 1500)
    const started = Date.now()
    const error = await catchError(call)
    expect(Date.now() - started).toBeLessThan(8000)
    expect(error).toMatchObject({ kind: 'network', mayHaveCharged: false, retryable: true })
    expect(error.message).toMatch(
      /could not connect within 1\.5 s at https:\/\/127\.0\.0\.1:\d+\/createTask/,
    )
    expect(logs.join('\n')).toContain('timed out connecting')
  })

  it('an overall deadline reached during the TLS handshake: nothing charged', async () => {
    const endpoint = await listen(
      createNetServer((socket) => socket.on('error', () => undefined).resume()),
    )
    const started = Date.now()
    const error = await catchError(post(endpoint, 30_000, AbortSignal.timeout(1000)).call)
    expect(Date.now() - started).toBeLessThan(8000)
    expect(error).toMatchObject({ kind: 'timeout', mayHaveCharged: false })
    expect(error.message).toContain('the overall deadline was reached')
  })
})
