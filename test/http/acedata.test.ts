import { describe, expect, it } from 'vitest'
import { catchError, connect, gridRequest, KEY, useProviderServer } from './support.js'

const server = useProviderServer()

const aceError = (
  status: number,
  code: string,
  message: string,
): { status: number; json: unknown } => ({
  status,
  json: { success: false, error: { code, message }, trace_id: 'trace-1234' },
})

describe('acedata: answers', () => {
  it('answers synchronously with per-tile confidences, sending the key as a Bearer header', async () => {
    const { provider } = connect(server, 'acedata')
    const result = await provider.recognize(await gridRequest('3x3', [1, 5]))
    expect(result).toMatchObject({
      type: 'multi',
      objects: [1, 5],
      hasObject: null,
      points: null,
      paidCalls: 1,
    })
    expect(result.confidences).toHaveLength(9)
    expect(result.confidences![1]).toBeGreaterThanOrEqual(0.5)
    expect(result.confidences![0]).toBeLessThan(0.5)
    expect(result.taskId).toMatch(/^[0-9a-f-]{36}$/)
    const logged = server.requests[0]!
    expect(logged).toMatchObject({ path: '/captcha/recognition/recaptcha2', key: KEY })
    expect(logged.headers.accept).toBe('application/json')
    expect(logged.body).toEqual({
      image: expect.stringMatching(/^<\d+ base64 chars>$/),
      question: '/m/0k4j',
    })
  })

  it('polls /captcha/tasks when the reply is processing, and is charged once', async () => {
    server.setAsync(3)
    const { provider } = connect(server, 'acedata')
    const result = await provider.recognize(await gridRequest('4x4', [6, 9]))
    expect(result.objects).toEqual([6, 9])
    expect(server.requests.map((r) => r.path)).toEqual([
      '/captcha/recognition/recaptcha2',
      '/captcha/tasks',
      '/captcha/tasks',
      '/captcha/tasks',
    ])
    expect(server.requests[1]?.body).toEqual({ task_id: result.taskId })
    expect(server.paidCount).toBe(1)
  })

  it("applies --confidence on rc2's side: the tiles scoring above it, for every grid", async () => {
    const { provider } = connect(server, 'acedata')
    try {
      server.setOracle(({ grid }) =>
        grid === '1x1'
          ? [0.4]
          : grid === '3x3'
            ? [0.1, 0.35, 0.6, 0.25, 0.31, 0.9, 0, 0.3, 0.5]
            : Array.from({ length: 16 }, (_, k) => k / 20),
      )
      expect((await provider.recognize(await gridRequest('3x3', []))).objects).toEqual([2, 5, 8])
      expect(
        (await provider.recognize({ ...(await gridRequest('3x3', [])), confidence: 0.3 })).objects,
      ).toEqual([1, 2, 4, 5, 8])
      expect(
        (await provider.recognize({ ...(await gridRequest('4x4', [])), confidence: 0.6 })).objects,
      ).toEqual([13, 14, 15])
      expect((await provider.recognize(await gridRequest('1x1', []))).hasObject).toBe(false)
      expect(
        (await provider.recognize({ ...(await gridRequest('1x1', [])), confidence: 0.3 }))
          .hasObject,
      ).toBe(true)
      // Ace's request has no threshold field: nothing about it is sent.
      for (const logged of server.requests)
        expect(Object.keys(logged.body as object).sort()).toEqual(['image', 'question'])
    } finally {
      server.setOracle(undefined)
    }
  })

  it('answers a single tile', async () => {
    const { provider } = connect(server, 'acedata')
    expect(await provider.recognize(await gridRequest('1x1', [0]))).toMatchObject({
      type: 'single',
      hasObject: true,
      confidences: [expect.any(Number)],
    })
  })
})

describe('acedata: errors', () => {
  it('maps 401 invalid_token to auth with the console hint', async () => {
    const { provider } = connect(server, 'acedata', { apiKey: 'ace-token-wrong-999' })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'auth', code: 'invalid_token' })
    expect(error.message).toMatch(/^acedata: invalid_token \(HTTP 401\): the API key is not valid/)
    expect(error.message).toContain('trace_id')
    expect(error.hint).toContain('platform.acedata.cloud')
  })

  it('maps 403 used_up to balance and 400 bad_request for an unknown question to provider', async () => {
    const { provider } = connect(server, 'acedata')
    server.setZeroBalance(true)
    expect(
      await catchError(async () => provider.recognize(await gridRequest('3x3', [1]))),
    ).toMatchObject({ kind: 'balance', code: 'used_up' })
    server.setZeroBalance(false)
    const unknown = await catchError(async () =>
      provider.recognize({ ...(await gridRequest('3x3', [1])), question: '/m/nope' }),
    )
    expect(unknown).toMatchObject({ kind: 'provider', code: 'bad_request', retryable: false })
    expect(unknown.message).toContain('unknown question /m/nope')
  })

  it('retries 429 too_many_requests and 500 api_error', async () => {
    server.pushReply(
      { ...aceError(429, 'too_many_requests', 'slow down'), headers: { 'retry-after': '2' } },
      aceError(500, 'api_error', 'fetch failed'),
    )
    const { provider, sleeps } = connect(server, 'acedata')
    expect((await provider.recognize(await gridRequest('3x3', [2]))).objects).toEqual([2])
    expect(server.createCount).toBe(3)
    expect(sleeps[0]).toBe(2000)
  })

  it('maps 504 to a timeout and a detail body to its text', async () => {
    const { provider } = connect(server, 'acedata')
    server.setReply({ status: 504, json: { detail: 'gateway timeout' } })
    expect(
      await catchError(async () => provider.recognize(await gridRequest('3x3', [1]))),
    ).toMatchObject({ kind: 'timeout', retryable: false })
    server.setReply({
      status: 422,
      json: { detail: [{ loc: ['body', 'image'], msg: 'field required' }] },
    })
    const invalid = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(invalid).toMatchObject({ kind: 'provider', retryable: false })
    expect(invalid.message).toContain('field required')
  })

  it('rejects confidences of the wrong length and a size that does not match', async () => {
    const { provider } = connect(server, 'acedata')
    server.setReply({
      json: { solution: { size: 300, objects: [1], confidences: [0.1, 0.9], type: 'multi' } },
    })
    const short = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(short.message).toBe(
      'acedata reply: solution.confidences has 2 entries, expected 9 for the 3x3 grid',
    )
    server.setReply({ json: { solution: { size: 450, objects: [1], type: 'multi' } } })
    const size = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(size.message).toBe(
      'acedata reply: solution.size = 450 does not match the 300x300 image sent',
    )
  })

  it('has no balance call and says where to look', async () => {
    const { provider } = connect(server, 'acedata')
    const error = await catchError(() => provider.balance())
    expect(error).toMatchObject({ kind: 'provider' })
    expect(error.hint).toContain('https://platform.acedata.cloud/console')
    expect(server.requests).toHaveLength(0)
  })
})
