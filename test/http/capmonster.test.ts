import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { fitJpeg } from '../../src/image/fit.js'
import type { FittedImage, RecognitionRequest } from '../../src/providers/types.js'
import { CAPMONSTER_IMAGE_LIMIT, renderRedGrid } from '../helpers/provider-server.js'
import {
  CAR,
  catchError,
  connect,
  gridRequest,
  loadRealTiles,
  useProviderServer,
} from './support.js'

const server = useProviderServer()

/** A 450x450 JPEG at q 90 from real tiles: bigger than CapMonster's limit, like many real payloads. */
async function bigFourByFour(red: number[]): Promise<RecognitionRequest> {
  const png = await renderRedGrid('4x4', red, { otherTiles: loadRealTiles('other', 15) })
  const jpeg = await sharp(png).jpeg({ quality: 92, chromaSubsampling: '4:4:4' }).toBuffer()
  return {
    image: jpeg.toString('base64'),
    grid: '4x4',
    size: 450,
    question: CAR,
    instruction: 'Select all squares with cars',
    fitImage: async (maxBytes): Promise<FittedImage> => {
      const fitted = await fitJpeg(jpeg, maxBytes)
      return {
        image: fitted.buffer.toString('base64'),
        bytes: fitted.buffer.length,
        quality: fitted.quality,
      }
    },
  }
}

/** A grid payload as rc2 sends it (JPEG), under the limit. */
async function jpegRequest(
  grid: '3x3' | '4x4' | '1x1',
  red: number[],
  otherTiles?: Buffer[],
): Promise<RecognitionRequest> {
  const image = await renderRedGrid(grid, red, {
    format: 'jpeg',
    ...(otherTiles === undefined ? {} : { otherTiles }),
  })
  const request = await gridRequest(grid, red, {
    instruction: grid === '4x4' ? 'Select all squares with cars' : 'Select all images with cars',
  })
  return { ...request, image: image.toString('base64') }
}

describe('capmonster ComplexImageTask', () => {
  it('sends class recaptcha with metadata.Grid and metadata.Task, polls, and maps answer booleans (3x3)', async () => {
    server.setAsync(2)
    const { provider } = connect(server, 'capmonster')
    const request = await jpegRequest('3x3', [2, 3], loadRealTiles('car', 6))
    const result = await provider.recognize(request)
    expect(result).toMatchObject({ type: 'multi', objects: [2, 3], points: null, paidCalls: 1 })
    expect(server.requests[0]?.body).toEqual({
      task: {
        type: 'ComplexImageTask',
        class: 'recaptcha',
        imagesBase64: [expect.stringMatching(/^<\d+ base64 chars>$/)],
        metadata: { Grid: '3x3', Task: 'Select all images with cars' },
      },
    })
    expect(server.pollCount).toBe(2)
  })

  it('re-encodes a 450x450 payload over 50,000 bytes to fit, and says so', async () => {
    const request = await bigFourByFour([5, 10])
    expect(Buffer.from(request.image, 'base64').length).toBeGreaterThan(CAPMONSTER_IMAGE_LIMIT)
    const { provider } = connect(server, 'capmonster')
    const result = await provider.recognize(request)
    expect(result.objects).toEqual([5, 10])
    expect(result.warnings?.[0]).toMatch(
      /^capmonster: the \d+-byte image was re-encoded at JPEG quality \d+ \(\d+ bytes\) to fit/,
    )
    const sent = /<(\d+) base64 chars>/.exec(JSON.stringify(server.requests[0]?.body))
    expect(Number(sent?.[1]) * 0.75).toBeLessThanOrEqual(CAPMONSTER_IMAGE_LIMIT)
  })

  it('without a way to re-encode, an oversized image is an input error sent nowhere', async () => {
    const { fitImage: _unused, ...request } = await bigFourByFour([1])
    const { provider } = connect(server, 'capmonster')
    const error = await catchError(() => provider.recognize(request))
    expect(error).toMatchObject({ kind: 'input' })
    expect(server.requests).toHaveLength(0)
  })

  it('maps its errors: bad key, zero balance, unsolvable, too many polls', async () => {
    const bad = connect(server, 'capmonster', { apiKey: 'wrong-key-1234' })
    const auth = await catchError(async () => bad.provider.recognize(await jpegRequest('3x3', [1])))
    expect(auth).toMatchObject({ kind: 'auth', code: 'ERROR_KEY_DOES_NOT_EXIST' })
    expect(auth.hint).toContain('RC2_CAPMONSTER_API_KEY')
    const { provider } = connect(server, 'capmonster')
    server.setZeroBalance(true)
    expect(
      await catchError(async () => provider.recognize(await jpegRequest('3x3', [1]))),
    ).toMatchObject({ kind: 'balance', code: 'ERROR_ZERO_BALANCE' })
    server.setZeroBalance(false)
    server.pushReply({
      path: '/getTaskResult',
      json: { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: 'no' },
    })
    expect(
      await catchError(async () => provider.recognize(await jpegRequest('3x3', [1]))),
    ).toMatchObject({ kind: 'unsolvable' })
    server.pushReply({
      path: '/getTaskResult',
      json: { errorId: 1, errorCode: 'ERROR_TOO_MUCH_REQUESTS', errorDescription: 'slow down' },
    })
    server.setReply({
      path: '/getTaskResult',
      json: { errorId: 1, errorCode: 'ERROR_TOO_MUCH_REQUESTS', errorDescription: 'slow down' },
    })
    const limited = await catchError(async () => provider.recognize(await jpegRequest('3x3', [1])))
    expect(limited).toMatchObject({ kind: 'rate_limit', code: 'ERROR_TOO_MUCH_REQUESTS' })
    server.setReply(undefined)
    // rc2 itself stops at the 120 polls the service allows, before it would refuse the 121st.
    server.setAsync(200)
    server.resetCounters()
    const polled = await catchError(async () => provider.recognize(await jpegRequest('3x3', [1])))
    expect(polled).toMatchObject({ kind: 'timeout' })
    expect(server.pollCount).toBe(120)
  })

  it('reads the balance and reports wrong answers only', async () => {
    const { provider } = connect(server, 'capmonster')
    expect(await provider.balance()).toMatchObject({ provider: 'capmonster', unit: 'USD' })
    const result = await provider.recognize(await jpegRequest('1x1', [0]))
    expect(result).toMatchObject({ type: 'single', hasObject: true })
    await provider.report!(result.taskId!, false)
    expect(server.reports).toEqual([
      {
        provider: 'capmonster',
        path: '/reportIncorrectImageCaptcha',
        taskId: result.taskId,
        correct: false,
      },
    ])
    expect(await catchError(() => provider.report!(result.taskId!, true))).toMatchObject({
      kind: 'usage',
    })
  })
})

describe('capmonster size limit, if it counts base64', () => {
  it('resends once fitted to 37,500 bytes when the service still finds the image too big', async () => {
    server.pushReply({
      path: '/createTask',
      json: {
        errorId: 1,
        errorCode: 'ERROR_TOO_BIG_CAPTCHA_FILESIZE',
        errorDescription: 'too big',
      },
    })
    const request = await bigFourByFour([0, 15])
    const { provider } = connect(server, 'capmonster')
    const result = await provider.recognize(request)
    expect(result.objects).toEqual([0, 15])
    expect(result.warnings?.at(-1)).toMatch(/refused as too big and re-encoded at JPEG quality \d+/)
    const creates = server.requests.filter((r) => r.path === '/createTask')
    expect(creates).toHaveLength(2)
    const sent = /<(\d+) base64 chars>/.exec(JSON.stringify(creates[1]?.body))
    expect(Number(sent?.[1])).toBeLessThanOrEqual(50_000)
  })
})
