/**
 * What the gateway does between its clients and the services: failover, dropping a service with a
 * refused key, the circuit breaker, budgets (refused with nothing sent), tasks in flight per
 * client, 20 clients at once, --output, and the drain (no new tasks, answers still handed out).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startProviderServer, type ProviderServer } from '../helpers/provider-server.js'
import { fixture, pollTask, post, startTestGateway, type TestGateway } from './support.js'

let service: ProviderServer
let payload: string
let dir: string
const open: TestGateway[] = []

beforeAll(async () => {
  service = await startProviderServer()
  payload = (await fixture('payload-3x3.png')).toString('base64')
  dir = await mkdtemp(join(tmpdir(), 'rc2-serve-'))
})
afterAll(async () => {
  await service?.close()
  await rm(dir, { recursive: true, force: true })
})
beforeEach(async () => {
  while (open.length > 0) await open.pop()?.close(0)
  service.resetCounters()
  service.setReply(undefined)
  service.setAsync(0)
  service.setLatency(0)
})

async function gatewayFor(options: Parameters<typeof startTestGateway>[1]): Promise<TestGateway> {
  const gateway = await startTestGateway(service, options)
  open.push(gateway)
  return gateway
}

function classify(base: string, clientKey: string): Promise<Record<string, unknown>> {
  return post(`${base}/createTask`, {
    clientKey,
    task: { type: 'ReCaptchaV2Classification', image: payload, question: '/m/0k4j' },
  })
}

const ACE_CREATE = '/captcha/recognition/recaptcha2'
const ACE_DOWN = {
  path: ACE_CREATE,
  status: 500,
  json: { error: { code: 'api_error', message: 'down' } },
}
const clients = (...keys: string[]) => ({ clients: keys.map((key) => ({ key })) })

describe('failover and the circuit breaker', () => {
  it('a failing service is passed over for the next; the answer names the one that answered', async () => {
    const gateway = await gatewayFor({
      providers: ['acedata', 'yescaptcha'],
      serve: clients('bot-key-one'),
    })
    service.setReply(ACE_DOWN)
    expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({
      errorId: 0,
      solution: { objects: [1, 4, 8] },
    })
    expect(service.requests.map((r) => r.provider)).toEqual(['acedata', 'yescaptcha'])
    expect(gateway.lines.at(-1)).toMatch(/ok yescaptcha 3x3 \[1,4,8\].* after acedata:/)
  })

  it('a refused key drops that service for every later task', async () => {
    const gateway = await gatewayFor({
      providers: ['capsolver', 'yescaptcha'],
      keys: { capsolver: 'a-wrong-service-key' },
      serve: clients('bot-key-one'),
    })
    await classify(gateway.url, 'bot-key-one')
    await classify(gateway.url, 'bot-key-one')
    expect(service.requests.map((r) => r.provider)).toEqual([
      'capsolver',
      'yescaptcha',
      'yescaptcha',
    ])
  })

  it('after breakerFailures failures in a row the service is set aside, then tried again once the cooldown is over', async () => {
    const gateway = await gatewayFor({
      providers: ['acedata', 'yescaptcha'],
      serve: { ...clients('bot-key-one'), breakerFailures: 2, breakerCooldown: 1 },
    })
    service.setReply(ACE_DOWN)
    for (let i = 0; i < 4; i++)
      expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({ errorId: 0 })
    const ace = (): number => service.requests.filter((r) => r.provider === 'acedata').length
    expect(ace()).toBe(2)
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toMatchObject({
      setAside: ['acedata'],
    })
    expect(await (await fetch(`${gateway.url}/metrics`)).text()).toContain(
      'rc2_serve_breaker_open{provider="acedata"} 1',
    )
    service.setReply(undefined)
    await new Promise((resolve) => setTimeout(resolve, 1200))
    expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({ errorId: 0 })
    expect(ace()).toBe(3)
    expect(service.requests.at(-1)?.provider).toBe('acedata')
  })

  it('when every service fails the client gets ERROR_CAPTCHA_UNSOLVABLE', async () => {
    const gateway = await gatewayFor({ providers: ['acedata'], serve: clients('bot-key-one') })
    service.setReply(ACE_DOWN)
    expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({
      errorId: 1,
      errorCode: 'ERROR_CAPTCHA_UNSOLVABLE',
    })
  })
})

describe('budgets and limits', () => {
  it('a client over maxPoints gets ERROR_ZERO_BALANCE with nothing sent; getBalance tells each client its own', async () => {
    const gateway = await gatewayFor({
      serve: {
        clients: [
          { key: 'bot-key-one', maxPoints: 12 },
          { key: 'bot-key-two', maxPointsPerHour: 6 },
        ],
      },
    })
    expect(await post(`${gateway.url}/getBalance`, { clientKey: 'bot-key-one' })).toEqual({
      errorId: 0,
      balance: 12,
    })
    expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({ errorId: 0 })
    expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({ errorId: 0 })
    expect(await classify(gateway.url, 'bot-key-two')).toMatchObject({ errorId: 0 })
    service.resetCounters()
    expect(await classify(gateway.url, 'bot-key-one')).toMatchObject({
      errorId: 1,
      errorCode: 'ERROR_ZERO_BALANCE',
    })
    expect(await classify(gateway.url, 'bot-key-two')).toMatchObject({
      errorId: 1,
      errorCode: 'ERROR_ZERO_BALANCE',
    })
    const body = (await fixture('payload-3x3.png')).toString('base64')
    const classic = await fetch(`${gateway.url}/in.php`, {
      method: 'POST',
      body: new URLSearchParams({
        key: 'bot-key-one',
        method: 'base64',
        recaptcha: '1',
        textinstructions: 'cars',
        body,
      }),
    })
    expect(await classic.text()).toBe('ERROR_ZERO_BALANCE')
    expect(service.requests).toEqual([])
    expect(await post(`${gateway.url}/getBalance`, { clientKey: 'bot-key-one' })).toEqual({
      errorId: 0,
      balance: 0,
    })
    expect(await post(`${gateway.url}/getBalance`, { clientKey: 'bot-key-two' })).toEqual({
      errorId: 0,
      balance: 0,
    })
  })

  it('a client at its limit of tasks in flight is told no slot is available', async () => {
    const gateway = await gatewayFor({ serve: { ...clients('bot-key-one'), maxTasksPerClient: 1 } })
    service.setLatency(800)
    const grid = { type: 'GridTask', body: payload, comment: 'cars', rows: 3, columns: 3 }
    const first = await post(`${gateway.url}/createTask`, { clientKey: 'bot-key-one', task: grid })
    expect(first).toMatchObject({ errorId: 0 })
    expect(
      await post(`${gateway.url}/createTask`, { clientKey: 'bot-key-one', task: grid }),
    ).toMatchObject({
      errorId: 2,
      errorCode: 'ERROR_NO_SLOT_AVAILABLE',
    })
    expect(await pollTask(gateway.url, 'bot-key-one', first.taskId)).toMatchObject({
      solution: { click: [2, 5, 9] },
    })
  })

  it('a task is fetched only by the client that made it', async () => {
    const gateway = await gatewayFor({ serve: clients('bot-key-one', 'bot-key-two') })
    const made = await classify(gateway.url, 'bot-key-one')
    expect(
      await post(`${gateway.url}/getTaskResult`, { clientKey: 'bot-key-two', taskId: made.taskId }),
    ).toMatchObject({
      errorCode: 'ERROR_NO_SUCH_CAPCHA_ID',
    })
  })
})

describe('load, --output and the drain', () => {
  it('20 clients with 20 tasks each at once: all 400 answered', async () => {
    const keys = Array.from({ length: 20 }, (_, i) => `bot-key-${String(i).padStart(2, '0')}`)
    const gateway = await gatewayFor({ serve: clients(...keys) })
    // Hundreds of tasks share the gateway's stop signal: Node must not warn of a listener leak.
    const warnings: string[] = []
    const onWarning = (warning: Error): void => void warnings.push(warning.name)
    process.on('warning', onWarning)
    const complex = {
      type: 'ComplexImageTask',
      class: 'recaptcha',
      imagesBase64: [payload],
      metadata: { Grid: '3x3', Task: 'cars' },
    }
    const replies = await Promise.all(
      keys.flatMap((key, k) =>
        Array.from({ length: 20 }, async (_, i) => {
          if ((k + i) % 2 === 0) return classify(gateway.url, key)
          const created = await post(`${gateway.url}/createTask`, { clientKey: key, task: complex })
          return pollTask(gateway.url, key, created.taskId)
        }),
      ),
    )
    const answers = replies.map((reply) =>
      JSON.stringify(
        (reply.solution as { objects?: number[]; answer?: boolean[] }).objects ??
          (reply.solution as { answer: boolean[] }).answer.flatMap((on, i) => (on ? [i] : [])),
      ),
    )
    expect(answers).toEqual(Array.from({ length: 400 }, () => '[1,4,8]'))
    expect(service.createCount).toBe(400)
    await new Promise((resolve) => setImmediate(resolve))
    process.off('warning', onWarning)
    expect(warnings).not.toContain('MaxListenersExceededWarning')
  }, 180_000)

  it('--output appends every answer as rc2 solve --output writes it', async () => {
    const output = join(dir, 'answers.ndjson')
    const gateway = await gatewayFor({ serve: clients('bot-key-one'), output })
    const made = await classify(gateway.url, 'bot-key-one')
    const lines = (await readFile(output, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatchObject({
      schemaVersion: 1,
      ok: true,
      input: `task:${String(made.taskId)}`,
      objects: [1, 4, 8],
      provider: 'yescaptcha',
    })
    expect(lines[0]?.inputSha256).toMatch(/^[0-9a-f]{64}$/)
  })

  it('a drain waits for answers not yet fetched, not for those given in the createTask reply', async () => {
    const gateway = await gatewayFor({ serve: clients('bot-key-one') })
    await classify(gateway.url, 'bot-key-one')
    expect(gateway.gateway.answersAwaitingFetch).toBe(0)
    const grid = { type: 'GridTask', body: payload, comment: 'cars', rows: 3, columns: 3 }
    const created = await post(`${gateway.url}/createTask`, {
      clientKey: 'bot-key-one',
      task: grid,
    })
    while (gateway.gateway.tasksInFlight > 0)
      await new Promise((resolve) => setTimeout(resolve, 20))
    expect(gateway.gateway.answersAwaitingFetch).toBe(1)
    await pollTask(gateway.url, 'bot-key-one', created.taskId)
    expect(gateway.gateway.answersAwaitingFetch).toBe(0)
  })

  it('closing: new tasks refused, the task in flight finishes and its answer is handed out before close resolves', async () => {
    const gateway = await startTestGateway(service, { serve: clients('bot-key-one') })
    service.setLatency(1000)
    const grid = { type: 'GridTask', body: payload, comment: 'cars', rows: 3, columns: 3 }
    const created = await post(`${gateway.url}/createTask`, {
      clientKey: 'bot-key-one',
      task: grid,
    })
    let closed = false
    const closing = gateway.close(10_000).then(() => (closed = true))
    expect(
      await post(`${gateway.url}/createTask`, { clientKey: 'bot-key-one', task: grid }),
    ).toMatchObject({
      errorCode: 'ERROR_NO_SLOT_AVAILABLE',
    })
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toMatchObject({
      status: 'draining',
    })
    const answer = await pollTask(gateway.url, 'bot-key-one', created.taskId)
    expect(answer).toMatchObject({ status: 'ready', solution: { click: [2, 5, 9] } })
    await closing
    expect(closed).toBe(true)
    expect(service.createCount).toBe(1)
  })
})
