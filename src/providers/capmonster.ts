/**
 * CapMonster Cloud `ComplexImageTask` with `class: "recaptcha"`: the grid image in
 * `imagesBase64`, `metadata.Grid` and the English instruction in `metadata.Task`; createTask, then
 * getTaskResult every second (at most 120 polls: more give ERROR_TOO_MUCH_REQUESTS), answered with
 * `solution.answer`, one boolean per tile. Images above 50,000 bytes are refused by the service
 * (ERROR_TOO_BIG_CAPTCHA_FILESIZE), so a larger payload is re-encoded at a lower JPEG quality to fit
 * before it is sent. The price is not published (points: null). Wrong answers are reported with
 * reportIncorrectImageCaptcha (whether that covers ComplexImageTask is unconfirmed).
 */
import { InputError, ProviderError } from '../errors.js'
import { normalizeTileFlags } from './nopecha.js'
import { createTaskApiProvider } from './task-api.js'
import type { FittedPayload } from './task-api.js'
import type { Provider, ProviderOptions, RecognitionRequest } from './types.js'

/** The official client's limit for one image ("more than 50,000 bytes" is refused). */
const CAPMONSTER_MAX_IMAGE_BYTES = 50_000

/** Decoded size of bare base64. */
function base64Bytes(image: string): number {
  const padding = image.endsWith('==') ? 2 : image.endsWith('=') ? 1 : 0
  return Math.floor((image.length * 3) / 4) - padding
}

/** The image, re-encoded to the service's size limit where it is over it (the caller owns the pixels). */
async function fitToLimit(request: RecognitionRequest, image: string): Promise<FittedPayload> {
  let body = image
  const warnings: string[] = []
  const bytes = base64Bytes(image)
  if (bytes > CAPMONSTER_MAX_IMAGE_BYTES) {
    if (request.fitImage === undefined) {
      throw new InputError(
        `capmonster: the image is ${bytes} bytes, over the service's ${CAPMONSTER_MAX_IMAGE_BYTES}-byte limit`,
        {
          hint: 'lower image.quality in the config so the payload is smaller',
        },
      )
    }
    const fitted = await request.fitImage(CAPMONSTER_MAX_IMAGE_BYTES)
    body = fitted.image
    warnings.push(
      `capmonster: the ${bytes}-byte image was re-encoded at JPEG quality ${fitted.quality} (${fitted.bytes} bytes) to fit the service's ${CAPMONSTER_MAX_IMAGE_BYTES}-byte limit`,
    )
  }
  return { image: body, warnings }
}

/**
 * Whether the 50,000 bytes count the file or its base64 is not documented: if the service still
 * finds a fitted image too big, it is sent once more fitted to 37,500 bytes (50,000 characters of
 * base64). The refusal comes at create time, before any charge.
 */
const BASE64_SAFE_BYTES = 37_500

export function createCapMonsterProvider(options: ProviderOptions): Provider {
  const provider = createTaskApiProvider(
    {
      name: 'capmonster',
      pendingStatuses: ['processing'],
      balanceUnit: 'USD',
      fitPayload: fitToLimit,
      normalize: (solution, request) => {
        const answer =
          typeof solution === 'object' && solution !== null
            ? (solution as { answer?: unknown }).answer
            : undefined
        return normalizeTileFlags('capmonster', 'solution.answer', answer, request.grid)
      },
      report: {
        path: (correct) => (correct ? undefined : '/reportIncorrectImageCaptcha'),
        body: (taskId) => ({ taskId: /^\d+$/.test(taskId) ? Number(taskId) : taskId }),
      },
    },
    options,
  )
  return {
    ...provider,
    recognize: async (request) => {
      try {
        return await provider.recognize(request)
      } catch (error) {
        const fit = request.fitImage
        if (
          !(error instanceof ProviderError) ||
          error.code !== 'ERROR_TOO_BIG_CAPTCHA_FILESIZE' ||
          fit === undefined
        )
          throw error
        if (base64Bytes(request.image.replace(/^data:[^,]*;base64,/, '')) <= BASE64_SAFE_BYTES)
          throw error
        const fitted = await fit(BASE64_SAFE_BYTES)
        const result = await provider.recognize({
          ...request,
          image: fitted.image,
          fitImage: undefined,
        })
        const note = `capmonster: the image was refused as too big and re-encoded at JPEG quality ${fitted.quality} (${fitted.bytes} bytes, ${fitted.image.length} characters of base64)`
        return { ...result, warnings: [...(result.warnings ?? []), note] }
      }
    },
  }
}
