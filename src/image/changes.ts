/**
 * Which tiles of a dynamic 3x3 challenge changed between two captures of the same widget (pure:
 * decoded pixels and layouts in, tile numbers out; no sharp).
 *
 * A tile is compared by a coarse signature: block means on a 10x10 lattice over its inner part
 * (the corner where a selected tile's tick sits is left out). Block means shrug off JPEG noise and
 * re-encoding; fitting `current = a * previous + b` per channel shrugs off a tint; trying the
 * shrunk scales a selected tile is drawn at shrugs off selection. A replaced picture fits none.
 */
import { InputError } from '../errors.js'
import type { Rect } from '../types.js'
import type { Layout, RawImage } from './types.js'

const SAMPLES = 10
/** The inner part of a tile that is sampled, as fractions of its side. */
const INNER_FROM = 0.2
const INNER_TO = 0.8
/**
 * Scales of a tile's picture in the current capture relative to the previous one: the same, or
 * shrunk (selected now) or grown back (selected before).
 */
const SCALES = [1, 0.93, 0.86, 0.8, 1 / 0.93, 1 / 0.86, 1 / 0.8]
/**
 * Residual (0-255, RMS over block means) above which a tile counts as replaced. On the rendered
 * pairs of test/image/changes.test.ts the same picture measures at most about 4 (JPEG, selection),
 * a replaced tile about 9 and up: the threshold sits between.
 */
export const CHANGE_THRESHOLD = 6

export interface SinceNames {
  previous: string
  current: string
}

/** Largest offset (px) between two captures of the same widget: a couple of pixels, more at high ratios. */
function tolerance(side: number): number {
  return Math.max(3, Math.round(0.025 * side))
}

/**
 * Throw an InputError naming what differs when `current` does not show the same widget at the
 * same place as `previous` (grid, tile size, position).
 */
function checkSameWidget(previous: Layout, current: Layout, names: SinceNames): void {
  const hint =
    '--since takes the previous capture of this same challenge, taken at the same place and zoom'
  if (previous.grid !== current.grid) {
    throw new InputError(
      `${names.current} shows a ${current.grid} grid but ${names.previous} (--since) a ${previous.grid} grid`,
      { hint },
    )
  }
  const a = previous.tiles[0]!
  const b = current.tiles[0]!
  const tol = tolerance(Math.max(a.width, b.width))
  if (Math.abs(a.width - b.width) > tol || Math.abs(a.height - b.height) > tol) {
    throw new InputError(
      `the tiles in ${names.current} are ${b.width}x${b.height} px but ${a.width}x${a.height} px in ${names.previous} (--since): another zoom or device-pixel ratio`,
      { hint },
    )
  }
  let dx = 0
  let dy = 0
  for (const [k, p] of previous.tiles.entries()) {
    const c = current.tiles[k]!
    if (Math.abs(c.x - p.x) > Math.abs(dx)) dx = c.x - p.x
    if (Math.abs(c.y - p.y) > Math.abs(dy)) dy = c.y - p.y
  }
  if (Math.abs(dx) > tol || Math.abs(dy) > tol) {
    const parts: string[] = []
    if (dx !== 0) parts.push(`${Math.abs(dx)} px further ${dx > 0 ? 'right' : 'left'}`)
    if (dy !== 0) parts.push(`${Math.abs(dy)} px ${dy > 0 ? 'lower' : 'higher'}`)
    throw new InputError(
      `the grid in ${names.current} sits ${parts.join(' and ')} than in ${names.previous} (--since; at most ${tol} px allowed): not the same widget at the same place`,
      { hint },
    )
  }
}

/** Mean of each channel over a block; grey images count as three equal channels. */
function blockMean(
  image: RawImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  out: number[],
): void {
  const { data, width, height, channels } = image
  const left = Math.max(0, Math.min(width - 1, Math.floor(x0)))
  const top = Math.max(0, Math.min(height - 1, Math.floor(y0)))
  const right = Math.max(left + 1, Math.min(width, Math.ceil(x1)))
  const bottom = Math.max(top + 1, Math.min(height, Math.ceil(y1)))
  let r = 0
  let g = 0
  let b = 0
  const colour = channels >= 3
  for (let y = top; y < bottom; y++) {
    const end = (y * width + right) * channels
    if (colour) {
      for (let p = (y * width + left) * channels; p < end; p += channels) {
        r += data[p]!
        g += data[p + 1]!
        b += data[p + 2]!
      }
    } else {
      for (let p = (y * width + left) * channels; p < end; p += channels) r += data[p]!
    }
  }
  const n = (right - left) * (bottom - top)
  if (colour) out.push(r / n, g / n, b / n)
  else out.push(r / n, r / n, r / n)
}

/**
 * Block means (RGB interleaved, SAMPLES x SAMPLES blocks) of the inner part of `rect`, with the
 * picture assumed drawn at `scale` about the tile's centre.
 */
function tileSignature(image: RawImage, rect: Rect, scale = 1): number[] {
  const cx = rect.x + rect.width / 2
  const cy = rect.y + rect.height / 2
  const out: number[] = []
  const step = (INNER_TO - INNER_FROM) / SAMPLES
  for (let j = 0; j < SAMPLES; j++) {
    for (let i = 0; i < SAMPLES; i++) {
      const u0 = INNER_FROM + i * step - 0.5
      const v0 = INNER_FROM + j * step - 0.5
      blockMean(
        image,
        cx + u0 * rect.width * scale,
        cy + v0 * rect.height * scale,
        cx + (u0 + step) * rect.width * scale,
        cy + (v0 + step) * rect.height * scale,
        out,
      )
    }
  }
  return out
}

/** Brightness drift allowed without a tint (JPEG, colour management), in 0-255 levels. */
const DRIFT = 10

/**
 * RMS residual of the best tint `after = a * before + b_c`: one opacity for all channels
 * (a = 1 - t, tried from 0.5 to 1.1) and an offset per channel that a tint of that opacity can
 * give (b_c = t * colour_c, colour within 0..255), plus a little drift.
 */
function tintResidual(before: number[], after: number[]): number {
  const n = before.length / 3
  const means = [0, 1, 2].map((c) => {
    let mx = 0
    let my = 0
    for (let k = c; k < before.length; k += 3) {
      mx += before[k]!
      my += after[k]!
    }
    return { mx: mx / n, my: my / n }
  })
  let best = Infinity
  for (let a = 0.5; a <= 1.1001; a += 0.025) {
    const low = -DRIFT - 255 * Math.max(0, a - 1)
    const high = DRIFT + 255 * Math.max(0, 1 - a)
    let total = 0
    for (let c = 0; c < 3; c++) {
      const { mx, my } = means[c]!
      const offset = Math.min(high, Math.max(low, my - a * mx))
      for (let k = c; k < before.length; k += 3)
        total += (after[k]! - (a * before[k]! + offset)) ** 2
    }
    best = Math.min(best, total)
  }
  return Math.sqrt(best / before.length)
}

/** How different tile `index` looks in the two captures (0-255 scale; see CHANGE_THRESHOLD). */
export function tileDifference(
  previous: RawImage,
  previousLayout: Layout,
  current: RawImage,
  currentLayout: Layout,
  index: number,
): number {
  const before = tileSignature(previous, previousLayout.tiles[index]!)
  const rect = currentLayout.tiles[index]!
  let best = Infinity
  for (const scale of SCALES)
    best = Math.min(best, tintResidual(before, tileSignature(current, rect, scale)))
  return best
}

/**
 * The tiles of `current` whose picture was replaced since `previous`, ascending. Throws an
 * InputError when the two captures do not show the same widget at the same place.
 */
export function findChangedTiles(
  previous: RawImage,
  previousLayout: Layout,
  current: RawImage,
  currentLayout: Layout,
  names: SinceNames,
): number[] {
  checkSameWidget(previousLayout, currentLayout, names)
  const changed: number[] = []
  for (const tile of currentLayout.tiles) {
    if (
      tileDifference(previous, previousLayout, current, currentLayout, tile.index) >
      CHANGE_THRESHOLD
    )
      changed.push(tile.index)
  }
  return changed
}
