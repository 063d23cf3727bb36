/**
 * Finding the grid from the widget's blue header when the gutters cannot show it (pure: pixels in,
 * numbers out). Tiles as bright as the gutters (white sky in the top rows) vanish into the white
 * frame, so the lattice search sees only the lower rows and takes them for a grid cut off at the
 * bottom, or for a grid one row lower. The header tells the truth (widget-geometry.md): it spans
 * the tile band exactly (left edge and width), the band starts a few pixels under it and is as
 * tall as it is wide; the tiles that do show give the grid (their side against the band width)
 * and the pitch.
 */
import type { Lattice } from './detect-grid.js'
import { labelDarkBlobs } from './detect-grid.js'
import type { Rect } from '../types.js'
import { rowsOf } from './pixel-view.js'
import { withBytes } from './byte-pool.js'
import type { PixelView } from './types.js'

/** A square dark blob (a tile that shows), as found by the lattice search. */
export interface SquareRect {
  x0: number
  y0: number
  x1: number
  y1: number
}

export interface HeaderLattice {
  header: Rect
  lattice: Lattice
  /** Tiles that show and sit in the lattice's cells. */
  matched: number
}

/** Header blue: #1a73e8 today, #4a90e2 in the older look (the same test as the widget check). */
function isHeaderBlue(r: number, g: number, b: number): boolean {
  return b > 150 && b > r + 60 && b > g + 20
}

/**
 * Blue rectangles shaped like the header: wide (about 3.4 : 1 today, 3.5 : 1 in the older look),
 * mostly blue (the white text and a sample picture take the rest). Largest first.
 */
export function findHeaders(image: PixelView): Rect[] {
  const { bytes, width, height, channels, offset, stride } = image
  if (channels < 3) return []
  // A mask the blob labeller reads: 0 where header blue, 255 elsewhere.
  const blobs = withBytes(width * height, (mask) => {
    mask.fill(255)
    const { rows, columns } = rowsOf(image)
    for (let y = 0, i = 0; y < rows; y++) {
      for (let x = 0, p = offset + y * stride; x < columns; x++, i++, p += channels)
        if (isHeaderBlue(bytes[p]!, bytes[p + 1]!, bytes[p + 2]!)) mask[i] = 0
    }
    return labelDarkBlobs(mask, width, height, 128, 24)
  })
  const headers: Rect[] = []
  for (const b of blobs) {
    const w = b.x1 - b.x0
    const h = b.y1 - b.y0
    if (w < 150 || h / w < 0.2 || h / w > 0.4 || b.area < 0.5 * w * h) continue
    headers.push({ x: b.x0, y: b.y0, width: w, height: h })
  }
  return headers.sort((a, b) => b.width * b.height - a.width * a.height)
}

/** Side of a grid's tile against its band's width: 126/386 (3x3) or 95/392 (4x4); older look alike. */
const SIDE_SHARE = { 3: 0.326, 4: 0.242 } as const

/**
 * The lattice under `header`, from the squares that show in the band below it, or undefined when
 * the band leaves the picture or the squares there do not fit a 3x3 or 4x4 grid.
 * `grid` (from --grid or the sentence) decides the grid when given.
 */
export function latticeUnderHeader(
  header: Rect,
  squares: readonly SquareRect[],
  width: number,
  height: number,
  grid?: 3 | 4,
): HeaderLattice | undefined {
  const band = header.width
  // 6 CSS px between header and tiles, at a device-pixel ratio of about header height / 113.
  const gap = Math.round((6 * header.height) / 113)
  const top = header.y + header.height + gap
  if (top + band > height + 2 || header.x + band > width + 2) return undefined
  const inBand = squares.filter(
    (s) =>
      s.x0 >= header.x - 2 &&
      s.x1 <= header.x + band + 2 &&
      s.y0 >= top - gap - 2 &&
      s.y1 <= top + band + 2,
  )
  if (inBand.length < 2) return undefined
  // Tiles cut short by white content at an edge are smaller: the side is the largest one that two
  // squares share (their shorter sides, which such a cut shortens).
  const sides = inBand.map((s) => Math.min(s.x1 - s.x0, s.y1 - s.y0)).sort((a, b) => b - a)
  const side =
    sides.find((v, k) => sides[k + 1] !== undefined && v - sides[k + 1]! <= 0.03 * v + 1) ??
    sides[sides.length >> 1]!
  const n: 3 | 4 = grid ?? (side / band > (SIDE_SHARE[3] + SIDE_SHARE[4]) / 2 ? 3 : 4)
  if (Math.abs(side / band - SIDE_SHARE[n]) > 0.04) return undefined
  const pitch = (band - side) / (n - 1)
  // Each full square votes for the band's top (its row from where it sits); the median wins.
  const full = inBand.filter(
    (s) =>
      Math.abs(s.x1 - s.x0 - side) <= 0.05 * side + 1 &&
      Math.abs(s.y1 - s.y0 - side) <= 0.05 * side + 1,
  )
  if (full.length < 2) return undefined
  const tops = full
    .map((s) => s.y0 - Math.round((s.y0 - top) / pitch) * pitch)
    .sort((a, b) => a - b)
  const y0 = tops[tops.length >> 1]!
  if (Math.abs(y0 - top) > Math.max(3, 0.15 * pitch)) return undefined
  const lattice: Lattice = { n, x0: header.x, y0, pitch, side }
  // The squares must sit in the lattice's cells: columns and rows where they should be.
  let matched = 0
  for (const s of full) {
    const fi = (s.x0 - lattice.x0) / pitch
    const fj = (s.y0 - lattice.y0) / pitch
    const i = Math.round(fi)
    const j = Math.round(fj)
    const close =
      Math.abs(fi - i) * pitch <= 0.05 * side + 2 && Math.abs(fj - j) * pitch <= 0.05 * side + 2
    if (close && i >= 0 && i < n && j >= 0 && j < n) matched++
  }
  if (matched < Math.max(2, Math.ceil(0.6 * full.length))) return undefined
  if (y0 + (n - 1) * pitch + side > height + 2) return undefined
  return { header, lattice, matched }
}
