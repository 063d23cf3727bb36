/**
 * Screenshot renderer for tests: draws the reCAPTCHA v2 challenge widget the way
 * real captures measure it (CSS px times the device-pixel ratio), around a
 * given payload, alone, as a tile-area capture or placed on a page, and reports where every tile
 * truly is. Also builds payloads, from the real tiles in test/data or synthetically from a seed.
 *
 * Everything is deterministic for a given seed: the same options give the same pixels.
 */
import sharp from 'sharp'
import type { Sharp } from 'sharp'
import type { Grid, Rect } from '../../src/types.js'
import { GRID_SIDE, GRID_SIZE } from '../../src/types.js'
import { createRng } from './prng.js'

type CaptureKind = 'tiles' | 'widget' | 'page'
type CaptureLook = 'current' | 'legacy'
type PageBackground = 'white' | 'grey' | 'dark' | 'photo'

export interface CaptureOptions {
  /** The challenge image shown in the tiles: 300x300 for 3x3, 450x450 for 4x4 (any format sharp reads). */
  payload: Buffer
  grid: '3x3' | '4x4'
  kind: CaptureKind
  /** Device-pixel ratio (default 1). */
  ratio?: number
  look?: CaptureLook
  format?: 'png' | 'jpeg'
  /** JPEG quality (default 80). */
  quality?: number
  /** Page size in device pixels (page only; default: random, 1.3 to 2.2 times the widget). */
  pageSize?: { width: number; height: number }
  /** Widget's top-left corner on the page in device pixels (page only; default: random). */
  position?: { x: number; y: number }
  /** Page background (page only; default grey). */
  background?: PageBackground
  /** Tiles drawn as selected (0-based, row-major): the picture shrunk in its cell, a blue tick. */
  selectedTiles?: number[]
  /** Side of a selected tile's picture against its cell (default 0.86; the widget shows 0.80-0.86). */
  shrink?: number
  /** Tiles still fading in: tile -> opacity of its picture over white (0 blank, 1 loaded). */
  fading?: Record<number, number>
  /** The widget's red line under the grid ("Please try again."); the footer moves down by it. */
  message?: string
  /** Force the sample picture at the right of the header on (true) or off (false). */
  sample?: boolean
  /** Desktop widget, or the narrower phone widget (3x3 tiles 96 CSS px, 4x4 72, 2 px gutters). */
  device?: 'desktop' | 'phone'
  /** Page only: the page darkened around the widget by a semi-transparent overlay. */
  overlay?: boolean
  /** Page only: a cookie banner across the bottom of the page (never over the tiles). */
  cookieBanner?: boolean
  /** A wide blue banner (a site header in the header blue) on the page. */
  blueBanner?: boolean
  /** Cut the capture through the tile band at this edge. */
  cutOff?: 'right' | 'bottom'
  seed?: number
}

export interface CaptureTruth {
  grid: Grid
  /** Tiles drawn selected, sorted, and where each one's shrunk picture is in the capture. */
  selected: number[]
  pictures: Record<number, Rect>
  /** Tiles drawn fading in (opacity below 1), sorted. */
  fading: number[]
  /** Bounding box of all tiles, inner gutters included, in the capture's pixels. */
  crop: Rect
  /** Every tile without gutters, row-major. After a cut-off some extend past the capture. */
  tiles: Rect[]
}

export interface Capture {
  buffer: Buffer
  width: number
  height: number
  format: 'png' | 'jpeg'
  truth: CaptureTruth
}

export { createRng }

const HEADER_BLUE = { current: '#1a73e8', legacy: '#4a90e2' } as const
const BUTTON_BLUE = '#1a73e8'

/** CSS-pixel geometry of the widget for one look and grid (widget-geometry.md). */
interface WidgetCss {
  pad: number
  header: number
  headerGap: number
  tile: number
  gutter: number
  footer: number
  /** Sample picture at the right of the header. */
  sample: boolean
}

function describeWidget(
  grid: '3x3' | '4x4',
  look: CaptureLook,
  rng: () => number,
  device: 'desktop' | 'phone' = 'desktop',
): WidgetCss {
  if (device === 'phone') {
    // Phone-width pages draw the widget narrower: smaller tiles, 2 px gutters, a shorter header.
    return {
      pad: 6,
      header: 96,
      headerGap: 5,
      tile: grid === '3x3' ? 96 : 72,
      gutter: 2,
      footer: 60,
      sample: grid === '3x3' && look === 'current' && rng() < 0.5,
    }
  }
  if (look === 'legacy') {
    // Older look: ~305 px wide, lighter and shorter header, 2-3 px gutters.
    const gutter = rng() < 0.5 ? 2 : 3
    return {
      pad: 6,
      header: 84,
      headerGap: 5,
      tile: grid === '3x3' ? 96 : 72,
      gutter,
      footer: 56,
      sample: true,
    }
  }
  return {
    pad: 7,
    header: 113,
    headerGap: 6,
    tile: grid === '3x3' ? 126 : 95,
    gutter: 4,
    footer: 64,
    sample: grid === '3x3' && rng() < 0.5,
  }
}

/** Where each CSS edge lands in device pixels: the browser rounds every edge, not every size. */
function toDevice(ratio: number): (css: number) => number {
  return (css) => Math.round(css * ratio)
}

function deviceRect(
  dev: (css: number) => number,
  x: number,
  y: number,
  w: number,
  h: number,
): Rect {
  return { x: dev(x), y: dev(y), width: dev(x + w) - dev(x), height: dev(y + h) - dev(y) }
}

function svgRect(r: Rect, fill: string, extra = ''): string {
  return `<rect x="${r.x}" y="${r.y}" width="${r.width}" height="${r.height}" fill="${fill}" ${extra}/>`
}

interface WidgetDrawing {
  width: number
  height: number
  /** The widget chrome (frame, header, footer) as SVG, tiles excluded. */
  svg: string
  tiles: Rect[]
}

interface WidgetExtras {
  message?: string | undefined
  sample?: boolean | undefined
  device?: 'desktop' | 'phone' | undefined
}

function drawWidget(
  grid: '3x3' | '4x4',
  look: CaptureLook,
  ratio: number,
  rng: () => number,
  extras: WidgetExtras = {},
): WidgetDrawing {
  const css = describeWidget(grid, look, rng, extras.device)
  if (extras.sample !== undefined) css.sample = extras.sample
  const n = GRID_SIDE[grid]
  const dev = toDevice(ratio)
  const band = n * css.tile + (n - 1) * css.gutter
  const widthCss = band + 2 * css.pad
  const bandTop = css.pad + css.header + css.headerGap
  // The red message line sits under the tiles and pushes the footer down by its height.
  const messageHeight = extras.message !== undefined ? 22 : 0
  const footerTop = bandTop + band + css.pad + messageHeight
  const heightCss = footerTop + css.footer
  const width = dev(widthCss)
  const height = dev(heightCss)
  const parts: string[] = []
  const border = Math.max(1, Math.round(ratio))
  parts.push(svgRect({ x: 0, y: 0, width, height }, '#d0d3d6'))
  parts.push(
    svgRect(
      { x: border, y: border, width: width - 2 * border, height: height - 2 * border },
      '#ffffff',
    ),
  )

  const header = deviceRect(dev, css.pad, css.pad, band, css.header)
  parts.push(svgRect(header, HEADER_BLUE[look]))
  // White "text": a small line, the object name large and bold, sometimes a third line.
  const textLeft = css.pad + 16
  const small = 100 + Math.floor(rng() * 80)
  parts.push(svgRect(deviceRect(dev, textLeft, css.pad + 18, small, 9), '#ffffff'))
  const big = 80 + Math.floor(rng() * 120)
  parts.push(
    svgRect(deviceRect(dev, textLeft, css.pad + 36, big, css.header > 100 ? 26 : 20), '#ffffff'),
  )
  if (css.header > 100 && rng() < 0.5) {
    parts.push(
      svgRect(deviceRect(dev, textLeft, css.pad + 80, 180 + Math.floor(rng() * 60), 9), '#ffffff'),
    )
  }
  if (extras.message !== undefined) {
    // Red text: one bar per word, as wide as the word, on the line under the band.
    let x = css.pad + 2
    for (const word of extras.message.split(' ')) {
      const w = Math.min(css.pad + band - x, 6.5 * word.length)
      if (w <= 0) break
      parts.push(svgRect(deviceRect(dev, x, bandTop + band + 6, w, 11), '#d93025'))
      x += w + 4
    }
  }
  if (css.sample) {
    const side = css.header - 20
    const sx = css.pad + band - side - 10
    const sy = css.pad + 10
    parts.push(svgRect(deviceRect(dev, sx, sy, side, side), '#7a8a5a'))
    parts.push(svgRect(deviceRect(dev, sx, sy + side * 0.55, side, side * 0.45), '#555555'))
    parts.push(
      svgRect(deviceRect(dev, sx + side * 0.3, sy + side * 0.3, side * 0.4, side * 0.3), '#c03020'),
    )
  }

  // Footer: grey rule, three icons at the left, the blue VERIFY button at the right.
  parts.push(svgRect({ x: 0, y: dev(footerTop), width, height: border }, '#dadce0'))
  for (let k = 0; k < 3; k++) {
    const icon = deviceRect(dev, css.pad + 6 + k * 40, footerTop + (css.footer - 24) / 2, 24, 24)
    parts.push(svgRect(icon, '#5f6368', `rx="${Math.round(4 * ratio)}"`))
  }
  const buttonW = look === 'legacy' ? 90 : 100
  const buttonH = look === 'legacy' ? 34 : 40
  const button = deviceRect(
    dev,
    css.pad + band - buttonW,
    footerTop + (css.footer - buttonH) / 2,
    buttonW,
    buttonH,
  )
  parts.push(svgRect(button, BUTTON_BLUE, `rx="${Math.round(2 * ratio)}"`))
  parts.push(
    svgRect(
      deviceRect(dev, css.pad + band - buttonW + 24, footerTop + css.footer / 2 - 5, 52, 10),
      '#ffffff',
    ),
  )

  const tiles: Rect[] = []
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      tiles.push(
        deviceRect(
          dev,
          css.pad + i * (css.tile + css.gutter),
          bandTop + j * (css.tile + css.gutter),
          css.tile,
          css.tile,
        ),
      )
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" shape-rendering="crispEdges">${parts.join('')}</svg>`
  return { width, height, svg, tiles }
}

/** The payload's cell for tile `index`: 3x3 cells are 100 px, 4x4 cells start at round(i * 112.5). */
function cellOf(grid: Grid, index: number): Rect {
  const n = GRID_SIDE[grid]
  const cell = GRID_SIZE[grid] / n
  const i = index % n
  const j = Math.floor(index / n)
  const x = Math.round(i * cell)
  const y = Math.round(j * cell)
  return { x, y, width: Math.round((i + 1) * cell) - x, height: Math.round((j + 1) * cell) - y }
}

/** An RGB (3) or RGBA (4) pixel block to paint at (left, top); RGBA is alpha-blended. */
interface Sprite {
  data: Buffer
  width: number
  height: number
  channels: 3 | 4
  left: number
  top: number
}

/** Paint sprites onto an RGB canvas in JS: row copies are far faster than many libvips composites. */
function paint(canvas: Buffer, canvasWidth: number, canvasHeight: number, sprites: Sprite[]): void {
  for (const s of sprites) {
    for (let y = 0; y < s.height; y++) {
      const cy = s.top + y
      if (cy < 0 || cy >= canvasHeight) continue
      const x0 = Math.max(0, -s.left)
      const x1 = Math.min(s.width, canvasWidth - s.left)
      if (x1 <= x0) continue
      if (s.channels === 3) {
        s.data.copy(
          canvas,
          (cy * canvasWidth + s.left + x0) * 3,
          (y * s.width + x0) * 3,
          (y * s.width + x1) * 3,
        )
        continue
      }
      for (let x = x0; x < x1; x++) {
        const src = (y * s.width + x) * 4
        const dst = (cy * canvasWidth + s.left + x) * 3
        const a = s.data[src + 3]! / 255
        for (let c = 0; c < 3; c++)
          canvas[dst + c] = Math.round(s.data[src + c]! * a + canvas[dst + c]! * (1 - a))
      }
    }
  }
}

interface TileLook {
  selected: ReadonlySet<number>
  shrink: number
  fading: Readonly<Record<number, number>>
}

/** The tick the widget draws over a selected tile's top-left corner: a blue disc, a white check. */
async function tickSprite(rect: Rect, ratio: number): Promise<Sprite> {
  const radius = Math.round(13 * ratio)
  const side = 2 * radius + 2
  const c = radius + 1
  const tick = `M ${c - radius * 0.45} ${c} L ${c - radius * 0.1} ${c + radius * 0.35} L ${c + radius * 0.5} ${c - radius * 0.35}`
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side}"><circle cx="${c}" cy="${c}" r="${radius}" fill="#1a73e8"/><path d="${tick}" stroke="#ffffff" stroke-width="${Math.max(2, 3 * ratio)}" fill="none"/></svg>`
  const data = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer()
  // Centre 10 css px inside the corner: the circle reaches over most of the gutter.
  return {
    data,
    width: side,
    height: side,
    channels: 4,
    left: rect.x + Math.round(10 * ratio) - c,
    top: rect.y + Math.round(10 * ratio) - c,
  }
}

/** Blend RGB pixels towards white: opacity 0 is blank white, 1 the picture itself. */
function fade(data: Buffer, opacity: number): Buffer {
  const out = Buffer.alloc(data.length)
  for (let k = 0; k < data.length; k++)
    out[k] = Math.round(data[k]! * opacity + 255 * (1 - opacity))
  return out
}

async function renderTileSprites(
  payload: Buffer,
  grid: '3x3' | '4x4',
  tiles: Rect[],
  ratio: number,
  look: TileLook,
): Promise<{ sprites: Sprite[]; pictures: Record<number, Rect> }> {
  const size = GRID_SIZE[grid]
  const source = await sharp(payload)
    .removeAlpha()
    .resize(size, size, { fit: 'fill' })
    .raw()
    .toBuffer()
  const raw = { width: size, height: size, channels: 3 as const }
  const scaled = async (cell: Rect, width: number, height: number): Promise<Buffer> =>
    sharp(source, { raw })
      .extract({ left: cell.x, top: cell.y, width: cell.width, height: cell.height })
      .resize(width, height, { fit: 'fill' })
      .raw()
      .toBuffer()
  const pictures: Record<number, Rect> = {}
  const jobs = tiles.map(async (rect, index): Promise<Sprite[]> => {
    const cell = cellOf(grid, index)
    if (!look.selected.has(index)) {
      const opacity = look.fading[index] ?? 1
      const data = await scaled(cell, rect.width, rect.height)
      return [
        {
          data: opacity < 1 ? fade(data, opacity) : data,
          width: rect.width,
          height: rect.height,
          channels: 3,
          left: rect.x,
          top: rect.y,
        },
      ]
    }
    // A selected tile's picture shrinks inside its cell, and the blue tick covers its corner.
    const w = Math.round(rect.width * look.shrink)
    const h = Math.round(rect.height * look.shrink)
    const picture: Rect = {
      x: rect.x + Math.round((rect.width - w) / 2),
      y: rect.y + Math.round((rect.height - h) / 2),
      width: w,
      height: h,
    }
    pictures[index] = picture
    return [
      {
        data: Buffer.alloc(rect.width * rect.height * 3, 255),
        width: rect.width,
        height: rect.height,
        channels: 3,
        left: rect.x,
        top: rect.y,
      },
      {
        data: await scaled(cell, w, h),
        width: w,
        height: h,
        channels: 3,
        left: picture.x,
        top: picture.y,
      },
      await tickSprite(rect, ratio),
    ]
  })
  return { sprites: (await Promise.all(jobs)).flat(), pictures }
}

/** A page as raw RGB pixels: background, white panels, blue boxes, grey text, maybe a blue banner. */
async function renderPageBackground(
  width: number,
  height: number,
  background: PageBackground,
  ratio: number,
  avoid: Rect,
  blueBanner: boolean,
  rng: () => number,
): Promise<Buffer> {
  let base: Buffer
  if (background === 'photo') {
    // A smooth random colour field scaled up: photo-like, no white gutters anywhere.
    const cw = Math.max(4, Math.ceil(width / 48))
    const ch = Math.max(4, Math.ceil(height / 48))
    const field = Buffer.alloc(cw * ch * 3)
    for (let k = 0; k < field.length; k++) field[k] = 30 + Math.floor(rng() * 170)
    base = await toRgb(
      sharp(field, { raw: { width: cw, height: ch, channels: 3 } }).resize(width, height, {
        fit: 'fill',
        kernel: 'cubic',
      }),
    )
  } else {
    const colour = { white: '#ffffff', grey: rng() < 0.5 ? '#f1f3f4' : '#dcdcdc', dark: '#202124' }[
      background
    ]
    base = fillRgb(width, height, colour)
  }
  const parts = pageShapes(width, height, ratio, avoid, blueBanner, rng)
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" shape-rendering="crispEdges">${parts.join('')}</svg>`
  await overlaySvg(base, width, height, svg)
  return base
}

/** An RGB canvas of one `#rrggbb` colour. */
function fillRgb(width: number, height: number, colour: string): Buffer {
  const rgb = [1, 3, 5].map((k) => parseInt(colour.slice(k, k + 2), 16))
  const canvas = Buffer.alloc(width * height * 3)
  for (let c = 0; c < 3; c++) canvas[c] = rgb[c]!
  // Doubling copies fill the rest far faster than a per-pixel loop.
  for (let filled = 3; filled < canvas.length; filled *= 2)
    canvas.copy(canvas, filled, 0, Math.min(filled, canvas.length - filled))
  return canvas
}

/**
 * Draw an SVG of opaque crisp-edged shapes over an RGB canvas: rendering the SVG alone and copying
 * its drawn pixels gives what a libvips composite gives, without blending the whole page.
 */
async function overlaySvg(
  canvas: Buffer,
  width: number,
  height: number,
  svg: string,
): Promise<void> {
  const drawn = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer()
  const shapes = drawn.byteOffset % 4 === 0 ? drawn : new Uint8Array(drawn)
  // Most of a page is not drawn on: one 32-bit read per pixel finds its alpha (the top byte in
  // little-endian order, the order of every machine these tests run on) and skips it.
  const pixels = new Uint32Array(shapes.buffer, shapes.byteOffset, width * height)
  for (let i = 0, p = 0, q = 0; i < pixels.length; i++, p += 4, q += 3) {
    const pixel = pixels[i]!
    if (pixel < 0x01000000) continue
    if (pixel >= 0xff000000) {
      // Opaque (the inside of every shape): the shape's colour as it is.
      canvas[q] = pixel & 0xff
      canvas[q + 1] = (pixel >>> 8) & 0xff
      canvas[q + 2] = (pixel >>> 16) & 0xff
      continue
    }
    const a = pixel >>> 24
    for (let c = 0; c < 3; c++)
      canvas[q + c] = Math.round((shapes[p + c]! * a + canvas[q + c]! * (255 - a)) / 255)
  }
}

/** The page's panels of grey text lines, blue boxes and the optional blue banner, as SVG rects. */
function pageShapes(
  width: number,
  height: number,
  ratio: number,
  avoid: Rect,
  blueBanner: boolean,
  rng: () => number,
): string[] {
  const parts: string[] = []
  const dev = toDevice(ratio)
  const place = (w: number, h: number): Rect => ({
    x: Math.floor(rng() * Math.max(1, width - w)),
    y: Math.floor(rng() * Math.max(1, height - h)),
    width: w,
    height: h,
  })
  for (let k = 0; k < 3; k++) {
    const panel = place(dev(120 + rng() * 300), dev(80 + rng() * 200))
    parts.push(svgRect(panel, '#ffffff', 'stroke="#cccccc"'))
    for (let line = 0; line < 4; line++) {
      const y = panel.y + dev(12 + line * 18)
      if (y + dev(8) < panel.y + panel.height) {
        parts.push(
          svgRect(
            {
              x: panel.x + dev(10),
              y,
              width: Math.floor(panel.width * (0.4 + rng() * 0.5)),
              height: dev(8),
            },
            '#9aa0a6',
          ),
        )
      }
    }
  }
  for (let k = 0; k < 3; k++) {
    parts.push(
      svgRect(
        place(dev(60 + rng() * 160), dev(30 + rng() * 60)),
        rng() < 0.5 ? '#1a73e8' : '#4a90e2',
      ),
    )
  }
  if (blueBanner) {
    // Put the banner above or below the widget, whichever has room, so it is seen next to it.
    const h = dev(64)
    const y =
      avoid.y > h + dev(4)
        ? Math.floor(rng() * (avoid.y - h))
        : Math.min(height - h, avoid.y + avoid.height + dev(8))
    parts.push(svgRect({ x: 0, y, width, height: h }, '#1a73e8'))
    parts.push(svgRect({ x: dev(24), y: y + dev(22), width: dev(160), height: dev(20) }, '#ffffff'))
  }
  return parts
}

/** Raw RGB pixels of a pipeline: composite() may add an alpha channel, so drop it in a second pass. */
async function toRgb(pipeline: Sharp): Promise<Buffer> {
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
  if (info.channels === 3) return data
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .removeAlpha()
    .raw()
    .toBuffer()
}

function offsetRect(r: Rect, dx: number, dy: number): Rect {
  return { x: r.x + dx, y: r.y + dy, width: r.width, height: r.height }
}

function boundingBox(rects: Rect[]): Rect {
  const x0 = Math.min(...rects.map((r) => r.x))
  const y0 = Math.min(...rects.map((r) => r.y))
  const x1 = Math.max(...rects.map((r) => r.x + r.width))
  const y1 = Math.max(...rects.map((r) => r.y + r.height))
  return { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
}

/** Render one capture of the challenge and say where its tiles are. */
export async function renderCapture(options: CaptureOptions): Promise<Capture> {
  const ratio = options.ratio ?? 1
  const look = options.look ?? 'current'
  const format = options.format ?? 'png'
  const rng = createRng(options.seed ?? 1)
  const widget = drawWidget(options.grid, look, ratio, rng, options)
  // Only tiles the grid has (a plan may name tile 12 of a 3x3: nothing is drawn for it).
  const selected = new Set(
    (options.selectedTiles ?? []).filter((t) => t < GRID_SIDE[options.grid] ** 2),
  )
  const fading = options.fading ?? {}
  const { sprites: tileSprites, pictures } = await renderTileSprites(
    options.payload,
    options.grid,
    widget.tiles,
    ratio,
    { selected, shrink: options.shrink ?? 0.86, fading },
  )
  let shift = { dx: 0, dy: 0 }

  let width: number
  let height: number
  let pixels: Buffer
  let tiles: Rect[]
  if (options.kind === 'tiles') {
    // Just the tile area with a thin white margin; never exactly a payload size (that would read as one).
    const band = boundingBox(widget.tiles)
    let margin = Math.max(1, Math.round((2 + rng() * 6) * ratio))
    if ([100, 300, 450].includes(band.width + 2 * margin)) margin += 1
    width = band.width + 2 * margin
    height = band.height + 2 * margin
    const dx = margin - band.x
    const dy = margin - band.y
    tiles = widget.tiles.map((t) => offsetRect(t, dx, dy))
    shift = { dx, dy }
    pixels = Buffer.alloc(width * height * 3, 255)
    paint(
      pixels,
      width,
      height,
      tileSprites.map((t) => ({ ...t, left: t.left + dx, top: t.top + dy })),
    )
  } else {
    const widgetPixels = await toRgb(
      sharp(Buffer.from(widget.svg)).flatten({ background: '#ffffff' }),
    )
    paint(widgetPixels, widget.width, widget.height, tileSprites)
    if (options.kind === 'widget') {
      width = widget.width
      height = widget.height
      tiles = widget.tiles
      pixels = widgetPixels
    } else {
      width = options.pageSize?.width ?? Math.round(widget.width * (1.3 + rng() * 0.9))
      height = options.pageSize?.height ?? Math.round(widget.height * (1.3 + rng() * 0.9))
      if (width < widget.width || height < widget.height)
        throw new Error(`pageSize ${width}x${height} is smaller than the widget`)
      const position = options.position ?? {
        x: Math.floor(rng() * (width - widget.width + 1)),
        y: Math.floor(rng() * (height - widget.height + 1)),
      }
      const placed: Rect = {
        x: position.x,
        y: position.y,
        width: widget.width,
        height: widget.height,
      }
      pixels = await renderPageBackground(
        width,
        height,
        options.background ?? 'grey',
        ratio,
        placed,
        options.blueBanner ?? false,
        rng,
      )
      tiles = widget.tiles.map((t) => offsetRect(t, position.x, position.y))
      shift = { dx: position.x, dy: position.y }
      dressPage(pixels, width, height, placed, options, ratio)
      paint(pixels, width, height, [
        {
          data: widgetPixels,
          width: widget.width,
          height: widget.height,
          channels: 3,
          left: position.x,
          top: position.y,
        },
      ])
    }
  }

  let image = sharp(pixels, { raw: { width, height, channels: 3 } })
  if (options.cutOff !== undefined) {
    // Cut through the tile band between 35% and 80% of its extent.
    const band = boundingBox(tiles)
    const f = 0.35 + rng() * 0.45
    if (options.cutOff === 'right') width = band.x + Math.round(band.width * f)
    else height = band.y + Math.round(band.height * f)
    image = sharp(await toRgb(image.extract({ left: 0, top: 0, width, height })), {
      raw: { width, height, channels: 3 },
    })
  }
  const buffer =
    format === 'png'
      ? await image.png({ compressionLevel: 1 }).toBuffer()
      : // Standard Huffman tables: the same pixels as optimised ones, and about a third of the CPU.
        await image.jpeg({ quality: options.quality ?? 80, optimiseCoding: false }).toBuffer()
  return {
    buffer,
    width,
    height,
    format,
    truth: {
      grid: options.grid,
      crop: boundingBox(tiles),
      tiles,
      selected: [...selected].sort((a, b) => a - b),
      pictures: Object.fromEntries(
        Object.entries(pictures).map(([k, r]) => [k, offsetRect(r, shift.dx, shift.dy)]),
      ),
      fading: Object.entries(fading)
        .filter(([, opacity]) => opacity < 1)
        .map(([k]) => Number(k))
        .sort((a, b) => a - b),
    },
  }
}

/**
 * What a page adds around the widget: a cookie banner across the bottom (kept clear of the
 * widget), then a semi-transparent dark overlay over everything but the widget, as the page shows
 * while the challenge is open.
 */
function dressPage(
  pixels: Buffer,
  width: number,
  height: number,
  widget: Rect,
  options: CaptureOptions,
  ratio: number,
): void {
  if (options.cookieBanner === true) {
    const top = Math.max(widget.y + widget.height, height - Math.round(90 * ratio))
    for (let y = top; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const p = (y * width + x) * 3
        const text =
          y - top > 20 * ratio && y - top < 32 * ratio && x % Math.round(50 * ratio) < 38 * ratio
        const button =
          x > width - 140 * ratio &&
          x < width - 20 * ratio &&
          y - top > 15 * ratio &&
          y - top < 55 * ratio
        const [r, g, b] = button ? [26, 115, 232] : text ? [60, 64, 67] : [248, 249, 250]
        pixels[p] = r
        pixels[p + 1] = g
        pixels[p + 2] = b
      }
    }
  }
  if (options.overlay === true) {
    for (let k = 0; k < width * height * 3; k++) pixels[k] = Math.round(pixels[k]! * 0.5)
  }
}

/** Tile files decoded and resized to a cell, kept: the corpora compose the same few tiles often. */
const cellCache = new Map<string, Promise<Buffer>>()

function cellPixels(source: string | Buffer, cell: Rect): Promise<Buffer> {
  const resized = (): Promise<Buffer> =>
    sharp(source).removeAlpha().resize(cell.width, cell.height, { fit: 'fill' }).raw().toBuffer()
  if (typeof source !== 'string') return resized()
  const key = `${cell.width}x${cell.height} ${source}`
  let pixels = cellCache.get(key)
  if (pixels === undefined) {
    pixels = resized()
    cellCache.set(key, pixels)
  }
  return pixels
}

/**
 * A payload built from real tiles (e.g. test/data/recaptcha-tiles): for 3x3 and 4x4, one file
 * per cell (cycled when fewer are given) resized to the cell; for 4x4 a single file becomes the
 * whole photo, as the page shows it. PNG, RGB.
 */
export async function composeGrid(tilePaths: (string | Buffer)[], grid: Grid): Promise<Buffer> {
  if (tilePaths.length === 0) throw new Error('composeGrid needs at least one tile path')
  const size = GRID_SIZE[grid]
  if (grid === '1x1' || (grid === '4x4' && tilePaths.length === 1)) {
    return sharp(tilePaths[0]).removeAlpha().resize(size, size, { fit: 'fill' }).png().toBuffer()
  }
  const n = GRID_SIDE[grid]
  const canvas = Buffer.alloc(size * size * 3)
  const sprites = await Promise.all(
    Array.from({ length: n * n }, async (_, index): Promise<Sprite> => {
      const cell = cellOf(grid, index)
      const data = await cellPixels(tilePaths[index % tilePaths.length]!, cell)
      return {
        data,
        width: cell.width,
        height: cell.height,
        channels: 3,
        left: cell.x,
        top: cell.y,
      }
    }),
  )
  paint(canvas, size, size, sprites)
  return sharp(canvas, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer()
}

/**
 * A colourful, noisy payload made from a seed: 3x3 cells each with their own colours and shapes,
 * a 4x4 as one smooth "photo" across the whole image. Nothing near white, so every tile shows.
 */
export async function makeSyntheticPayload(grid: Grid, seed: number): Promise<Buffer> {
  const rng = createRng(seed)
  const size = GRID_SIZE[grid]
  const n = GRID_SIDE[grid]
  const data = Buffer.alloc(size * size * 3)
  const palette = (): [number, number, number] => {
    const c: [number, number, number] = [
      Math.floor(rng() * 200),
      Math.floor(rng() * 200),
      Math.floor(rng() * 200),
    ]
    return c
  }
  // 4x4: one picture, so a single set of colours spans the cells; 3x3: one set per cell.
  const cellColours = Array.from({ length: n * n }, () => ({
    a: palette(),
    b: palette(),
    shape: palette(),
  }))
  const whole = { a: palette(), b: palette(), shape: palette() }
  const shapes = Array.from({ length: 6 }, () => ({ x: rng(), y: rng(), r: 0.08 + rng() * 0.2 }))
  const cell = size / n
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const ci = Math.min(n - 1, Math.floor(x / cell))
      const cj = Math.min(n - 1, Math.floor(y / cell))
      const colours = grid === '4x4' ? whole : (cellColours[cj * n + ci] as typeof whole)
      const u = grid === '4x4' ? x / size : (x - ci * cell) / cell
      const v = grid === '4x4' ? y / size : (y - cj * cell) / cell
      const t = (u + v) / 2
      let inShape = false
      for (const s of shapes) {
        if ((u - s.x) ** 2 + (v - s.y) ** 2 < s.r * s.r) inShape = true
      }
      const o = (y * size + x) * 3
      for (let c = 0; c < 3; c++) {
        const base = inShape ? colours.shape[c]! : colours.a[c]! * (1 - t) + colours.b[c]! * t
        data[o + c] = Math.max(0, Math.min(215, Math.round(base + (rng() - 0.5) * 40)))
      }
    }
  }
  return sharp(data, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer()
}
