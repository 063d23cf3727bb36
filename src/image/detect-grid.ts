/**
 * Finding the tile grid in a screenshot (pure: pixels in, numbers out).
 *
 * 1. Light-mask the image: a pixel is "white" when its luma is high and it is not a saturated colour.
 * 2. Label the non-white connected components (run-length, one pass) and keep the square ones:
 *    unselected tiles are exactly such squares, separated by white gutters.
 * 3. From pairs of equal squares in a row or column, estimate pitch (tile + gutter) and side; for each
 *    estimate and anchor square, try every n x n lattice (n = 3, 4) the anchor could belong to.
 * 4. Score a lattice by the squares that sit in its cells; reject it when squares also sit in the ring
 *    of cells around it (the grid goes on) or when cells fall outside the image (cut off).
 * 5. Fit origin, pitch and side to the matched squares' edges (trimmed least squares), then check
 *    that every gutter is a straight white line across the band.
 */
import { pixelKernels } from './pixel-kernels.js'
import { rowsOf } from './pixel-view.js'
import type { PixelView } from './types.js'

/** A pixel is white when its lightness is at least this (JPEG gutters are 235-250, tiles rarely this light). */
export const WHITE_LEVEL = 220

/**
 * `light` with the widget's blue (ticks of selected tiles, the header, the button) counted as
 * white: a tick reaches over a narrow gutter and joins two tiles into one blob. Only a second look:
 * clear sky is blue enough to vanish too. Written into `out` when given (as long as `light`).
 */
export function whitenBlue(
  image: PixelView,
  light: Uint8Array,
  out: Uint8Array = new Uint8Array(light.length),
): Uint8Array {
  const { bytes, channels, offset, stride } = image
  out.set(light)
  if (channels < 3) return out
  const { rows, columns } = rowsOf(image)
  for (let y = 0, i = 0; y < rows; y++) {
    for (let x = 0, p = offset + y * stride; x < columns; x++, i++, p += channels) {
      const r = bytes[p]!
      const g = bytes[p + 1]!
      const b = bytes[p + 2]!
      if (b > 150 && b > r + 60 && b > g + 20) out[i] = 255
    }
  }
  return out
}

/** Bounding box and pixel count of one connected non-white component. */
export interface Blob {
  x0: number
  y0: number
  /** Exclusive right and bottom edges. */
  x1: number
  y1: number
  area: number
}

/** Horizontal runs of dark pixels, row by row, with a union-find parent for each (grown as needed). */
class Runs {
  count = 0
  /** The runs of the row added last: the ones the next row's runs may touch. */
  private prevFirst = 0
  private prevLast = 0
  start: Int32Array = new Int32Array(1 << 14)
  end: Int32Array = new Int32Array(1 << 14)
  row: Int32Array = new Int32Array(1 << 14)
  parent: Int32Array = new Int32Array(1 << 14)

  private add(start: number, end: number, row: number): number {
    if (this.count === this.start.length) this.grow()
    const k = this.count++
    this.start[k] = start
    this.end[k] = end
    this.row[k] = row
    this.parent[k] = k
    return k
  }

  /**
   * Adds row `y`'s runs (start and end pairs in `pairs`, from `from` to `to`), each joined to every
   * run of the row added before that it overlaps; rows come in order, an empty one included.
   */
  addRow(y: number, pairs: Int32Array, from: number, to: number): void {
    const rowFirst = this.count
    let j = this.prevFirst
    for (let r = from; r < to; r += 2) {
      const start = pairs[r]!
      const x = pairs[r + 1]!
      const k = this.add(start, x, y)
      while (j < this.prevLast && this.end[j]! <= start) j++
      for (let m = j; m < this.prevLast && this.start[m]! < x; m++) this.join(k, m)
    }
    this.prevFirst = rowFirst
    this.prevLast = this.count
  }

  find(k: number): number {
    const parent = this.parent
    let root = k
    while (parent[root] !== root) root = parent[root]!
    while (parent[k] !== root) {
      const next = parent[k]!
      parent[k] = root
      k = next
    }
    return root
  }

  join(a: number, b: number): void {
    const ra = this.find(a)
    const rb = this.find(b)
    if (ra < rb) this.parent[rb] = ra
    else if (rb < ra) this.parent[ra] = rb
  }

  private grow(): void {
    const twice = (a: Int32Array): Int32Array => {
      const b = new Int32Array(a.length * 2)
      b.set(a)
      return b
    }
    this.start = twice(this.start)
    this.end = twice(this.end)
    this.row = twice(this.row)
    this.parent = twice(this.parent)
  }
}

/**
 * Connected components (4-connected) of pixels darker than `level`, by run-length labelling:
 * runs of the same component in consecutive rows that overlap are joined with union-find.
 */
export function labelDarkBlobs(
  light: Uint8Array,
  width: number,
  height: number,
  level = WHITE_LEVEL,
  minSide = 8,
): Blob[] {
  const runs = new Runs()
  findRuns(light, width, height, level, runs)
  return collectBlobs(runs).filter((b) => b.x1 - b.x0 >= minSide && b.y1 - b.y0 >= minSide)
}

/** Rows of `width` that fit in one call of the kernel: the rows, their runs (at most one per two pixels) and a count each. */
function rowsPerCall(width: number, memoryBytes: number): number {
  return Math.floor((memoryBytes - 16) / (5 * width + 12))
}

/**
 * The dark runs of `light`, row by row into `runs`: found by pixel-kernels.wat a batch of rows at
 * a time, or in JavaScript where there is no WebAssembly, a row too wide for its memory or a level
 * that is not a whole byte.
 */
function findRuns(
  light: Uint8Array,
  width: number,
  height: number,
  level: number,
  runs: Runs,
): void {
  // The kernel compares whole bytes: any other level (none of rc2's) is compared here.
  const byte = Number.isInteger(level) && level >= 0 && level <= 255
  const kernels = byte && width > 0 ? pixelKernels() : undefined
  const batch = kernels === undefined ? 0 : rowsPerCall(width, kernels.memory.buffer.byteLength)
  if (kernels !== undefined && batch > 0) {
    const heap = new Uint8Array(kernels.memory.buffer)
    const words = new Int32Array(kernels.memory.buffer)
    for (let y0 = 0; y0 < height; y0 += batch) {
      const rows = Math.min(batch, height - y0)
      heap.set(light.subarray(y0 * width, (y0 + rows) * width), 0)
      const pairsAt = (rows * width + 7) & ~7
      const endsAt = pairsAt + rows * (width + 1) * 4
      kernels.darkRuns(0, width, rows, level, pairsAt, endsAt)
      let from = pairsAt >> 2
      for (let row = 0; row < rows; row++) {
        const to = (pairsAt >> 2) + 2 * words[(endsAt >> 2) + row]!
        runs.addRow(y0 + row, words, from, to)
        from = to
      }
    }
    return
  }
  const words = wordsOf(light, level)
  const pairs = new Int32Array(width + 2)
  for (let y = 0; y < height; y++) {
    const base = y * width
    const end = base + width
    let n = 0
    for (let i = base; i < end;) {
      i = skipPixels(light, words, i, end, level, true)
      if (i >= end) break
      pairs[n++] = i - base
      i = skipPixels(light, words, i, end, level, false)
      pairs[n++] = i - base
    }
    runs.addRow(y, pairs, 0, n)
  }
}

/**
 * `light` as 32-bit words, four pixels each, for skipPixels to test four at a time; undefined
 * for a level outside 128-255, which that test cannot take (rc2 labels at 128 and 220).
 */
function wordsOf(light: Uint8Array, level: number): Int32Array | undefined {
  if (level < 128 || level > 255) return undefined
  // Word reads need a 4-byte aligned start: a view elsewhere in its buffer is read from a copy.
  const aligned = light.byteOffset % 4 === 0 ? light : light.slice()
  return new Int32Array(aligned.buffer, aligned.byteOffset, aligned.length >> 2)
}

/** Bit 7 of each byte set where that byte of `word` is at least `level` (128-255), all else clear. */
function bytesAtLeast(word: number, level: number): number {
  // x >= level when x >= 128 and (x & 127) + 256 - level >= 128; no byte carries into the next.
  return ((word & 0x7f7f7f7f) + (256 - level) * 0x01010101) & word & 0x80808080
}

/** Is `value` white (at least `level`) when `white`, dark (below it) when not? */
function isShade(value: number, level: number, white: boolean): boolean {
  return white ? value >= level : value < level
}

/**
 * The end of the run of white pixels (at least `level`), or else dark ones, that starts at `i`;
 * `end` at most. Most of labelling's time: runs are long, so whole words are tested where aligned.
 */
function skipPixels(
  light: Uint8Array,
  words: Int32Array | undefined,
  i: number,
  end: number,
  level: number,
  white: boolean,
): number {
  while (i < end && (i & 3) !== 0 && isShade(light[i]!, level, white)) i++
  if (words !== undefined && (i & 3) === 0) {
    // Whole words at a time: four white pixels set all four bits, four dark ones none.
    const same = white ? 0x80808080 | 0 : 0
    while (i + 4 <= end && (bytesAtLeast(words[i >> 2]!, level) | 0) === same) i += 4
  }
  while (i < end && isShade(light[i]!, level, white)) i++
  return i
}

/** One blob per component: its bounding box and pixel count. */
function collectBlobs(runs: Runs): Blob[] {
  const index = new Int32Array(runs.count).fill(-1)
  const blobs: Blob[] = []
  for (let k = 0; k < runs.count; k++) {
    const root = runs.find(k)
    const start = runs.start[k]!
    const end = runs.end[k]!
    const row = runs.row[k]!
    let b = index[root]!
    if (b < 0) {
      b = blobs.length
      index[root] = b
      blobs.push({ x0: start, y0: row, x1: end, y1: row + 1, area: 0 })
    }
    const blob = blobs[b]!
    if (start < blob.x0) blob.x0 = start
    if (end > blob.x1) blob.x1 = end
    if (row + 1 > blob.y1) blob.y1 = row + 1
    blob.area += end - start
  }
  return blobs
}

/** A regular n x n lattice of square tiles: cell (i, j) spans [x0 + i*pitch, x0 + i*pitch + side). */
export interface Lattice {
  n: 3 | 4
  x0: number
  y0: number
  pitch: number
  side: number
}

interface Square {
  blob: Blob
  cx: number
  cy: number
  side: number
}

interface Scored {
  lattice: Lattice
  /** Tiles cut by the image border that sit exactly in cells of the lattice. */
  truncated: number
  /** Squares matched to cells, with their cell. */
  matches: { square: Square; i: number; j: number }[]
  ring: number
  /** Edges (left/right/top/bottom) along which cells leave the image. */
  outside: Set<'left' | 'right' | 'top' | 'bottom'>
}

export type LatticeResult =
  | { status: 'found'; lattice: Lattice; matched: number }
  | {
      status: 'partial'
      n: 3 | 4
      edges: ('left' | 'right' | 'top' | 'bottom')[]
      matched: number
      lattice: Lattice
    }
  | { status: 'none' }

function toSquares(blobs: Blob[]): Square[] {
  const squares: Square[] = []
  for (const blob of blobs) {
    const w = blob.x1 - blob.x0
    const h = blob.y1 - blob.y0
    if (w < 12 || h < 12) continue
    if (Math.max(w, h) > 1.3 * Math.min(w, h)) continue
    if (blob.area < 0.45 * w * h) continue
    squares.push({
      blob,
      cx: (blob.x0 + blob.x1) / 2,
      cy: (blob.y0 + blob.y1) / 2,
      side: (w + h) / 2,
    })
  }
  return squares
}

/** The square dark blobs of a light mask: tiles that show against white gutters (and look-alikes). */
export function findSquares(
  light: Uint8Array,
  width: number,
  height: number,
  level = WHITE_LEVEL,
): Blob[] {
  return toSquares(labelDarkBlobs(light, width, height, level)).map((s) => s.blob)
}

/** Candidate (pitch, side) pairs from squares of equal size lying in one row or one column. */
function estimatePitches(squares: Square[]): { pitch: number; side: number; votes: number }[] {
  const estimates: { pitch: number; side: number }[] = []
  for (let a = 0; a < squares.length; a++) {
    const sa = squares[a]!
    for (let b = 0; b < squares.length; b++) {
      if (a === b) continue
      const sb = squares[b]!
      const side = (sa.side + sb.side) / 2
      if (Math.abs(sa.side - sb.side) > 0.08 * side) continue
      const along: number[] = []
      if (Math.abs(sa.blob.y0 - sb.blob.y0) <= 0.1 * side && sb.blob.x0 > sa.blob.x0) {
        along.push(sb.blob.x0 - sa.blob.x0, sb.blob.x1 - sa.blob.x1)
      }
      if (Math.abs(sa.blob.x0 - sb.blob.x0) <= 0.1 * side && sb.blob.y0 > sa.blob.y0) {
        along.push(sb.blob.y0 - sa.blob.y0, sb.blob.y1 - sa.blob.y1)
      }
      for (const d of along) {
        for (let k = 1; k <= 3; k++) {
          const pitch = d / k
          // Gutters are at least a pixel and at most a fifth of a tile.
          if (pitch >= side + 0.8 && pitch <= side * 1.2) estimates.push({ pitch, side })
        }
      }
    }
  }
  estimates.sort((p, q) => p.pitch - q.pitch)
  const groups: { pitch: number; side: number; votes: number }[] = []
  let start = 0
  while (start < estimates.length) {
    let end = start + 1
    while (end < estimates.length && estimates[end]!.pitch <= estimates[start]!.pitch * 1.03) end++
    const slice = estimates.slice(start, end)
    groups.push({
      pitch: median(slice.map((e) => e.pitch)),
      side: median(slice.map((e) => e.side)),
      votes: slice.length,
    })
    start = end
  }
  return groups.sort((p, q) => q.votes - p.votes).slice(0, 6)
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** A square next to the lattice continues it only if it is a full tile exactly where the next cell would be. */
function continuesLattice(square: Square, lattice: Lattice, i: number, j: number): boolean {
  const { x0, y0, pitch, side } = lattice
  const tolerance = 0.05 * side + 2
  const b = square.blob
  if (Math.abs(b.x1 - b.x0 - side) > tolerance || Math.abs(b.y1 - b.y0 - side) > tolerance)
    return false
  return (
    Math.abs(b.x0 - (x0 + i * pitch)) <= tolerance && Math.abs(b.y0 - (y0 + j * pitch)) <= tolerance
  )
}

/** Does a blob cut by the image border fill cell (i, j) up to that border? */
function fillsCutCell(blob: Blob, lattice: Lattice, width: number, height: number): boolean {
  const { n, x0, y0, pitch, side } = lattice
  const tolerance = 0.05 * side + 2
  const i = Math.round((blob.x0 - x0) / pitch)
  const j = Math.round((blob.y0 - y0) / pitch)
  if (i < 0 || j < 0 || i >= n || j >= n) return false
  const left = x0 + i * pitch
  const top = y0 + j * pitch
  const near = (a: number, b: number): boolean => Math.abs(a - b) <= tolerance
  const xOk =
    blob.x1 >= width
      ? near(blob.x0, left) && left + side > width
      : near(blob.x0, left) && near(blob.x1, left + side)
  const yOk =
    blob.y1 >= height
      ? near(blob.y0, top) && top + side > height
      : near(blob.y0, top) && near(blob.y1, top + side)
  return xOk && yOk && (blob.x1 >= width || blob.y1 >= height)
}

function scoreLattice(
  lattice: Lattice,
  squares: Square[],
  width: number,
  height: number,
  cut: Blob[] = [],
): Scored {
  const { n, x0, y0, pitch, side } = lattice
  const taken = new Set<number>()
  const matches: Scored['matches'] = []
  let ring = 0
  for (const square of squares) {
    if (square.side < 0.6 * side || square.side > 1.15 * side) continue
    const fi = (square.cx - x0 - side / 2) / pitch
    const fj = (square.cy - y0 - side / 2) / pitch
    const i = Math.round(fi)
    const j = Math.round(fj)
    if (Math.abs(fi - i) * pitch > 0.22 * side || Math.abs(fj - j) * pitch > 0.22 * side) continue
    const inside = i >= 0 && i < n && j >= 0 && j < n
    if (inside) {
      if (!taken.has(j * n + i)) {
        taken.add(j * n + i)
        matches.push({ square, i, j })
      }
    } else if (i >= -1 && i <= n && j >= -1 && j <= n && continuesLattice(square, lattice, i, j)) {
      ring++
    }
  }
  const outside = new Set<'left' | 'right' | 'top' | 'bottom'>()
  const tolerance = 2
  if (x0 < -tolerance) outside.add('left')
  if (y0 < -tolerance) outside.add('top')
  if (x0 + (n - 1) * pitch + side > width + tolerance) outside.add('right')
  if (y0 + (n - 1) * pitch + side > height + tolerance) outside.add('bottom')
  const truncated =
    outside.size === 0 ? 0 : cut.filter((b) => fillsCutCell(b, lattice, width, height)).length
  return { lattice, matches, ring, outside, truncated }
}

/** Least-squares fit of origin, pitch and side to the matched squares' edges, trimming outliers. */
function fitLattice(scored: Scored): Lattice {
  // Rows: [x0, y0, pitch, side] coefficients and the observed edge.
  // Fit to the full-size squares only: selected (shrunk) tiles and pale-edged tiles would bias it.
  // Full tiles are the largest size that at least two squares share: when most tiles are selected,
  // the median is a shrunk size.
  const sizes = scored.matches.map(({ square }) => square.side).sort((a, b) => b - a)
  const typical =
    sizes.find((v, k) => sizes[k + 1] !== undefined && v - sizes[k + 1]! <= 0.03 * v + 1) ??
    median(sizes)
  const near = (v: number): boolean => Math.abs(v - typical) <= 0.03 * typical + 1
  const full = scored.matches.filter(
    ({ square: { blob } }) => near(blob.x1 - blob.x0) && near(blob.y1 - blob.y0),
  )
  // A loop, not flatMap: flattening the little arrays took most of the fit's time.
  const edgesOf = (matches: Scored['matches']): EdgeRow[] => {
    const rows: EdgeRow[] = []
    for (const { square, i, j } of matches) {
      const b = square.blob
      rows.push(
        { a: [1, 0, i, 0], v: b.x0 },
        { a: [1, 0, i, 1], v: b.x1 },
        { a: [0, 1, j, 0], v: b.y0 },
        { a: [0, 1, j, 1], v: b.y1 },
      )
    }
    return rows
  }
  const fit = trimmedFit(edgesOf(full.length >= 2 ? full : scored.matches), scored.lattice)
  // Tiles cut short by white content at one edge keep their other edges exactly: add every matched
  // edge that agrees with the first fit to within a pixel and a half, and fit again.
  const agreeing = edgesOf(scored.matches).filter((r) => Math.abs(predict(r, fit) - r.v) <= 1.5)
  return agreeing.length > 4 * full.length ? trimmedFit(agreeing, fit) : fit
}

type EdgeRow = { a: [number, number, number, number]; v: number }

function predict(r: EdgeRow, l: Lattice): number {
  return r.a[0] * l.x0 + r.a[1] * l.y0 + r.a[2] * l.pitch + r.a[3] * l.side
}

/** Least squares over the edge rows, dropping outliers over up to four rounds. */
function trimmedFit(rows: EdgeRow[], start: Lattice): Lattice {
  let fit = start
  for (let round = 0; round < 4; round++) {
    const solved = solveLeastSquares(rows)
    if (solved === undefined) break
    fit = { n: start.n, x0: solved[0], y0: solved[1], pitch: solved[2], side: solved[3] }
    const residuals = rows.map((r) => Math.abs(predict(r, fit) - r.v))
    const limit = Math.max(1.5, 2.5 * median(residuals))
    const kept = rows.filter((_, k) => residuals[k]! <= limit)
    if (kept.length === rows.length || kept.length < 6) break
    rows = kept
  }
  return fit
}

function solveLeastSquares(
  rows: { a: [number, number, number, number]; v: number }[],
): [number, number, number, number] | undefined {
  const m = [0, 1, 2, 3].map(() => [0, 0, 0, 0, 0])
  for (const { a, v } of rows) {
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) m[r]![c]! += a[r]! * a[c]!
      m[r]![4]! += a[r]! * v
    }
  }
  // Gaussian elimination with partial pivoting on the 4x5 normal equations.
  for (let col = 0; col < 4; col++) {
    let pivot = col
    for (let r = col + 1; r < 4; r++)
      if (Math.abs(m[r]![col]!) > Math.abs(m[pivot]![col]!)) pivot = r
    if (Math.abs(m[pivot]![col]!) < 1e-9) return undefined
    ;[m[col], m[pivot]] = [m[pivot]!, m[col]!]
    for (let r = 0; r < 4; r++) {
      if (r === col) continue
      const f = m[r]![col]! / m[col]![col]!
      for (let c = col; c < 5; c++) m[r]![c]! -= f * m[col]![c]!
    }
  }
  return [
    m[0]![4]! / m[0]![0]!,
    m[1]![4]! / m[1]![1]!,
    m[2]![4]! / m[2]![2]!,
    m[3]![4]! / m[3]![3]!,
  ]
}

/** Every inner gutter must be a straight white line across the band (a few blocked pixels allowed). */
function checkGutters(
  lattice: Lattice,
  light: Uint8Array,
  width: number,
  height: number,
  level: number,
): boolean {
  const { n, x0, y0, pitch, side } = lattice
  if (pitch - side < 0.7) return false
  const top = Math.max(0, Math.round(y0))
  const bottom = Math.min(height, Math.round(y0 + (n - 1) * pitch + side))
  const left = Math.max(0, Math.round(x0))
  const right = Math.min(width, Math.round(x0 + (n - 1) * pitch + side))
  if (bottom - top < 8 || right - left < 8) return false
  for (let k = 0; k < n - 1; k++) {
    // A column gutter: columns x (one pixel apart), each read down the band (a row apart).
    const columns = { from: x0 + k * pitch + side, to: x0 + (k + 1) * pitch, limit: width, step: 1 }
    if (!hasWhiteLine(light, level, columns, { from: top, to: bottom, step: width })) return false
  }
  for (let k = 0; k < n - 1; k++) {
    const rows = {
      from: y0 + k * pitch + side,
      to: y0 + (k + 1) * pitch,
      limit: height,
      step: width,
    }
    if (!hasWhiteLine(light, level, rows, { from: left, to: right, step: 1 })) return false
  }
  return true
}

/**
 * Some line in `lines.from..lines.to` (those inside `0..lines.limit`) is at least 80% white along
 * `along.from..along.to`; a pixel's index is `line * lines.step + i * along.step`.
 */
function hasWhiteLine(
  light: Uint8Array,
  level: number,
  lines: { from: number; to: number; limit: number; step: number },
  along: { from: number; to: number; step: number },
): boolean {
  let best = 0
  for (let line = Math.floor(lines.from); line <= Math.ceil(lines.to) - 1; line++) {
    if (line < 0 || line >= lines.limit) continue
    let white = 0
    const base = line * lines.step
    for (let i = along.from; i < along.to; i++) if (light[base + i * along.step]! >= level) white++
    best = Math.max(best, white / (along.to - along.from))
  }
  return best >= 0.8
}

/**
 * A cell holds a tile unless it is blank: nearly all pure white (the frame, a margin). Pale tiles
 * (sky at 226-240) still count, which is why the main white level cannot decide this. Flat cells are
 * not blank: solid-colour tiles exist.
 */
function blankCells(lattice: Lattice, light: Uint8Array, width: number): number {
  const { n, x0, y0, pitch, side } = lattice
  const inset = Math.max(1, Math.round(side * 0.08))
  const step = Math.max(1, Math.round(side / 48))
  let blank = 0
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const left = Math.round(x0 + i * pitch) + inset
      const top = Math.round(y0 + j * pitch) + inset
      const size = Math.round(side) - 2 * inset
      let count = 0
      let dark = 0
      for (let y = top; y < top + size; y += step) {
        for (let x = left; x < left + size; x += step) {
          count++
          if (light[y * width + x]! < 246) dark++
        }
      }
      if (dark < 0.05 * count) blank++
    }
  }
  return blank
}

/**
 * Blank cells say the lattice runs into the frame or a margin, except in a 3x3 whose other cells
 * all hold tiles: there a blank cell or two are replacements not yet drawn (a dynamic challenge).
 */
function blanksAllowed(candidate: Scored, blank: number): boolean {
  if (blank === 0) return true
  return candidate.lattice.n === 3 && blank <= 2 && candidate.matches.length + blank >= 8
}

/** Look for the challenge's tile lattice in a light mask of the image. */
export function findLattice(
  light: Uint8Array,
  width: number,
  height: number,
  level = WHITE_LEVEL,
): LatticeResult {
  const blobs = labelDarkBlobs(light, width, height, level)
  const squares = toSquares(blobs)
  // Tiles cut by the right or bottom border: evidence of a grid that goes on past the picture.
  const cut = blobs.filter(
    (b) => (b.x1 >= width || b.y1 >= height) && b.area >= 0.45 * (b.x1 - b.x0) * (b.y1 - b.y0),
  )
  if (squares.length < 2) return { status: 'none' }
  const frame: Frame = { squares, width, height, cut }
  const { complete, partial } = judgeCandidates(candidateLattices(frame), frame)
  for (const candidate of complete) {
    const { lattice } = candidate
    if (!checkGutters(lattice, light, width, height, level)) continue
    if (!blanksAllowed(candidate, blankCells(lattice, light, width))) continue
    return { status: 'found', lattice, matched: candidate.matches.length }
  }
  const total = (s: Scored): number => s.matches.length + s.truncated
  const best = partial.sort((a, b) => total(b) - total(a))[0]
  if (best !== undefined) {
    return {
      status: 'partial',
      n: best.lattice.n,
      edges: [...best.outside],
      matched: total(best),
      lattice: best.lattice,
    }
  }
  return { status: 'none' }
}

/** What the lattice search works from: the squares, the picture's size, the tiles cut by its border. */
interface Frame {
  squares: Square[]
  width: number
  height: number
  cut: Blob[]
}

/** Every n x n lattice an anchor square could belong to, at each estimated pitch, that holds enough squares. */
function candidateLattices({ squares, width, height, cut }: Frame): Scored[] {
  const raw: Scored[] = []
  const seen = new Set<string>()
  for (const { pitch, side } of estimatePitches(squares)) {
    const anchors = squares.filter((s) => s.side >= 0.85 * side && s.side <= 1.12 * side)
    for (const anchor of anchors) {
      for (const n of [3, 4] as const) {
        for (let j = 0; j < n; j++) {
          for (let i = 0; i < n; i++) {
            const x0 = anchor.blob.x0 - i * pitch
            const y0 = anchor.blob.y0 - j * pitch
            const key = `${n}:${Math.round(x0 / (side / 4))}:${Math.round(y0 / (side / 4))}:${Math.round(pitch)}`
            if (seen.has(key)) continue
            seen.add(key)
            const scored = scoreLattice({ n, x0, y0, pitch, side }, squares, width, height, cut)
            if (scored.matches.length >= 2 && scored.matches.length + scored.truncated >= 4)
              raw.push(scored)
          }
        }
      }
    }
  }
  return raw
}

/**
 * The candidates fitted to their squares and sorted into complete ones (best first) and ones that
 * leave the picture. An anchor with a pale or shrunk edge places its lattice a little off: each is
 * fitted before judging whether it is complete, continues past its ring, or leaves the picture.
 */
function judgeCandidates(raw: Scored[], frame: Frame): { complete: Scored[]; partial: Scored[] } {
  const { squares, width, height, cut } = frame
  raw.sort((a, b) => b.matches.length - a.matches.length)
  const complete: Scored[] = []
  const partial: Scored[] = []
  const fittedKeys = new Set<string>()
  for (const candidate of raw.slice(0, 60)) {
    const fitted = fitLattice(candidate)
    const key = `${fitted.n}:${Math.round(fitted.x0)}:${Math.round(fitted.y0)}:${Math.round(fitted.pitch)}:${Math.round(fitted.side)}`
    // Gutters are thin: 2-4 CSS px against tiles of 72-126.
    const gutter = fitted.pitch - fitted.side
    if (
      fittedKeys.has(key) ||
      !(fitted.side >= 12) ||
      gutter <= 0 ||
      gutter > 0.1 * fitted.side + 2
    )
      continue
    fittedKeys.add(key)
    const scored = scoreLattice(fitted, squares, width, height, cut)
    if (scored.ring > 0) continue
    if (scored.outside.size === 0) {
      // Selected tiles and ticks can merge neighbours into one blob, so a few clean squares must do;
      // the gutter and blank-cell checks then vouch for the rest.
      if (scored.matches.length >= Math.max(4, Math.ceil(0.4 * fitted.n ** 2)))
        complete.push(scored)
    } else if (scored.matches.length + scored.truncated >= 4) {
      partial.push(scored)
    }
  }
  // Best first: the larger share of cells holding a tile, then more tiles.
  complete.sort(
    (a, b) =>
      b.matches.length / b.lattice.n ** 2 - a.matches.length / a.lattice.n ** 2 ||
      b.matches.length - a.matches.length,
  )
  return { complete, partial }
}
