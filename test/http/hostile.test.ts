/**
 * The HTTP layer against a service that misbehaves on purpose: bodies that drip, redirects to
 * another host, decompression bombs, replies too large to be an answer. Each case must end on
 * time, with a clear provider error, without following or buffering what it was sent.
 */
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createHttpClient, MAX_REPLY_BYTES, resolveEndpoint } from '../../src/providers/http.js'
import { createProvider } from '../../src/providers/index.js'
import type { ProviderName } from '../../src/providers/types.js'
import {
  drip,
  gzipBomb,
  hugeJson,
  json,
  redirect,
  startHostileServer,
} from '../helpers/hostile-server.js'
import type { HostileServer } from '../helpers/hostile-server.js'
import { catchError, gridRequest, KEY } from './support.js'

let hostile: HostileServer
let elsewhere: HostileServer
beforeAll(async () => {
  hostile = await startHostileServer()
  elsewhere = await startHostileServer(
    json(200, { errorId: 0, status: 'ready', solution: { objects: [0, 1, 2], type: 'multi' } }),
  )
})
afterAll(async () => {
  await hostile.close()
  await elsewhere.close()
})
beforeEach(() => {
  hostile.requests.length = 0
  elsewhere.requests.length = 0
})

function client(requestTimeoutMs: number, logs: string[] = []) {
  return createHttpClient({
    provider: 'yescaptcha',
    baseUrl: resolveEndpoint(hostile.url, 'yescaptcha'),
    requestTimeoutMs,
    secrets: [KEY],
    log: (line) => logs.push(line),
  })
}

function provider(name: ProviderName, logs: string[] = [], requestTimeoutMs = 10_000) {
  return createProvider(name, {
    apiKey: KEY,
    endpoint: hostile.url,
    retries: 0,
    requestTimeoutMs,
    pollIntervalMs: 10,
    log: (line) => logs.push(line),
  })
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now()
  const value = await work()
  return { value, ms: Date.now() - started }
}

describe('a body that drips a byte a second', () => {
  it('is cut by the per-request timeout although the headers came at once', async () => {
    hostile.setHandler(drip(1000))
    const logs: string[] = []
    const { value: error, ms } = await timed(() =>
      catchError(() => client(1500, logs).postJson('/createTask', { clientKey: KEY })),
    )
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, mayHaveCharged: true })
    expect(error.message).toContain('no reply within 1.5 s')
    expect(ms).toBeGreaterThanOrEqual(1400)
    expect(ms).toBeLessThan(6000)
    expect(logs.join('\n')).toContain('timed out')
  })

  it("is cut by the caller's deadline (--timeout) while the per-request timer is far away", async () => {
    hostile.setHandler(drip(1000))
    const deadline = new AbortController()
    setTimeout(() => deadline.abort(), 1500)
    const { value: error, ms } = await timed(() =>
      catchError(() => client(60_000).postJson('/createTask', { clientKey: KEY }, deadline.signal)),
    )
    expect(error).toMatchObject({ kind: 'timeout' })
    expect(error.message).toContain('overall deadline')
    expect(ms).toBeLessThan(6000)
  })

  it('holds under frequent garbage collection (the signal must stay referenced)', async () => {
    const gc = (globalThis as { gc?: () => void }).gc
    // vitest workers do not expose gc; the spawned CLI test covers --expose-gc end to end.
    const collect = gc ?? ((): void => void new Array(2e5).fill({}).map((x) => ({ ...x })))
    const churn = setInterval(collect, 100)
    try {
      hostile.setHandler(drip(1000))
      const { value: error, ms } = await timed(() =>
        catchError(() => client(1500).postJson('/createTask', { clientKey: KEY })),
      )
      expect(error.kind).toBe('timeout')
      expect(ms).toBeLessThan(6000)
    } finally {
      clearInterval(churn)
    }
  })
})

describe('redirects are never followed', () => {
  for (const status of [301, 302, 303, 307, 308]) {
    it(`a ${status} to another host is a provider error naming where it pointed; that host receives nothing`, async () => {
      hostile.setHandler(redirect(status, `${elsewhere.url}/createTask?token=abc`))
      const logs: string[] = []
      const error = await catchError(async () =>
        provider('yescaptcha', logs).recognize(await gridRequest('3x3', [0])),
      )
      expect(error).toMatchObject({ kind: 'provider', retryable: false })
      expect(error.message).toContain(`HTTP ${status}`)
      expect(error.message).toContain(`redirect to ${elsewhere.url}/createTask`)
      expect(error.message).not.toContain('token=abc')
      expect(error.hint).toContain('--endpoint')
      expect(hostile.requests).toHaveLength(1)
      expect(elsewhere.requests).toHaveLength(0)
      expect(logs.join('\n')).toContain(
        `-> ${status} redirect to ${elsewhere.url}/createTask (not followed)`,
      )
      expect(logs.join('\n')).not.toContain(KEY)
    })
  }

  it('Ace: a 307 does not carry the image or the Bearer token to the other host', async () => {
    hostile.setHandler(redirect(307, `${elsewhere.url}/captcha/recognition/recaptcha2`))
    const error = await catchError(async () =>
      provider('acedata').recognize(await gridRequest('3x3', [0])),
    )
    expect(error.kind).toBe('provider')
    expect(error.message).toContain('redirect to')
    expect(hostile.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`)
    expect(elsewhere.requests).toHaveLength(0)
  })

  it('a relative Location is shown resolved against the endpoint', async () => {
    hostile.setHandler(redirect(302, '/v2/createTask'))
    const error = await catchError(() => client(5000).postJson('/createTask', {}))
    expect(error.message).toContain(`redirect to ${hostile.url}/v2/createTask`)
  })
})

describe('replies are read up to a cap', () => {
  it(`a gzip bomb (1 GB inflated) is refused after ${MAX_REPLY_BYTES / 1048576} MB`, async () => {
    hostile.setHandler(gzipBomb(1024 * 1024 * 1024))
    const rssBefore = process.memoryUsage().rss
    let peak = rssBefore
    const probe = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20)
    try {
      const { value: error, ms } = await timed(() =>
        catchError(() => client(30_000).postJson('/createTask', {})),
      )
      expect(error).toMatchObject({ kind: 'provider', retryable: false, mayHaveCharged: true })
      expect(error.message).toContain('larger than 4.2 MB')
      expect(ms).toBeLessThan(15_000)
    } finally {
      clearInterval(probe)
    }
    expect(peak - rssBefore).toBeLessThan(150 * 1024 * 1024)
  })

  it('a 200 MB JSON reply is refused without reading it all', async () => {
    hostile.setHandler(hugeJson(200 * 1024 * 1024))
    const error = await catchError(async () =>
      provider('yescaptcha').recognize(await gridRequest('3x3', [0])),
    )
    expect(error.kind).toBe('provider')
    expect(error.message).toContain('larger than')
  })

  it('a Content-Length over the cap is refused before reading', async () => {
    hostile.setHandler((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': String(MAX_REPLY_BYTES + 1),
      })
      res.write('{')
    })
    const { value: error, ms } = await timed(() =>
      catchError(() => client(20_000).postJson('/createTask', {})),
    )
    expect(error.message).toContain('larger than')
    expect(ms).toBeLessThan(5000)
  })

  it('a reply just under the cap is still read', async () => {
    const padding = 'a'.repeat(MAX_REPLY_BYTES - 100)
    hostile.setHandler(json(200, { errorId: 0, padding }))
    const reply = await client(20_000).postJson('/createTask', {})
    // Read whole (the mark gives its full length), passed on capped.
    expect((reply.body as { padding: string }).padding).toMatch(
      new RegExp(`^a{300}…\\(cut, ${padding.length} chars\\)$`),
    )
  })
})

describe('the wire (undici)', () => {
  const answer = { errorId: 0, status: 'ready', solution: { objects: [2, 5], type: 'multi' } }

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('reads a %s-encoded reply as the JSON it inflates to', async (encoding, compress) => {
    hostile.setHandler((_req, res) => {
      res
        .writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding })
        .end(compress(JSON.stringify(answer)))
    })
    const reply = await client(10_000).postJson('/createTask', { clientKey: KEY })
    expect(reply).toMatchObject({ status: 200, body: answer })
  })

  it('sends the body with its length, the JSON headers and nothing asking for compression', async () => {
    hostile.setHandler(json(200, answer))
    await client(10_000).postJson('/createTask', {
      clientKey: KEY,
      task: { image: 'é'.repeat(10) },
    })
    const [request] = hostile.requests
    expect(request?.method).toBe('POST')
    expect(JSON.parse(request?.body ?? '')).toEqual({
      clientKey: KEY,
      task: { image: 'é'.repeat(10) },
    })
    expect(request?.headers['content-length']).toBe(String(Buffer.byteLength(request?.body ?? '')))
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'application/json',
    })
    expect(request?.headers['accept-encoding']).toBeUndefined()
  })

  it('names itself in a user-agent header, as fetch did (Cloudflare challenges a request without one)', async () => {
    hostile.setHandler(json(200, answer))
    await client(10_000).postJson('/createTask', {})
    await client(10_000).getJson('/res.php', { action: 'get' })
    expect(hostile.requests.map((request) => request.headers['user-agent'])).toEqual(['rc2', 'rc2'])
  })

  it('a status outside 200-599 is a reply like any other, not a crash', async () => {
    hostile.setHandler((_req, res) => {
      res
        .writeHead(999, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errorId: 1, errorCode: 'ERROR_ODD' }))
    })
    const reply = await client(10_000).postJson('/createTask', {})
    expect(reply).toMatchObject({ status: 999, body: { errorId: 1, errorCode: 'ERROR_ODD' } })
  })

  it('a reply cut off mid-body is a lost reply (may have been charged), not a hang', async () => {
    hostile.setHandler((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' })
      res.write('{"errorId":0,')
      setTimeout(() => req.socket.destroy(), 50)
    })
    const { value: error, ms } = await timed(() =>
      catchError(() => client(20_000).postJson('/createTask', {})),
    )
    expect(error).toMatchObject({ kind: 'network', retryable: true, mayHaveCharged: true })
    expect(ms).toBeLessThan(5000)
  })

  it.each([
    ['gzip', 'Z_DATA_ERROR'],
    ['br', 'ERR_'],
  ] as const)(
    'a reply marked %s that is not compressed is a clear error naming it, not a lost connection',
    async (encoding, code) => {
      hostile.setHandler((_req, res) => {
        res
          .writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding })
          .end(JSON.stringify(answer))
      })
      const error = await catchError(() => client(10_000).postJson('/createTask', {}))
      expect(error).toMatchObject({ kind: 'network', retryable: true, mayHaveCharged: true })
      expect(error.message).toContain(`a compressed reply that does not decompress (${code}`)
      expect(error.message).not.toContain('connection lost')
    },
  )

  it.each([
    ['a reply that is not HTTP at all', 'HELLO THERE\r\n\r\n', 'HPE_'],
    [
      'headers over 16 kB',
      `HTTP/1.1 200 OK\r\nx-pad: ${'a'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\n{}`,
      'UND_ERR_HEADERS_OVERFLOW',
    ],
    [
      'both content-length and chunked',
      'HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n',
      'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    ],
  ])(
    '%s is a reply that is not valid HTTP (may have been charged), not a lost connection',
    async (_label, raw, code) => {
      hostile.setHandler((req) => req.socket.end(raw))
      const error = await catchError(() => client(10_000).postJson('/createTask', {}))
      expect(error).toMatchObject({ kind: 'network', retryable: true, mayHaveCharged: true })
      expect(error.message).toContain(`a reply that is not valid HTTP (${code}`)
      expect(error.message).not.toContain('connection lost')
    },
  )

  it('a gzip reply that drips is cut by the per-request timeout while inflating, and its connection closed', async () => {
    const compressed = gzipSync(JSON.stringify({ ...answer, padding: 'x'.repeat(10_000) }))
    let closed = false
    hostile.setHandler((_req, res) => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-encoding': 'gzip',
        'content-length': String(compressed.length),
      })
      let at = 0
      const timer = setInterval(() => res.write(compressed.subarray(at, ++at)), 200)
      res.on('close', () => {
        clearInterval(timer)
        closed = true
      })
    })
    const { value: error, ms } = await timed(() =>
      catchError(() => client(1500).postJson('/createTask', {})),
    )
    expect(error).toMatchObject({ kind: 'timeout', mayHaveCharged: true })
    expect(ms).toBeLessThan(6000)
    await expect.poll(() => closed, { timeout: 5000 }).toBe(true)
  })

  it('reuses its connection for the next request (keep-alive)', async () => {
    hostile.setHandler(json(200, answer))
    const before = hostile.connections()
    const c = client(10_000)
    for (let k = 0; k < 5; k++) await c.postJson('/createTask', {})
    expect(hostile.requests).toHaveLength(5)
    // One new connection at most (an idle one from an earlier test may be reused).
    expect(hostile.connections() - before).toBeLessThanOrEqual(1)
  })
})
