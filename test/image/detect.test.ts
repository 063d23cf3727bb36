import sharp from 'sharp'
import type { OverlayOptions } from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { InputError, UsageError } from '../../src/errors.js'
import { detectLayout, gridForPayloadSize, payloadLayout } from '../../src/image/detect.js'
import type { Layout, RawImage } from '../../src/image/types.js'
import type { Rect } from '../../src/types.js'
import type { CaptureOptions } from '../helpers/captures.js'
import { makeSyntheticPayload, renderCapture } from '../helpers/captures.js'

async function decode(buffer: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(buffer).raw().toBuffer({ resolveWithObject: true })
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage['channels'],
  }
}

/** Largest distance between any detected tile edge and the true one, in pixels. */
function worstEdgeError(layout: Layout, truth: Rect[]): number {
  let worst = 0
  layout.tiles.forEach((t, k) => {
    const u = truth[k]!
    worst = Math.max(
      worst,
      Math.abs(t.x - u.x),
      Math.abs(t.y - u.y),
      Math.abs(t.x + t.width - (u.x + u.width)),
      Math.abs(t.y + t.height - (u.y + u.height)),
    )
  })
  return worst
}

async function captureAndDetect(
  options: CaptureOptions,
): Promise<{ layout: Layout; truth: Rect[]; image: RawImage }> {
  const capture = await renderCapture(options)
  const image = await decode(capture.buffer)
  return { layout: detectLayout(image, { name: 'shot.png' }), truth: capture.truth.tiles, image }
}

function catchError(run: () => unknown): unknown {
  try {
    run()
  } catch (error) {
    return error
  }
  throw new Error('expected an error')
}

let payload3: Buffer
let payload4: Buffer

beforeAll(async () => {
  payload3 = await makeSyntheticPayload('3x3', 11)
  payload4 = await makeSyntheticPayload('4x4', 12)
})

describe('payloadLayout', () => {
  it('cuts a 3x3 payload into 100 px cells with centres', () => {
    const layout = payloadLayout('3x3', 300)
    expect(layout.tiles).toHaveLength(9)
    expect(layout.tiles[4]).toEqual({
      index: 4,
      x: 100,
      y: 100,
      width: 100,
      height: 100,
      cx: 150,
      cy: 150,
    })
    expect(layout.crop).toEqual({ x: 0, y: 0, width: 300, height: 300 })
  })

  it('puts 4x4 cell edges at round(i * 112.5)', () => {
    const layout = payloadLayout('4x4', 450)
    expect(layout.tiles.slice(0, 4).map((t) => [t.x, t.width])).toEqual([
      [0, 113],
      [113, 112],
      [225, 113],
      [338, 112],
    ])
    expect(layout.tiles[15]).toMatchObject({ index: 15, x: 338, y: 338, width: 112, height: 112 })
  })

  it('spreads cells over a non-standard size', () => {
    const layout = payloadLayout('3x3', 512)
    expect(layout.tiles.map((t) => t.x).slice(0, 3)).toEqual([0, 171, 341])
    expect(layout.tiles[8]!.x + layout.tiles[8]!.width).toBe(512)
  })

  it('knows the standard sizes', () => {
    expect([
      gridForPayloadSize(300, 300),
      gridForPayloadSize(450, 450),
      gridForPayloadSize(100, 100),
    ]).toEqual(['3x3', '4x4', '1x1'])
    expect(gridForPayloadSize(300, 301)).toBeUndefined()
  })
})

describe('detectLayout on payloads', () => {
  it.each([
    [300, '3x3'],
    [450, '4x4'],
    [100, '1x1'],
  ] as const)('reads a %i px square as %s', async (size, grid) => {
    const image = await decode(await sharp(payload3).resize(size, size).png().toBuffer())
    const layout = detectLayout(image)
    expect(layout).toMatchObject({ kind: 'payload', grid })
    expect(layout.tiles).toHaveLength(grid === '1x1' ? 1 : grid === '3x3' ? 9 : 16)
  })

  it('lets --grid re-read a standard payload but not the sentence', async () => {
    const image = await decode(payload3)
    expect(detectLayout(image, { grid: '4x4', gridSource: 'flag' }).grid).toBe('4x4')
    expect(detectLayout(image, { grid: '4x4', gridSource: 'sentence' }).grid).toBe('3x3')
  })

  it('refuses a non-standard square without a grid, naming --grid and the size', async () => {
    const image = await decode(await sharp(payload3).resize(512, 512).png().toBuffer())
    const error = catchError(() => detectLayout(image, { name: 'photo.png' }))
    expect(error).toBeInstanceOf(InputError)
    expect((error as InputError).message).toBe(
      'photo.png is 512x512, not a standard challenge size (100, 300 or 450); pass --grid 3x3|4x4|1x1 to scale it',
    )
  })

  it('scales a non-standard square when the grid is given', async () => {
    const image = await decode(await sharp(payload4).resize(512, 512).png().toBuffer())
    const layout = detectLayout(image, { grid: '4x4', gridSource: 'sentence' })
    expect(layout).toMatchObject({
      kind: 'payload',
      grid: '4x4',
      crop: { x: 0, y: 0, width: 512, height: 512 },
    })
    expect(layout.tiles[5]).toMatchObject({ x: 128, y: 128, width: 128, height: 128 })
  })

  it('says plainly when a picture holds no grid: what to change in the capture, and the overlay that shows what was seen', async () => {
    const image = await decode(
      await sharp(payload3).resize(640, 360, { fit: 'fill' }).png().toBuffer(),
    )
    const error = catchError(() => detectLayout(image, { name: 'cat.png' })) as InputError
    expect(error).toBeInstanceOf(InputError)
    expect(error.message).toBe('no challenge tile grid found in cat.png (640x360)')
    expect(error.hint).toMatch(
      /^capture the whole challenge with the white gutters .* or pass --grid 3x3\|4x4 if it is a square payload; run `rc2 grid cat\.png --overlay out\.png` to see what rc2 saw$/,
    )
  })
})

describe('detectLayout on hand-made tile areas', () => {
  /** White canvas, n x n solid squares of `side` px with `gutter` px gaps from (left, top). */
  async function drawTiles(
    n: number,
    side: number,
    gutter: number,
    left: number,
    top: number,
    width: number,
    height: number,
  ): Promise<{ image: RawImage; truth: Rect[] }> {
    const truth: Rect[] = []
    const overlays: OverlayOptions[] = []
    for (let j = 0; j < n; j++) {
      for (let i = 0; i < n; i++) {
        const rect = {
          x: left + i * (side + gutter),
          y: top + j * (side + gutter),
          width: side,
          height: side,
        }
        truth.push(rect)
        const colour = { r: 40 + 20 * i, g: 60 + 25 * j, b: 120 }
        overlays.push({
          input: { create: { width: side, height: side, channels: 3, background: colour } },
          left: rect.x,
          top: rect.y,
        })
      }
    }
    // composite() adds an alpha channel; a second pass drops it so the pixels are plain RGB.
    const buffer = await sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
      .composite(overlays)
      .png()
      .toBuffer()
    const image = await decode(await sharp(buffer).removeAlpha().png().toBuffer())
    expect(image.channels).toBe(3)
    return { image, truth }
  }

  it('finds a 3x3 exactly, with gutters dropped and centres inside', async () => {
    const { image, truth } = await drawTiles(3, 60, 3, 5, 7, 200, 201)
    const layout = detectLayout(image)
    expect(layout.kind).toBe('tiles')
    expect(layout.grid).toBe('3x3')
    expect(layout.tiles.map(({ x, y, width, height }) => ({ x, y, width, height }))).toEqual(truth)
    expect(layout.crop).toEqual({ x: 5, y: 7, width: 186, height: 186 })
    expect(layout.tiles[4]).toMatchObject({ cx: 5 + 63 + 30, cy: 7 + 63 + 30 })
  })

  it('finds a 4x4 in a larger white picture and calls it a page', async () => {
    const { image, truth } = await drawTiles(4, 40, 2, 150, 90, 420, 330)
    const layout = detectLayout(image)
    expect(layout.grid).toBe('4x4')
    expect(worstEdgeError(layout, truth)).toBe(0)
    expect(layout.kind).toBe('page')
  })

  it('reads greyscale and RGBA pixels alike', async () => {
    const { image, truth } = await drawTiles(3, 50, 4, 6, 6, 170, 175)
    const rgba = await decode(
      await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .ensureAlpha()
        .png()
        .toBuffer(),
    )
    const luma = new Uint8Array(image.width * image.height)
    for (let k = 0; k < luma.length; k++)
      luma[k] = Math.round(
        (image.data[3 * k]! + image.data[3 * k + 1]! + image.data[3 * k + 2]!) / 3,
      )
    const grey: RawImage = { data: luma, width: image.width, height: image.height, channels: 1 }
    expect(rgba.channels).toBe(4)
    expect(worstEdgeError(detectLayout(rgba), truth)).toBe(0)
    expect(worstEdgeError(detectLayout(grey), truth)).toBe(0)
  })

  it('does not take a 2x3 block of tiles for a grid', async () => {
    const { image } = await drawTiles(3, 50, 4, 6, 6, 170, 175)
    // Paint the last column white: two columns of three remain, with a white margin all round.
    const data = Buffer.from(image.data)
    for (let y = 0; y < image.height; y++)
      data.fill(255, (y * image.width + 115) * 3, (y * image.width + image.width) * 3)
    const error = catchError(() => detectLayout({ ...image, data }, { name: 'two.png' }))
    expect(error).toBeInstanceOf(InputError)
  })
})

describe('detectLayout on rendered captures', () => {
  it('finds the tiles of a 1x widget and calls it a widget, not fooled by the VERIFY button', async () => {
    const { layout, truth } = await captureAndDetect({
      payload: payload3,
      grid: '3x3',
      kind: 'widget',
      seed: 1,
    })
    expect(layout).toMatchObject({ kind: 'widget', grid: '3x3' })
    expect(worstEdgeError(layout, truth)).toBeLessThanOrEqual(1)
  })

  it.each([1.25, 1.5, 2, 3])('finds a 4x4 widget at device-pixel ratio %s', async (ratio) => {
    const { layout, truth } = await captureAndDetect({
      payload: payload4,
      grid: '4x4',
      kind: 'widget',
      ratio,
      format: 'jpeg',
      quality: 75,
      seed: 2,
    })
    expect(layout.grid).toBe('4x4')
    expect(worstEdgeError(layout, truth)).toBeLessThanOrEqual(2 * ratio)
  })

  it('finds the older look with 2-3 px gutters in a JPEG', async () => {
    const { layout, truth } = await captureAndDetect({
      payload: payload3,
      grid: '3x3',
      kind: 'tiles',
      look: 'legacy',
      format: 'jpeg',
      quality: 70,
      seed: 3,
    })
    expect(layout).toMatchObject({ kind: 'tiles', grid: '3x3' })
    expect(worstEdgeError(layout, truth)).toBeLessThanOrEqual(2)
  })

  it('finds the widget on a grey page with a blue banner and other blue boxes', async () => {
    const { layout, truth } = await captureAndDetect({
      payload: payload3,
      grid: '3x3',
      kind: 'page',
      ratio: 1.5,
      background: 'grey',
      blueBanner: true,
      seed: 4,
    })
    expect(layout).toMatchObject({ kind: 'page', grid: '3x3' })
    expect(worstEdgeError(layout, truth)).toBeLessThanOrEqual(3)
  })

  it('is not thrown by selected tiles with their blue tick', async () => {
    const { layout, truth } = await captureAndDetect({
      payload: payload3,
      grid: '3x3',
      kind: 'widget',
      ratio: 1,
      selectedTiles: [0, 4, 8],
      format: 'jpeg',
      quality: 72,
      seed: 5,
    })
    expect(layout.grid).toBe('3x3')
    expect(worstEdgeError(layout, truth)).toBeLessThanOrEqual(2)
  })

  it('keeps a 4x4 whose photo is nearly white along a gutter', async () => {
    // A pale band (242) over the whole column edge at x = 112.5 and the row edge at y = 225.
    const pale = {
      create: {
        width: 40,
        height: 450,
        channels: 3 as const,
        background: { r: 242, g: 242, b: 240 },
      },
    }
    const paleRow = {
      create: {
        width: 450,
        height: 24,
        channels: 3 as const,
        background: { r: 240, g: 242, b: 242 },
      },
    }
    const photo = await sharp(payload4)
      .composite([
        { input: pale, left: 93, top: 0 },
        { input: paleRow, left: 0, top: 213 },
      ])
      .png()
      .toBuffer()
    const { layout, truth } = await captureAndDetect({
      payload: photo,
      grid: '4x4',
      kind: 'widget',
      ratio: 1.5,
      format: 'jpeg',
      quality: 80,
      seed: 6,
    })
    expect(layout.grid).toBe('4x4')
    expect(worstEdgeError(layout, truth)).toBeLessThanOrEqual(3)
  })

  it.each(['right', 'bottom'] as const)(
    'refuses a widget cut off at the %s edge',
    async (cutOff) => {
      const capture = await renderCapture({
        payload: payload3,
        grid: '3x3',
        kind: 'widget',
        cutOff,
        seed: 7,
      })
      const image = await decode(capture.buffer)
      const error = catchError(() => detectLayout(image, { name: 'cut.png' })) as InputError
      expect(error).toBeInstanceOf(InputError)
      expect(error.message).toMatch(/^cut\.png /)
      expect(error.message).toContain(
        cutOff === 'right' ? 'cut off at the right edge' : 'cut off at the bottom edge',
      )
    },
  )

  it('refuses a 4x4 cut off through its last column instead of finding a 3x3', async () => {
    const capture = await renderCapture({
      payload: payload4,
      grid: '4x4',
      kind: 'tiles',
      ratio: 2,
      cutOff: 'right',
      seed: 8,
    })
    const image = await decode(capture.buffer)
    const error = catchError(() => detectLayout(image))
    expect(error).toBeInstanceOf(InputError)
  })
})

describe('detectLayout with grid hints', () => {
  let shot: RawImage
  beforeAll(async () => {
    shot = await decode(
      (await renderCapture({ payload: payload3, grid: '3x3', kind: 'widget', seed: 9 })).buffer,
    )
  })

  it('accepts a hint that agrees', () => {
    expect(detectLayout(shot, { grid: '3x3', gridSource: 'flag' }).grid).toBe('3x3')
  })

  it('rejects --grid that contradicts the picture, saying both', () => {
    const error = catchError(() =>
      detectLayout(shot, { grid: '4x4', gridSource: 'flag', name: 'shot.png' }),
    ) as UsageError
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toBe('--grid 4x4 conflicts with the 3x3 grid found in shot.png')
  })

  it('rejects a sentence that contradicts the picture as an input problem', () => {
    const error = catchError(() =>
      detectLayout(shot, { grid: '4x4', gridSource: 'sentence', name: 'shot.png' }),
    ) as InputError
    expect(error).toBeInstanceOf(InputError)
    expect(error.message).toContain('4x4')
    expect(error.message).toContain('3x3')
  })

  it('reads a lone square tile of any size as 1x1 when told so', async () => {
    const tile = await decode(
      await sharp(payload3)
        .extract({ left: 100, top: 0, width: 100, height: 100 })
        .resize(137, 137)
        .png()
        .toBuffer(),
    )
    expect(catchError(() => detectLayout(tile))).toBeInstanceOf(InputError)
    const layout = detectLayout(tile, { grid: '1x1', gridSource: 'flag' })
    expect(layout).toMatchObject({
      kind: 'payload',
      grid: '1x1',
      tiles: [{ x: 0, y: 0, width: 137, height: 137, cx: 68, cy: 68 }],
    })
  })

  it('finds a lone tile on a white margin when told 1x1', async () => {
    const tile = await sharp(payload3)
      .extract({ left: 0, top: 0, width: 100, height: 100 })
      .png()
      .toBuffer()
    const buffer = await sharp({
      create: { width: 130, height: 112, channels: 3, background: '#ffffff' },
    })
      .composite([{ input: tile, left: 20, top: 6 }])
      .png()
      .toBuffer()
    const layout = detectLayout(await decode(buffer), { grid: '1x1', gridSource: 'flag' })
    expect(layout.grid).toBe('1x1')
    expect(layout.tiles[0]).toMatchObject({ x: 20, y: 6, width: 100, height: 100 })
  })
})
