/**
 * Where the challenge is in an input picture (pure: decoded pixels in, rectangles out; no sharp).
 *
 * Exported:
 * - detectLayout(image, hints?)   the layout of any input: payload, tile-area capture, widget, page
 * - payloadLayout(grid, w, h?)    the standard cells of a payload of that size (3x3: 100 px cells,
 *                                 4x4: edges at round(i * size / 4), 1x1: the whole image)
 * - gridForPayloadSize(w, h)      the grid a standard payload size implies (300, 450, 100), if any
 * - latticeLayout(kind, lattice)  tile rectangles of a fitted lattice (used by detectLayout)
 * The lattice search itself lives in detect-grid.ts.
 */
import { InputError, UsageError } from '../errors.js'
import type { Grid, Rect, TileRect } from '../types.js'
import { GRID_SIDE } from '../types.js'
import type { Lattice } from './detect-grid.js'
import { findLattice, findSquares, labelDarkBlobs, WHITE_LEVEL, whitenBlue } from './detect-grid.js'
import { inspectCells } from './detect-cells.js'
import { findHeaders, type HeaderLattice, latticeUnderHeader } from './detect-header.js'
import { computeLightness } from './lightness.js'
import { withBytes } from './byte-pool.js'
import { viewOf, windowOf } from './pixel-view.js'
import type { DetectHints, InputKind, Layout, PixelView, RawImage } from './types.js'

const STANDARD: Record<number, Grid> = { 300: '3x3', 450: '4x4', 100: '1x1' }

/** The grid a payload of exactly this size is (300 -> 3x3, 450 -> 4x4, 100 -> 1x1), if any. */
export function gridForPayloadSize(width: number, height: number): Grid | undefined {
  return width === height ? STANDARD[width] : undefined
}

function makeTile(index: number, x: number, y: number, right: number, bottom: number): TileRect {
  return {
    index,
    x,
    y,
    width: right - x,
    height: bottom - y,
    cx: Math.round((x + right - 1) / 2),
    cy: Math.round((y + bottom - 1) / 2),
  }
}

/** The cells of a payload `width` x `height` for `grid`: edges at round(i * size / n), no gutters. */
export function payloadLayout(grid: Grid, width: number, height: number = width): Layout {
  const n = GRID_SIDE[grid]
  const tiles: TileRect[] = []
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const x = Math.round((i * width) / n)
      const y = Math.round((j * height) / n)
      tiles.push(
        makeTile(
          j * n + i,
          x,
          y,
          Math.round(((i + 1) * width) / n),
          Math.round(((j + 1) * height) / n),
        ),
      )
    }
  }
  return { kind: 'payload', grid, crop: { x: 0, y: 0, width, height }, tiles }
}

/** Tile rectangles of a fitted lattice, rounded to whole pixels, row-major. */
function latticeLayout(kind: InputKind, lattice: Lattice): Layout {
  const { n, x0, y0, pitch, side } = lattice
  const tiles: TileRect[] = []
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const x = Math.round(x0 + i * pitch)
      const y = Math.round(y0 + j * pitch)
      tiles.push(
        makeTile(
          j * n + i,
          x,
          y,
          Math.round(x0 + i * pitch + side),
          Math.round(y0 + j * pitch + side),
        ),
      )
    }
  }
  const last = tiles[tiles.length - 1]!
  const first = tiles[0]!
  const crop: Rect = {
    x: first.x,
    y: first.y,
    width: last.x + last.width - first.x,
    height: last.y + last.height - first.y,
  }
  return { kind, grid: n === 3 ? '3x3' : '4x4', crop, tiles }
}

const OVERLAY_HINT = (name: string): string =>
  `run \`rc2 grid ${name} --overlay out.png\` to see what rc2 found`
/** When nothing was found: what to change in the capture, and the overlay, which draws what was seen instead. */
const NOT_FOUND_HINT = (name: string): string =>
  `capture the whole challenge with the white gutters between its tiles, or pass --grid 3x3|4x4 if it is a square payload; ${OVERLAY_HINT(name).replace('what rc2 found', 'what rc2 saw')}`

/** Nearly square: a screenshot of a square may be off by a pixel or two. */
function isNearlySquare(width: number, height: number): boolean {
  return Math.abs(width - height) <= Math.max(2, 0.02 * Math.max(width, height))
}

/** Widget (blue header just above the tiles), tile area only (thin margin), or a page around it. */
function classifyCapture(image: PixelView, crop: Rect, pitch: number): InputKind {
  const extraW = image.width - crop.width
  const extraH = image.height - crop.height
  if (extraW <= 0.2 * crop.width && extraH <= 0.2 * crop.height) return 'tiles'
  const header = hasHeaderAbove(image, crop, pitch)
  if (header && extraW <= 0.2 * crop.width && extraH <= 0.8 * crop.height) return 'widget'
  return 'page'
}

/** Mostly header blue (#1a73e8 or the older #4a90e2) in a strip starting a few pixels above the tiles. */
function hasHeaderAbove(image: PixelView, crop: Rect, pitch: number): boolean {
  const { bytes, channels, offset, stride } = image
  if (channels < 3) return false
  const bottom = Math.round(crop.y - 0.12 * pitch)
  const top = Math.max(0, Math.round(crop.y - 0.45 * pitch))
  if (bottom - top < 2) return false
  let blue = 0
  let total = 0
  const step = Math.max(1, Math.round(pitch / 40))
  for (let y = top; y < bottom; y += step) {
    for (let x = crop.x; x < crop.x + crop.width; x += step) {
      const p = offset + y * stride + x * channels
      const r = bytes[p]!
      const g = bytes[p + 1]!
      const b = bytes[p + 2]!
      total++
      if (b > 150 && b > r + 60 && b > g + 20) blue++
    }
  }
  // The header carries white text, so half blue is plenty.
  return total > 0 && blue / total >= 0.4
}

/** A found layout with what its tiles show: selected ones (and their pictures), loading ones. */
function withCells(layout: Layout, image: PixelView, light: Uint8Array): Layout {
  const { selected, pictures, loading } = inspectCells(image, light, layout.tiles)
  return {
    ...layout,
    ...(selected.length > 0 ? { selected, pictures } : {}),
    ...(loading.length > 0 ? { loading } : {}),
  }
}

/** The same grid in the same place (within a fifth of a tile). */
function sameGrid(a: Layout, b: Layout): boolean {
  const first = a.tiles[0]!
  const other = b.tiles[0]!
  return (
    a.grid === b.grid &&
    Math.abs(first.x - other.x) <= first.width / 5 &&
    Math.abs(first.y - other.y) <= first.width / 5 &&
    Math.abs(first.width - other.width) <= first.width / 10
  )
}

/** The grid under a header-shaped blue rectangle whose band holds tiles that fit it, if any. */
function findHeaderLattice(
  image: PixelView,
  light: Uint8Array,
  hints: DetectHints,
): HeaderLattice | undefined {
  const squares = findSquares(light, image.width, image.height)
  if (squares.length < 2) return undefined
  const n = hints.grid === '3x3' ? 3 : hints.grid === '4x4' ? 4 : undefined
  for (const header of findHeaders(image).slice(0, 8)) {
    const found = latticeUnderHeader(header, squares, image.width, image.height, n)
    if (found !== undefined) return found
  }
  return undefined
}

/** What the detector saw in a picture, for an overlay when it found no grid. */
export interface Diagnosis {
  /** Blue rectangles shaped like the widget's header. */
  headers: Rect[]
  /** Square blobs: tiles that show against white gutters (and look-alikes). */
  squares: Rect[]
  /** The best lattice found, even one that leaves the picture, with the edges it leaves by. */
  lattice?:
    { n: 3 | 4; x0: number; y0: number; pitch: number; side: number; edges: string[] } | undefined
}

/** The evidence behind a detection (headers, squares, the best lattice), whatever came of it. */
export function diagnoseLayout(image: RawImage): Diagnosis {
  const view = viewOf(image)
  const light = computeLightness(view)
  const result = findLattice(light, image.width, image.height)
  const squares = findSquares(light, image.width, image.height).map((b) => ({
    x: b.x0,
    y: b.y0,
    width: b.x1 - b.x0,
    height: b.y1 - b.y0,
  }))
  const lattice =
    result.status === 'found'
      ? { ...result.lattice, edges: [] }
      : result.status === 'partial'
        ? { ...result.lattice, edges: result.edges }
        : undefined
  return { headers: findHeaders(view).slice(0, 8), squares, lattice }
}

function describeSize(image: { width: number; height: number }): string {
  return `${image.width}x${image.height}`
}

/** Raise when the caller's grid disagrees with the grid the picture clearly shows. */
function checkHint(found: Grid, hints: DetectHints, name: string): void {
  if (hints.grid === undefined || hints.grid === found) return
  if (hints.gridSource === 'sentence') {
    throw new InputError(
      `the question's sentence means a ${hints.grid} grid, but ${name} shows a ${found} grid`,
      {
        hint: 'check that the question belongs to this screenshot, or pass --grid to say which grid it is',
      },
    )
  }
  throw new UsageError(`--grid ${hints.grid} conflicts with the ${found} grid found in ${name}`, {
    hint: `drop --grid (or pass --grid ${found}); ${OVERLAY_HINT(name)}`,
  })
}

/** A capture of one tile alone (1x1 hint): the image itself, or a single large square on a margin. */
function findSingleTile(image: PixelView, light: Uint8Array): Layout | undefined {
  const blobs = labelDarkBlobs(light, image.width, image.height, WHITE_LEVEL, 16)
  let best: Rect | undefined
  for (const b of blobs) {
    const w = b.x1 - b.x0
    const h = b.y1 - b.y0
    if (!isNearlySquare(w, h) || w * h < 0.4 * image.width * image.height) continue
    if (best === undefined || w * h > best.width * best.height)
      best = { x: b.x0, y: b.y0, width: w, height: h }
  }
  if (best === undefined) return undefined
  const tile = makeTile(0, best.x, best.y, best.x + best.width, best.y + best.height)
  return { kind: 'tiles', grid: '1x1', crop: { ...best }, tiles: [tile] }
}

/**
 * The lattice of the tiles; when none is whole, a second look with the widget's blue taken for
 * white: the ticks of selected tiles reach over narrow gutters and join tiles into one blob.
 */
function searchLattice(image: PixelView, light: Uint8Array): ReturnType<typeof findLattice> {
  const result = findLattice(light, image.width, image.height)
  if (result.status === 'found') return result
  const again = withBytes(light.length, (whitened) =>
    findLattice(whitenBlue(image, light, whitened), image.width, image.height),
  )
  return again.status === 'found' ? again : result
}

/**
 * Where the challenge's tiles are in `image`, in its own pixels.
 *
 * A payload of a standard size (300, 450, 100 square) maps straight to its cells; a `--grid` flag
 * may re-read it as another grid (it shows no gutters to contradict the flag), the sentence may not.
 * Anything else is searched for a grid of tiles separated by white gutters. Without one, a square
 * image is a payload of the hinted grid, scaled; with no hint that is an InputError naming --grid.
 *
 * Throws InputError (no grid, grid cut off at an edge, non-standard size without a grid) or
 * UsageError (--grid contradicts the grid in the picture).
 */
export function detectLayout(image: RawImage, hints: DetectHints = {}): Layout {
  const standard = gridForPayloadSize(image.width, image.height)
  if (standard !== undefined) {
    const grid = hints.grid !== undefined && hints.gridSource !== 'sentence' ? hints.grid : standard
    return payloadLayout(grid, image.width, image.height)
  }
  const view = viewOf(image)
  const found = findCaptureLayout(view, hints)
  return found?.layout ?? noGridFound(view, hints)
}

/** A capture's layout from its gutters or its header, with the pitch; undefined when neither shows one. */
function findCaptureLayout(
  image: PixelView,
  hints: DetectHints,
): { layout: Layout; pitch: number } | undefined {
  // Detection is synchronous from here to the end: the mask is back in the pool before the next.
  return withBytes(image.width * image.height, (bytes) =>
    captureLayoutFrom(image, computeLightness(image, bytes), hints),
  )
}

function captureLayoutFrom(
  image: PixelView,
  light: Uint8Array,
  hints: DetectHints,
): { layout: Layout; pitch: number } | undefined {
  const name = hints.name ?? 'the image'
  const result = searchLattice(image, light)
  // Tiles as white as the gutters hide part of the grid; the widget's header then places it.
  const underHeader = (): { layout: Layout; pitch: number } | undefined => {
    const found = findHeaderLattice(image, light, hints)
    if (found === undefined) return undefined
    const layout = latticeLayout('tiles', found.lattice)
    checkHint(layout.grid, hints, name)
    const kind = classifyCapture(image, layout.crop, found.lattice.pitch)
    return { layout: withCells({ ...layout, kind }, image, light), pitch: found.lattice.pitch }
  }
  if (result.status !== 'found') {
    if (result.status === 'partial') return underHeader() ?? cutOffError(result.edges, name)
    return underHeader()
  }
  const { pitch } = result.lattice
  const probe = latticeLayout('tiles', result.lattice)
  const kind = classifyCapture(image, probe.crop, pitch)
  // No header right above: the top rows may have vanished into the frame and the grid found be
  // the lower rows only; a header whose band holds these tiles says where the grid really is.
  // (A tile-area capture has no room above its grid for a hidden row: nothing to look for there.)
  const room = probe.crop.y >= 0.8 * pitch
  if (room && kind !== 'widget' && !hasHeaderAbove(image, probe.crop, pitch)) {
    const viaHeader = underHeader()
    if (viaHeader !== undefined && !sameGrid(viaHeader.layout, probe)) return viaHeader
  }
  checkHint(probe.grid, hints, name)
  return { layout: withCells({ ...probe, kind }, image, light), pitch }
}

function cutOffError(edges: string[], name: string): never {
  throw new InputError(
    `${name} shows only part of the challenge: its tile grid is cut off at the ${edges.join(' and ')} edge`,
    { hint: 'capture the whole challenge, every tile included, and try again' },
  )
}

/** No grid in the picture: a square one is a payload of the hinted grid, else an error says what to do. */
function noGridFound(image: PixelView, hints: DetectHints): Layout {
  const name = hints.name ?? 'the image'
  const { width, height } = image
  if (hints.grid !== undefined && isNearlySquare(width, height))
    return payloadLayout(hints.grid, width, height)
  if (hints.grid === '1x1') {
    const single = findSingleTile(image, computeLightness(image))
    if (single !== undefined) return single
  }
  if (width === height) {
    throw new InputError(
      `${name} is ${describeSize(image)}, not a standard challenge size (100, 300 or 450); pass --grid 3x3|4x4|1x1 to scale it`,
      { hint: `if it is a screenshot, ${NOT_FOUND_HINT(name)}` },
    )
  }
  throw new InputError(`no challenge tile grid found in ${name} (${describeSize(image)})`, {
    hint: NOT_FOUND_HINT(name),
  })
}

/** The lattice the gutters of `image` show whole (on a reduced copy: where to look closer), if any. */
export function findWholeLattice(image: RawImage): Lattice | undefined {
  const view = viewOf(image)
  const result = withBytes(image.width * image.height, (bytes) =>
    searchLattice(view, computeLightness(view, bytes)),
  )
  return result.status === 'found' ? result.lattice : undefined
}

/**
 * The capture's layout found within `window` of `image` alone, in the whole image's pixels and
 * kind; undefined when the window shows no grid (then the whole image must be searched).
 */
export function detectLayoutWithin(
  image: RawImage,
  window: Rect,
  hints: DetectHints,
): Layout | undefined {
  // The window read in place: copying it cost as much as a third of the search.
  const found = findCaptureLayout(windowOf(image, window), hints)
  if (found === undefined) return undefined
  const layout = moveLayout(found.layout, window.x, window.y)
  return { ...layout, kind: classifyCapture(viewOf(image), layout.crop, found.pitch) }
}

function moveRect<T extends Rect>(rect: T, dx: number, dy: number): T {
  return { ...rect, x: rect.x + dx, y: rect.y + dy }
}

/** `layout` found in a window at (dx, dy), in the pixels of the image around it. */
function moveLayout(layout: Layout, dx: number, dy: number): Layout {
  const tiles = layout.tiles.map((t) => ({ ...moveRect(t, dx, dy), cx: t.cx + dx, cy: t.cy + dy }))
  const pictures =
    layout.pictures === undefined
      ? undefined
      : Object.fromEntries(
          Object.entries(layout.pictures).map(([k, r]) => [k, moveRect(r, dx, dy)]),
        )
  return {
    ...layout,
    crop: moveRect(layout.crop, dx, dy),
    tiles,
    ...(pictures !== undefined ? { pictures } : {}),
  }
}
