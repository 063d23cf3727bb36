import { afterEach, describe, expect, it } from 'vitest'
import {
  createPrng,
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
} from '../helpers/provider-server.js'
import type { FaultOptions, ProviderServer } from '../helpers/provider-server.js'

let server: ProviderServer | undefined
afterEach(async () => {
  await server?.close()
  server = undefined
})

async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
    return { status: response.status, text: await response.text() }
  } catch {
    return { status: 0, text: '' }
  }
}

const FAULTS: FaultOptions = {
  seed: 42,
  rateLimit: 0.1,
  rateLimitNoHeader: 0.05,
  serverError: 0.1,
  resetBeforeWork: 0.05,
  resetAfterWork: 0.05,
  malformed: 0.05,
  slow: 0.05,
  slowMs: 5,
}

/** 60 sequential createTask calls; returns the fault of each and the counters. */
async function runSequence(
  faults: FaultOptions,
): Promise<{ faults: Array<string | null>; counts: Record<string, number>; paid: number }> {
  const local = await startProviderServer({ faults })
  const image = (await renderRedGrid('3x3', [4])).toString('base64')
  for (let i = 0; i < 60; i++) {
    await post(`${local.url}/createTask`, {
      clientKey: DEFAULT_TEST_KEY,
      task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
    })
  }
  const result = {
    faults: local.requests.map((r) => r.fault),
    counts: { ...local.faultCounts },
    paid: local.paidCount,
  }
  await local.close()
  return result
}

describe('provider server', () => {
  it('mulberry32 is deterministic and uniform enough', () => {
    const a = createPrng(7)
    const b = createPrng(7)
    const values = Array.from({ length: 2000 }, () => a())
    expect(values.slice(0, 5)).toEqual(Array.from({ length: 5 }, () => b()))
    const mean = values.reduce((sum, v) => sum + v, 0) / values.length
    expect(mean).toBeGreaterThan(0.45)
    expect(mean).toBeLessThan(0.55)
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...values)).toBeLessThan(1)
  })

  it('injects the same faults for the same seed and different ones for another', async () => {
    const first = await runSequence(FAULTS)
    const again = await runSequence(FAULTS)
    const other = await runSequence({ ...FAULTS, seed: 43 })
    expect(again).toEqual(first)
    expect(other.faults).not.toEqual(first.faults)
    const injected = Object.values(first.counts).reduce((sum, n) => sum + n, 0)
    expect(injected).toBe(first.faults.filter((f) => f !== null).length)
    expect(injected).toBeGreaterThan(10)
    // Work is charged for the clean calls and the faults that happen after the work.
    const clean = first.faults.filter((f) => f === null).length
    expect(first.paid).toBe(
      clean + first.counts.resetAfterWork! + first.counts.malformed! + first.counts.slow!,
    )
  })

  it('answers "too many threads" beyond maxInFlight concurrent calls', async () => {
    server = await startProviderServer({ latencyMs: 400, faults: { seed: 1, maxInFlight: 2 } })
    const image = (await renderRedGrid('3x3', [0])).toString('base64')
    const body = {
      clientKey: DEFAULT_TEST_KEY,
      task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
    }
    const replies = await Promise.all(
      Array.from({ length: 5 }, () => post(`${server!.url}/createTask`, body)),
    )
    const threads = replies.filter((r) => r.text.includes('ERROR_THREADS_MAXIMUM'))
    expect(threads).toHaveLength(3)
    expect(server.faultCounts.threads).toBe(3)
    expect(server.maxInFlightSeen).toBe(5)
    expect(server.paidCount).toBe(2)
  })

  it('is strict about keys, prefixes, sizes and methods', async () => {
    server = await startProviderServer()
    const good = (await renderRedGrid('3x3', [0])).toString('base64')
    const task = (image: string): unknown => ({
      clientKey: DEFAULT_TEST_KEY,
      task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j' },
    })
    const dataUri = await post(`${server.url}/createTask`, task(`data:image/png;base64,${good}`))
    expect(JSON.parse(dataUri.text)).toMatchObject({
      errorId: 1,
      errorCode: 'ERROR_PARSE_IMAGE_FAIL',
    })
    const garbage = await post(`${server.url}/createTask`, task('bm90IGFuIGltYWdl'))
    expect(JSON.parse(garbage.text)).toMatchObject({ errorCode: 'ERROR_PARSE_IMAGE_FAIL' })
    const ace = await post(`${server.url}/captcha/recognition/recaptcha2`, {
      image: good,
      question: '/m/0k4j',
    })
    expect(ace.status).toBe(401)
    expect(JSON.parse(ace.text)).toMatchObject({ success: false, error: { code: 'no_token' } })
    const capsolverUnknownTask = await post(`${server.endpoints.capsolver}/getTaskResult`, {
      clientKey: DEFAULT_TEST_KEY,
      taskId: 'nope',
    })
    expect(capsolverUnknownTask.status).toBe(400)
    expect(JSON.parse(capsolverUnknownTask.text)).toMatchObject({
      errorCode: 'ERROR_TASKID_INVALID',
    })
    const get = await fetch(`${server.url}/createTask`)
    expect(get.status).toBe(405)
    expect(server.paidCount).toBe(0)
    expect(
      server.requests.every(
        (r) => !JSON.stringify(r).includes(DEFAULT_TEST_KEY) || r.key === DEFAULT_TEST_KEY,
      ),
    ).toBe(true)
    expect(JSON.stringify(server.requests.map((r) => r.body))).not.toContain(DEFAULT_TEST_KEY)
  })

  it('computes the 4x4 cells at round(i * 112.5)', async () => {
    const scores: number[][] = []
    server = await startProviderServer({
      oracle: ({ cells }) => {
        scores.push(cells.map((c) => c.r))
        return cells.map(() => 0)
      },
    })
    // A 450x450 image whose red column is exactly x in [113, 225): cell column 1 only.
    const sharp = (await import('sharp')).default
    const stripe = await sharp({
      create: { width: 112, height: 450, channels: 3, background: { r: 255, g: 0, b: 0 } },
    })
      .png()
      .toBuffer()
    const image = await sharp({
      create: { width: 450, height: 450, channels: 3, background: { r: 0, g: 0, b: 0 } },
    })
      .composite([{ input: stripe, left: 113, top: 0 }])
      .png()
      .toBuffer()
    await post(`${server.url}/createTask`, {
      clientKey: DEFAULT_TEST_KEY,
      task: {
        type: 'ReCaptchaV2Classification',
        image: image.toString('base64'),
        question: '/m/0k4j',
      },
    })
    expect(scores[0]!.map((r) => Math.round(r))).toEqual([
      0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255, 0, 0,
    ])
  })
})
