/**
 * Detection of a large capture on a reduced copy first: every f-th pixel of every f-th row (no
 * blending, so a gutter of f pixels or more stays white), the lattice is searched there, and the
 * full-resolution search then runs only on a window around what was found, which fixes every edge
 * in the input's own pixels. When the copy shows no whole grid, or the window no grid, the whole
 * image is searched as before: the reduced copy only ever saves work, it never decides alone.
 */
import type { Rect } from '../types.js'
import { detectLayoutWithin, findWholeLattice } from './detect.js'
import { withBytes } from './byte-pool.js'
import type { DetectHints, Layout, RawImage } from './types.js'

/** The reduced copy has about this many pixels (a 1x widget is about as large). */
const REDUCED_PIXELS = 250_000
/**
 * Smaller inputs are searched whole: the window around a grid (a ring of cells, the header and
 * room for hidden rows) covers most of a widget or tile-area capture, so only a page saves work.
 */
const REDUCE_FROM = 3_000_000
/** At most every 4th pixel: desktop gutters are 4 CSS px. */
const MAX_FACTOR = 4

/**
 * The layout found through a reduced copy of `image` (at least `from` pixels); undefined when the
 * whole image must be searched.
 */
export function detectReduced(
  image: RawImage,
  hints: DetectHints,
  from = REDUCE_FROM,
): Layout | undefined {
  if (image.width * image.height < from) return undefined
  const factor = Math.min(
    MAX_FACTOR,
    Math.floor(Math.sqrt((image.width * image.height) / REDUCED_PIXELS)),
  )
  if (factor < 2) return undefined
  const lattice = withBytes(subsampledLength(image, factor), (bytes) =>
    findWholeLattice(subsample(image, factor, bytes)),
  )
  if (lattice === undefined) return undefined
  // Each pixel of the copy stands for the f x f block it was taken from.
  const { n } = lattice
  const pitch = lattice.pitch * factor
  const x0 = lattice.x0 * factor
  const y0 = lattice.y0 * factor
  // Room for the ring of cells around the grid (which would say it goes on), and above it for the
  // header and rows that may have vanished into the white frame.
  const left = Math.max(0, Math.floor(x0 - 1.5 * pitch))
  const top = Math.max(0, Math.floor(y0 - (n + 1.5) * pitch))
  const right = Math.min(image.width, Math.ceil(x0 + (n + 1.5) * pitch))
  const bottom = Math.min(image.height, Math.ceil(y0 + (n + 1.5) * pitch))
  const window: Rect = { x: left, y: top, width: right - left, height: bottom - top }
  // Searched even when it is most of the picture (a page barely larger than its widget): read in
  // place, it costs no more than the whole would, and the reduced copy is already paid for. (Only
  // where the window finds no grid, or refuses one, is the whole searched after it.)
  try {
    return detectLayoutWithin(image, window, hints)
  } catch {
    // What the window refuses (a cut-off grid, a conflicting --grid), the whole image says in its own words.
    return undefined
  }
}

/** Bytes of the reduced copy subsample makes. */
function subsampledLength(image: RawImage, factor: number): number {
  return Math.floor(image.width / factor) * Math.floor(image.height / factor) * image.channels
}

/**
 * Every `factor`-th pixel of every `factor`-th row, into `out` (subsampledLength bytes): a loop
 * over the quarter million pixels kept costs a fraction of handing the whole picture to libvips.
 */
function subsample(image: RawImage, factor: number, out: Uint8Array): RawImage {
  const { data, channels } = image
  const width = Math.floor(image.width / factor)
  const height = Math.floor(image.height / factor)
  const step = factor * channels
  // The pixel at the middle of each f x f block: any f columns (or rows) in a row hold one, so a
  // gutter f pixels wide always shows.
  const middle = Math.floor(factor / 2)
  let o = 0
  for (let y = 0; y < height; y++) {
    let p = ((y * factor + middle) * image.width + middle) * channels
    if (channels === 3) {
      // Decoded inputs are RGB: the channel loop unrolled (about a sixth less time).
      for (let x = 0; x < width; x++, p += step, o += 3) {
        out[o] = data[p]!
        out[o + 1] = data[p + 1]!
        out[o + 2] = data[p + 2]!
      }
    } else {
      for (let x = 0; x < width; x++, p += step)
        for (let c = 0; c < channels; c++) out[o++] = data[p + c]!
    }
  }
  return { data: out, width, height, channels }
}
