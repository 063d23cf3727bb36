import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { InterruptedError } from '../../src/errors.js'
import { createHttpClient, resolveEndpoint } from '../../src/providers/http.js'
import { createProvider } from '../../src/providers/index.js'
import { catchError, connect, gridRequest, KEY, testAccount, useProviderServer } from './support.js'

const server = useProviderServer()

/** A port that was just free: listen, note the port, close. */
async function findClosedPort(): Promise<number> {
  const probe = createServer()
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
  const { port } = probe.address() as AddressInfo
  await new Promise<void>((resolve) => probe.close(() => resolve()))
  return port
}

const GATEWAY_429 = { status: 429, text: '<html>429 Too Many Requests</html>' }

describe('retries', () => {
  it('retries a 429 after its Retry-After seconds, then succeeds', async () => {
    server.pushReply(
      { ...GATEWAY_429, headers: { 'retry-after': '3' } },
      { ...GATEWAY_429, headers: { 'retry-after': '1' } },
    )
    const { provider, sleeps, logs } = connect(server, 'yescaptcha')
    const result = await provider.recognize(await gridRequest('3x3', [4]))
    expect(result).toMatchObject({ objects: [4], paidCalls: 1 })
    expect(server.createCount).toBe(3)
    expect(sleeps).toEqual([3000, 1000])
    expect(logs.filter((line) => line.includes('retry'))).toHaveLength(2)
  })

  it("tells the request's account of a 429 (over the provider-wide onPushBack) before retrying", async () => {
    server.pushReply({ ...GATEWAY_429, headers: { 'retry-after': '2' } })
    const wide: unknown[] = []
    const { account, log } = testAccount()
    const { provider } = connect(server, 'yescaptcha', { onPushBack: (...args) => wide.push(args) })
    const result = await provider.recognize({ ...(await gridRequest('3x3', [4])), account })
    expect(result).toMatchObject({ objects: [4] })
    expect(log.pushedBack).toEqual([{ retryAfterSec: 2, tooManyInFlight: false }])
    expect(wide).toEqual([])
    server.pushReply({ ...GATEWAY_429, headers: { 'retry-after': '1' } })
    await provider.recognize(await gridRequest('3x3', [4]))
    expect(wide).toEqual([[1, false]])
  })

  it('honours Retry-After given as an HTTP date', async () => {
    const date = new Date(Date.now() + 4000).toUTCString()
    server.pushReply({ ...GATEWAY_429, headers: { 'retry-after': date } })
    const { provider, sleeps } = connect(server, 'yescaptcha')
    await provider.recognize(await gridRequest('3x3', [4]))
    expect(sleeps).toHaveLength(1)
    expect(sleeps[0]).toBeGreaterThanOrEqual(2000)
    expect(sleeps[0]).toBeLessThanOrEqual(5000)
  })

  it('backs off with full jitter when there is no Retry-After (500 then 503 then success)', async () => {
    server.pushReply(
      { status: 500, text: 'Internal Server Error' },
      { status: 503, text: 'Service Unavailable' },
    )
    const { provider, sleeps } = connect(server, 'yescaptcha', {
      retry: {
        random: () => 0.5,
        sleep: async (ms) => void sleepsOut.push(ms),
        baseDelayMs: 400,
        maxDelayMs: 500,
      },
    })
    const sleepsOut: number[] = []
    const result = await provider.recognize(await gridRequest('3x3', [0]))
    expect(result.objects).toEqual([0])
    expect(server.createCount).toBe(3)
    // 0.5 * min(500, 400 * 2^0) = 200, then 0.5 * min(500, 800) = 250
    expect(sleepsOut).toEqual([200, 250])
    expect(sleeps).toEqual([])
  })

  it('gives up after `retries` retries with the last error kind', async () => {
    server.setReply(GATEWAY_429)
    const { provider } = connect(server, 'yescaptcha', { retries: 2 })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [0])))
    expect(error).toMatchObject({ kind: 'rate_limit', retryable: true, mayHaveCharged: false })
    expect(error.message).toBe('yescaptcha: HTTP 429: too many requests')
    expect(server.createCount).toBe(3)
  })

  it('does not retry a 5xx when retries is 0', async () => {
    server.setReply({ status: 502, text: 'Bad Gateway' })
    const { provider } = connect(server, 'yescaptcha', { retries: 0 })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [0])))
    expect(error).toMatchObject({ kind: 'provider', retryable: true })
    expect(error.message).toContain('HTTP 502')
    expect(server.createCount).toBe(1)
  })

  it('does not wait for a Retry-After longer than a minute', async () => {
    server.setReply({ ...GATEWAY_429, headers: { 'retry-after': '3600' } })
    const { provider, sleeps } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [0])))
    expect(error).toMatchObject({ kind: 'rate_limit', retryAfterSec: 3600 })
    expect(error.message).toContain(
      'the service asked to wait 3600 s before retrying, more than the 60 s rc2 waits',
    )
    expect(error.hint).toBe('try again in 3600 s')
    expect(sleeps).toEqual([])
    expect(server.createCount).toBe(1)
  })
})

describe('paid calls', () => {
  it('counts a reply lost after the work was done as possibly paid', async () => {
    server.pushReply({ fault: 'resetAfterWork' })
    const { provider } = connect(server, 'yescaptcha')
    const result = await provider.recognize(await gridRequest('3x3', [5]))
    expect(result).toMatchObject({ objects: [5], paidCalls: 2 })
    expect(server.paidCount).toBe(2)
  })

  it('counts a reset before the work too: the client cannot tell the two apart', async () => {
    server.pushReply({ fault: 'resetBeforeWork' })
    const { provider } = connect(server, 'yescaptcha')
    const result = await provider.recognize(await gridRequest('3x3', [5]))
    expect(result.paidCalls).toBe(2)
    expect(server.paidCount).toBe(1)
  })

  it('does not count 429 and 5xx error replies', async () => {
    server.pushReply(GATEWAY_429, { status: 503, text: 'down' })
    const { provider } = connect(server, 'yescaptcha')
    expect((await provider.recognize(await gridRequest('3x3', [5]))).paidCalls).toBe(1)
  })

  it('marks the final error as possibly charged when an earlier reply was lost', async () => {
    server.pushReply({ fault: 'resetAfterWork' }, GATEWAY_429, GATEWAY_429)
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [5])))
    expect(error).toMatchObject({ kind: 'rate_limit', mayHaveCharged: true })
    expect(error.message).toContain('an earlier attempt may have been charged')
  })
})

describe('timeouts and deadlines', () => {
  it('turns a reply slower than the request timeout into a retryable timeout', async () => {
    server.pushReply({ delayMs: 3000, json: {} })
    const { provider } = connect(server, 'yescaptcha', { requestTimeoutMs: 500, retries: 0 })
    const request = await gridRequest('3x3', [1])
    const started = Date.now()
    const error = await catchError(() => provider.recognize(request))
    expect(error).toMatchObject({ kind: 'timeout', retryable: true, mayHaveCharged: true })
    expect(error.message).toBe('yescaptcha: POST /yescaptcha/createTask: no reply within 0.5 s')
    expect(Date.now() - started).toBeLessThan(2500)
  })

  it('retries after a request timeout and counts the lost reply', async () => {
    server.pushReply({ delayMs: 3000, json: {} })
    const { provider } = connect(server, 'yescaptcha', { requestTimeoutMs: 800 })
    const result = await provider.recognize(await gridRequest('3x3', [1]))
    expect(result).toMatchObject({ objects: [1], paidCalls: 2 })
  })

  it('stops polling when the overall deadline passes', async () => {
    server.setAsync(10_000)
    const { provider, logs } = connect(server, 'yescaptcha', { pollIntervalMs: 20, retry: {} })
    const request = await gridRequest('3x3', [1])
    const started = Date.now()
    const error = await catchError(() =>
      provider.recognize({ ...request, signal: AbortSignal.timeout(600) }),
    )
    expect(error).toMatchObject({ kind: 'timeout', retryable: false, mayHaveCharged: true })
    expect(error.message).toContain('overall deadline')
    expect(Date.now() - started).toBeLessThan(2000)
    // Polling ran and then stopped: at most one poll per 20 ms interval fits in 600 ms.
    const polls = logs.filter((line) => line.includes('/getTaskResult')).length
    expect(polls).toBeGreaterThanOrEqual(1)
    expect(polls).toBeLessThanOrEqual(30)
  })

  it('stops after maxPolls', async () => {
    server.setAsync(10_000)
    const { provider, logs } = connect(server, 'yescaptcha', { maxPolls: 5 })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'timeout', mayHaveCharged: true })
    expect(error.message).toMatch(/no answer after 5 polls/)
    expect(logs.filter((line) => line.includes('/getTaskResult -> 200'))).toHaveLength(5)
  })

  it('rethrows the abort reason when it is an InterruptedError, without sending', async () => {
    const controller = new AbortController()
    controller.abort(new InterruptedError())
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () =>
      provider.recognize(await gridRequest('3x3', [1], { signal: controller.signal })),
    )
    expect(error).toBeInstanceOf(InterruptedError)
    expect(server.createCount).toBe(0)
  })

  it('ends a wait for a retry when the deadline passes', async () => {
    server.setReply({ ...GATEWAY_429, headers: { 'retry-after': '30' } })
    const { provider } = connect(server, 'yescaptcha', { retry: {} })
    // The image first, then the deadline: on a busy machine rendering alone can outlast it.
    const request = await gridRequest('3x3', [1])
    const started = Date.now()
    const error = await catchError(async () =>
      provider.recognize({ ...request, signal: AbortSignal.timeout(500) }),
    )
    expect(error).toMatchObject({ kind: 'timeout', retryable: false, code: undefined })
    expect(error.message).toContain('while waiting to retry')
    // Far below the 30 s Retry-After: the deadline ended the wait.
    expect(Date.now() - started).toBeLessThan(5000)
  })
})

describe('transport failures', () => {
  it('reports a refused connection as network, retryable and not charged', async () => {
    const port = await findClosedPort()
    const logs: string[] = []
    const provider = createProvider('yescaptcha', {
      apiKey: KEY,
      endpoint: `http://127.0.0.1:${port}`,
      retries: 1,
      log: (line) => logs.push(line),
      retry: { sleep: async () => undefined },
    })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'network', retryable: true, mayHaveCharged: false })
    expect(error.message).toContain('connection refused')
    expect(error.hint).toContain('--endpoint')
    expect(logs.filter((line) => line.includes('failed (connection refused)'))).toHaveLength(2)
  })

  it('reports a connection reset after sending as network and possibly charged', async () => {
    server.setReply({ fault: 'resetAfterWork' })
    const { provider } = connect(server, 'yescaptcha', { retries: 0 })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'network', retryable: true, mayHaveCharged: true })
  })

  it('reports an empty 200 body as a provider error', async () => {
    server.setReply({ text: '' })
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'provider' })
    expect(error.message).toContain('an empty body')
  })

  it('logs one line per exchange with the size sent', async () => {
    const { provider, logs } = connect(server, 'yescaptcha')
    await provider.recognize(await gridRequest('3x3', [1]))
    expect(logs).toHaveLength(1)
    expect(logs[0]).toMatch(
      /^POST http:\/\/127\.0\.0\.1:\d+\/yescaptcha\/createTask -> 200 in \d+ ms \(\d+\.\d kB sent\)$/,
    )
  })
})

describe('endpoints', () => {
  it.each(['http://api.example.com', 'http://10.0.0.8:8080', 'http://[2001:db8::1]/'])(
    'refuses plain http to %s',
    (endpoint) => {
      const error = (() => {
        try {
          createProvider('yescaptcha', { apiKey: KEY, endpoint })
        } catch (caught) {
          return caught as Error & Record<string, unknown>
        }
        throw new Error('expected a refusal')
      })()
      expect(error).toMatchObject({ kind: 'config' })
      expect(error.hint).toContain('--allow-insecure')
    },
  )

  it.each([
    'http://127.0.0.1:9',
    'http://127.8.9.10',
    'http://localhost:3000/x',
    'http://[::1]:80',
    'https://api.example.com',
  ])('accepts %s', (endpoint) => {
    expect(resolveEndpoint(endpoint, 'yescaptcha').protocol).toMatch(/^https?:$/)
  })

  it('accepts plain http anywhere with allowInsecure, and refuses other schemes or garbage', () => {
    expect(resolveEndpoint('http://api.example.com/base', 'capsolver', true).href).toBe(
      'http://api.example.com/base/',
    )
    expect(() => resolveEndpoint('ftp://example.com', 'capsolver')).toThrow(/must use https/)
    expect(() => resolveEndpoint('not a url', 'capsolver')).toThrow(/is not a valid URL/)
  })

  it('refuses user:password in the endpoint without echoing the password', () => {
    const error = (() => {
      try {
        resolveEndpoint('https://user:secret-pass@api.example.com', 'capsolver')
      } catch (caught) {
        return caught as Error
      }
      throw new Error('expected a refusal')
    })()
    expect(error.message).toContain('must not contain a user name or password')
    expect(error.message).not.toContain('secret-pass')
  })

  it('keeps a path prefix of the endpoint', async () => {
    const logs: string[] = []
    const client = createHttpClient({
      provider: 'capsolver',
      baseUrl: resolveEndpoint(`${server.url}/capsolver`, 'capsolver'),
      requestTimeoutMs: 2000,
      log: (line) => logs.push(line),
    })
    const reply = await client.postJson('/getBalance', { clientKey: KEY })
    expect(reply).toMatchObject({ status: 200, body: { errorId: 0, balance: 10 } })
    expect(server.requests.at(-1)).toMatchObject({ provider: 'capsolver', path: '/getBalance' })
    expect(logs).toEqual([expect.stringContaining(`${server.url}/capsolver/getBalance -> 200`)])
  })
})

describe('secrets', () => {
  it('never shows the key in any error message, hint or log line', async () => {
    const key = 'sk-super-secret-0123456789'
    server.setKeys([key])
    const collected: string[] = []
    try {
      const scenarios: Array<() => void> = [
        () =>
          server.setReply({
            json: {
              errorId: 1,
              errorCode: 'ERROR_ZERO_BALANCE',
              errorDescription: `no money for ${key}`,
            },
          }),
        () => server.setReply({ text: `{"broken": "${key}` }),
        () => server.setReply({ status: 500, text: `trace: clientKey=${key}` }),
        () =>
          server.setReply({
            json: { errorId: 0, status: 'ready', solution: { objects: [42], type: key } },
          }),
        () => server.setReply({ fault: 'resetAfterWork' }),
        () => server.setReply({ json: { errorId: 1, errorCode: key, errorDescription: key } }),
      ]
      for (const name of ['yescaptcha', 'capsolver', 'acedata'] as const) {
        for (const arrange of scenarios) {
          arrange()
          const { provider, logs } = connect(server, name, { apiKey: key, retries: 1 })
          const error = await catchError(async () =>
            provider.recognize(await gridRequest('3x3', [1])),
          ).catch((e: unknown) => {
            throw new Error(`${name} scenario ${scenarios.indexOf(arrange)}: ${String(e)}`)
          })
          collected.push(
            error.message,
            String(error.hint),
            String(error.stack),
            JSON.stringify(error),
            ...logs,
          )
          if (name !== 'acedata') {
            const balanceError = await catchError(() => provider.balance())
            collected.push(balanceError.message, String(balanceError.hint), ...logs)
          }
        }
      }
    } finally {
      server.setKeys([KEY])
    }
    const text = collected.join('\n')
    expect(collected.length).toBeGreaterThan(50)
    expect(text).not.toContain(key)
    expect(text).toContain('***')
  })
})
