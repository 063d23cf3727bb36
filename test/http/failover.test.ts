import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createFailoverProvider } from '../../src/providers/failover.js'
import type { ProviderName } from '../../src/providers/types.js'
import { renderRedGrid } from '../helpers/provider-server.js'
import { catchError, connect, gridRequest, testAccount, useProviderServer } from './support.js'

const server = useProviderServer()

function failover(
  names: ProviderName[],
  overrides: Partial<Record<ProviderName, Parameters<typeof connect>[2]>> = {},
) {
  const providers = names.map((name) => connect(server, name, overrides[name] ?? {}).provider)
  return createFailoverProvider({ providers, attemptTimeoutMs: () => 10_000, probeWaitMs: 2000 })
}

describe('failover provider', () => {
  it('moves on after unsolvable, provider errors and rate limits that outlast the retries', async () => {
    const chain = failover(['yescaptcha', 'capsolver', 'capmonster'])
    server.pushReply(
      {
        path: '/createTask',
        json: { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: 'no' },
      },
      ...Array.from({ length: 3 }, () => ({
        path: '/createTask',
        status: 429,
        json: { errorId: 1, errorCode: 'ERROR_RATE_LIMIT', errorDescription: 'slow' },
      })),
    )
    const image = (await renderRedGrid('3x3', [4], { format: 'jpeg' })).toString('base64')
    const result = await chain.recognize({
      ...(await gridRequest('3x3', [4], { instruction: 'Select all images with cars' })),
      image,
    })
    expect(result).toMatchObject({
      provider: 'capmonster',
      objects: [4],
      attempts: [
        { provider: 'yescaptcha', kind: 'unsolvable', code: 'ERROR_CAPTCHA_UNSOLVABLE' },
        { provider: 'capsolver', kind: 'rate_limit', code: 'ERROR_RATE_LIMIT' },
      ],
    })
  })

  it('moves on after a network failure; a call that never reached the service is not charged', async () => {
    // A port nothing listens on: the connection is refused.
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const { port } = closed.address() as AddressInfo
    await new Promise<void>((resolve) => closed.close(() => resolve()))
    const providers = [
      connect(server, 'yescaptcha', { endpoint: `http://127.0.0.1:${port}/`, retries: 0 }).provider,
      connect(server, 'capsolver').provider,
    ]
    const chain = createFailoverProvider({ providers, attemptTimeoutMs: () => 10_000 })
    const request = await gridRequest('3x3', [1, 2])
    const refused = testAccount()
    const result = await chain.recognize({ ...request, account: refused.account })
    expect(result).toMatchObject({
      provider: 'capsolver',
      attempts: [{ provider: 'yescaptcha', kind: 'network', code: null }],
    })
    // Connection refused never reached the service: only the answer is charged.
    expect(refused.log.charged).toEqual(['capsolver'])
    server.pushReply({ path: '/createTask', fault: 'resetAfterWork' })
    const lost = failover(['yescaptcha', 'capsolver'], { yescaptcha: { retries: 0 } })
    const { account, log } = testAccount()
    await lost.recognize({ ...request, account })
    // The lost reply may have cost yescaptcha's price; capsolver was reserved at its own.
    expect(log.charged).toEqual(['yescaptcha', 'capsolver'])
    expect(log.reserved).toEqual([
      { provider: 'yescaptcha', resend: false },
      { provider: 'capsolver', resend: false },
    ])
  })

  it('does not move on for an input problem or an interrupt', async () => {
    const chain = failover(['yescaptcha', 'capsolver'])
    const request = await gridRequest('3x3', [1])
    const wrongSize = await catchError(() => chain.recognize({ ...request, size: 450 }))
    expect(wrongSize).toMatchObject({ kind: 'input' })
    const stop = new AbortController()
    stop.abort(new Error('interrupted'))
    await catchError(() => chain.recognize({ ...request, signal: stop.signal }))
    expect(server.requests).toHaveLength(0)
  })

  it('when all fail: the last failure, with the ones before it as attempts', async () => {
    server.setReply({
      path: '/createTask',
      json: { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: 'no' },
    })
    const chain = failover(['yescaptcha', 'capsolver'])
    const error = await catchError(async () => chain.recognize(await gridRequest('3x3', [1])))
    expect(error).toMatchObject({
      kind: 'unsolvable',
      attempts: [{ provider: 'yescaptcha', kind: 'unsolvable', code: 'ERROR_CAPTCHA_UNSOLVABLE' }],
    })
  })

  it('a budget that refuses the next provider ends the input with the failure it had', async () => {
    server.pushReply({
      path: '/createTask',
      json: { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: 'no' },
    })
    const chain = failover(['yescaptcha', 'capsolver'])
    const { account, log } = testAccount((provider) => provider === 'capsolver')
    const request = await gridRequest('3x3', [1])
    const error = await catchError(() => chain.recognize({ ...request, account }))
    expect(log.reserved).toEqual([{ provider: 'yescaptcha', resend: false }])
    expect(error).toMatchObject({ kind: 'unsolvable', code: 'ERROR_CAPTCHA_UNSOLVABLE' })
    expect(server.requests.filter((r) => r.provider === 'capsolver')).toHaveLength(0)
  })

  it('drops a provider after auth or balance for the rest of the batch; with none left, says why', async () => {
    const chain = failover(['yescaptcha', 'capsolver'], {
      yescaptcha: { apiKey: 'wrong-key-5555' },
    })
    const request = await gridRequest('3x3', [3])
    const first = testAccount()
    expect(await chain.recognize({ ...request, account: first.account })).toMatchObject({
      provider: 'capsolver',
      attempts: [{ provider: 'yescaptcha', kind: 'auth' }],
    })
    // Said to the run once, with why and who is asked instead.
    expect(first.log.notices).toEqual([
      expect.stringMatching(
        /^yescaptcha dropped for the rest of the batch \(auth\): yescaptcha: ERROR_KEY_DOES_NOT_EXIST.*; asking capsolver instead$/,
      ),
    ])
    // A later input is priced at the provider it asks: the dropped one is not reserved at all.
    const later = testAccount()
    expect(await chain.recognize({ ...request, account: later.account })).toMatchObject({
      provider: 'capsolver',
    })
    expect(later.log).toMatchObject({
      reserved: [{ provider: 'capsolver', resend: false }],
      charged: ['capsolver'],
      notices: [],
    })
    expect((await chain.recognize(request)).attempts).toBeUndefined()
    expect(server.requests.filter((r) => r.provider === 'yescaptcha')).toHaveLength(1)
    expect([...chain.dropped.keys()]).toEqual(['yescaptcha'])
    server.setZeroBalance(true)
    await catchError(() => chain.recognize(request))
    const none = await catchError(() => chain.recognize(request))
    expect(none).toMatchObject({ kind: 'auth', code: 'ERROR_KEY_DOES_NOT_EXIST' })
    expect([...chain.dropped.keys()].sort()).toEqual(['capsolver', 'yescaptcha'])
  })

  it('inputs starting together wait for the first call to a provider, so a bad key is asked once', async () => {
    const chain = failover(['yescaptcha', 'capsolver'], {
      yescaptcha: { apiKey: 'wrong-key-6666' },
    })
    const request = await gridRequest('3x3', [0])
    const results = await Promise.all(Array.from({ length: 5 }, () => chain.recognize(request)))
    expect(results.every((r) => r.provider === 'capsolver')).toBe(true)
    expect(server.requests.filter((r) => r.provider === 'yescaptcha')).toHaveLength(1)
  })
})
