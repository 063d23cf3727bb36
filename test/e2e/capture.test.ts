/**
 * Screenshots to clicks, end to end: rc2's CLI (in this process: nothing here needs a real one) on
 * captures rendered at test time around
 * payloads whose answer the test server knows (red tiles on real photos from test/data/recaptcha-tiles),
 * checked against the renderer's true tile rectangles.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readdirSync } from 'node:fs'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Rect } from '../../src/types.js'
import { type Capture, type CaptureOptions, renderCapture } from '../helpers/captures.js'
import { hasStackTrace, runInProcess, type RunResult } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const TILE_ROOT = join(import.meta.dirname, '../data/recaptcha-tiles')
const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let dir: string
const outputs: RunResult[] = []

async function rc2(args: string[]): Promise<RunResult> {
  const result = await runInProcess(args, {
    env: { HOME: dir, RC2_API_KEY: KEY, NO_COLOR: '1' },
    cwd: dir,
  })
  outputs.push(result)
  return result
}

interface Scene {
  file: string
  red: number[]
  capture: Capture
  payload: Buffer
}
const scenes: Record<string, Scene> = {}

async function raw(
  input: Buffer | string,
): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(input)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height }
}

/** Mean absolute difference per channel inside `rect` of two same-sized RGB images. */
function meanDiff(a: { data: Buffer; width: number }, b: { data: Buffer }, rect: Rect): number {
  let sum = 0
  let n = 0
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      const at = (y * a.width + x) * 3
      for (let c = 0; c < 3; c++) sum += Math.abs(a.data[at + c]! - b.data[at + c]!)
      n += 3
    }
  }
  return sum / n
}

function inside(point: { x: number; y: number }, rect: Rect): boolean {
  return (
    point.x > rect.x &&
    point.x < rect.x + rect.width &&
    point.y > rect.y &&
    point.y < rect.y + rect.height
  )
}

beforeAll(async () => {
  server = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-capture-'))
  const files = readdirSync(TILE_ROOT, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
  const photos = await Promise.all(files.slice(0, 16).map((f) => readFile(join(TILE_ROOT, f))))

  async function scene(
    name: string,
    grid: '3x3' | '4x4',
    red: number[],
    options: Omit<CaptureOptions, 'payload' | 'grid'>,
    offset: number,
  ): Promise<void> {
    const payload = await renderRedGrid(grid, red, { otherTiles: photos.slice(offset) })
    const capture = await renderCapture({ payload, grid, ...options })
    const file = `${name}.${capture.format === 'jpeg' ? 'jpg' : 'png'}`
    await writeFile(join(dir, file), capture.buffer)
    scenes[name] = { file, red, capture, payload }
  }
  await scene(
    'widget3',
    '3x3',
    [0, 4, 5],
    { kind: 'widget', ratio: 1, look: 'current', seed: 31 },
    0,
  )
  await scene(
    'widget4',
    '4x4',
    [2, 7, 13],
    { kind: 'widget', ratio: 2, look: 'current', format: 'jpeg', seed: 32 },
    3,
  )
  await scene(
    'page3',
    '3x3',
    [1, 3, 8],
    { kind: 'page', ratio: 2, look: 'current', background: 'white', blueBanner: true, seed: 33 },
    5,
  )
  await scene(
    'tiles3',
    '3x3',
    [2, 6, 7],
    { kind: 'tiles', ratio: 1.5, look: 'current', seed: 34 },
    7,
  )
  await scene(
    'legacy3',
    '3x3',
    [0, 8],
    { kind: 'widget', ratio: 1.25, look: 'legacy', format: 'jpeg', seed: 35 },
    2,
  )
  await scene('page4', '4x4', [5, 6, 9], { kind: 'page', ratio: 3, look: 'current', seed: 36 }, 9)
  await scene('cut', '3x3', [1], { kind: 'widget', ratio: 1, cutOff: 'bottom', seed: 37 }, 1)
  await writeFile(
    join(dir, 'blank.png'),
    await sharp({ create: { width: 640, height: 480, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer(),
  )
}, 60_000)

afterAll(async () => {
  await server.close()
  for (const r of outputs) {
    expect(r.stdout).not.toContain(KEY)
    expect(r.stderr).not.toContain(KEY)
  }
  await rm(dir, { recursive: true, force: true })
})

describe('rc2 solve on screenshots', () => {
  const three = ['widget3', 'page3', 'tiles3', 'legacy3']
  const four = ['widget4', 'page4']

  it.each([
    ['3x3 captures', three, ['--confidence', '0.5']],
    ['4x4 captures', four, []],
  ] as const)(
    '%s: clicks land inside the true rectangles of exactly the red tiles',
    async (_label, names, extra) => {
      const files = names.map((n) => scenes[n]!.file)
      const r = await rc2([
        'solve',
        ...files,
        '-q',
        'cars',
        '--json',
        '--endpoint',
        server.url,
        '--annotate',
        'marked',
        ...extra,
      ])
      expect(r.stderr).not.toMatch(/\n\s+at /)
      expect(r.code).toBe(0)
      const results = JSON.parse(r.stdout) as {
        input: string
        ok: boolean
        grid: string
        size: number
        objects: number[]
        clicks: { tile: number; x: number; y: number }[]
        annotated: string
      }[]
      expect(results.map((x) => x.input)).toEqual(files)
      for (const [k, result] of results.entries()) {
        const { red, capture } = scenes[names[k]!]!
        expect(result.ok).toBe(true)
        expect(result.grid).toBe(capture.truth.grid)
        expect(result.size).toBe(capture.truth.grid === '3x3' ? 300 : 450)
        expect(result.objects).toEqual(red)
        expect(result.clicks.map((c) => c.tile)).toEqual(red)
        for (const click of result.clicks) {
          expect(
            inside(click, capture.truth.tiles[click.tile]!),
            `${result.input} click ${JSON.stringify(click)}`,
          ).toBe(true)
        }
      }
    },
  )

  it('--annotate marks the chosen tiles and leaves the others nearly as they were', async () => {
    const marked = await readdir(join(dir, 'marked'))
    expect(marked.sort()).toEqual([
      'legacy3.annotated.png',
      'page3.annotated.png',
      'page4.annotated.png',
      'tiles3.annotated.png',
      'widget3.annotated.png',
      'widget4.annotated.png',
    ])
    for (const name of ['widget3', 'page4', 'legacy3']) {
      const { file, red, capture } = scenes[name]!
      const before = await raw(join(dir, file))
      const after = await raw(join(dir, 'marked', `${name}.annotated.png`))
      expect([after.width, after.height]).toEqual([capture.width, capture.height])
      capture.truth.tiles.forEach((tile, index) => {
        const diff = meanDiff(before, after, tile)
        // Marked tiles are outlined and numbered: a clearly visible change. Unmarked ones may get
        // a faint number at most.
        if (red.includes(index)) expect(diff, `${name} tile ${index}`).toBeGreaterThan(8)
        else expect(diff, `${name} tile ${index}`).toBeLessThan(4)
      })
    }
  })
})

describe('rc2 resize', () => {
  it('rebuilds the payload from a screenshot, matching the source payload', async () => {
    for (const name of ['widget3', 'widget4', 'page3', 'tiles3']) {
      const { file, payload, capture } = scenes[name]!
      const r = await rc2(['resize', file, '-o', `${name}.payload.jpg`])
      expect(r.code).toBe(0)
      expect(r.stdout).toContain(`${name}.payload.jpg`)
      const side = capture.truth.grid === '3x3' ? 300 : 450
      const rebuilt = await raw(join(dir, `${name}.payload.jpg`))
      expect([rebuilt.width, rebuilt.height]).toEqual([side, side])
      const source = await raw(payload)
      // Bound: the capture scales each tile by the ratio (and JPEG-compresses some), rc2 scales it
      // back and encodes JPEG q85; photo edges blur by a pixel. Measured 2.4-4.5 on these scenes.
      // A wrong grid or a swapped tile puts red (230,20,20) over photo pixels: tens, not units.
      expect(
        meanDiff(rebuilt, source, { x: 0, y: 0, width: side, height: side }),
        name,
      ).toBeLessThan(12)
    }
  })

  it('writes several inputs into a directory, in the asked format and quality', async () => {
    const r = await rc2([
      'resize',
      scenes.widget3!.file,
      scenes.widget4!.file,
      '-o',
      'out/',
      '--format',
      'png',
    ])
    expect(r.code).toBe(0)
    expect((await readdir(join(dir, 'out'))).sort()).toEqual(['widget3.png', 'widget4.png'])
    expect((await sharp(join(dir, 'out', 'widget4.png')).metadata()).format).toBe('png')
    expect((await sharp(join(dir, 'out', 'widget4.png')).metadata()).width).toBe(450)

    const low = await rc2([
      'resize',
      scenes.page3!.file,
      '-o',
      'low.jpg',
      '--quality',
      '20',
      '--json',
    ])
    const high = await rc2([
      'resize',
      scenes.page3!.file,
      '-o',
      'high.jpg',
      '--quality',
      '95',
      '--json',
    ])
    expect(low.code).toBe(0)
    const lowMeta = JSON.parse(low.stdout) as { bytes: number }
    const highMeta = JSON.parse(high.stdout) as { bytes: number }
    expect(lowMeta.bytes).toBeLessThan(highMeta.bytes / 2)
  })

  it('--base64 prints the bare base64 of the payload', async () => {
    const r = await rc2(['resize', scenes.widget4!.file, '--base64'])
    expect(r.code).toBe(0)
    const text = r.stdout.trim()
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/)
    const decoded = await sharp(Buffer.from(text, 'base64')).metadata()
    expect([decoded.width, decoded.height]).toEqual([450, 450])
  })

  it('--json gives grid, size, crop, bytes and tile rectangles within 2 px x ratio', async () => {
    const { file, capture } = scenes.page3!
    const r = await rc2(['resize', file, '-o', 'meta.jpg', '--json'])
    expect(r.code).toBe(0)
    const meta = JSON.parse(r.stdout) as {
      grid: string
      size: number
      bytes: number
      crop: Rect
      tiles: Rect[]
      kind: string
    }
    expect(meta).toMatchObject({ grid: '3x3', size: 300, kind: 'page' })
    expect(meta.bytes).toBe((await readFile(join(dir, 'meta.jpg'))).length)
    const tol = 2 * 2
    meta.tiles.forEach((tile, k) => {
      const truth = capture.truth.tiles[k]!
      expect(Math.abs(tile.x - truth.x)).toBeLessThanOrEqual(tol)
      expect(Math.abs(tile.y - truth.y)).toBeLessThanOrEqual(tol)
      expect(Math.abs(tile.width - truth.width)).toBeLessThanOrEqual(tol)
      expect(Math.abs(tile.height - truth.height)).toBeLessThanOrEqual(tol)
    })
    expect(Math.abs(meta.crop.x - capture.truth.crop.x)).toBeLessThanOrEqual(tol)
    expect(Math.abs(meta.crop.width - capture.truth.crop.width)).toBeLessThanOrEqual(tol)
  })
})

describe('rc2 grid', () => {
  it('prints the grid as a table and as JSON with centres inside the true tiles', async () => {
    const { file, capture } = scenes.widget4!
    const table = await rc2(['grid', file])
    expect(table.code).toBe(0)
    expect(table.stdout).toContain('4x4')
    expect(table.stdout).toContain('widget')
    const json = await rc2(['grid', file, '--json'])
    const out = JSON.parse(json.stdout) as {
      grid: string
      kind: string
      width: number
      tiles: { index: number; cx: number; cy: number }[]
    }
    expect(out).toMatchObject({ grid: '4x4', kind: 'widget', width: capture.width })
    expect(out.tiles).toHaveLength(16)
    for (const tile of out.tiles)
      expect(inside({ x: tile.cx, y: tile.cy }, capture.truth.tiles[tile.index]!)).toBe(true)
  })

  it('--overlay outlines every tile; --mark outlines only the named ones', async () => {
    const { file, capture } = scenes.page3!
    expect((await rc2(['grid', file, '--overlay', 'overlay.png'])).code).toBe(0)
    expect((await rc2(['grid', file, '--mark', '0,4', '-o', 'm.png'])).code).toBe(0)
    const before = await raw(join(dir, file))
    const overlay = await raw(join(dir, 'overlay.png'))
    const marked = await raw(join(dir, 'm.png'))
    expect([overlay.width, overlay.height]).toEqual([capture.width, capture.height])
    capture.truth.tiles.forEach((tile, index) => {
      // A band along each tile's top edge, where the outline goes.
      const band = { x: tile.x + 4, y: tile.y, width: tile.width - 8, height: 4 }
      expect(meanDiff(before, overlay, band), `overlay tile ${index}`).toBeGreaterThan(20)
      if (index === 0 || index === 4)
        expect(meanDiff(before, marked, tile), `mark tile ${index}`).toBeGreaterThan(8)
      else expect(meanDiff(before, marked, tile), `mark tile ${index}`).toBeLessThan(4)
    })
  })

  it('--split writes each tile at its own size', async () => {
    const { file, capture } = scenes.tiles3!
    const r = await rc2(['grid', file, '--split', 'split', '--json'])
    expect(r.code).toBe(0)
    const written = (await readdir(join(dir, 'split'))).sort()
    expect(written).toHaveLength(9)
    const out = JSON.parse(r.stdout) as { split: string[]; tiles: Rect[] }
    expect(out.split).toHaveLength(9)
    for (const [k, path] of out.split.entries()) {
      const meta = await sharp(join(dir, path)).metadata()
      expect(Math.abs(meta.width! - capture.truth.tiles[k]!.width)).toBeLessThanOrEqual(3)
      expect(Math.abs(meta.height! - capture.truth.tiles[k]!.height)).toBeLessThanOrEqual(3)
    }
  })
})

describe('captures rc2 must refuse', () => {
  it('a capture cut off at an edge: exit 4, says so, no stack trace', async () => {
    const r = await rc2(['solve', scenes.cut!.file, '-q', 'cars', '--endpoint', server.url])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain(scenes.cut!.file)
    expect(r.stderr).toMatch(/cut off/)
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  it('--grid 4x4 on a 3x3 capture: exit 2 naming the conflict', async () => {
    const r = await rc2([
      'solve',
      scenes.widget3!.file,
      '-q',
      'cars',
      '--grid',
      '4x4',
      '--endpoint',
      server.url,
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/3x3/)
    expect(r.stderr).toMatch(/4x4/)
    expect(hasStackTrace(r.stderr)).toBe(false)
  })

  it('a blank page: exit 4 saying what to change in the capture, and suggesting rc2 grid --overlay', async () => {
    const before = server.createCount
    const r = await rc2(['solve', 'blank.png', '-q', 'cars', '--endpoint', server.url])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('blank.png')
    expect(r.stderr).toContain('capture the whole challenge with the white gutters')
    expect(r.stderr).toContain('rc2 grid')
    expect(r.stderr).toContain('--overlay')
    expect(server.createCount).toBe(before)
  })
})
