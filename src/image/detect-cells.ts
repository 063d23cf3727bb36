/**
 * What each tile of a found grid shows (pure: pixels in, tile numbers out).
 *
 * - Selected: after a click the widget draws the tile's picture shrunk inside its cell (a white
 *   margin all round, the picture 80-86% of the cell depending on version and zoom) and a round
 *   blue tick over its top-left corner. The margin is measured, not assumed: the picture's edges
 *   are where the white rows and columns end.
 * - Loading: a replacement tile of a dynamic 3x3 fades in from white over about a second; caught
 *   mid-fade it is pale (nothing in it dark) or blank.
 */
import type { Rect, TileRect } from '../types.js'
import type { PixelView } from './types.js'

export interface CellStates {
  selected: number[]
  /** Each selected tile's picture (its shrunk part, margin excluded) in the input. */
  pictures: Record<number, Rect>
  loading: number[]
}

/** Lightness of the margin around a selected picture (JPEG pulls pure white down a little). */
const MARGIN_LEVEL = 232
/**
 * A tile is pale when even its darkest 3% is lighter than this. On the 72 real tiles in the test
 * data the darkest 3% reach at most about 120; a tile a third faded in stays above 150.
 */
const LOADING_LEVEL = 140

/** The tick's blue (#1a73e8), the same test as the header's. */
function isTickBlue(r: number, g: number, b: number): boolean {
  return b > 150 && b > r + 60 && b > g + 20
}

/** A line of pixels (from `start`, `count` of them, `step` apart) that is nearly all margin white. */
function isWhiteLine(light: Uint8Array, start: number, count: number, step: number): boolean {
  let white = 0
  for (let k = 0, p = start; k < count; k++, p += step) if (light[p]! >= MARGIN_LEVEL) white++
  return white >= 0.95 * count
}

/**
 * White rows or columns from each side of `tile` inward, up to `limit`. Each side is read along its
 * far 55% from the top-left corner: the tile's own tick covers that corner, and the ticks of the
 * tiles below and to the right reach over the gutter into its bottom-left and top-right corners.
 */
function margins(
  light: Uint8Array,
  width: number,
  tile: TileRect,
  limit: number,
): { top: number; right: number; bottom: number; left: number } {
  const { x, y, width: w, height: h } = tile
  const skipX = Math.round(0.45 * w)
  const skipY = Math.round(0.45 * h)
  const run = (line: (k: number) => boolean): number => {
    let k = 0
    while (k < limit && line(k)) k++
    return k
  }
  return {
    top: run((k) => isWhiteLine(light, (y + k) * width + x + skipX, w - skipX, 1)),
    bottom: run((k) => isWhiteLine(light, (y + h - 1 - k) * width + x + skipX, w - skipX, 1)),
    left: run((k) => isWhiteLine(light, (y + skipY) * width + x + k, h - skipY, width)),
    right: run((k) => isWhiteLine(light, (y + skipY) * width + x + w - 1 - k, h - skipY, width)),
  }
}

/** A blue disc over the tile's top-left corner: a quarter of the corner square (its side a quarter tile) blue. */
function hasTick(image: PixelView, tile: TileRect): boolean {
  const { bytes, channels, offset, stride } = image
  if (channels < 3) return false
  const side = Math.max(4, Math.round(tile.width / 4))
  let blue = 0
  for (let y = tile.y; y < tile.y + side; y++) {
    for (
      let x = tile.x, p = offset + y * stride + x * channels;
      x < tile.x + side;
      x++, p += channels
    ) {
      if (isTickBlue(bytes[p]!, bytes[p + 1]!, bytes[p + 2]!)) blue++
    }
  }
  return blue >= 0.25 * side * side
}

/**
 * The shrunk picture of a selected tile, or undefined when the tile is not selected: a tick, and
 * a white margin of 3-13% of the cell around the picture. A side whose picture is itself white
 * at its edge reads too deep: the opposite side (the picture is centred) stands in for it.
 */
function selectedPicture(image: PixelView, light: Uint8Array, tile: TileRect): Rect | undefined {
  if (!hasTick(image, tile)) return undefined
  const limit = Math.ceil(0.14 * tile.width)
  const m = margins(light, image.width, tile, limit)
  const least = Math.min(m.top, m.right, m.bottom, m.left)
  if (least < Math.max(2, 0.03 * tile.width) || least > 0.13 * tile.width) return undefined
  const tolerance = Math.max(2, 0.02 * tile.width)
  const pair = (a: number, b: number): [number, number] => {
    if (a <= least + tolerance && b <= least + tolerance) return [a, b]
    return a <= least + tolerance ? [a, a] : b <= least + tolerance ? [b, b] : [least, least]
  }
  const [left, right] = pair(m.left, m.right)
  const [top, bottom] = pair(m.top, m.bottom)
  return {
    x: tile.x + left,
    y: tile.y + top,
    width: tile.width - left - right,
    height: tile.height - top - bottom,
  }
}

/** Nothing dark in the tile's inner part: blank white, or a picture still fading in from white. */
function looksLoading(light: Uint8Array, width: number, tile: TileRect): boolean {
  const inset = Math.max(1, Math.round(0.04 * tile.width))
  const step = Math.max(1, Math.round(tile.width / 60))
  const histogram = new Uint32Array(256)
  let count = 0
  for (let y = tile.y + inset; y < tile.y + tile.height - inset; y += step) {
    for (let x = tile.x + inset; x < tile.x + tile.width - inset; x += step) {
      histogram[light[y * width + x]!]!++
      count++
    }
  }
  let below = 0
  for (let v = 0; v < LOADING_LEVEL; v++) below += histogram[v]!
  return below < 0.03 * count
}

/** Which tiles are selected (with their pictures) and, in a 3x3, which are still loading. */
export function inspectCells(
  image: PixelView,
  light: Uint8Array,
  tiles: readonly TileRect[],
): CellStates {
  const states: CellStates = { selected: [], pictures: {}, loading: [] }
  for (const tile of tiles) {
    const picture = selectedPicture(image, light, tile)
    if (picture !== undefined) {
      states.selected.push(tile.index)
      states.pictures[tile.index] = picture
    } else if (tiles.length === 9 && looksLoading(light, image.width, tile)) {
      states.loading.push(tile.index)
    }
  }
  return states
}
