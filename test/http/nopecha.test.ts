import { describe, expect, it } from 'vitest'
import {
  catchError,
  connect,
  gridRequest,
  KEY,
  loadRealTiles,
  useProviderServer,
} from './support.js'

const server = useProviderServer()

describe('nopecha recognition', () => {
  it('submits type/task/grid/image_data and polls while HTTP 409 (3x3)', async () => {
    server.setAsync(3)
    const { provider, logs } = connect(server, 'nopecha')
    const request = await gridRequest('3x3', [1, 5, 7], {
      instruction: 'Select all images with cars',
      otherTiles: loadRealTiles('car', 6),
    })
    const result = await provider.recognize(request)
    expect(result).toMatchObject({ type: 'multi', objects: [1, 5, 7], points: null, paidCalls: 1 })
    const [submit, ...polls] = server.requests
    expect(submit).toMatchObject({ method: 'POST', path: '/', key: KEY })
    expect(submit?.body).toEqual({
      type: 'recaptcha',
      task: 'Select all images with cars',
      grid: '3x3',
      image_data: [expect.stringMatching(/^<\d+ base64 chars>$/)],
    })
    expect(polls.map((p) => [p.method, p.status])).toEqual([
      ['GET', 409],
      ['GET', 409],
      ['GET', 200],
    ])
    // The key travels in the query of the GET but never shows in the log.
    expect(logs.join('\n')).not.toContain(KEY)
    expect(logs.some((line) => line.startsWith('GET ') && line.includes('/nopecha/ -> 409'))).toBe(
      true,
    )
  })

  it('solves a real-size 4x4', async () => {
    const { provider } = connect(server, 'nopecha')
    const request = await gridRequest('4x4', [0, 1, 4, 5], {
      instruction: 'Select all squares with crosswalks',
      otherTiles: loadRealTiles('crosswalk', 8),
    })
    expect((await provider.recognize(request)).objects).toEqual([0, 1, 4, 5])
    expect(server.requests[0]?.body).toMatchObject({
      grid: '4x4',
      task: 'Select all squares with crosswalks',
    })
  })

  it('answers a 1x1 tile', async () => {
    const { provider } = connect(server, 'nopecha')
    expect(
      await provider.recognize(
        await gridRequest('1x1', [0], { instruction: 'Select all images with cars' }),
      ),
    ).toMatchObject({ type: 'single', hasObject: true })
  })

  it('maps its numbered errors: 15 auth, 16 balance, 11 rate limit (retried), 10 bad request', async () => {
    const bad = connect(server, 'nopecha', { apiKey: 'wrong-key-1234' })
    const auth = await catchError(async () =>
      bad.provider.recognize(
        await gridRequest('3x3', [1], { instruction: 'Select all images with cars' }),
      ),
    )
    expect(auth).toMatchObject({ kind: 'auth', code: '15' })
    expect(auth.message).toMatch(/^nopecha: 15 \(HTTP 401\): the API key is not valid/)
    server.setZeroBalance(true)
    const { provider } = connect(server, 'nopecha')
    const broke = await catchError(async () =>
      provider.recognize(
        await gridRequest('3x3', [1], { instruction: 'Select all images with cars' }),
      ),
    )
    expect(broke).toMatchObject({ kind: 'balance', code: '16' })
    server.setZeroBalance(false)
    server.pushReply({ path: '/', status: 429, json: { error: 11, message: 'Rate limited' } })
    expect(
      (
        await provider.recognize(
          await gridRequest('3x3', [2], { instruction: 'Select all images with cars' }),
        )
      ).objects,
    ).toEqual([2])
    const wrongText = await catchError(async () =>
      provider.recognize(
        await gridRequest('4x4', [2], { instruction: 'Select all images with cars' }),
      ),
    )
    expect(wrongText).toMatchObject({ kind: 'provider', code: '10' })
  })

  it('refuses an answer of the wrong length', async () => {
    server.pushReply(
      { path: '/', json: { data: 'job-1' } },
      { path: '/', json: { data: [true, false] } },
    )
    const { provider } = connect(server, 'nopecha')
    const error = await catchError(async () =>
      provider.recognize(
        await gridRequest('3x3', [1], { instruction: 'Select all images with cars' }),
      ),
    )
    expect(error.message).toBe(
      'nopecha reply: reply.data has 2 entries, expected 9 for the 3x3 grid',
    )
  })

  it('reads the credit from /status', async () => {
    server.setBalance('nopecha', 321)
    const { provider } = connect(server, 'nopecha')
    expect(await provider.balance()).toMatchObject({
      provider: 'nopecha',
      balance: 321,
      unit: 'credits',
      details: { quota: 1000 },
    })
    expect(provider.report).toBeUndefined()
  })
})
