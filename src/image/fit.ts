/**
 * Re-encoding a prepared payload to fit a service's size limit (CapMonster refuses images over
 * 50,000 bytes): the highest JPEG quality whose file fits, found by bisection, from the payload's
 * own pixels. Measured on 450x450 payloads made from real challenge tiles: see the README.
 */
import { InputError } from '../errors.js'
import { loadSharp } from './load.js'

export interface FitResult {
  buffer: Buffer
  quality: number
}

/** Lowest quality tried: below it the tiles smear into blocks a classifier cannot read. */
const MIN_FIT_QUALITY = 30

/** The payload as a JPEG of at most `maxBytes` bytes, at the highest quality (<= 90) that fits. */
export async function fitJpeg(
  payload: Buffer,
  maxBytes: number,
  what = 'the image',
): Promise<FitResult> {
  const { data, info } = await loadSharp()(payload)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const encode = (quality: number): Promise<Buffer> =>
    loadSharp()(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
      .jpeg({ quality, chromaSubsampling: '4:4:4', optimiseCoding: true })
      .toBuffer()
  let best: FitResult | undefined
  let low = MIN_FIT_QUALITY
  let high = 90
  while (low <= high) {
    const quality = Math.floor((low + high) / 2)
    const buffer = await encode(quality)
    if (buffer.length <= maxBytes) {
      best = { buffer, quality }
      low = quality + 1
    } else {
      high = quality - 1
    }
  }
  if (best !== undefined) return best
  // 4:2:0 chroma buys the last few kB when 4:4:4 cannot get there.
  const squeezed = await loadSharp()(data, {
    raw: { width: info.width, height: info.height, channels: info.channels },
  })
    .jpeg({ quality: MIN_FIT_QUALITY, chromaSubsampling: '4:2:0', optimiseCoding: true })
    .toBuffer()
  if (squeezed.length <= maxBytes) return { buffer: squeezed, quality: MIN_FIT_QUALITY }
  throw new InputError(
    `${what} does not fit in ${maxBytes} bytes even at JPEG quality ${MIN_FIT_QUALITY} (${squeezed.length} bytes)`,
    {
      hint: 'send it to another provider (-p yescaptcha, capsolver, …): this one limits the image size',
    },
  )
}
