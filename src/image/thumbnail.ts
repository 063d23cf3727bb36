/**
 * The small pictures of `rc2 view`: the input with the chosen tiles marked (as --annotate marks
 * them), cut to the challenge and a little around it, as a JPEG small enough to inline in a page.
 */
import { renderAnnotated } from './annotate.js'
import { loadImage, loadSharp, openPixels, type LoadOptions } from './load.js'
import { locateImage } from './prepare.js'
import type { Grid, Rect } from '../types.js'

export interface Thumbnail {
  jpeg: Buffer
  width: number
  height: number
  /** Whether the tiles are marked (false: the grid was not found, the picture is shown as it is). */
  marked: boolean
}

export interface ThumbnailOptions extends LoadOptions {
  /** The grid of the answer, if there was one: the tiles are then found and `chosen` marked. */
  grid?: Grid | undefined
  chosen?: readonly number[] | undefined
  checked?: readonly number[] | undefined
  /** The longer side of the thumbnail, in pixels (default 320). */
  side?: number | undefined
}

const QUALITY = 72

/** The challenge's box with a margin of a fifth of its size on each side, kept within the picture. */
function around(crop: Rect, width: number, height: number): Rect {
  const mx = Math.round(crop.width / 5)
  const my = Math.round(crop.height / 5)
  const left = Math.max(0, crop.x - mx)
  const top = Math.max(0, crop.y - my)
  return {
    x: left,
    y: top,
    width: Math.min(width, crop.x + crop.width + mx) - left,
    height: Math.min(height, crop.y + crop.height + my) - top,
  }
}

export async function renderThumbnail(path: string, options: ThumbnailOptions): Promise<Thumbnail> {
  const side = options.side ?? 320
  const sharp = loadSharp()
  const shrink = { width: side, height: side, fit: 'inside' as const, withoutEnlargement: true }
  if (options.grid !== undefined) {
    try {
      const { image, layout } = await locateImage(path, {
        ...options,
        grid: options.grid,
        gridSource: 'flag',
      })
      const marked = await renderAnnotated(image, layout, options.chosen ?? [], {
        checked: options.checked,
      })
      const box = around(layout.crop, image.pixels.width, image.pixels.height)
      const { data, info } = await sharp(marked)
        .extract({ left: box.x, top: box.y, width: box.width, height: box.height })
        .resize(shrink)
        .jpeg({ quality: QUALITY })
        .toBuffer({ resolveWithObject: true })
      return { jpeg: data, width: info.width, height: info.height, marked: true }
    } catch {
      // No grid where the answer had one (the file changed since): the picture as it is.
    }
  }
  const image = await loadImage(path, options)
  const { data, info } = await openPixels(image.pixels)
    .resize(shrink)
    .jpeg({ quality: QUALITY })
    .toBuffer({ resolveWithObject: true })
  return { jpeg: data, width: info.width, height: info.height, marked: false }
}
