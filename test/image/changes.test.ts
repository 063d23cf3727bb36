/**
 * Change detection between two captures of a dynamic 3x3 round, on rendered pairs: the same
 * widget (alone or on a page, ratios 1 to 2, PNG and JPEG) before and after 1 to 4 of its tiles
 * were replaced by other real tiles, with selections, re-encoding and tints that are not changes.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { CHANGE_THRESHOLD, findChangedTiles, tileDifference } from '../../src/image/changes.js'
import { detectLayout } from '../../src/image/detect.js'
import type { RawImage } from '../../src/image/types.js'
import { composeGrid, renderCapture } from '../helpers/captures.js'
import { runPool } from '../helpers/pool.js'
import { renderRoundPair } from '../helpers/rounds.js'
import { TILES_DIR } from '../helpers/cli.js'

const NAMES = { previous: 'before.png', current: 'after.png' }
let files: string[] = []

async function decode(buffer: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(buffer).raw().toBuffer({ resolveWithObject: true })
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage['channels'],
  }
}

beforeAll(() => {
  files = readdirSync(TILES_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(TILES_DIR, f))
})

describe('changed tiles between two captures', () => {
  const PAIRS = 60

  it(`finds exactly the replaced tiles in ${PAIRS} rendered pairs`, async () => {
    const problems: string[] = []
    let unchangedWorst = 0
    let changedBest = Infinity
    // Three pairs in flight: sharp renders one while another is compared.
    const check = async (seed: number): Promise<void> => {
      const pair = await renderRoundPair(files, 7000 + seed, { redShare: 0.25 })
      const [before, after] = await Promise.all([decode(pair.before), decode(pair.after)])
      const a = detectLayout(before)
      const b = detectLayout(after)
      const changed = findChangedTiles(before, a, after, b, NAMES)
      if (JSON.stringify(changed) !== JSON.stringify(pair.replaced))
        problems.push(`${pair.label}: found ${changed.join(',')}`)
      for (let k = 0; k < 9; k++) {
        const d = tileDifference(before, a, after, b, k)
        if (pair.replaced.includes(k)) changedBest = Math.min(changedBest, d)
        else unchangedWorst = Math.max(unchangedWorst, d)
      }
    }
    await runPool(
      Array.from({ length: PAIRS }, (_, k) => () => check(k + 1)),
      3,
    )
    console.log(
      `round pairs: ${PAIRS}, ${PAIRS - problems.length} exact; unchanged tiles differ at most ${unchangedWorst.toFixed(1)}, replaced at least ${changedBest.toFixed(1)} (threshold ${CHANGE_THRESHOLD})`,
    )
    expect(problems).toEqual([])
  }, 240_000)

  it('a re-encoded PNG, a JPEG of the same capture and a tinted tile are no change', async () => {
    const payload = await composeGrid(files.slice(20, 29), '3x3')
    const capture = await renderCapture({
      payload,
      grid: '3x3',
      kind: 'widget',
      ratio: 1.5,
      seed: 5,
    })
    const original = await decode(capture.buffer)
    const layout = detectLayout(original)
    const reencoded = await decode(
      await sharp(capture.buffer).png({ compressionLevel: 9 }).toBuffer(),
    )
    const jpeg = await decode(await sharp(capture.buffer).jpeg({ quality: 60 }).toBuffer())
    // A blue tint at 30% over tile 4, as a page might show a selection.
    const tile = layout.tiles[4]!
    const tinted = await decode(
      await sharp(capture.buffer)
        .composite([
          {
            input: {
              create: {
                width: tile.width,
                height: tile.height,
                channels: 4,
                background: { r: 26, g: 115, b: 232, alpha: 0.3 },
              },
            },
            left: tile.x,
            top: tile.y,
          },
        ])
        .png()
        .toBuffer(),
    )
    for (const other of [reencoded, jpeg, tinted]) {
      expect(findChangedTiles(original, layout, other, detectLayout(other), NAMES)).toEqual([])
    }
  })

  it('refuses another grid, another zoom and a moved widget, naming what differs', async () => {
    const three = await renderCapture({
      payload: await composeGrid(files.slice(0, 9), '3x3'),
      grid: '3x3',
      kind: 'page',
      pageSize: { width: 700, height: 900 },
      position: { x: 40, y: 30 },
      seed: 9,
    })
    const moved = await renderCapture({
      payload: await composeGrid(files.slice(0, 9), '3x3'),
      grid: '3x3',
      kind: 'page',
      pageSize: { width: 700, height: 900 },
      position: { x: 52, y: 30 },
      seed: 9,
    })
    const nudged = await renderCapture({
      payload: await composeGrid(files.slice(0, 9), '3x3'),
      grid: '3x3',
      kind: 'page',
      pageSize: { width: 700, height: 900 },
      position: { x: 41, y: 31 },
      seed: 9,
    })
    const four = await renderCapture({
      payload: await composeGrid(files.slice(0, 1), '4x4'),
      grid: '4x4',
      kind: 'page',
      pageSize: { width: 700, height: 900 },
      position: { x: 40, y: 30 },
      seed: 9,
    })
    const zoomed = await renderCapture({
      payload: await composeGrid(files.slice(0, 9), '3x3'),
      grid: '3x3',
      kind: 'page',
      ratio: 1.25,
      pageSize: { width: 800, height: 1000 },
      position: { x: 40, y: 30 },
      seed: 9,
    })
    const images = await Promise.all(
      [three, moved, nudged, four, zoomed].map((c) => decode(c.buffer)),
    )
    const [base, ...others] = images.map((image) => ({ image, layout: detectLayout(image) }))
    const attempt = (k: number): unknown => {
      try {
        return findChangedTiles(
          base!.image,
          base!.layout,
          others[k]!.image,
          others[k]!.layout,
          NAMES,
        )
      } catch (error) {
        return error
      }
    }
    const moveError = attempt(0)
    expect(moveError).toBeInstanceOf(InputError)
    expect((moveError as Error).message).toMatch(
      /the grid in after\.png sits 12 px further right than in before\.png/,
    )
    expect(attempt(1)).toEqual([])
    expect((attempt(2) as Error).message).toBe(
      'after.png shows a 4x4 grid but before.png (--since) a 3x3 grid',
    )
    expect((attempt(3) as Error).message).toMatch(/are 15\dx15\d px but 126x126 px in before\.png/)
  })
})
