/**
 * rc2 serve in this process, in front of the loopback services, driven as the services' own
 * clients drive them: raw createTask calls as the YesCaptcha and CapSolver docs show them, the
 * official CapMonster and 2Captcha npm clients, and 2Captcha's classic in.php/res.php forms.
 * Payloads, widget and page screenshots all come back with the red tiles the fixtures hold.
 */
import {
  CapMonsterCloudClientFactory,
  ClientOptions,
  ComplexImageRecaptchaRequest,
} from '@zennolab_com/capmonstercloud-client'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { startProviderServer, type ProviderServer } from '../helpers/provider-server.js'
import {
  fixture,
  gatewaySolver,
  pollTask,
  post,
  SERVICE_KEY,
  startTestGateway,
  type TestGateway,
} from './support.js'

const BOT = 'bot-key-one'
let service: ProviderServer
let gateway: TestGateway

beforeAll(async () => {
  service = await startProviderServer()
  gateway = await startTestGateway(service)
})
afterAll(async () => {
  await gateway?.close(0)
  await service?.close()
})
beforeEach(() => {
  service.resetCounters()
})

describe('createTask family', () => {
  it('ReCaptchaV2Classification (YesCaptcha/CapSolver docs): a payload answered in the createTask reply, and again by getTaskResult', async () => {
    const image = (await fixture('payload-3x3.png')).toString('base64')
    const reply = await post(`${gateway.url}/createTask`, {
      clientKey: BOT,
      task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
    })
    expect(reply).toMatchObject({
      errorId: 0,
      status: 'ready',
      solution: { objects: [1, 4, 8], type: 'multi' },
    })
    expect(typeof reply.taskId).toBe('string')
    expect(await pollTask(gateway.url, BOT, reply.taskId)).toMatchObject({
      status: 'ready',
      solution: { objects: [1, 4, 8] },
    })
    expect(service.createCount).toBe(1)
  })

  it('a whole page screenshot is found, cropped and answered; the question may be a name in another language', async () => {
    const image = (await fixture('page-3x3-1.25x.jpg')).toString('base64')
    const reply = await post(`${gateway.url}/createTask`, {
      clientKey: BOT,
      task: { type: 'ReCaptchaV2Classification', image, question: 'Autos' },
    })
    expect(reply).toMatchObject({ errorId: 0, solution: { objects: [1, 4, 8] } })
    // The service got the prepared 300x300 payload with the /m/ id, not the page.
    const create = service.requests.find((r) => r.path === '/createTask')
    expect(create?.body).toMatchObject({ task: { question: '/m/0k4j' } })
  })

  it('CapMonster official client: ComplexImageTask class recaptcha on a widget screenshot, answer booleans', async () => {
    const client = CapMonsterCloudClientFactory.Create(
      new ClientOptions({ clientKey: BOT, serviceUrl: gateway.url }),
    )
    const image = (await fixture('widget-3x3-1x.png')).toString('base64')
    const result = await client.Solve(
      new ComplexImageRecaptchaRequest({
        imagesBase64: [image],
        metaData: { Grid: '3x3', Task: 'Select all images with cars' },
      }),
    )
    expect(result.error).toBeUndefined()
    expect(result.solution?.answer).toEqual([
      false,
      true,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
    ])
  })

  it('CapMonster: a 4x4 widget with TaskDefinition', async () => {
    const client = CapMonsterCloudClientFactory.Create(
      new ClientOptions({ clientKey: BOT, serviceUrl: gateway.url }),
    )
    const image = (await fixture('payload-4x4.jpg')).toString('base64')
    const result = await client.Solve(
      new ComplexImageRecaptchaRequest({
        imagesBase64: [image],
        metaData: { Grid: '4x4', TaskDefinition: '/m/015qff' },
      }),
    )
    const answer = result.solution?.answer as boolean[]
    expect(answer.flatMap((on, i) => (on ? [i] : []))).toEqual([0, 5, 10, 15])
  })

  it('CapMonster imageUrls: the gateway fetches the picture itself', async () => {
    const picture = await fixture('widget-3x3-1x.png')
    const host = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'image/png' }).end(picture)
    })
    await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = host.address() as AddressInfo
      const created = await post(`${gateway.url}/createTask`, {
        clientKey: BOT,
        task: {
          type: 'ComplexImageTask',
          class: 'recaptcha',
          imageUrls: [`http://127.0.0.1:${port}/captcha.png`],
          metadata: { Grid: '3x3', TaskDefinition: '/m/0k4j' },
        },
      })
      const answer = await pollTask(gateway.url, BOT, created.taskId)
      expect((answer.solution as { answer: boolean[] }).answer).toEqual([
        false,
        true,
        false,
        false,
        true,
        false,
        false,
        false,
        true,
      ])
    } finally {
      await new Promise((resolve) => host.close(resolve))
    }
  })

  it('2Captcha GridTask (API v2): 1-based click, the instruction sentence parsed', async () => {
    const body = (await fixture('widget-legacy-3x3-1x.jpg')).toString('base64')
    const created = await post(`${gateway.url}/createTask`, {
      clientKey: BOT,
      task: {
        type: 'GridTask',
        body,
        comment: 'Select all images with a bus',
        rows: 3,
        columns: 3,
      },
    })
    expect(created).toMatchObject({ errorId: 0 })
    expect(typeof created.taskId).toBe('number')
    expect(await pollTask(gateway.url, BOT, created.taskId)).toMatchObject({
      errorId: 0,
      status: 'ready',
      solution: { click: [2, 5, 9] },
    })
  })

  it('getBalance with no budget configured answers a large number; getTaskResult of an unknown id is ERROR_NO_SUCH_CAPCHA_ID', async () => {
    expect(await post(`${gateway.url}/getBalance`, { clientKey: BOT })).toEqual({
      errorId: 0,
      balance: 999_999_999,
    })
    expect(
      await post(`${gateway.url}/getTaskResult`, { clientKey: BOT, taskId: 123456789012 }),
    ).toMatchObject({ errorId: 1, errorCode: 'ERROR_NO_SUCH_CAPCHA_ID' })
  })

  it('bad tasks are refused in protocol shape: unknown type, no image, an unknown question', async () => {
    const image = (await fixture('payload-3x3.png')).toString('base64')
    expect(
      await post(`${gateway.url}/createTask`, { clientKey: BOT, task: { type: 'HCaptchaTask' } }),
    ).toMatchObject({ errorId: 1, errorCode: 'ERROR_TASK_NOT_SUPPORTED' })
    expect(
      await post(`${gateway.url}/createTask`, {
        clientKey: BOT,
        task: { type: 'GridTask', comment: 'cars' },
      }),
    ).toMatchObject({ errorId: 22, errorCode: 'ERROR_TASK_ABSENT' })
    expect(
      await post(`${gateway.url}/createTask`, {
        clientKey: BOT,
        task: { type: 'ReCaptchaV2Classification', image, question: 'zebra crossing lamps' },
      }),
    ).toMatchObject({ errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE' })
    expect(service.createCount).toBe(0)
  })
})

describe("2Captcha's classic API", () => {
  it('the official 2Captcha client: grid() on a page screenshot resolves with click:2/5/9', async () => {
    const solver = gatewaySolver(BOT, gateway.url)
    const body = (await fixture('page-3x3-1.25x.jpg')).toString('base64')
    const answer = await solver.grid({
      recaptcha: 1,
      body,
      textinstructions: 'Select all images with cars',
      rows: 3,
      cols: 3,
    })
    expect(answer.data).toBe('click:2/5/9')
    expect(await solver.balance()).toBe(999_999_999)
    await expect(solver.badReport(answer.id)).resolves.toBeDefined()
  })

  it('method=post multipart with json=0: OK|<id>, then OK|click:... from res.php', async () => {
    const form = new FormData()
    form.set('key', BOT)
    form.set('method', 'post')
    form.set('recaptcha', '1')
    form.set('textinstructions', 'cars')
    form.set('recaptcharows', '4')
    form.set('recaptchacols', '4')
    form.set('file', new Blob([await fixture('widget-4x4-2x.jpg')]), 'captcha.jpg')
    const submitted = await (
      await fetch(`${gateway.url}/in.php`, { method: 'POST', body: form })
    ).text()
    expect(submitted).toMatch(/^OK\|\d+$/)
    const id = submitted.slice(3)
    let answer = 'CAPCHA_NOT_READY'
    while (answer === 'CAPCHA_NOT_READY') {
      answer = await (await fetch(`${gateway.url}/res.php?key=${BOT}&action=get&id=${id}`)).text()
    }
    expect(answer).toBe('OK|click:1/6/11/16')
  })

  it('method=base64 as a form, json=1; errors in both forms', async () => {
    const body = (await fixture('payload-3x3.png')).toString('base64')
    const form = new URLSearchParams({
      key: BOT,
      method: 'base64',
      recaptcha: '1',
      textinstructions: 'Select all images with cars',
      body,
      json: '1',
    })
    const submitted = (await (
      await fetch(`${gateway.url}/in.php`, { method: 'POST', body: form })
    ).json()) as {
      status: number
      request: string
    }
    expect(submitted.status).toBe(1)
    let answer: { status: number; request: string } = { status: 0, request: 'CAPCHA_NOT_READY' }
    while (answer.request === 'CAPCHA_NOT_READY')
      answer = (await (
        await fetch(`${gateway.url}/res.php?key=${BOT}&action=get&id=${submitted.request}&json=1`)
      ).json()) as typeof answer
    expect(answer).toEqual({ status: 1, request: 'click:2/5/9' })
    expect(await (await fetch(`${gateway.url}/res.php?key=${BOT}&action=get&id=42`)).text()).toBe(
      'ERROR_NO_SUCH_CAPCHA_ID',
    )
    expect(await (await fetch(`${gateway.url}/res.php?key=${BOT}&action=dance`)).text()).toBe(
      'ERROR_EMPTY_ACTION',
    )
  })
})

describe('who may use it', () => {
  it('an unknown key is refused in every protocol, nothing sent upstream, and no key is echoed', async () => {
    const image = (await fixture('payload-3x3.png')).toString('base64')
    const wrong = 'not-a-gateway-key'
    for (const task of [
      { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
      {
        type: 'ComplexImageTask',
        class: 'recaptcha',
        imagesBase64: [image],
        metadata: { Grid: '3x3', Task: 'cars' },
      },
    ]) {
      expect(await post(`${gateway.url}/createTask`, { clientKey: wrong, task })).toMatchObject({
        errorId: 1,
        errorCode: 'ERROR_KEY_DOES_NOT_EXIST',
      })
    }
    expect(
      await post(`${gateway.url}/createTask`, {
        clientKey: SERVICE_KEY,
        task: { type: 'GridTask', body: image, comment: 'cars' },
      }),
    ).toMatchObject({ errorId: 1, errorCode: 'ERROR_KEY_DOES_NOT_EXIST' })
    expect(await post(`${gateway.url}/getBalance`, { clientKey: wrong })).toMatchObject({
      errorCode: 'ERROR_KEY_DOES_NOT_EXIST',
    })
    const solver = gatewaySolver(wrong, gateway.url)
    await expect(
      solver.grid({ recaptcha: 1, body: image, textinstructions: 'cars', rows: 3, cols: 3 }),
    ).rejects.toMatchObject({ err: 'ERROR_KEY_DOES_NOT_EXIST' })
    expect(service.requests).toEqual([])
    const everything =
      gateway.lines.join('\n') + (await (await fetch(`${gateway.url}/metrics`)).text())
    expect(everything).not.toContain(SERVICE_KEY)
    expect(everything).not.toContain(BOT)
  })

  it('a body that is not JSON is refused as ERROR_TASK_ABSENT', async () => {
    const reply = await fetch(`${gateway.url}/createTask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"clientKey": "bot-key-one", "task": ',
    })
    expect(reply.status).toBe(400)
    expect(await reply.json()).toMatchObject({ errorId: 1, errorCode: 'ERROR_TASK_ABSENT' })
  })

  it('a body over the cap is refused as too big', async () => {
    const small = await startTestGateway(service, {
      serve: { clients: [{ key: BOT }], maxBodyBytes: 4096 },
    })
    try {
      const image = Buffer.alloc(20_000, 7).toString('base64')
      const reply = await fetch(`${small.url}/createTask`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          clientKey: BOT,
          task: { type: 'ReCaptchaV2Classification', image, question: 'cars' },
        }),
      })
      expect(reply.status).toBe(413)
      expect(await reply.json()).toMatchObject({ errorCode: 'ERROR_TOO_BIG_CAPTCHA_FILESIZE' })
      expect(service.createCount).toBe(0)
    } finally {
      await small.close(0)
    }
  })

  it('refuses to listen beyond loopback without client keys', async () => {
    await expect(
      startTestGateway(service, { host: '0.0.0.0', serve: { clients: [] } }),
    ).rejects.toThrow(/no serve.clients are configured/)
  })
})

describe('health and metrics', () => {
  it('/healthz says ok; /metrics counts tasks by client, protocol, provider and outcome', async () => {
    expect(await (await fetch(`${gateway.url}/healthz`)).json()).toMatchObject({ status: 'ok' })
    const text = await (await fetch(`${gateway.url}/metrics`)).text()
    expect(text).toMatch(
      /rc2_serve_tasks_total\{client="one",protocol="classification",provider="yescaptcha",outcome="ok"\} [1-9]/,
    )
    expect(text).toContain('rc2_serve_task_duration_seconds_bucket')
    expect(text).toMatch(/rc2_serve_points_total\{client="one",provider="yescaptcha"\} [1-9]/)
  })

  it('writes one log line per task', () => {
    expect(
      gateway.lines.some((line) =>
        /^task \d+ one classification ok yescaptcha 3x3 \[1,4,8\]/.test(line),
      ),
    ).toBe(true)
  })
})
