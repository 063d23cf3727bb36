/** Cutting tiles out of an input and putting them back together as a standard payload. */
import { join } from 'node:path'
import { GRID_SIDE, GRID_SIZE } from '../types.js'
import type { Grid, Rect, TileRect } from '../types.js'
import { InputError } from '../errors.js'
import { encodeImage, encodePipeline, writeImageFile } from './encode.js'
import type { EncodedImage, EncodeOptions, OutputFormat } from './encode.js'
import type { Sharp } from 'sharp'
import { openPixels, resolveSource } from './load.js'
import { isInside } from './pixel-view.js'
import { giveBytes, takeBytes } from './byte-pool.js'
import type { ImageSource, LoadOptions } from './load.js'
import type { Layout, RawImage } from './types.js'
import { makeOutputDirectory } from './write.js'

/**
 * Cell edges of a standard payload along one axis: 0, 100, 200, 300 for 3x3 and round(i * 112.5)
 * (0, 113, 225, 338, 450) for 4x4, where the cells are not a whole number of pixels.
 */
export function cellEdges(grid: Grid): number[] {
  const side = GRID_SIDE[grid]
  const size = GRID_SIZE[grid]
  return Array.from({ length: side + 1 }, (_, i) => Math.round((i * size) / side))
}

/** The rectangle of cell `index` (row-major) in a standard payload. */
export function cellRect(grid: Grid, index: number): Rect {
  const edges = cellEdges(grid)
  const side = GRID_SIDE[grid]
  const col = index % side
  const row = Math.floor(index / side)
  const x = edges[col] ?? 0
  const y = edges[row] ?? 0
  return { x, y, width: (edges[col + 1] ?? x) - x, height: (edges[row + 1] ?? y) - y }
}

/** Copy of `pixels` restricted to `rect`, scaled to width x height. */
export async function cutAndScale(
  pixels: RawImage,
  rect: Rect,
  width: number,
  height: number,
): Promise<RawImage> {
  const { data, info } = await scaling(pixels, rect, width, height)
    .raw()
    .toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: pixels.channels }
}

/** Whether `rect` is the whole of `image`. */
function isWhole(rect: Rect, image: RawImage): boolean {
  return rect.x === 0 && rect.y === 0 && rect.width === image.width && rect.height === image.height
}

/** A sharp pipeline of `pixels` restricted to `rect` and scaled to width x height. */
function scaling(pixels: RawImage, rect: Rect, width: number, height: number): Sharp {
  let pipeline = openPixels(pixels)
  if (!isWhole(rect, pixels))
    pipeline = pipeline.extract({
      left: rect.x,
      top: rect.y,
      width: rect.width,
      height: rect.height,
    })
  if (rect.width !== width || rect.height !== height)
    pipeline = pipeline.resize(width, height, { fit: 'fill' })
  return pipeline
}

/**
 * The standard payload (300, 450 or 100 px square) for `layout`: a payload-like input is scaled as
 * a whole; a capture has its tiles joined without their gutters and scaled as one picture, as the
 * page's own payload is one picture cut into cells.
 */
export async function rebuildPayload(pixels: RawImage, layout: Layout): Promise<RawImage> {
  const { source, rect, size } = payloadSource(pixels, layout)
  // Already the payload: nothing to cut or scale.
  const ready = isWhole(rect, source) && source.width === size && source.height === size
  if (ready) return pasteSelected(source, pixels, layout)
  const scaled = await usingSource(source, pixels, () => cutAndScale(source, rect, size, size))
  return pasteSelected(scaled, pixels, layout)
}

/**
 * The payload for `layout`, encoded. Scaled and encoded in one sharp pipeline (the pixels in
 * between are the same: libvips rounds a scaling of 8-bit pixels to 8 bits), unless a selected
 * tile's picture must be pasted in between.
 */
export async function encodePayload(
  pixels: RawImage,
  layout: Layout,
  options: EncodeOptions,
): Promise<EncodedImage> {
  if (Object.keys(layout.pictures ?? {}).length > 0)
    return encodeImage(await rebuildPayload(pixels, layout), options)
  const { source, rect, size } = payloadSource(pixels, layout)
  return usingSource(source, pixels, () =>
    encodePipeline(scaling(source, rect, size, size), size * size, options),
  )
}

/** Run `work` on `source`, then give its bytes back to the pool unless they are the input's. */
async function usingSource<T>(
  source: RawImage,
  pixels: RawImage,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work()
  } finally {
    if (source.data !== pixels.data) giveBytes(source.data)
  }
}

/** What is scaled to the payload's `size`: `rect` of `source` (the input, or its tiles joined). */
function payloadSource(
  pixels: RawImage,
  layout: Layout,
): { source: RawImage; rect: Rect; size: number } {
  const size = GRID_SIZE[layout.grid]
  if (layout.kind === 'payload') return { source: pixels, rect: layout.crop, size }
  checkTilesInside(layout, pixels, 'the image')
  // One scaling for the whole grid: a sharp pipeline costs about as much as scaling a tile, so
  // one per tile cost more than the pixels did.
  const joined = joinTiles(pixels, layout)
  return { source: joined, rect: { x: 0, y: 0, width: joined.width, height: joined.height }, size }
}

/** A selected tile's shrunk picture scaled back to fill its cell, as the page first showed it. */
async function pasteSelected(
  canvas: RawImage,
  pixels: RawImage,
  layout: Layout,
): Promise<RawImage> {
  const pictures = Object.entries(layout.pictures ?? {})
  if (pictures.length === 0) return canvas
  // Pasted into a copy when the canvas is the input itself (never into the caller's pixels).
  const out =
    canvas.data === pixels.data ? { ...canvas, data: new Uint8Array(canvas.data) } : canvas
  for (const [index, picture] of pictures) {
    const order = layout.tiles.findIndex((tile) => tile.index === Number(index))
    if (order < 0) continue
    const cell = cellRect(layout.grid, order)
    const part = await cutAndScale(pixels, picture, cell.width, cell.height)
    pastePixels(out, part, cell.x, cell.y)
  }
  return out
}

/**
 * The tiles of `layout` side by side without gutters, each cut or edge-padded to their mean size
 * (detected tiles differ by a pixel at most where the page's scale is not a whole number), in
 * bytes taken from the pool (every byte written).
 */
function joinTiles(pixels: RawImage, layout: Layout): RawImage {
  const side = GRID_SIDE[layout.grid]
  const { tiles } = layout
  const mean = (sum: number): number => Math.max(1, Math.round(sum / tiles.length))
  const tw = mean(tiles.reduce((sum, tile) => sum + tile.width, 0))
  const th = mean(tiles.reduce((sum, tile) => sum + tile.height, 0))
  const { channels } = pixels
  const out: RawImage = {
    data: takeBytes(side * tw * side * th * channels),
    width: side * tw,
    height: side * th,
    channels,
  }
  tiles.forEach((tile, order) => {
    copyTile(pixels, tile, out, (order % side) * tw, Math.floor(order / side) * th, tw, th)
  })
  return out
}

/** Copy `tile` into a tw x th box of `out` at (ox, oy): centred, cut or with its edge pixels repeated. */
function copyTile(
  from: RawImage,
  tile: Rect,
  out: RawImage,
  ox: number,
  oy: number,
  tw: number,
  th: number,
): void {
  const { channels } = from
  const sx = tile.x + Math.floor((tile.width - tw) / 2)
  const sy = tile.y + Math.floor((tile.height - th) / 2)
  // The columns the tile has, copied as one block per row; a missing column repeats the edge one.
  const x0 = Math.max(sx, tile.x)
  const x1 = Math.min(sx + tw, tile.x + tile.width)
  const padLeft = x0 - sx
  const padRight = sx + tw - x1
  const { data } = out
  for (let row = 0; row < th; row++) {
    const y = Math.min(Math.max(sy + row, tile.y), tile.y + tile.height - 1)
    const target = ((oy + row) * out.width + ox) * channels
    const start = (y * from.width + x0) * channels
    data.set(from.data.subarray(start, start + (x1 - x0) * channels), target + padLeft * channels)
    const first = target + padLeft * channels
    const last = target + (tw - padRight - 1) * channels
    for (let k = 0; k < padLeft; k++)
      data.copyWithin(target + k * channels, first, first + channels)
    for (let k = 1; k <= padRight; k++) data.copyWithin(last + k * channels, last, last + channels)
  }
}

/** Paste `part` into `canvas` with its top-left corner at (x, y). */
function pastePixels(canvas: RawImage, part: RawImage, x: number, y: number): void {
  const rowBytes = part.width * part.channels
  for (let row = 0; row < part.height; row++) {
    const from = row * rowBytes
    canvas.data.set(
      part.data.subarray(from, from + rowBytes),
      ((y + row) * canvas.width + x) * canvas.channels,
    )
  }
}

export interface SplitOptions extends LoadOptions {
  /** Tile file format (default png, lossless). */
  format?: OutputFormat | undefined
  quality?: number | undefined
}

export interface SplitTile {
  index: number
  path: string
  /** Where the tile is in the input (no gutters). */
  rect: TileRect
}

/** Write each tile of `layout`, cut from the input at its own resolution, as dir/tile-<i>.png (`dir` is created). */
export async function splitTiles(
  source: ImageSource,
  layout: Layout,
  dir: string,
  options: SplitOptions,
): Promise<SplitTile[]> {
  const image = await resolveSource(source, options)
  const format = options.format ?? 'png'
  const extension = format === 'png' ? 'png' : 'jpg'
  checkTilesInside(layout, image.pixels, options.name)
  await makeOutputDirectory('--split', dir)
  const written: SplitTile[] = []
  for (const tile of layout.tiles) {
    const part = await cutAndScale(image.pixels, tile, tile.width, tile.height)
    const { buffer } = await encodeImage(part, { format, quality: options.quality })
    const path = join(dir, `tile-${tile.index}.${extension}`)
    await writeImageFile(path, buffer, '--split')
    written.push({ index: tile.index, path, rect: tile })
  }
  return written
}

/** A layout from another image would cut outside this one; say so instead of a sharp error. */
export function checkTilesInside(layout: Layout, pixels: RawImage, name: string): void {
  const side = GRID_SIDE[layout.grid]
  // Joined side by side, fewer tiles would leave cells of the payload unwritten.
  if (layout.kind !== 'payload' && layout.tiles.length !== side * side)
    throw new InputError(
      `the layout for ${name} has ${layout.tiles.length} tiles; a ${layout.grid} grid has ${side * side}`,
      { hint: 'detect the layout again on this image' },
    )
  for (const tile of layout.tiles) {
    if (!(tile.width > 0 && tile.height > 0 && isInside(tile, pixels))) {
      throw new InputError(
        `tile ${tile.index} (${tile.x},${tile.y} ${tile.width}x${tile.height}) lies outside ${name} (${pixels.width}x${pixels.height})`,
        {
          hint: 'the layout belongs to a different image; detect it again on this one',
        },
      )
    }
  }
}
