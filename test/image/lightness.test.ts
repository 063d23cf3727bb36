import { describe, expect, it } from 'vitest'
import { computeLightness } from '../../src/image/lightness.js'
import { windowOf } from '../../src/image/pixel-view.js'
import type { RawImage } from '../../src/image/types.js'
import { createRng } from '../helpers/prng.js'

/** The definition, one pixel at a time: luma, capped at the smallest channel plus 90. */
function expected(data: Uint8Array, count: number, channels: number): Uint8Array {
  const out = new Uint8Array(count)
  for (let i = 0; i < count; i++) {
    const [r, g, b] = [data[i * channels]!, data[i * channels + 1]!, data[i * channels + 2]!]
    out[i] = Math.min(Math.floor((77 * r + 150 * g + 29 * b) / 256), Math.min(r, g, b) + 90)
  }
  return out
}

/** `count` random pixels of `channels` bytes, in a view that starts `offset` bytes into its buffer. */
function randomPixels(count: number, channels: number, offset: number, seed: number): Uint8Array {
  const next = createRng(seed)
  const data = new Uint8Array(offset + count * channels).subarray(offset)
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(next() * 256)
  return data
}

describe('computeLightness', () => {
  it('gives every one of the 16.7 million RGB colours its defined lightness', () => {
    const count = 1 << 24
    const data = new Uint8Array(count * 3)
    for (let i = 0; i < count; i++) {
      data[i * 3] = i & 255
      data[i * 3 + 1] = (i >> 8) & 255
      data[i * 3 + 2] = i >> 16
    }
    const light = computeLightness({ data, width: 4096, height: 4096, channels: 3 })
    // Spot values: white, black, pure yellow (luma 226, capped at 0 + 90), a light grey.
    expect([light[0xffffff], light[0], light[0x00ffff], light[0xc8c8c8]]).toEqual([255, 0, 90, 200])
    expect(Buffer.compare(light, expected(data, count, 3))).toBe(0)
  })

  it.each([
    [1, 0],
    [15, 1],
    [16, 2],
    [17, 3],
    [65_535, 1],
    [65_536, 0],
    [65_553, 3],
    [200_003, 2],
  ])(
    'is exact for %i pixels at byte offset %i (chunk edges and the last pixels short of 16)',
    (count, offset) => {
      const data = randomPixels(count, 3, offset, count)
      const light = computeLightness({ data, width: count, height: 1, channels: 3 })
      expect(light.length).toBe(count)
      expect(Buffer.compare(light, expected(data, count, 3))).toBe(0)
    },
  )

  it.each([
    [1000, 70],
    [17, 4000],
    [4096, 17],
    [65_536, 2],
    [65_537, 3],
  ])(
    'is exact for %i x %i pixels (chunks of whole rows, the last pixels of each short of 16)',
    (width, height) => {
      const data = randomPixels(width * height, 3, 0, width + height)
      const light = computeLightness({ data, width, height, channels: 3 })
      expect(Buffer.compare(light, expected(data, width * height, 3))).toBe(0)
    },
  )

  it.each([
    [700, 300, { x: 37, y: 11, width: 601, height: 250 }],
    // Rows longer than a chunk of the WebAssembly module's memory: each spans two.
    [70_000, 4, { x: 5, y: 1, width: 69_990, height: 3 }],
  ])(
    'reads a window of a %i x %i image in place, as a copy of it would read',
    (width, height, rect) => {
      for (const channels of [3, 4] as const) {
        const image: RawImage = {
          data: randomPixels(width * height, channels, 1, channels),
          width,
          height,
          channels,
        }
        const copy = new Uint8Array(rect.width * rect.height * channels)
        for (let y = 0; y < rect.height; y++) {
          const from = ((rect.y + y) * image.width + rect.x) * channels
          copy.set(
            image.data.subarray(from, from + rect.width * channels),
            y * rect.width * channels,
          )
        }
        const light = computeLightness(windowOf(image, rect))
        expect(light.length).toBe(rect.width * rect.height)
        expect(Buffer.compare(light, expected(copy, rect.width * rect.height, channels))).toBe(0)
      }
    },
  )

  it('reads RGBA by its first three channels and grey as it is', () => {
    const rgba = randomPixels(1000, 4, 1, 7)
    expect(
      Buffer.compare(
        computeLightness({ data: rgba, width: 40, height: 25, channels: 4 }),
        expected(rgba, 1000, 4),
      ),
    ).toBe(0)
    const grey = randomPixels(1000, 1, 0, 8)
    expect(
      Buffer.compare(computeLightness({ data: grey, width: 1000, height: 1, channels: 1 }), grey),
    ).toBe(0)
  })

  it('refuses pixels shorter than their size says, rather than read what was there before', () => {
    const data = new Uint8Array(99 * 3)
    expect(() => computeLightness({ data, width: 10, height: 10, channels: 3 })).toThrow(RangeError)
    // A window whose last row runs past the bytes, and windows not inside their image.
    const view = windowOf(
      { data: new Uint8Array(10 * 10 * 3), width: 10, height: 10, channels: 3 },
      { x: 0, y: 0, width: 10, height: 10 },
    )
    expect(() => computeLightness({ ...view, bytes: data })).toThrow(RangeError)
    const image: RawImage = { data: new Uint8Array(300), width: 10, height: 10, channels: 3 }
    for (const rect of [
      { x: 1, y: 0, width: 10, height: 5 },
      { x: 0, y: 6, width: 5, height: 5 },
      { x: -1, y: 0, width: 5, height: 5 },
      { x: 0, y: -1, width: 5, height: 5 },
    ])
      expect(() => windowOf(image, rect), JSON.stringify(rect)).toThrow(RangeError)
  })
})
