/** Images that are not what they seem: animated (one frame is used, with a warning), fully transparent (refused). */
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { loadImage } from '../../src/image/load.js'
import { prepareImage } from '../../src/image/prepare.js'

const solid = (r: number, g: number, b: number, alpha = 1, channels: 3 | 4 = 3) =>
  sharp({ create: { width: 300, height: 300, channels, background: { r, g, b, alpha } } })
    .png()
    .toBuffer()

describe('an animated image', () => {
  it('uses the first frame of an animated WebP and says so', async () => {
    const animated = await sharp([await solid(230, 20, 20), await solid(20, 20, 230)], {
      join: { animated: true },
    })
      .webp({ loop: 0, delay: [100, 100], lossless: true })
      .toBuffer()
    expect((await sharp(animated).metadata()).pages).toBe(2)
    const prepared = await prepareImage(animated, { name: 'anim.webp' })
    expect(prepared.warnings).toEqual([
      'anim.webp is animated (2 frames): only the first frame is used',
    ])
    const { data, info } = await sharp(Buffer.from(prepared.base64, 'base64'))
      .raw()
      .toBuffer({ resolveWithObject: true })
    expect([info.width, info.height]).toEqual([300, 300])
    // The first frame is red; the second (blue) is not what was sent.
    const mean = [0, 1, 2].map((c) => {
      let sum = 0
      for (let i = c; i < data.length; i += info.channels) sum += data[i] as number
      return sum / (data.length / info.channels)
    })
    expect(mean[0]).toBeGreaterThan(200)
    expect(mean[2]).toBeLessThan(60)
  })

  it('a still image carries no such warning', async () => {
    expect(
      (await prepareImage(await solid(230, 20, 20), { name: 'still.png' })).warnings,
    ).toBeUndefined()
  })
})

describe('a fully transparent image', () => {
  it('is refused as an input error instead of being sent as a white square', async () => {
    const clear = await solid(0, 0, 0, 0, 4)
    await expect(loadImage(clear, { name: 'clear.png' })).rejects.toMatchObject({
      kind: 'input',
      message: 'clear.png is fully transparent: there is nothing in it to recognise',
    })
  })

  it('an opaque white image with an alpha channel, and a half-transparent one, are accepted', async () => {
    const white = await loadImage(await solid(255, 255, 255, 1, 4), { name: 'white.png' })
    expect(white.pixels.data.every((v) => v === 255)).toBe(true)
    const half = await loadImage(await solid(0, 0, 0, 0.5, 4), { name: 'half.png' })
    // Black at half opacity over white: mid grey.
    expect(half.pixels.data[0]).toBeGreaterThan(110)
    expect(half.pixels.data[0]).toBeLessThan(145)
  })
})
