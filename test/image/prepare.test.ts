import { mkdir, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InputError, UsageError } from '../../src/errors.js'
import { loadImage } from '../../src/image/load.js'
import { chooseOutputFormat, prepareImage, resizeToFile } from '../../src/image/prepare.js'
import { encodeImage } from '../../src/image/encode.js'
import { jpegSegments, MARKER, SOS } from '../../src/image/jpeg-segments.js'
import { cellEdges, encodePayload, rebuildPayload, splitTiles } from '../../src/image/tiles.js'
import type { Layout, PreparedImage, RawImage } from '../../src/image/types.js'
import type { Grid, TileRect } from '../../src/types.js'
import { GRID_SIDE } from '../../src/types.js'
import { composeGrid, renderCapture } from '../helpers/captures.js'

const REAL_TILES = join(import.meta.dirname, '../data/recaptcha-tiles')

/** Every real tile file, sorted, so picks by index are deterministic. */
async function listRealTiles(): Promise<string[]> {
  const classes = (await readdir(REAL_TILES, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
  const files = await Promise.all(
    classes.map(async (c) =>
      (await readdir(join(REAL_TILES, c))).map((f) => join(REAL_TILES, c, f)),
    ),
  )
  return files
    .flat()
    .filter((f) => f.endsWith('.png'))
    .sort()
}

interface Decoded extends RawImage {
  format: string
}

async function decode(buffer: Buffer): Promise<Decoded> {
  const { data, info } = await sharp(buffer)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as 3,
    format: (await sharp(buffer).metadata()).format ?? '',
  }
}

async function decodePrepared(prepared: PreparedImage): Promise<Decoded> {
  return decode(Buffer.from(prepared.base64, 'base64'))
}

/** Mean absolute difference per channel value between the same rectangle of two images. */
function meanAbsDiff(
  a: RawImage,
  b: RawImage,
  rect: { x: number; y: number; width: number; height: number },
): number {
  let sum = 0
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      for (let c = 0; c < 3; c++) {
        sum += Math.abs(
          (a.data[(y * a.width + x) * a.channels + c] ?? 0) -
            (b.data[(y * b.width + x) * b.channels + c] ?? 0),
        )
      }
    }
  }
  return sum / (rect.width * rect.height * 3)
}

function cellsOf(grid: Grid): Array<{ x: number; y: number; width: number; height: number }> {
  const edges = cellEdges(grid)
  const n = GRID_SIDE[grid]
  return Array.from({ length: n * n }, (_, i) => {
    const c = i % n
    const r = Math.floor(i / n)
    return {
      x: edges[c]!,
      y: edges[r]!,
      width: edges[c + 1]! - edges[c]!,
      height: edges[r + 1]! - edges[r]!,
    }
  })
}

let dir: string
let payload3: Buffer
let payload4: Buffer
let source3: Decoded
let source4: Decoded

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-prepare-'))
  const tiles = await listRealTiles()
  // Nine different real tiles for the 3x3; one real tile blown up to a whole photo for the 4x4.
  payload3 = await composeGrid(tiles.filter((_, i) => i % 8 === 5).slice(0, 9), '3x3')
  payload4 = await composeGrid([tiles.find((f) => f.endsWith('Cross_0402.png'))!], '4x4')
  source3 = await decode(payload3)
  source4 = await decode(payload4)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The code counts per length (1-16) of each Huffman table in a prepared JPEG's DHT segments. */
function huffmanCounts(prepared: PreparedImage): number[][] {
  const jpeg = Buffer.from(prepared.base64, 'base64')
  const tables: number[][] = []
  for (const { marker, at, end } of jpegSegments(jpeg)) {
    if (marker === SOS) break
    if (marker !== MARKER.DHT) continue
    for (let pos = at + 4; pos < end;) {
      const counts = [...jpeg.subarray(pos + 1, pos + 17)]
      tables.push(counts)
      pos += 17 + counts.reduce((a, b) => a + b, 0)
    }
  }
  return tables
}

describe('prepareImage: standard payloads', () => {
  it('passes a 300x300 baseline JPEG through byte for byte', async () => {
    const jpeg = await sharp(payload3).jpeg({ quality: 90 }).toBuffer()
    const prepared = await prepareImage(jpeg, { name: 'payload.jpg' })
    expect(Buffer.from(prepared.base64, 'base64').equals(jpeg)).toBe(true)
    expect(prepared).toMatchObject({
      grid: '3x3',
      size: 300,
      mime: 'image/jpeg',
      bytes: jpeg.length,
      inputFormat: 'jpeg',
    })
    expect(prepared.layout.kind).toBe('payload')
    expect(prepared.layout.tiles.map((t) => [t.x, t.y, t.width, t.height])).toEqual(
      cellsOf('3x3').map((c) => [c.x, c.y, c.width, c.height]),
    )
  })

  it('refuses a cut-off standard JPEG (its end marker is missing) instead of sending it', async () => {
    const jpeg = await sharp(payload3).jpeg({ quality: 90 }).toBuffer()
    const cut = jpeg.subarray(0, Math.floor(jpeg.length * 0.6))
    await expect(prepareImage(cut, { name: 'cut.jpg' })).rejects.toThrow(
      /cut\.jpg is truncated or damaged/,
    )
    // A whole JPEG followed by stray bytes is not cut off: it is decoded, then rebuilt and sent.
    const padded = Buffer.concat([jpeg, Buffer.from('trailing garbage')])
    const prepared = await prepareImage(padded, { name: 'padded.jpg' })
    expect(prepared.grid).toBe('3x3')
    const out = await decodePrepared(prepared)
    expect(
      meanAbsDiff(out, await decode(payload3), { x: 0, y: 0, width: 300, height: 300 }),
    ).toBeLessThan(6)
  })

  it('re-encodes a PNG payload as JPEG that decodes to the same pixels within JPEG error', async () => {
    const prepared = await prepareImage(payload3, { name: 'payload.png' })
    expect(prepared.base64).toMatch(/^[A-Za-z0-9+/]+=*$/)
    expect(prepared.base64.startsWith('data:')).toBe(false)
    const out = await decodePrepared(prepared)
    expect([out.format, out.width, out.height]).toEqual(['jpeg', 300, 300])
    expect(prepared.bytes).toBe(Buffer.from(prepared.base64, 'base64').length)
    // q85 4:4:4 on real tiles measured about 2.5 levels mean error; 6 leaves room without hiding a shift.
    expect(meanAbsDiff(out, source3, { x: 0, y: 0, width: 300, height: 300 })).toBeLessThan(6)
  })

  it('gives a 4x4 payload for 450x450 with cell edges at round(i*112.5)', async () => {
    const prepared = await prepareImage(payload4, { name: 'squares.png' })
    expect([prepared.grid, prepared.size]).toEqual(['4x4', 450])
    expect(cellEdges('4x4')).toEqual([0, 113, 225, 338, 450])
    const xs = prepared.layout.tiles.slice(0, 4).map((t) => [t.x, t.x + t.width])
    expect(xs).toEqual([
      [0, 113],
      [113, 225],
      [225, 338],
      [338, 450],
    ])
    const out = await decodePrepared(prepared)
    expect([out.width, out.height]).toEqual([450, 450])
  })

  it('gives a 1x1 for a 100x100 tile, even when the sentence said 3x3', async () => {
    const tile = await sharp(payload3)
      .extract({ left: 100, top: 100, width: 100, height: 100 })
      .png()
      .toBuffer()
    const prepared = await prepareImage(tile, {
      name: 'tile.png',
      grid: '3x3',
      gridSource: 'sentence',
    })
    expect([prepared.grid, prepared.size, prepared.layout.tiles.length]).toEqual(['1x1', 100, 1])
    const out = await decodePrepared(prepared)
    expect([out.width, out.height]).toEqual([100, 100])
  })

  it('codes a 300 px payload with the standard Huffman tables, a 100 px tile with optimised ones', async () => {
    const payload = await prepareImage(payload3, { name: 'payload.png' })
    const tile = await prepareImage(
      await sharp(payload3)
        .extract({ left: 100, top: 100, width: 100, height: 100 })
        .png()
        .toBuffer(),
      { name: 'tile.png' },
    )
    // The standard DC luminance table (ITU T.81 K.3): codes per length 1-16.
    const standardDc = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    expect(huffmanCounts(payload)).toContainEqual(standardDc)
    expect(huffmanCounts(tile)).not.toContainEqual(standardDc)
    expect(huffmanCounts(tile)).toHaveLength(4)
  })

  it('refuses a --grid flag that contradicts the payload size', async () => {
    const error = await prepareImage(payload3, {
      name: 'payload.png',
      grid: '4x4',
      gridSource: 'flag',
    }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(UsageError)
    expect((error as UsageError).message).toBe(
      '--grid 4x4 conflicts with payload.png, a 300x300 payload (3x3)',
    )
  })

  it('writes PNG on request', async () => {
    const prepared = await prepareImage(payload3, { name: 'payload.png', format: 'png' })
    expect(prepared.mime).toBe('image/png')
    const out = await decodePrepared(prepared)
    expect(out.format).toBe('png')
    expect(meanAbsDiff(out, source3, { x: 0, y: 0, width: 300, height: 300 })).toBe(0)
  })

  it('re-encodes a standard JPEG that needs rotating, and a quality asked for', async () => {
    const rotated = await sharp(payload3)
      .jpeg({ quality: 90 })
      .withMetadata({ orientation: 3 })
      .toBuffer()
    const prepared = await prepareImage(rotated, { name: 'rotated.jpg' })
    expect(Buffer.from(prepared.base64, 'base64').equals(rotated)).toBe(false)
    const out = await decodePrepared(prepared)
    // Orientation 3 is a half turn: the source's top-left cell is now the bottom-right one.
    const flipped = await decode(await sharp(payload3).rotate(180).png().toBuffer())
    expect(meanAbsDiff(out, flipped, { x: 0, y: 0, width: 300, height: 300 })).toBeLessThan(6)

    const plain = await sharp(payload3).jpeg({ quality: 90 }).toBuffer()
    const small = await prepareImage(plain, { name: 'p.jpg', quality: 40 })
    expect(small.bytes).toBeLessThan(plain.length)
  })

  it.each([0, 101, 85.5])('refuses --quality %s', async (quality) => {
    await expect(prepareImage(payload3, { name: 'p.png', quality })).rejects.toThrow(UsageError)
  })
})

describe('prepareImage: other squares', () => {
  it('needs a grid for a 512x512 square', async () => {
    const big = await sharp(payload3).resize(512, 512).png().toBuffer()
    const error = await prepareImage(big, { name: 'photo.png' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toMatch(/photo\.png .*--grid/)
  })

  it('scales a 512x512 square to 300 with --grid 3x3', async () => {
    const big = await sharp(payload3).resize(512, 512).png().toBuffer()
    const prepared = await prepareImage(big, {
      name: 'photo.png',
      grid: '3x3',
      gridSource: 'flag',
      format: 'png',
    })
    expect([prepared.grid, prepared.size, prepared.layout.kind, prepared.inputWidth]).toEqual([
      '3x3',
      300,
      'payload',
      512,
    ])
    const out = await decodePrepared(prepared)
    expect([out.width, out.height]).toEqual([300, 300])
    // Up- then down-scaling by lanczos keeps every cell close to the original.
    for (const cell of cellsOf('3x3')) expect(meanAbsDiff(out, source3, cell)).toBeLessThan(8)
  })
})

describe('prepareImage: captures rebuilt into payloads', () => {
  const cases = [
    { grid: '3x3', kind: 'tiles', ratio: 1, format: 'png' },
    { grid: '3x3', kind: 'widget', ratio: 1, format: 'png' },
    { grid: '3x3', kind: 'widget', ratio: 2, format: 'png' },
    { grid: '3x3', kind: 'page', ratio: 1.5, format: 'jpeg' },
    { grid: '4x4', kind: 'widget', ratio: 1, format: 'png' },
    { grid: '4x4', kind: 'widget', ratio: 2, format: 'jpeg' },
  ] as const

  it.each(cases)(
    '$grid $kind at $ratio x ($format) matches its source payload tile by tile',
    async (c) => {
      const payload = c.grid === '3x3' ? payload3 : payload4
      const source = c.grid === '3x3' ? source3 : source4
      const capture = await renderCapture({
        payload,
        grid: c.grid,
        kind: c.kind,
        ratio: c.ratio,
        format: c.format,
        seed: 11,
      })
      const prepared = await prepareImage(capture.buffer, { name: 'shot', format: 'png' })
      expect([
        prepared.grid,
        prepared.layout.kind,
        prepared.inputWidth,
        prepared.inputHeight,
      ]).toEqual([c.grid, c.kind, capture.width, capture.height])
      const out = await decodePrepared(prepared)
      expect([out.width, out.height]).toEqual([prepared.size, prepared.size])

      // Each rebuilt cell went through two resamplings (the capture's and ours) and maybe a JPEG:
      // measured worst cell 7.6 levels (noisy real 3x3 tiles at 1x), 1.9 for the smooth 4x4 photo.
      // It must stay under 10 and be closer to its own source cell than to any other, so a shifted
      // or swapped tile fails.
      const cells = cellsOf(c.grid)
      const bound = 10
      for (const [i, cell] of cells.entries()) {
        const own = meanAbsDiff(out, source, cell)
        expect(own, `tile ${i}`).toBeLessThan(bound)
        if (c.grid === '3x3') {
          for (const [j, other] of cells.entries()) {
            if (j === i) continue
            // The other source cell's pixels compared with our rebuilt cell (3x3 cells are equal-sized).
            expect(own, `tile ${i} vs ${j}`).toBeLessThan(compareCells(out, source, cell, other))
          }
        }
      }
      // The rectangles recorded are the capture's true tiles, within the detector's tolerance.
      capture.truth.tiles.forEach((truth, i) => {
        const found = prepared.layout.tiles[i] as TileRect
        expect(Math.abs(found.x - truth.x)).toBeLessThanOrEqual(2 * c.ratio)
        expect(Math.abs(found.y - truth.y)).toBeLessThanOrEqual(2 * c.ratio)
      })
    },
  )
})

/** Difference between cell `a` of image `x` and cell `b` of image `y` (cells of equal size). */
function compareCells(
  x: RawImage,
  y: RawImage,
  a: { x: number; y: number; width: number; height: number },
  b: { x: number; y: number },
): number {
  let sum = 0
  for (let dy = 0; dy < a.height; dy++) {
    for (let dx = 0; dx < a.width; dx++) {
      for (let c = 0; c < 3; c++) {
        sum += Math.abs(
          (x.data[((a.y + dy) * x.width + a.x + dx) * 3 + c] ?? 0) -
            (y.data[((b.y + dy) * y.width + b.x + dx) * 3 + c] ?? 0),
        )
      }
    }
  }
  return sum / (a.width * a.height * 3)
}

describe('rebuildPayload', () => {
  /** A 4x4 "capture": 16 solid tiles of distinct colours, 30 px each with 5 px gutters. */
  function makeSolidCapture(): { pixels: RawImage; layout: Layout; colours: number[][] } {
    const side = 30
    const gap = 5
    const width = 4 * side + 3 * gap + 10
    const data = new Uint8Array(width * width * 3).fill(255)
    const colours = Array.from({ length: 16 }, (_, i) => [
      (i * 53) % 200,
      (i * 97) % 200,
      (i * 31 + 40) % 200,
    ])
    const tiles: TileRect[] = []
    for (let i = 0; i < 16; i++) {
      const x0 = 5 + (i % 4) * (side + gap)
      const y0 = 5 + Math.floor(i / 4) * (side + gap)
      tiles.push({ index: i, x: x0, y: y0, width: side, height: side, cx: x0 + 15, cy: y0 + 15 })
      for (let y = y0; y < y0 + side; y++) {
        for (let x = x0; x < x0 + side; x++) data.set(colours[i]!, (y * width + x) * 3)
      }
    }
    const layout: Layout = {
      kind: 'tiles',
      grid: '4x4',
      crop: { x: 5, y: 5, width: 4 * side + 3 * gap, height: 4 * side + 3 * gap },
      tiles,
    }
    return { pixels: { data, width, height: width, channels: 3 }, layout, colours }
  }

  it('refuses a layout with tiles missing, or from a larger image, naming what is wrong', async () => {
    const { pixels, layout } = makeSolidCapture()
    const short = { ...layout, tiles: layout.tiles.slice(0, 15) }
    await expect(encodePayload(pixels, short, {})).rejects.toThrow(
      /^the layout for the image has 15 tiles; a 4x4 grid has 16$/,
    )
    await expect(rebuildPayload(pixels, short)).rejects.toBeInstanceOf(InputError)
    const moved = {
      ...layout,
      tiles: layout.tiles.map((t) => ({ ...t, x: t.x + pixels.width })),
    }
    await expect(encodePayload(pixels, moved, {})).rejects.toThrow(
      /^tile 0 .* lies outside the image/,
    )
  })

  it('puts 4x4 cell edges at round(i*112.5) with no gutter left', async () => {
    const { pixels, layout, colours } = makeSolidCapture()
    const out = await rebuildPayload(pixels, layout)
    expect([out.width, out.height, out.channels]).toEqual([450, 450, 3])
    const at = (x: number, y: number): number[] => [
      ...out.data.subarray((y * 450 + x) * 3, (y * 450 + x) * 3 + 3),
    ]
    const edges = cellEdges('4x4')
    // The grid is scaled as one picture: within the kernel's reach of a seam (3 source pixels, 11
    // here at 3.75x) two tiles blend; beyond it each cell is its tile's colour exactly.
    const reach = 12
    for (let i = 0; i < 4; i++) {
      const left = edges[i]! + (i === 0 ? 0 : reach)
      const right = edges[i + 1]! - 1 - (i === 3 ? 0 : reach)
      expect(at(left, 150)).toEqual(colours[4 + i])
      expect(at(right, 150)).toEqual(colours[4 + i])
      expect(at(200, left)).toEqual(colours[i * 4 + 1])
      expect(at(200, right)).toEqual(colours[i * 4 + 1])
    }
    // No gutter left anywhere along row 150 and column 200: nothing near white (tiles are at most 200).
    for (let k = 0; k < 450; k++) {
      expect(Math.min(...at(k, 150)), `row 150, x ${k}`).toBeLessThan(225)
      expect(Math.min(...at(200, k)), `column 200, y ${k}`).toBeLessThan(225)
    }
  })

  it('cuts a tile a pixel larger than the others to their size, and pads a smaller one', async () => {
    // 3x3 of 50 px tiles, but the middle one detected 51 wide, the third 49 wide and the last 49 high.
    const colours = Array.from({ length: 9 }, (_, i) => [20 * i, 200 - 20 * i, 90])
    const width = 3 * 50 + 20
    const data = new Uint8Array(width * width * 3).fill(255)
    const tiles: TileRect[] = []
    for (let i = 0; i < 9; i++) {
      const x0 = (i % 3) * 55 + 5
      const y0 = Math.floor(i / 3) * 55 + 5
      const w = i === 4 ? 51 : i === 2 ? 49 : 50
      const h = i === 8 ? 49 : 50
      tiles.push({ index: i, x: x0, y: y0, width: w, height: h, cx: x0 + 25, cy: y0 + 25 })
      for (let y = y0; y < y0 + h; y++)
        for (let x = x0; x < x0 + w; x++) data.set(colours[i]!, (y * width + x) * 3)
    }
    const layout: Layout = {
      kind: 'tiles',
      grid: '3x3',
      crop: { x: 5, y: 5, width: 160, height: 160 },
      tiles,
    }
    const out = await rebuildPayload({ data, width, height: width, channels: 3 }, layout)
    expect([out.width, out.height]).toEqual([300, 300])
    const at = (x: number, y: number): number[] => [
      ...out.data.subarray((y * 300 + x) * 3, (y * 300 + x) * 3 + 3),
    ]
    // Each cell's middle is its tile's colour; the padded tiles have no white column or row at their edge.
    for (let i = 0; i < 9; i++)
      expect(at((i % 3) * 100 + 50, Math.floor(i / 3) * 100 + 50)).toEqual(colours[i])
    expect(at(250, 299)).toEqual(colours[8])
    expect(at(299, 50)).toEqual(colours[2])
  })
  it('encodes in one pipeline the same pixels as rebuilding and encoding apart', async () => {
    const { pixels, layout, colours } = makeSolidCapture()
    // A selected tile's picture is pasted between scaling and encoding (here a part of tile 0, so
    // that cell 5 shows it instead of its own colour).
    const selected: Layout = { ...layout, pictures: { 5: { x: 10, y: 10, width: 20, height: 20 } } }
    const payload: Layout = {
      kind: 'payload',
      grid: '3x3',
      crop: { x: 10, y: 10, width: 120, height: 120 },
      tiles: [],
    }
    // And on noise (every pixel of the tiles different), where scaling rounds every value.
    const noisy: RawImage = {
      ...pixels,
      data: pixels.data.map((v, i) => (v === 255 ? 255 : (v + ((i * 7919) % 97)) & 255)),
    }
    for (const [image, each] of [
      [pixels, layout],
      [pixels, selected],
      [pixels, payload],
      [noisy, layout],
      [noisy, payload],
    ] as const) {
      for (const format of ['jpeg', 'png'] as const) {
        const apart = await encodeImage(await rebuildPayload(image, each), { format })
        const joined = await encodePayload(image, each, { format })
        expect(joined.mime).toBe(apart.mime)
        const [a, b] = await Promise.all([decode(apart.buffer), decode(joined.buffer)])
        expect([b.width, b.height]).toEqual(each.grid === '4x4' ? [450, 450] : [300, 300])
        expect(Buffer.from(b.data).equals(Buffer.from(a.data)), `${each.kind} ${format}`).toBe(true)
      }
    }
    // The pasted picture is there: the selected cell's middle is tile 0's colour, not its own.
    const plain = await decode((await encodePayload(pixels, layout, { format: 'png' })).buffer)
    const pasted = await decode((await encodePayload(pixels, selected, { format: 'png' })).buffer)
    const middle = (image: Decoded): number[] => {
      const p = (169 * 450 + 169) * 3
      return [...image.data.subarray(p, p + 3)]
    }
    expect(middle(pasted)).toEqual(colours[0])
    expect(middle(plain)).toEqual(colours[5])
  })
})

describe('resizeToFile and splitTiles', () => {
  it('writes the prepared image and returns its metadata', async () => {
    const capture = await renderCapture({
      payload: payload3,
      grid: '3x3',
      kind: 'widget',
      ratio: 1,
      seed: 4,
    })
    // A file target's directory must exist (it is not created: README); the command checks it first.
    await mkdir(join(dir, 'out'), { recursive: true })
    const out = join(dir, 'out', 'payload.png')
    const result = await resizeToFile(capture.buffer, out, { name: 'shot.png' })
    expect(result).toMatchObject({
      input: 'shot.png',
      output: out,
      kind: 'widget',
      grid: '3x3',
      size: 300,
      format: 'png',
      passThrough: false,
    })
    expect(result.tiles).toHaveLength(9)
    expect(result.crop.width).toBeGreaterThan(300)
    const written = await decode(await readFile(out))
    expect([written.format, written.width, written.height]).toEqual(['png', 300, 300])
    expect(result.bytes).toBe((await readFile(out)).length)
  })

  it('passes a standard JPEG through to a .jpg file', async () => {
    const jpeg = await sharp(payload3).jpeg({ quality: 90 }).toBuffer()
    const out = join(dir, 'same.jpg')
    const result = await resizeToFile(jpeg, out, { name: 'in.jpg' })
    expect(result.passThrough).toBe(true)
    expect((await readFile(out)).equals(jpeg)).toBe(true)
  })

  it('chooses the format from --format or the extension, and refuses contradictions', () => {
    expect(chooseOutputFormat('a.PNG', undefined)).toBe('png')
    expect(chooseOutputFormat('a.jpeg', undefined)).toBe('jpeg')
    expect(chooseOutputFormat('a', undefined)).toBe('jpeg')
    expect(chooseOutputFormat('a', 'png')).toBe('png')
    expect(() => chooseOutputFormat('a.png', 'jpeg')).toThrow(
      /-o a\.png names a PNG file but --format is jpeg/,
    )
    expect(() => chooseOutputFormat('a.webp', undefined)).toThrow(UsageError)
  })

  it('splits a capture into tile files cut from the input without gutters', async () => {
    const capture = await renderCapture({
      payload: payload3,
      grid: '3x3',
      kind: 'tiles',
      ratio: 2,
      seed: 9,
    })
    const image = await loadImage(capture.buffer, { name: 'tiles.png' })
    const prepared = await prepareImage(image, { name: 'tiles.png' })
    const files = await splitTiles(image, prepared.layout, join(dir, 'split'), {
      name: 'tiles.png',
    })
    expect(files.map((f) => f.path.slice(-10))).toEqual(
      Array.from({ length: 9 }, (_, i) => `tile-${i}.png`.padStart(10, '/')),
    )
    for (const file of files) {
      const tile = await decode(await readFile(file.path))
      expect([tile.width, tile.height]).toEqual([file.rect.width, file.rect.height])
      // Lossless: every pixel equals the input's pixel at the same place.
      let diff = 0
      for (let y = 0; y < tile.height; y++) {
        for (let x = 0; x < tile.width; x++) {
          for (let c = 0; c < 3; c++) {
            diff += Math.abs(
              tile.data[(y * tile.width + x) * 3 + c]! -
                image.pixels.data[((file.rect.y + y) * image.width + file.rect.x + x) * 3 + c]!,
            )
          }
        }
      }
      expect(diff).toBe(0)
      // No gutter: the tile's border rows are not white.
      const topRowMean =
        [...tile.data.subarray(0, tile.width * 3)].reduce((a, b) => a + b, 0) / (tile.width * 3)
      expect(topRowMean).toBeLessThan(245)
    }
  })
})
