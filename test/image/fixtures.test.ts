/**
 * The committed fixtures (fixtures/make-fixtures.ts) against their manifest: each one loads, is
 * recognised as what it is, and its tiles are found where the renderer drew them.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { locateImage, prepareImage } from '../../src/image/prepare.js'
import type { Rect } from '../../src/types.js'

const DIR = join(import.meta.dirname, '../../fixtures')

interface Entry {
  file: string
  kind: 'payload' | 'tiles' | 'widget' | 'page'
  grid: '1x1' | '3x3' | '4x4'
  ratio: number
  width: number
  height: number
  redTiles: number[]
  cutOff: boolean
  tiles: Rect[]
}

const manifest = JSON.parse(readFileSync(join(DIR, 'manifest.json'), 'utf8')) as {
  fixtures: Entry[]
}
const usable = manifest.fixtures.filter((f) => !f.cutOff)
const cutOff = manifest.fixtures.filter((f) => f.cutOff)

describe('committed fixtures', () => {
  it('cover every kind the issue names, with a cut-off capture', () => {
    const kinds = new Set(usable.map((f) => `${f.kind} ${f.grid}`))
    for (const wanted of [
      'payload 3x3',
      'payload 4x4',
      'payload 1x1',
      'widget 3x3',
      'widget 4x4',
      'tiles 3x3',
      'page 3x3',
    ])
      expect(kinds).toContain(wanted)
    expect(cutOff.length).toBeGreaterThan(0)
  })

  it.each(usable.map((f) => [f.file, f] as const))(
    '%s: kind, grid and every tile within 2 px x ratio',
    async (file, entry) => {
      const { image, layout } = await locateImage(join(DIR, file), { name: file })
      expect([image.width, image.height]).toEqual([entry.width, entry.height])
      expect(layout.kind).toBe(entry.kind)
      expect(layout.grid).toBe(entry.grid)
      expect(layout.tiles).toHaveLength(entry.tiles.length)
      const tolerance = 2 * entry.ratio
      layout.tiles.forEach((tile, k) => {
        const truth = entry.tiles[k]!
        expect(Math.abs(tile.x - truth.x), `${file} tile ${k} left`).toBeLessThanOrEqual(tolerance)
        expect(Math.abs(tile.y - truth.y), `${file} tile ${k} top`).toBeLessThanOrEqual(tolerance)
        expect(
          Math.abs(tile.x + tile.width - (truth.x + truth.width)),
          `${file} tile ${k} right`,
        ).toBeLessThanOrEqual(tolerance)
        expect(
          Math.abs(tile.y + tile.height - (truth.y + truth.height)),
          `${file} tile ${k} bottom`,
        ).toBeLessThanOrEqual(tolerance)
        // The click point must be inside the true tile, not merely near it.
        expect(tile.cx).toBeGreaterThan(truth.x)
        expect(tile.cx).toBeLessThan(truth.x + truth.width)
        expect(tile.cy).toBeGreaterThan(truth.y)
        expect(tile.cy).toBeLessThan(truth.y + truth.height)
      })
    },
  )

  it.each(
    usable
      .filter((f) => f.redTiles.length > 0 && f.grid !== '1x1')
      .map((f) => [f.file, f] as const),
  )('%s: the rebuilt payload has red exactly in the red tiles', async (file, entry) => {
    const prepared = await prepareImage(join(DIR, file), { name: file })
    const side = entry.grid === '3x3' ? 3 : 4
    expect(prepared.size).toBe(side === 3 ? 300 : 450)
    const { data, info } = await sharp(Buffer.from(prepared.base64, 'base64'))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    expect(info.width).toBe(prepared.size)
    const cell = info.width / side
    for (let index = 0; index < side * side; index++) {
      // Sample the middle half of the cell: JPEG and scaling smear its edges.
      let red = 0
      let n = 0
      const x0 = Math.round((index % side) * cell + cell / 4)
      const y0 = Math.round(Math.floor(index / side) * cell + cell / 4)
      for (let y = y0; y < y0 + cell / 2; y++) {
        for (let x = x0; x < x0 + cell / 2; x++) {
          const at = (y * info.width + x) * 3
          if (data[at]! > 180 && data[at + 1]! < 70 && data[at + 2]! < 70) red++
          n++
        }
      }
      expect(red / n > 0.9, `${file} cell ${index} red=${(red / n).toFixed(2)}`).toBe(
        entry.redTiles.includes(index),
      )
    }
  })

  it.each(cutOff.map((f) => [f.file] as const))(
    '%s is refused as cut off, as an input error',
    async (file) => {
      const error = await locateImage(join(DIR, file), { name: file }).then(
        () => null,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(InputError)
      expect((error as Error).message).toContain(file)
      expect((error as Error).message).toMatch(/cut off/)
    },
  )
})
