/**
 * Two gateways sharing one Redis (serve.redis): a real redis-server started here on a free port
 * (the system package; .ci/run installs it where missing). A task created on one gateway is
 * fetched on the other, and a client's budget holds across both.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startProviderServer, type ProviderServer } from '../helpers/provider-server.js'
import { fixture, pollTask, post, startTestGateway, type TestGateway } from './support.js'

let service: ProviderServer
let redis: ChildProcess
let redisUrl: string
const gateways: TestGateway[] = []

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function startRedis(port: number): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  await new Promise<void>((resolve, reject) => {
    let seen = ''
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${seen}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      if (seen.includes('Ready to accept connections')) resolve()
    })
  })
  return child
}

beforeAll(async () => {
  service = await startProviderServer()
  const port = await freePort()
  redis = await startRedis(port)
  redisUrl = `redis://127.0.0.1:${port}/0`
  const serve = {
    redis: redisUrl,
    clients: [{ key: 'bot-key-one', name: 'one', maxPoints: 12 }, { key: 'bot-key-two' }],
  }
  for (let i = 0; i < 2; i++) gateways.push(await startTestGateway(service, { serve }))
})
afterAll(async () => {
  for (const gateway of gateways) await gateway.close(0)
  redis?.kill('SIGTERM')
  await service?.close()
})

describe('two gateways on one Redis', () => {
  it('a task created on one gateway is fetched on the other', async () => {
    const [a, b] = gateways as [TestGateway, TestGateway]
    const body = (await fixture('widget-3x3-1x.png')).toString('base64')
    const created = await post(`${a.url}/createTask`, {
      clientKey: 'bot-key-two',
      task: { type: 'GridTask', body, comment: 'Select all images with cars', rows: 3, columns: 3 },
    })
    expect(created).toMatchObject({ errorId: 0 })
    expect(await pollTask(b.url, 'bot-key-two', created.taskId)).toMatchObject({
      status: 'ready',
      solution: { click: [2, 5, 9] },
    })
    const classic = await fetch(
      `${b.url}/res.php?key=bot-key-two&action=get&id=${String(created.taskId)}`,
    )
    expect(await classic.text()).toBe('OK|click:2/5/9')
  })

  it("a client's budget is spent across both: the third 6-point task of a 12-point budget is refused on either, with nothing sent", async () => {
    const [a, b] = gateways as [TestGateway, TestGateway]
    const image = (await fixture('payload-3x3.png')).toString('base64')
    const task = { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' }
    expect(await post(`${a.url}/createTask`, { clientKey: 'bot-key-one', task })).toMatchObject({
      errorId: 0,
    })
    expect(await post(`${b.url}/createTask`, { clientKey: 'bot-key-one', task })).toMatchObject({
      errorId: 0,
    })
    service.resetCounters()
    for (const gateway of [a, b]) {
      expect(
        await post(`${gateway.url}/createTask`, { clientKey: 'bot-key-one', task }),
      ).toMatchObject({
        errorCode: 'ERROR_ZERO_BALANCE',
      })
      expect(await post(`${gateway.url}/getBalance`, { clientKey: 'bot-key-one' })).toEqual({
        errorId: 0,
        balance: 0,
      })
    }
    expect(service.requests).toEqual([])
  })

  it('many tasks at once through both gateways never overspend the shared budget', async () => {
    const serve = {
      redis: redisUrl,
      clients: [{ key: 'bot-key-race', name: 'race', maxPoints: 30 }],
    }
    const [c, d] = [
      await startTestGateway(service, { serve }),
      await startTestGateway(service, { serve }),
    ]
    try {
      const image = (await fixture('payload-3x3.png')).toString('base64')
      const task = { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' }
      const replies = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          post(`${(i % 2 === 0 ? c : d).url}/createTask`, { clientKey: 'bot-key-race', task }),
        ),
      )
      expect(replies.filter((r) => r.errorId === 0)).toHaveLength(5)
      expect(replies.filter((r) => r.errorCode === 'ERROR_ZERO_BALANCE')).toHaveLength(7)
    } finally {
      await c.close(0)
      await d.close(0)
    }
  })

  it('Redis gone mid-run: tasks are refused as "try again" (no slot), not blamed on the client', async () => {
    const serve = { redis: redisUrl, clients: [{ key: 'bot-key-late' }] }
    const gateway = await startTestGateway(service, { serve })
    try {
      redis.kill('SIGTERM')
      await new Promise((resolve) => redis.once('exit', resolve))
      const image = (await fixture('payload-3x3.png')).toString('base64')
      const response = await fetch(`${gateway.url}/createTask`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          clientKey: 'bot-key-late',
          task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
        }),
      })
      expect(response.status).toBe(503)
      expect(await response.json()).toMatchObject({ errorCode: 'ERROR_NO_SLOT_AVAILABLE' })
    } finally {
      await gateway.close(0)
    }
  })

  it('an unreachable Redis stops the gateway at start with one clear line', async () => {
    const port = await freePort()
    await expect(
      startTestGateway(service, {
        serve: { redis: `redis://:secret-pw@127.0.0.1:${port}`, clients: [{ key: 'bot-key-one' }] },
      }),
    ).rejects.toThrow(/serve.redis: cannot reach redis:\/\/127\.0\.0\.1:\d+/)
  })
})
