import { describe, expect, it } from 'vitest'
import { normalizeGridSolution } from '../../src/providers/twocaptcha.js'
import {
  catchError,
  connect,
  gridRequest,
  loadRealTiles,
  testAccount,
  useProviderServer,
} from './support.js'

const server = useProviderServer()

const BUSES_3X3 = 'Select all images with buses'
const LIGHTS_4X4 = 'Select all squares with traffic lights'

describe('2captcha GridTask', () => {
  it('sends rows/columns and the English instruction, polls, and turns the 1-based click into 0-based tiles (3x3)', async () => {
    server.setAsync(2)
    const { provider, sleeps } = connect(server, '2captcha')
    const request = await gridRequest('3x3', [0, 4, 8], {
      instruction: BUSES_3X3,
      otherTiles: loadRealTiles('bus', 6),
    })
    const result = await provider.recognize(request)
    expect(result).toMatchObject({
      type: 'multi',
      objects: [0, 4, 8],
      hasObject: null,
      points: null,
      paidCalls: 1,
    })
    expect(result.taskId).toMatch(/^\d+$/)
    const create = server.requests[0]!
    expect(create.path).toBe('/createTask')
    expect(create.body).toMatchObject({
      task: {
        type: 'GridTask',
        comment: BUSES_3X3,
        rows: 3,
        columns: 3,
        imgType: 'recaptcha',
        canNoAnswer: 1,
      },
    })
    // Two polls: the first "processing", the second ready; each after the poll interval.
    expect(server.pollCount).toBe(2)
    expect(
      server.requests
        .filter((r) => r.path === '/getTaskResult')
        .every((r) => typeof (r.body as { taskId: unknown }).taskId === 'number'),
    ).toBe(true)
    expect(sleeps).toEqual([10, 10])
  })

  it('solves a real-size 4x4 with "squares" wording', async () => {
    const { provider } = connect(server, '2captcha')
    const request = await gridRequest('4x4', [3, 6, 9, 12, 15], {
      instruction: LIGHTS_4X4,
      otherTiles: loadRealTiles('traffic_light', 8),
    })
    expect((await provider.recognize(request)).objects).toEqual([3, 6, 9, 12, 15])
    expect(server.requests[0]?.body).toMatchObject({
      task: { rows: 4, columns: 4, comment: LIGHTS_4X4 },
    })
  })

  it('answers a 1x1 tile: a click means the tile shows the object', async () => {
    const { provider } = connect(server, '2captcha')
    expect(
      await provider.recognize(await gridRequest('1x1', [0], { instruction: BUSES_3X3 })),
    ).toMatchObject({ type: 'single', hasObject: true, objects: [] })
    expect(
      await provider.recognize(await gridRequest('1x1', [], { instruction: BUSES_3X3 })),
    ).toMatchObject({ type: 'single', hasObject: false })
  })

  it('defaults to polling every 5 s, as its docs ask', async () => {
    const { provider, sleeps } = connect(server, '2captcha', { pollIntervalMs: undefined })
    await provider.recognize(await gridRequest('3x3', [1], { instruction: BUSES_3X3 }))
    expect(sleeps).toEqual([5000])
  })

  it('maps numeric errorIds: a bad key (1) is auth, an empty account (10) is balance', async () => {
    const bad = connect(server, '2captcha', { apiKey: 'not-the-key-0000' })
    const auth = await catchError(async () =>
      bad.provider.recognize(await gridRequest('3x3', [1], { instruction: BUSES_3X3 })),
    )
    expect(auth).toMatchObject({ kind: 'auth', code: 'ERROR_KEY_DOES_NOT_EXIST' })
    expect(auth.hint).toContain('RC2_2CAPTCHA_API_KEY')
    server.setZeroBalance(true)
    const { provider } = connect(server, '2captcha')
    const broke = await catchError(async () =>
      provider.recognize(await gridRequest('3x3', [1], { instruction: BUSES_3X3 })),
    )
    expect(broke).toMatchObject({ kind: 'balance', code: 'ERROR_ZERO_BALANCE' })
  })

  it('names an error sent as a bare errorId, and maps unsolvable at result time', async () => {
    server.pushReply({ path: '/getTaskResult', json: { errorId: 12 } })
    const { provider } = connect(server, '2captcha')
    const { account, log } = testAccount()
    const error = await catchError(async () =>
      provider.recognize({
        ...(await gridRequest('3x3', [1], { instruction: BUSES_3X3 })),
        account,
      }),
    )
    expect(error).toMatchObject({ kind: 'unsolvable', code: 'ERROR_CAPTCHA_UNSOLVABLE' })
    // The task was created (charged) before its result said unsolvable.
    expect(log.charged).toEqual(['2captcha'])
  })

  it('refuses a click of 0 or past the grid instead of clicking the wrong tile', () => {
    expect(() => normalizeGridSolution({ click: [0, 3] }, { grid: '3x3' })).toThrow(
      /numbered from 1/,
    )
    expect(() => normalizeGridSolution({ click: [10] }, { grid: '3x3' })).toThrow(
      /outside the 3x3 grid \(1-9\)/,
    )
    expect(normalizeGridSolution({ click: [16, 1, 1] }, { grid: '4x4' }).objects).toEqual([0, 15])
    expect(normalizeGridSolution({ click: 'No_matching_images' }, { grid: '3x3' }).objects).toEqual(
      [],
    )
    expect(normalizeGridSolution({ click: [] }, { grid: '3x3' }).objects).toEqual([])
    expect(() => normalizeGridSolution({}, { grid: '3x3' })).toThrow(/solution.click is missing/)
  })

  it('reads the balance and reports answers both ways', async () => {
    server.setBalance('2captcha', 4.5)
    const { provider } = connect(server, '2captcha')
    expect(await provider.balance()).toEqual({
      provider: '2captcha',
      balance: 4.5,
      unit: 'USD',
      details: {},
    })
    const result = await provider.recognize(
      await gridRequest('3x3', [2], { instruction: BUSES_3X3 }),
    )
    await provider.report!(result.taskId!, false)
    await provider.report!(result.taskId!, true)
    expect(server.reports).toEqual([
      { provider: '2captcha', path: '/reportIncorrect', taskId: result.taskId, correct: false },
      { provider: '2captcha', path: '/reportCorrect', taskId: result.taskId, correct: true },
    ])
    const unknown = await catchError(() => provider.report!('123', false))
    expect(unknown).toMatchObject({ kind: 'provider', code: 'ERROR_NO_SUCH_CAPCHA_ID' })
  })
})
