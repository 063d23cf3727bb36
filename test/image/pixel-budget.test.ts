/**
 * The pixel budget on real captures: inputs prepared together hold their decoded pixels from the
 * budget, so large captures wait for each other instead of all being decoded at once.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { detectLayout } from '../../src/image/detect.js'
import { PixelBudget } from '../../src/image/pixel-budget.js'
import { locateImage, prepareImage } from '../../src/image/prepare.js'
import { detectReduced } from '../../src/image/reduced.js'
import type { RawImage } from '../../src/image/types.js'
import type { Capture } from '../helpers/captures.js'
import { composeGrid, renderCapture } from '../helpers/captures.js'

const TILES = join(import.meta.dirname, '../data/recaptcha-tiles')
const captures: Capture[] = []

beforeAll(async () => {
  const dirs = (await readdir(TILES, { withFileTypes: true })).filter((d) => d.isDirectory())
  const files = dirs[0]!.name
  const tiles = (await readdir(join(TILES, files))).sort().map((f) => join(TILES, files, f))
  for (let k = 0; k < 4; k++) {
    const payload = await composeGrid(tiles.slice(k, k + 9), '3x3')
    captures.push(
      await renderCapture({
        payload,
        grid: '3x3',
        kind: 'page',
        ratio: 2,
        pageSize: { width: 2400, height: 1800 },
        background: 'grey',
        seed: 40 + k,
      }),
    )
  }
}, 120_000)

/** Worst distance of a found tile edge from where the capture drew it. */
function worstEdge(
  found: { x: number; y: number; width: number; height: number }[],
  capture: Capture,
): number {
  return Math.max(
    ...found.map((t, k) => {
      const u = capture.truth.tiles[k]!
      return Math.max(
        Math.abs(t.x - u.x),
        Math.abs(t.y - u.y),
        Math.abs(t.x + t.width - u.x - u.width),
        Math.abs(t.y + t.height - u.y - u.height),
      )
    }),
  )
}

describe('pixel budget', () => {
  it('makes a batch of large captures wait: never more pixels held than the limit', async () => {
    const pixels = 2400 * 1800
    // Room for one capture at a time, not two.
    const budget = new PixelBudget(Math.round(1.5 * pixels))
    const prepared = await Promise.all(
      captures.map((c, k) =>
        prepareImage(c.buffer, { name: `page-${k}.png`, pixelBudget: budget }),
      ),
    )
    expect(budget.peak).toBe(pixels)
    expect(budget.waited).toBe(3)
    expect(budget.inUse).toBe(0)
    prepared.forEach((p, k) => {
      expect(p.grid).toBe('3x3')
      expect(worstEdge(p.layout.tiles, captures[k]!)).toBeLessThanOrEqual(2)
    })
  }, 120_000)

  it('lets them run together when the limit has room for all', async () => {
    const budget = new PixelBudget(100_000_000, 8)
    await Promise.all(
      captures.map((c, k) =>
        prepareImage(c.buffer, { name: `page-${k}.png`, pixelBudget: budget }),
      ),
    )
    expect(budget.waited).toBe(0)
    expect(budget.peak).toBe(4 * 2400 * 1800)
  }, 120_000)

  it('prepares at most `turns` inputs at once, whatever the pixels allow', async () => {
    const budget = new PixelBudget(1_000_000_000, 2)
    const prepared = await Promise.all(
      captures.map((c, k) =>
        prepareImage(c.buffer, { name: `page-${k}.png`, pixelBudget: budget }),
      ),
    )
    expect(budget.mostHolders).toBe(2)
    expect(budget.waited).toBe(2)
    expect(budget.holders).toBe(0)
    prepared.forEach((p, k) =>
      expect(worstEdge(p.layout.tiles, captures[k]!)).toBeLessThanOrEqual(2),
    )
  }, 120_000)

  it('gives turns first come, first served', async () => {
    const budget = new PixelBudget(1000, 2)
    const order: string[] = []
    const first = await budget.hold(10)
    const second = await budget.hold(10)
    const waiting = ['c', 'd', 'e'].map((name) =>
      budget.hold(10).then((release) => {
        order.push(name)
        return release
      }),
    )
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(order).toEqual([])
    first()
    first()
    const c = await waiting[0]!
    expect(order).toEqual(['c'])
    second()
    c()
    await Promise.all(waiting)
    expect(order).toEqual(['c', 'd', 'e'])
    expect(budget.mostHolders).toBe(2)
  })

  it('refuses a budget every hold would wait on for ever', () => {
    for (const [limit, turns] of [
      [0, 2],
      [1000, 0],
      [Number.NaN, 2],
      [1000, Number.NaN],
    ] as const)
      expect(() => new PixelBudget(limit, turns)).toThrow(RangeError)
  })

  it('gives an input located from its bytes (a dynamic round) its turn too', async () => {
    const budget = new PixelBudget(1_000_000_000, 1)
    const located = await Promise.all(
      captures
        .slice(0, 3)
        .map((c, k) => locateImage(c.buffer, { name: `page-${k}.png`, pixelBudget: budget })),
    )
    expect(budget.mostHolders).toBe(1)
    expect(budget.waited).toBe(2)
    expect(budget.holders).toBe(0)
    located.forEach(({ layout }, k) =>
      expect(worstEdge(layout.tiles, captures[k]!)).toBeLessThanOrEqual(2),
    )
  }, 120_000)

  it('prepares an input larger than the whole limit, alone', async () => {
    const budget = new PixelBudget(1_000_000)
    const [a, b] = await Promise.all([
      prepareImage(captures[0]!.buffer, { name: 'a.png', pixelBudget: budget }),
      prepareImage(captures[1]!.buffer, { name: 'b.png', pixelBudget: budget }),
    ])
    expect([a.grid, b.grid]).toEqual(['3x3', '3x3'])
    expect(budget.peak).toBe(1_000_000)
    expect(budget.waited).toBe(1)
  }, 120_000)
})

describe('detection through a reduced copy', () => {
  it('finds a 4-megapixel page exactly where the whole search does', async () => {
    const { data, info } = await sharp(captures[0]!.buffer)
      .raw()
      .toBuffer({ resolveWithObject: true })
    const image: RawImage = { data, width: info.width, height: info.height, channels: 3 }
    const reduced = detectReduced(image, { name: 'page.png' })
    expect(reduced).toBeDefined()
    expect(reduced).toEqual(detectLayout(image, { name: 'page.png' }))
    expect(reduced!.kind).toBe('page')
    expect(worstEdge(reduced!.tiles, captures[0]!)).toBeLessThanOrEqual(2)
  }, 120_000)
})
