/**
 * 2Captcha's res.php reportbad/reportgood through rc2 serve: the report reaches the service that
 * gave the answer, with that service's own task id and key; a service without such a report gets
 * nothing; an unknown id or another client's task is refused before anything is sent.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { ProviderName } from '../../src/providers/types.js'
import { startProviderServer, type ProviderServer } from '../helpers/provider-server.js'
import { fixture, gatewaySolver, startTestGateway, type TestGateway } from './support.js'

const BOT = 'bot-key-one'
const OTHER = 'bot-key-two'
const CLIENTS = {
  clients: [
    { key: BOT, name: 'one' },
    { key: OTHER, name: 'two' },
  ],
}
/** A key of each service's own, so that a report is seen to carry the right one. */
const KEYS: Partial<Record<ProviderName, string>> = {
  '2captcha': 'svc-2captcha-key',
  capsolver: 'svc-capsolver-key',
  capmonster: 'svc-capmonster-key',
  yescaptcha: 'svc-yescaptcha-key',
}

let service: ProviderServer
const gateways: TestGateway[] = []

beforeAll(async () => {
  service = await startProviderServer()
  service.setKeys(Object.values(KEYS) as string[])
})
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close(0)))
  service.setKeys(Object.values(KEYS) as string[])
})
afterAll(async () => {
  await service?.close()
})

/** A gateway asking only `provider`, with every service's own key. */
async function gatewayFor(provider: ProviderName): Promise<TestGateway> {
  const gateway = await startTestGateway(service, {
    providers: [provider],
    keys: KEYS,
    serve: CLIENTS,
  })
  gateways.push(gateway)
  return gateway
}

/** A task solved through the classic API by the official 2Captcha client: its gateway id. */
async function solvedTask(gateway: TestGateway, key = BOT): Promise<string> {
  const body = (await fixture('payload-3x3.png')).toString('base64')
  const answer = await gatewaySolver(key, gateway.url).grid({
    recaptcha: 1,
    body,
    textinstructions: 'Select all images with cars',
    rows: 3,
    cols: 3,
  })
  expect(answer.data).toBe('click:2/5/9')
  return answer.id
}

async function res(gateway: TestGateway, query: Record<string, string>): Promise<string> {
  const url = `${gateway.url}/res.php?${new URLSearchParams(query).toString()}`
  return (await fetch(url)).text()
}

function reportCalls(): ProviderServer['requests'] {
  return service.requests.filter((r) => /report|feedback/i.test(r.path))
}

describe('reports are passed on to the service that answered', () => {
  it.each(['2captcha', 'capsolver'] as const)(
    '%s: reportbad and reportgood reach it with its task id and its key',
    async (provider) => {
      const gateway = await gatewayFor(provider)
      const id = await solvedTask(gateway)
      const upstream = service.taskIds[provider].at(-1)
      expect(upstream).toBeDefined()
      expect(id).not.toBe(upstream)
      service.resetCounters()
      const solver = gatewaySolver(BOT, gateway.url)
      await expect(solver.badReport(id)).resolves.toBe('OK_REPORT_RECORDED')
      await expect(solver.goodReport(id)).resolves.toBe('OK_REPORT_RECORDED')
      expect(service.reports).toEqual([
        expect.objectContaining({ provider, taskId: upstream, correct: false }),
        expect.objectContaining({ provider, taskId: upstream, correct: true }),
      ])
      expect(reportCalls().map((r) => r.key)).toEqual([KEYS[provider], KEYS[provider]])
      expect(service.createCount).toBe(0)
    },
  )

  it('capmonster: reportbad reaches it; reportgood (it has no such call) is answered without a call', async () => {
    const gateway = await gatewayFor('capmonster')
    const id = await solvedTask(gateway)
    const upstream = service.taskIds.capmonster.at(-1)
    service.resetCounters()
    expect(await res(gateway, { key: BOT, action: 'reportbad', id })).toBe('OK_REPORT_RECORDED')
    expect(service.reports).toEqual([
      expect.objectContaining({ provider: 'capmonster', taskId: upstream, correct: false }),
    ])
    expect(reportCalls().map((r) => r.key)).toEqual([KEYS.capmonster])
    service.resetCounters()
    expect(await res(gateway, { key: BOT, action: 'reportgood', id, json: '1' })).toBe(
      JSON.stringify({ status: 1, request: 'OK_REPORT_RECORDED' }),
    )
    expect(service.requests).toEqual([])
  })

  it('yescaptcha (no report call): answered as 2Captcha does, nothing sent', async () => {
    const gateway = await gatewayFor('yescaptcha')
    const id = await solvedTask(gateway)
    service.resetCounters()
    const solver = gatewaySolver(BOT, gateway.url)
    await expect(solver.badReport(id)).resolves.toBe('OK_REPORT_RECORDED')
    await expect(solver.goodReport(id)).resolves.toBe('OK_REPORT_RECORDED')
    expect(service.requests).toEqual([])
  })

  it('a report the service refuses is answered ERROR_REPORT_NOT_RECORDED', async () => {
    const gateway = await gatewayFor('2captcha')
    const id = await solvedTask(gateway)
    service.resetCounters()
    // The account's key is withdrawn after the answer: the report call is refused upstream.
    service.setKeys(['some-other-key'])
    expect(await res(gateway, { key: BOT, action: 'reportbad', id })).toBe(
      'ERROR_REPORT_NOT_RECORDED',
    )
    expect(reportCalls()).toHaveLength(1)
    expect(service.reports).toEqual([])
    expect(gateway.lines.join('\n')).not.toContain(KEYS['2captcha'])
  })
})

describe('reports that are refused before anything is sent', () => {
  it('an unknown id, a non-numeric id, and another client’s task: ERROR_NO_SUCH_CAPCHA_ID, no call upstream', async () => {
    const gateway = await gatewayFor('2captcha')
    const id = await solvedTask(gateway, OTHER)
    service.resetCounters()
    for (const action of ['reportbad', 'reportgood']) {
      for (const bad of ['42', 'abc', id]) {
        expect(await res(gateway, { key: BOT, action, id: bad })).toBe('ERROR_NO_SUCH_CAPCHA_ID')
      }
    }
    // The official client rejects on any code but OK_REPORT_RECORDED (it words this one generically).
    await expect(gatewaySolver(BOT, gateway.url).badReport(id)).rejects.toThrow()
    expect(await res(gateway, { key: 'not-a-client', action: 'reportbad', id })).toBe(
      'ERROR_KEY_DOES_NOT_EXIST',
    )
    expect(service.requests).toEqual([])
    expect(service.reports).toEqual([])
    // The owner's report still goes through.
    expect(await res(gateway, { key: OTHER, action: 'reportbad', id })).toBe('OK_REPORT_RECORDED')
    expect(service.reports).toHaveLength(1)
  })
})
