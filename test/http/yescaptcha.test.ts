import { describe, expect, it } from 'vitest'
import {
  catchError,
  connect,
  gridRequest,
  KEY,
  loadRealTiles,
  testAccount,
  useProviderServer,
} from './support.js'

const server = useProviderServer()

describe('yescaptcha: answers', () => {
  it('returns the red tiles of a 3x3 grid built on real photos', async () => {
    const { provider } = connect(server, 'yescaptcha')
    const request = await gridRequest('3x3', [2, 4, 6], { otherTiles: loadRealTiles('car', 9) })
    const result = await provider.recognize(request)
    expect(result).toMatchObject({
      type: 'multi',
      objects: [2, 4, 6],
      hasObject: null,
      points: 6,
      paidCalls: 1,
    })
    expect(result.taskId).toMatch(/^[0-9a-f-]{36}$/)
    const body = server.requests[0]?.body as { task: Record<string, unknown> }
    expect(body.task).toEqual({
      type: 'ReCaptchaV2Classification',
      image: expect.stringMatching(/^<\d+ base64 chars>$/),
      question: '/m/0k4j',
    })
    expect(server.requests[0]?.key).toBe(KEY)
  })

  it('without confidence gets only the three reddest tiles; with it, every tile above', async () => {
    const { provider } = connect(server, 'yescaptcha')
    const reds = { 0: 250, 1: 160, 3: 240, 5: 170, 8: 230 } as Record<number, number>
    // Five red tiles of different strength: the grid is built tile by tile.
    const { renderRedGrid } = await import('../helpers/provider-server.js')
    const sharp = (await import('sharp')).default
    const layers = await Promise.all(
      Object.entries(reds).map(async ([tile, r]) => ({
        input: await sharp({
          create: { width: 100, height: 100, channels: 3, background: { r, g: 10, b: 10 } },
        })
          .png()
          .toBuffer(),
        left: (Number(tile) % 3) * 100,
        top: Math.floor(Number(tile) / 3) * 100,
      })),
    )
    const image = await sharp(await renderRedGrid('3x3', []))
      .composite(layers)
      .png()
      .toBuffer()
    const base = {
      image: image.toString('base64'),
      grid: '3x3' as const,
      size: 300,
      question: '/m/0k4j',
    }

    expect((await provider.recognize(base)).objects).toEqual([0, 3, 8])
    expect((await provider.recognize({ ...base, confidence: 0.5 })).objects).toEqual([
      0, 1, 3, 5, 8,
    ])
    expect((server.requests[1]?.body as { task: { confidence?: number } }).task.confidence).toBe(
      0.5,
    )
  })

  it('answers a 4x4 grid with every red cell (cells at round(i*112.5)) and does not send confidence', async () => {
    const { provider } = connect(server, 'yescaptcha')
    const result = await provider.recognize(
      await gridRequest('4x4', [0, 5, 10, 13], { confidence: 0.7 }),
    )
    expect(result.objects).toEqual([0, 5, 10, 13])
    expect((server.requests[0]?.body as { task: Record<string, unknown> }).task).not.toHaveProperty(
      'confidence',
    )
  })

  it('answers a single 100x100 tile with hasObject and costs 2 points', async () => {
    const { provider } = connect(server, 'yescaptcha')
    const [tile] = loadRealTiles('hydrant', 1, 100)
    const real = {
      image: tile!.toString('base64'),
      grid: '1x1' as const,
      size: 100,
      question: '/m/01pns0',
    }
    expect(await provider.recognize(real)).toMatchObject({
      type: 'single',
      objects: [],
      hasObject: false,
      points: 2,
    })
    // The dataset's 120x120 tiles are refused, as the real service refuses them.
    const [big] = loadRealTiles('hydrant', 1, 120)
    const error = await catchError(() =>
      provider.recognize({ ...real, image: big!.toString('base64') }),
    )
    expect(error).toMatchObject({ kind: 'provider', code: 'ERROR_ILLEGAL_IMAGE' })
    expect(await provider.recognize(await gridRequest('1x1', [0]))).toMatchObject({
      type: 'single',
      hasObject: true,
    })
  })

  it('polls getTaskResult when createTask has no solution', async () => {
    server.setAsync(3)
    const { provider, sleeps } = connect(server, 'yescaptcha', { pollIntervalMs: 25 })
    const result = await provider.recognize(await gridRequest('3x3', [7]))
    expect(result.objects).toEqual([7])
    expect(server.pollCount).toBe(3)
    expect(sleeps).toEqual([25, 25, 25])
    expect(server.requests.map((r) => r.path)).toEqual([
      '/createTask',
      '/getTaskResult',
      '/getTaskResult',
      '/getTaskResult',
    ])
    expect(server.requests[1]?.body).toEqual({ taskId: result.taskId })
  })

  it('dedupes and sorts objects and treats errorCode "" / errorDescription "null" as success', async () => {
    server.setReply({
      json: {
        errorId: 0,
        errorCode: '',
        errorDescription: 'null',
        status: 'ready',
        taskId: 't1',
        solution: { objects: [7, 1, 1, 4], type: 'multi' },
      },
    })
    const { provider } = connect(server, 'yescaptcha')
    expect(await provider.recognize(await gridRequest('3x3', []))).toMatchObject({
      objects: [1, 4, 7],
      taskId: 't1',
    })
  })

  it('reads the balance in points with numeric details only, and charges 6 points per grid', async () => {
    server.setBalance('yescaptcha', 1000)
    const { provider } = connect(server, 'yescaptcha')
    await provider.recognize(await gridRequest('3x3', [0]))
    const balance = await provider.balance()
    expect(balance).toEqual({
      provider: 'yescaptcha',
      balance: 994,
      unit: 'points',
      details: { softBalance: 0, inviteBalance: 12 },
    })
  })
})

describe('yescaptcha: errors with HTTP 200', () => {
  it('maps a bad key to auth without ever showing the key', async () => {
    const { provider, logs } = connect(server, 'yescaptcha', { apiKey: 'wrong-key-123456' })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({
      kind: 'auth',
      code: 'ERROR_KEY_DOES_NOT_EXIST',
      retryable: false,
    })
    expect(error.message).toMatch(/^yescaptcha: ERROR_KEY_DOES_NOT_EXIST: the API key is not valid/)
    expect(error.hint).toContain('RC2_API_KEY')
    expect(error.hint).toContain('providers.yescaptcha.apiKey')
    expect(server.createCount).toBe(1)
    expect(`${error.message} ${String(error.hint)} ${logs.join('\n')}`).not.toContain(
      'wrong-key-123456',
    )
  })

  it.each([
    [
      'an unknown question',
      { question: '/m/zzzz' },
      'provider',
      'ERROR_UNKNOWN_QUESTION',
      'rc2 questions',
    ],
    ['a 200x200 image', { image: 'resize' }, 'provider', 'ERROR_ILLEGAL_IMAGE', 'rc2 resize'],
  ])('maps %s', async (_label, change, kind, code, hint) => {
    const { provider } = connect(server, 'yescaptcha')
    let request = await gridRequest('3x3', [1])
    if ('question' in change) request = { ...request, question: change.question }
    if ('image' in change) {
      const sharp = (await import('sharp')).default
      const odd = await sharp({
        create: { width: 200, height: 200, channels: 3, background: '#888' },
      })
        .png()
        .toBuffer()
      request = { ...request, image: odd.toString('base64') }
    }
    const error = await catchError(() => provider.recognize(request))
    expect(error).toMatchObject({ kind, code, retryable: false })
    expect(error.hint).toContain(hint)
  })

  it('maps ERROR_UNKNOW_450x450_QUESTION with a 4x4 hint', async () => {
    server.setReject450(['/m/0k4j'])
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('4x4', [1])))
    expect(error).toMatchObject({ kind: 'unsolvable', code: 'ERROR_UNKNOW_450x450_QUESTION' })
    expect(error.hint).toContain('not accepted as 4x4')
  })

  it('maps a zero balance to kind balance, naming the provider', async () => {
    server.setZeroBalance(true)
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'balance', code: 'ERROR_ZERO_BALANCE' })
    expect(error.message).toMatch(/^yescaptcha: ERROR_ZERO_BALANCE: the account has no points left/)
    expect(error.hint).toContain('top up the yescaptcha account')
    expect(server.paidCount).toBe(0)
  })

  it('surfaces an unknown ERROR_* code verbatim with the service description', async () => {
    server.setReply({
      json: {
        errorId: 1,
        errorCode: 'ERROR_SOMETHING_NEW',
        errorDescription: 'a brand new failure',
      },
    })
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'provider', code: 'ERROR_SOMETHING_NEW' })
    expect(error.message).toBe('yescaptcha: ERROR_SOMETHING_NEW: a brand new failure')
  })

  it('retries ERROR_THREADS_MAXIMUM (HTTP 200) as a rate limit', async () => {
    server.pushReply({
      json: {
        errorId: 1,
        errorCode: 'ERROR_THREADS_MAXIMUM',
        errorDescription: 'too many threads',
      },
    })
    const { provider } = connect(server, 'yescaptcha')
    const result = await provider.recognize(await gridRequest('3x3', [3]))
    expect(result).toMatchObject({ objects: [3], paidCalls: 1 })
    expect(server.createCount).toBe(2)
  })

  it('masks the key when the service echoes it in a description', async () => {
    server.setReply({
      json: {
        errorId: 1,
        errorCode: 'ERROR_WRONG_USER_KEY',
        errorDescription: `key ${KEY} is not yours`,
      },
    })
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error.kind).toBe('auth')
    expect(error.message).toContain('key *** is not yours')
    expect(error.message).not.toContain(KEY)
    expect(String(error.stack)).not.toContain(KEY)
  })
})

describe('yescaptcha: protocol violations', () => {
  it('names an out-of-range tile, and resends such a reply like a lost one', async () => {
    server.setReply({
      json: {
        errorId: 0,
        status: 'ready',
        taskId: 'x',
        solution: { objects: [1, 11], type: 'multi' },
      },
    })
    const { provider } = connect(server, 'yescaptcha')
    const { account, log } = testAccount()
    const error = await catchError(async () =>
      provider.recognize({ ...(await gridRequest('3x3', [1])), account }),
    )
    expect(error).toMatchObject({ kind: 'provider', mayHaveCharged: true })
    expect(error.message).toBe(
      'yescaptcha reply: solution.objects[1] = 11 is outside the 3x3 grid (0-8)',
    )
    // Each unusable answer may have been charged: the account heard every call, as it happened.
    expect(server.createCount).toBe(3)
    expect(log.charged).toEqual(['yescaptcha', 'yescaptcha', 'yescaptcha'])
  })

  it('resends once after an unusable answer and counts both calls', async () => {
    server.pushReply({
      json: {
        errorId: 0,
        status: 'ready',
        taskId: 'x',
        solution: { objects: [1, 11], type: 'multi' },
      },
    })
    const { provider } = connect(server, 'yescaptcha')
    const result = await provider.recognize(await gridRequest('3x3', [4]))
    expect(result).toMatchObject({ objects: [4], paidCalls: 2 })
    expect(server.createCount).toBe(2)
  })

  it('names a field of the wrong type', async () => {
    server.setReply({
      json: { errorId: 0, status: 'ready', solution: { objects: [1, 'two'], type: 'multi' } },
    })
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error.message).toMatch(/^yescaptcha reply: solution\.objects\[1\]: /)
  })

  it('treats malformed JSON as a lost reply: resent, every call counted', async () => {
    server.setReply({ text: '{"errorId":0,"solution":{"obj' })
    const { provider } = connect(server, 'yescaptcha', { retries: 1 })
    const { account, log } = testAccount()
    const error = await catchError(async () =>
      provider.recognize({ ...(await gridRequest('3x3', [1])), account }),
    )
    expect(error).toMatchObject({ kind: 'provider', mayHaveCharged: true })
    expect(log.charged).toHaveLength(2)
    expect(error.message).toContain('not JSON')
    expect(server.createCount).toBe(2)
    server.setReply(undefined)
    server.pushReply({ text: '{"errorId":0,"solution":{"obj' })
    const result = await provider.recognize(await gridRequest('3x3', [2]))
    expect(result).toMatchObject({ objects: [2], paidCalls: 2 })
  })

  it('a resend after a malformed reply asks the budget first, and stops when refused', async () => {
    server.pushReply({ text: '{"errorId":0,"solution":{"obj' })
    const { provider } = connect(server, 'yescaptcha')
    const { account, log } = testAccount((_provider, resend) => resend)
    const error = await catchError(async () =>
      provider.recognize({ ...(await gridRequest('3x3', [1])), account }),
    )
    expect(error).toMatchObject({ kind: 'budget', resend: true })
    expect(log.reserved).toEqual([{ provider: 'yescaptcha', resend: false }])
    expect(log.charged).toEqual(['yescaptcha'])
    expect(server.createCount).toBe(1)
  })

  it('rejects a poll reply with an unknown status', async () => {
    server.setAsync(2)
    server.pushReply({ path: '/getTaskResult', json: { errorId: 0, status: 'exploded' } })
    const { provider } = connect(server, 'yescaptcha')
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error.message).toMatch(/^yescaptcha reply: reply\.status = "exploded"/)
  })
})
