/**
 * A provider's describeRequest (what --dry-run prints) is the request its adapter sends: both are
 * built from the service's facts (providers/facts/), checked here against what the loopback
 * service received. And what a call counts against --max-points follows one rule.
 */
import { describe, expect, it } from 'vitest'
import { createFailoverProvider } from '../../src/providers/failover.js'
import { describeRequest, pointsFor, PROVIDER_FACTS } from '../../src/providers/facts/index.js'
import { PROVIDER_NAMES } from '../../src/providers/types.js'
import { connect, gridRequest, KEY, useProviderServer } from './support.js'

const server = useProviderServer()
const INSTRUCTION = 'Select all images with cars'

describe('describeRequest', () => {
  for (const name of PROVIDER_NAMES) {
    it(`${name}: describes the request its adapter sends, key redacted`, async () => {
      const { provider } = connect(server, name)
      const request = await gridRequest('3x3', [4], { instruction: INSTRUCTION, confidence: 0.4 })
      await provider.recognize(request)
      const sent = server.requests.find((r) => r.method === 'POST' && r.provider === name)
      const parts = {
        image: `<${request.image.length} base64 chars>`,
        question: request.question,
        instruction: INSTRUCTION,
        grid: request.grid,
        confidence: 0.4,
      }
      const described = provider.describeRequest(parts)
      expect(JSON.stringify(described)).not.toContain(KEY)
      expect(described.url).toBe(`${server.endpoints[name].replace(/\/+$/, '')}${sent?.path}`)
      // The server logs the body without the key fields: drop them from the description too.
      const { clientKey, key, ...body } = described.body as Record<string, unknown>
      expect([clientKey, key].filter((v) => v !== undefined)).toEqual(
        name === 'acedata' ? [] : ['***'],
      )
      expect(body).toEqual(sent?.body)
      expect(described).toEqual(describeRequest(name, parts, { endpoint: server.endpoints[name] }))
    })
  }

  it('without an endpoint, describes the service at its own address (YesCaptcha: the China node for region cn)', () => {
    const parts = { image: '<img>', question: '/m/0k4j', grid: '1x1' as const }
    expect(describeRequest('yescaptcha', parts).url).toBe('https://api.yescaptcha.com/createTask')
    expect(describeRequest('yescaptcha', parts, { region: 'cn' }).url).toBe(
      'https://cn.yescaptcha.com/createTask',
    )
    expect(describeRequest('acedata', parts).headers).toEqual({
      'content-type': 'application/json',
      accept: 'application/json',
      authorization: 'Bearer ***',
    })
  })

  it('failover describes (and prices) its first provider', () => {
    const chain = createFailoverProvider({
      providers: [connect(server, 'capsolver').provider, connect(server, 'yescaptcha').provider],
      attemptTimeoutMs: () => 10_000,
    })
    const parts = { image: '<img>', question: '/m/0k4j', grid: '3x3' as const }
    expect(chain.describeRequest(parts).url).toContain('/capsolver')
    expect(chain.pointsFor('3x3')).toBe(1)
  })
})

describe('pointsFor: the one rule for --max-points', () => {
  it('counts the published price, else 1 point a call; a result still says null where the price is unknown', async () => {
    expect(pointsFor('yescaptcha', '3x3')).toBe(6)
    expect(pointsFor('yescaptcha', '4x4')).toBe(6)
    expect(pointsFor('yescaptcha', '1x1')).toBe(2)
    for (const name of PROVIDER_NAMES.filter((n) => n !== 'yescaptcha')) {
      expect(PROVIDER_FACTS[name].price('3x3'), name).toBeNull()
      expect(pointsFor(name, '3x3'), name).toBe(1)
      expect(connect(server, name).provider.pointsFor('1x1'), name).toBe(1)
    }
    expect(connect(server, 'yescaptcha').provider.pointsFor('1x1')).toBe(2)
    const { provider } = connect(server, 'capsolver')
    expect(await provider.recognize(await gridRequest('3x3', [4]))).toMatchObject({ points: null })
  })
})
