import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { InputError, UsageError } from '../../src/errors.js'
import {
  CROP_COLOUR,
  MARK_COLOUR,
  OVERLAY_COLOUR,
  measureTileMarks,
  renderAnnotated,
  renderOverlay,
} from '../../src/image/annotate.js'
import { GLYPH_HEIGHT, GLYPH_WIDTH, renderNumberPath } from '../../src/image/glyphs.js'
import type { Layout, RawImage } from '../../src/image/types.js'
import { cellRect } from '../../src/image/tiles.js'
import type { Grid, Rect, TileRect } from '../../src/types.js'
import { GRID_SIDE } from '../../src/types.js'
import { composeGrid, renderCapture } from '../helpers/captures.js'

const REAL_TILES = join(import.meta.dirname, '../data/recaptcha-tiles')

type Colour = { r: number; g: number; b: number }

async function decode(buffer: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(buffer)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels as 3 }
}

function pixel(image: RawImage, x: number, y: number): [number, number, number] {
  const o = (y * image.width + x) * image.channels
  return [image.data[o]!, image.data[o + 1]!, image.data[o + 2]!]
}

function near(p: [number, number, number], c: Colour, tolerance = 24): boolean {
  return (
    Math.abs(p[0] - c.r) <= tolerance &&
    Math.abs(p[1] - c.g) <= tolerance &&
    Math.abs(p[2] - c.b) <= tolerance
  )
}

/** Points along the middle of a tile's outline stroke, all four sides, corners excluded. */
function outlinePoints(tile: Rect, offset: number): Array<[number, number]> {
  const points: Array<[number, number]> = []
  const x0 = Math.floor(tile.x + offset)
  const y0 = Math.floor(tile.y + offset)
  const x1 = Math.floor(tile.x + tile.width - 1 - offset)
  const y1 = Math.floor(tile.y + tile.height - 1 - offset)
  for (let x = x0 + 2; x <= x1 - 2; x++) points.push([x, y0], [x, y1])
  for (let y = y0 + 2; y <= y1 - 2; y++) points.push([x0, y], [x1, y])
  return points
}

function fractionNear(image: RawImage, points: Array<[number, number]>, colour: Colour): number {
  return points.filter(([x, y]) => near(pixel(image, x, y), colour)).length / points.length
}

function countInRect(
  image: RawImage,
  rect: Rect,
  test: (p: [number, number, number]) => boolean,
): number {
  let count = 0
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) if (test(pixel(image, x, y))) count++
  }
  return count
}

const luma = (p: [number, number, number]): number => 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]

function payloadLayout(grid: Grid, size: number): Layout {
  const n = GRID_SIDE[grid]
  const tiles: TileRect[] = Array.from({ length: n * n }, (_, index) => {
    const r = grid === '1x1' ? { x: 0, y: 0, width: size, height: size } : cellRect(grid, index)
    return { ...r, index, cx: Math.round(r.x + r.width / 2), cy: Math.round(r.y + r.height / 2) }
  })
  return { kind: 'payload', grid, crop: { x: 0, y: 0, width: size, height: size }, tiles }
}

function layoutFromTruth(kind: Layout['kind'], grid: Grid, crop: Rect, rects: Rect[]): Layout {
  const tiles = rects.map((r, index) => ({
    ...r,
    index,
    cx: Math.round(r.x + r.width / 2),
    cy: Math.round(r.y + r.height / 2),
  }))
  return { kind, grid, crop, tiles }
}

let payload3: Buffer
let source3: RawImage

beforeAll(async () => {
  const classes = [
    'car',
    'hydrant',
    'bus',
    'palm',
    'crosswalk',
    'bicycle',
    'bridge',
    'chimney',
    'traffic_light',
  ]
  const paths = await Promise.all(
    classes.map(async (c) => join(REAL_TILES, c, (await readdir(join(REAL_TILES, c))).sort()[0]!)),
  )
  payload3 = await composeGrid(paths, '3x3')
  source3 = await decode(payload3)
})

describe('renderAnnotated', () => {
  it('outlines, tints and numbers only the chosen tiles of a photo payload', async () => {
    const layout = payloadLayout('3x3', 300)
    const chosen = [1, 5, 6]
    const out = await decode(await renderAnnotated(payload3, layout, chosen))
    expect([out.width, out.height]).toEqual([300, 300])
    for (const tile of layout.tiles) {
      const marks = measureTileMarks(tile, tile.index)
      const line = outlinePoints(tile, marks.halo + marks.stroke / 2)
      if (chosen.includes(tile.index)) {
        expect(fractionNear(out, line, MARK_COLOUR), `tile ${tile.index}`).toBeGreaterThan(0.95)
        // The tint pulls the middle of the tile toward magenta: red and blue up relative to green.
        const centre = { x: tile.x + 40, y: tile.y + 60, width: 30, height: 30 }
        const shift = (img: RawImage): number => {
          let s = 0
          for (let y = centre.y; y < centre.y + centre.height; y++) {
            for (let x = centre.x; x < centre.x + centre.width; x++) {
              const p = pixel(img, x, y)
              s += p[0] + p[2] - 2 * p[1]
            }
          }
          return s / (centre.width * centre.height)
        }
        expect(shift(out) - shift(source3)).toBeGreaterThan(20)
      } else {
        // Unchosen tiles are left exactly as they were.
        expect(fractionNear(out, line, MARK_COLOUR)).toBe(0)
        expect(countInRect(out, tile, () => true)).toBe(tile.width * tile.height)
        let changed = 0
        for (let y = tile.y; y < tile.y + tile.height; y++) {
          for (let x = tile.x; x < tile.x + tile.width; x++) {
            const a = pixel(out, x, y)
            const b = pixel(source3, x, y)
            if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2]) changed++
          }
        }
        expect(changed, `tile ${tile.index}`).toBe(0)
      }
    }
  })

  it('draws white digits on a dark badge inside each chosen tile', async () => {
    const layout = payloadLayout('3x3', 300)
    const out = await decode(await renderAnnotated(payload3, layout, [0, 4, 8]))
    for (const index of [0, 4, 8]) {
      const tile = layout.tiles[index]!
      const { badge } = measureTileMarks(tile, index)
      expect(badge.x + badge.width).toBeLessThan(tile.x + tile.width)
      const total = badge.width * badge.height
      const dark = countInRect(out, badge, (p) => luma(p) < 60)
      const bright = countInRect(out, badge, (p) => luma(p) > 200)
      expect(dark / total).toBeGreaterThan(0.35)
      expect(bright / total).toBeGreaterThan(0.1)
    }
  })

  it('scales marks with the tile size: widget captures at 1x and 2x, a 100 px tile', async () => {
    const heights: number[] = []
    for (const ratio of [1, 2]) {
      const capture = await renderCapture({
        payload: payload3,
        grid: '3x3',
        kind: 'widget',
        ratio,
        seed: 2,
      })
      const layout = layoutFromTruth('widget', '3x3', capture.truth.crop, capture.truth.tiles)
      const out = await decode(await renderAnnotated(capture.buffer, layout, [2, 7]))
      expect([out.width, out.height]).toEqual([capture.width, capture.height])
      for (const index of [2, 7]) {
        const tile = layout.tiles[index]!
        const marks = measureTileMarks(tile, index)
        expect(
          fractionNear(out, outlinePoints(tile, marks.halo + marks.stroke / 2), MARK_COLOUR),
        ).toBeGreaterThan(0.95)
      }
      const other = layout.tiles[3]!
      const otherMarks = measureTileMarks(other, 3)
      expect(
        fractionNear(
          out,
          outlinePoints(other, otherMarks.halo + otherMarks.stroke / 2),
          MARK_COLOUR,
        ),
      ).toBe(0)
      heights.push(measureTileMarks(layout.tiles[2]!, 2).badge.height)
    }
    expect(Math.abs(heights[1]! - 2 * heights[0]!)).toBeLessThanOrEqual(2)

    const tile = await sharp(payload3)
      .extract({ left: 0, top: 0, width: 100, height: 100 })
      .png()
      .toBuffer()
    const layout = payloadLayout('1x1', 100)
    const out = await decode(await renderAnnotated(tile, layout, [0]))
    const marks = measureTileMarks(layout.tiles[0]!, 0)
    expect(
      fractionNear(
        out,
        outlinePoints(layout.tiles[0]!, marks.halo + marks.stroke / 2),
        MARK_COLOUR,
      ),
    ).toBeGreaterThan(0.95)
    // The digit is at least 9 px tall even on the smallest tile, and the badge fits inside it.
    expect(marks.digitHeight).toBeGreaterThanOrEqual(9)
    expect(marks.badge.x + marks.badge.width).toBeLessThan(50)
  })

  it('refuses a tile number outside the grid', async () => {
    await expect(renderAnnotated(payload3, payloadLayout('3x3', 300), [9])).rejects.toThrow(
      UsageError,
    )
    await expect(renderAnnotated(payload3, payloadLayout('3x3', 300), [9])).rejects.toThrow(
      /tile 9 is not in the 3x3 grid \(tiles 0 to 8\)/,
    )
  })

  it('refuses a layout that does not fit the image', async () => {
    await expect(renderAnnotated(payload3, payloadLayout('4x4', 450), [0])).rejects.toThrow(
      InputError,
    )
  })
})

describe('renderOverlay', () => {
  it('outlines and numbers every tile and draws the crop box outside the tiles of a capture', async () => {
    const capture = await renderCapture({
      payload: payload3,
      grid: '3x3',
      kind: 'page',
      ratio: 1.5,
      seed: 8,
    })
    const layout = layoutFromTruth('page', '3x3', capture.truth.crop, capture.truth.tiles)
    const out = await decode(await renderOverlay(capture.buffer, layout))
    expect([out.width, out.height]).toEqual([capture.width, capture.height])
    for (const tile of layout.tiles) {
      const marks = measureTileMarks(tile, tile.index, 0.03)
      expect(
        fractionNear(out, outlinePoints(tile, marks.halo + marks.stroke / 2), OVERLAY_COLOUR),
        `tile ${tile.index}`,
      ).toBeGreaterThan(0.95)
      const { badge } = marks
      expect(countInRect(out, badge, (p) => luma(p) > 200)).toBeGreaterThan(0)
      expect(countInRect(out, badge, (p) => luma(p) < 60)).toBeGreaterThan(0)
    }
    // Along the crop box (drawn just outside the crop) yellow dashes cover a good part of the line.
    const { crop } = layout
    const stroke = Math.max(2, Math.round(Math.min(...layout.tiles.map((t) => t.width)) * 0.025))
    const line: Array<[number, number]> = []
    for (let x = crop.x; x < crop.x + crop.width; x++) line.push([x, crop.y - stroke])
    const yellow = fractionNear(out, line, CROP_COLOUR)
    expect(yellow).toBeGreaterThan(0.4)
    expect(yellow).toBeLessThan(0.95)
  })

  it('draws a different shape for each number', async () => {
    // Two overlays on plain grey: the badge of tile 1 has fewer bright pixels than that of tile 8.
    const grey = await sharp({
      create: { width: 300, height: 300, channels: 3, background: '#777777' },
    })
      .png()
      .toBuffer()
    const layout = payloadLayout('3x3', 300)
    const out = await decode(await renderOverlay(grey, layout))
    const brightIn = (index: number): number =>
      countInRect(
        out,
        measureTileMarks(layout.tiles[index]!, index, 0.03).badge,
        (p) => luma(p) > 200,
      )
    expect(brightIn(1)).toBeLessThan(brightIn(8))
  })
})

describe('glyphs', () => {
  /** Render one number with the stroke font into a mask. */
  async function renderMask(value: number): Promise<boolean[]> {
    const path = renderNumberPath(value, 4, 4, 40)
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="80" height="48"><rect width="80" height="48" fill="#000"/><path d="${path}" fill="none" stroke="#fff" stroke-width="5" stroke-linecap="round"/></svg>`
    const image = await decode(await sharp(Buffer.from(svg)).png().toBuffer())
    return Array.from({ length: 80 * 48 }, (_, i) => (image.data[i * 3] ?? 0) > 128)
  }

  it('gives every digit its own shape, inside its box', async () => {
    const masks = await Promise.all(Array.from({ length: 10 }, (_, d) => renderMask(d)))
    const scale = 40 / GLYPH_HEIGHT
    for (const [digit, mask] of masks.entries()) {
      const lit = mask.map((on, i) => (on ? i : -1)).filter((i) => i >= 0)
      expect(lit.length, `digit ${digit}`).toBeGreaterThan(60)
      // Ink stays within the glyph box plus the stroke's half width (and a little curve overshoot).
      const xs = lit.map((i) => i % 80)
      const ys = lit.map((i) => Math.floor(i / 80))
      expect(Math.min(...xs)).toBeGreaterThanOrEqual(0)
      expect(Math.max(...xs)).toBeLessThanOrEqual(4 + GLYPH_WIDTH * scale + 4)
      expect(Math.max(...ys)).toBeLessThanOrEqual(4 + 40 + 4)
    }
    for (let a = 0; a < 10; a++) {
      for (let b = a + 1; b < 10; b++) {
        const differing = masks[a]!.filter((on, i) => on !== masks[b]![i]).length
        expect(differing, `${a} vs ${b}`).toBeGreaterThan(60)
      }
    }
  })

  it('writes multi-digit numbers side by side', () => {
    const path = renderNumberPath(15, 0, 0, 10)
    expect(path.split('M').length - 1).toBeGreaterThanOrEqual(3)
    expect(() => renderNumberPath(-1, 0, 0, 10)).toThrow(RangeError)
  })
})
