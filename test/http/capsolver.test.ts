import { describe, expect, it } from 'vitest'
import { catchError, connect, gridRequest, useProviderServer } from './support.js'

const server = useProviderServer()

describe('capsolver', () => {
  it('answers synchronously with every matching tile and never sends confidence', async () => {
    const { provider } = connect(server, 'capsolver')
    const result = await provider.recognize(
      await gridRequest('3x3', [0, 2, 4, 6, 8], { confidence: 0.4 }),
    )
    expect(result).toMatchObject({
      type: 'multi',
      objects: [0, 2, 4, 6, 8],
      points: null,
      paidCalls: 1,
    })
    expect((server.requests[0]?.body as { task: Record<string, unknown> }).task).not.toHaveProperty(
      'confidence',
    )
  })

  it('polls while the task is idle', async () => {
    server.setAsync(2)
    const { provider } = connect(server, 'capsolver')
    const result = await provider.recognize(await gridRequest('4x4', [3, 12]))
    expect(result.objects).toEqual([3, 12])
    expect(server.pollCount).toBe(2)
  })

  it('answers a single tile', async () => {
    const { provider } = connect(server, 'capsolver')
    expect(await provider.recognize(await gridRequest('1x1', []))).toMatchObject({
      type: 'single',
      hasObject: false,
    })
  })

  it('maps HTTP 401 + errorId 1 to auth', async () => {
    const { provider } = connect(server, 'capsolver', { apiKey: 'CAP-not-a-real-key' })
    const error = await catchError(async () => provider.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({ kind: 'auth', code: 'ERROR_KEY_DENIED_ACCESS' })
    expect(error.message).toMatch(
      /^capsolver: ERROR_KEY_DENIED_ACCESS \(HTTP 401\): the API key is not valid/,
    )
    expect(error.hint).toContain('providers.capsolver.apiKey')
    expect(server.requests[0]?.status).toBe(401)
  })

  it('maps HTTP 400 ERROR_INVALID_IMAGE and ERROR_ZERO_BALANCE', async () => {
    const { provider } = connect(server, 'capsolver')
    const request = await gridRequest('4x4', [1])
    const sharp = (await import('sharp')).default
    const smaller = (
      await sharp({ create: { width: 449, height: 449, channels: 3, background: '#222' } })
        .png()
        .toBuffer()
    ).toString('base64')
    const wrongSize = await catchError(() => provider.recognize({ ...request, image: smaller }))
    expect(wrongSize).toMatchObject({ kind: 'provider', code: 'ERROR_INVALID_IMAGE' })
    expect(wrongSize.hint).toContain('rc2 resize')
    server.setZeroBalance(true)
    const broke = await catchError(() => provider.recognize(request))
    expect(broke).toMatchObject({ kind: 'balance', code: 'ERROR_ZERO_BALANCE' })
    expect(broke.hint).toContain('capsolver')
  })

  it('retries a 400 ERROR_SERVICE_UNAVALIABLE then succeeds', async () => {
    server.pushReply({
      status: 400,
      json: { errorId: 1, errorCode: 'ERROR_SERVICE_UNAVALIABLE', errorDescription: 'busy' },
    })
    const { provider } = connect(server, 'capsolver')
    expect((await provider.recognize(await gridRequest('3x3', [8]))).objects).toEqual([8])
    expect(server.createCount).toBe(2)
  })

  it('reads the balance in USD', async () => {
    server.setBalance('capsolver', 3.25)
    const { provider } = connect(server, 'capsolver')
    expect(await provider.balance()).toEqual({
      provider: 'capsolver',
      balance: 3.25,
      unit: 'USD',
      details: {},
    })
  })

  it('rejects a balance that is not a number', async () => {
    server.setReply({ json: { errorId: 0, balance: 'lots' } })
    const { provider } = connect(server, 'capsolver')
    const error = await catchError(() => provider.balance())
    expect(error.message).toBe('capsolver reply: reply.balance = "lots" is not a number')
  })
})
