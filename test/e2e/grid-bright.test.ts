/**
 * The capture detection used to miss, in process: a 4x4 widget on a page whose top rows are white
 * sky (tiles as white as the gutters) is found from the widget's header, by `rc2 grid` and by
 * `rc2 solve`; and when no grid can be found, `grid --overlay` still writes what was seen.
 */
import { readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import { OVERLAY_COLOUR } from '../../src/image/annotate.js'
import { type Capture, composeGrid, renderCapture } from '../helpers/captures.js'
import { TILES_DIR } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  type ProviderServer,
  renderRedGrid,
  startProviderServer,
} from '../helpers/provider-server.js'

let server: ProviderServer
let root: string
let sky: Capture
let skyRed: Capture
let cut: Capture

async function rc2(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runInProcess(args, { env: { HOME: root, RC2_API_KEY: DEFAULT_TEST_KEY }, cwd: root })
}

/** The top `rows` rows of a 4x4 payload turned to white sky (250-255). */
async function whiteSky(payload: Buffer, rows: number): Promise<Buffer> {
  const { data, info } = await sharp(payload)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const bottom = Math.round((rows * info.height) / 4)
  for (let p = 0; p < bottom * info.width * 3; p += 3) {
    const v = 255 - ((p / 3) % 5)
    data[p] = v - 1
    data[p + 1] = v
    data[p + 2] = v
  }
  return sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
    .png()
    .toBuffer()
}

beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-bright-'))
  const files = readdirSync(TILES_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
  const photo = await composeGrid([join(TILES_DIR, files[11]!)], '4x4')
  sky = await renderCapture({
    payload: await whiteSky(photo, 2),
    grid: '4x4',
    kind: 'page',
    ratio: 2,
    background: 'white',
    pageSize: { width: 1300, height: 1700 },
    seed: 61,
  })
  // Red tiles in the lower rows, so the test server's answer is known.
  skyRed = await renderCapture({
    payload: await whiteSky(await renderRedGrid('4x4', [9, 14]), 2),
    grid: '4x4',
    kind: 'widget',
    ratio: 1.5,
    seed: 62,
  })
  cut = await renderCapture({
    payload: photo,
    grid: '4x4',
    kind: 'widget',
    ratio: 1,
    cutOff: 'bottom',
    seed: 63,
  })
  await writeFile(join(root, 'sky.png'), sky.buffer)
  await writeFile(join(root, 'sky-red.png'), skyRed.buffer)
  await writeFile(join(root, 'cut.png'), cut.buffer)
})

afterAll(async () => {
  await server.close()
  await rm(root, { recursive: true, force: true })
})

describe('a 4x4 whose top rows are white sky', () => {
  it('rc2 grid finds all 16 tiles where they are, with or without -g 4x4', async () => {
    for (const extra of [[], ['-g', '4x4']]) {
      const r = await rc2(['grid', join(root, 'sky.png'), '--json', ...extra])
      expect(r.code, r.stderr).toBe(0)
      const layout = JSON.parse(r.stdout) as {
        grid: string
        kind: string
        tiles: { x: number; y: number; width: number; height: number }[]
      }
      expect(layout.grid).toBe('4x4')
      expect(layout.kind).toBe('page')
      layout.tiles.forEach((tile, k) => {
        const truth = sky.truth.tiles[k]!
        for (const key of ['x', 'y', 'width', 'height'] as const)
          expect(Math.abs(tile[key] - truth[key]), `tile ${k} ${key}`).toBeLessThanOrEqual(2)
      })
    }
  })

  it('rc2 solve sends the rebuilt 450x450 payload and clicks the right tiles', async () => {
    const r = await rc2([
      'solve',
      'sky-red.png',
      '-q',
      'Select all squares with cars',
      '--json',
      '--endpoint',
      server.url,
    ])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {
      grid: string
      size: number
      objects: number[]
      clicks: { tile: number; x: number; y: number }[]
    }
    expect(result).toMatchObject({ grid: '4x4', size: 450, objects: [9, 14] })
    for (const click of result.clicks) {
      const truth = skyRed.truth.tiles[click.tile]!
      expect(click.x).toBeGreaterThan(truth.x)
      expect(click.x).toBeLessThan(truth.x + truth.width)
      expect(click.y).toBeGreaterThan(truth.y)
      expect(click.y).toBeLessThan(truth.y + truth.height)
    }
  })
})

describe('grid --overlay when no grid is found', () => {
  it('still writes the picture of what was seen, and says so', async () => {
    const r = await rc2(['grid', join(root, 'cut.png'), '--overlay', join(root, 'seen.png')])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('cut off at the bottom edge')
    expect(r.stderr).toContain('seen.png shows what rc2 found')
    expect((await stat(join(root, 'seen.png'))).size).toBeGreaterThan(0)
    const before = await sharp(cut.buffer).removeAlpha().raw().toBuffer({ resolveWithObject: true })
    const after = await sharp(await readFile(join(root, 'seen.png')))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    expect([after.info.width, after.info.height]).toEqual([before.info.width, before.info.height])
    // A tile that shows (first row) is outlined in the overlay colour along its top edge.
    const tile = cut.truth.tiles[1]!
    let outlined = 0
    for (let x = tile.x + 5; x < tile.x + tile.width - 5; x++) {
      const p = (tile.y * after.info.width + x) * 3
      const [r2, g, b] = [after.data[p]!, after.data[p + 1]!, after.data[p + 2]!]
      if (
        Math.abs(r2 - OVERLAY_COLOUR.r) < 40 &&
        Math.abs(g - OVERLAY_COLOUR.g) < 40 &&
        Math.abs(b - OVERLAY_COLOUR.b) < 40
      )
        outlined++
    }
    expect(outlined).toBeGreaterThan((tile.width - 10) * 0.8)
    // Away from every mark the picture is the input.
    expect(after.data.subarray(0, after.info.width * 3)).toEqual(
      before.data.subarray(0, before.info.width * 3),
    )
  })
})
