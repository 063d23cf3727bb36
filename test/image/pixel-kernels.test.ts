import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildKernelsSource } from '../../scripts/build-wasm.js'
import { type Blob, labelDarkBlobs } from '../../src/image/detect-grid.js'
import { pixelKernels } from '../../src/image/pixel-kernels.js'
import { createRng } from '../helpers/prng.js'

const ROOT = resolve(import.meta.dirname, '../..')

/** The definition: 4-connected components of pixels below `level`, by flood fill, one at a time. */
function floodFill(light: Uint8Array, width: number, height: number, level: number): Blob[] {
  const seen = new Uint8Array(width * height)
  const blobs: Blob[] = []
  for (let first = 0; first < light.length; first++) {
    if (seen[first] || light[first]! >= level) continue
    const blob = { x0: width, y0: height, x1: 0, y1: 0, area: 0 }
    const stack = [first]
    seen[first] = 1
    while (stack.length > 0) {
      const p = stack.pop()!
      const x = p % width
      const y = (p - x) / width
      blob.x0 = Math.min(blob.x0, x)
      blob.y0 = Math.min(blob.y0, y)
      blob.x1 = Math.max(blob.x1, x + 1)
      blob.y1 = Math.max(blob.y1, y + 1)
      blob.area++
      const next = [
        x > 0 ? p - 1 : -1,
        x < width - 1 ? p + 1 : -1,
        y > 0 ? p - width : -1,
        y < height - 1 ? p + width : -1,
      ]
      for (const q of next) {
        if (q < 0 || seen[q] || light[q]! >= level) continue
        seen[q] = 1
        stack.push(q)
      }
    }
    blobs.push(blob)
  }
  return blobs
}

const sorted = (blobs: Blob[]): string[] => blobs.map((b) => JSON.stringify(b)).sort()

/** Random blocks of dark on light, with noise: long runs and short ones, as a capture has. */
function randomLight(width: number, height: number, seed: number): Uint8Array {
  const next = createRng(seed)
  const light = new Uint8Array(width * height).fill(240)
  for (let k = 0; k < 12; k++) {
    const x0 = Math.floor(next() * width)
    const y0 = Math.floor(next() * height)
    const x1 = Math.min(width, x0 + 1 + Math.floor(next() * width * 0.4))
    const y1 = Math.min(height, y0 + 1 + Math.floor(next() * height * 0.4))
    const shade = Math.floor(next() * 256)
    for (let y = y0; y < y1; y++) light.fill(shade, y * width + x0, y * width + x1)
  }
  for (let i = 0; i < light.length; i++) if (next() < 0.05) light[i] = Math.floor(next() * 256)
  return light
}

describe('pixel kernels (WebAssembly)', () => {
  it('are loaded where Node has WebAssembly, as it has here', () => {
    expect(pixelKernels()).toBeDefined()
  })

  it.each([
    [1, 5, 220],
    [15, 9, 128],
    [16, 16, 220],
    [17, 3, 200],
    [33, 40, 220],
    [301, 47, 128],
    [5000, 100, 220], // more rows than one call of the kernel takes (41 at this width)
  ])('label a %i x %i picture at level %i exactly as a flood fill does', (width, height, level) => {
    for (let seed = 1; seed <= 4; seed++) {
      const light = randomLight(width, height, width * 7 + seed)
      const blobs = labelDarkBlobs(light, width, height, level, 1)
      expect(sorted(blobs)).toEqual(sorted(floodFill(light, width, height, level)))
    }
  })

  // Rows wider than the kernel's memory takes (about 209,000 pixels) and levels that are not a
  // whole byte are labelled in JavaScript: the same blobs, by the same flood fill.
  it.each([
    [210_000, 3, 220],
    [301, 47, 127.5],
    [64, 20, 256],
  ])('label a %i x %i picture at level %s in JavaScript just the same', (width, height, level) => {
    const light = randomLight(width, height, width + height)
    const blobs = labelDarkBlobs(light, width, height, level, 1)
    expect(sorted(blobs)).toEqual(sorted(floodFill(light, width, height, level)))
    expect(blobs.length).toBeGreaterThan(0)
  })

  it('is the module the build script makes from pixel-kernels.wat today', async () => {
    const committed = readFileSync(resolve(ROOT, 'src/image/pixel-kernels-wasm.ts'), 'utf8')
    expect(await buildKernelsSource()).toBe(committed)
  })
})
