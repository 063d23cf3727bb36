/** Cutting tiles out of an input and putting them back together as a standard payload. */
import { join } from 'node:path'
import { GRID_SIDE, GRID_SIZE } from '../types.js'
import type { Grid, Rect, TileRect } from '../types.js'
import { InputError } from '../errors.js'
import { encodeImage, writeImageFile } from './encode.js'
import type { OutputFormat } from './encode.js'
import { openPixels, resolveSource } from './load.js'
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
  let pipeline = openPixels(pixels).extract({
    left: rect.x,
    top: rect.y,
    width: rect.width,
    height: rect.height,
  })
  if (rect.width !== width || rect.height !== height)
    pipeline = pipeline.resize(width, height, { fit: 'fill' })
  const { data, info } = await pipeline.raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: pixels.channels }
}

/**
 * The standard payload (300, 450 or 100 px square) for `layout`: a payload-like input is scaled as
 * a whole; a capture has each tile cut without its gutters and scaled into its cell.
 */
export async function rebuildPayload(pixels: RawImage, layout: Layout): Promise<RawImage> {
  const size = GRID_SIZE[layout.grid]
  const { crop } = layout
  if (layout.kind === 'payload') {
    const whole =
      crop.x === 0 && crop.y === 0 && crop.width === pixels.width && crop.height === pixels.height
    if (whole && pixels.width === size && pixels.height === size) return pixels
    return cutAndScale(pixels, crop, size, size)
  }
  const channels = pixels.channels
  const canvas = new Uint8Array(size * size * channels)
  await Promise.all(
    layout.tiles.map(async (tile, order) => {
      const cell = cellRect(layout.grid, order)
      // A selected tile's shrunk picture is scaled back to fill its cell, as the page first showed it.
      const picture = layout.pictures?.[tile.index] ?? tile
      const part = await cutAndScale(pixels, picture, cell.width, cell.height)
      const rowBytes = cell.width * channels
      for (let y = 0; y < cell.height; y++) {
        const from = y * rowBytes
        canvas.set(
          part.data.subarray(from, from + rowBytes),
          ((cell.y + y) * size + cell.x) * channels,
        )
      }
    }),
  )
  return { data: canvas, width: size, height: size, channels }
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
  for (const tile of layout.tiles) {
    const inside =
      tile.x >= 0 &&
      tile.y >= 0 &&
      tile.width > 0 &&
      tile.height > 0 &&
      tile.x + tile.width <= pixels.width &&
      tile.y + tile.height <= pixels.height
    if (!inside) {
      throw new InputError(
        `tile ${tile.index} (${tile.x},${tile.y} ${tile.width}x${tile.height}) lies outside ${name} (${pixels.width}x${pixels.height})`,
        {
          hint: 'the layout belongs to a different image; detect it again on this one',
        },
      )
    }
  }
}
