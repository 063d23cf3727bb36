/**
 * Pictures for people: the input with chosen tiles marked (`solve --annotate`, `grid --mark`) or
 * with every detected tile outlined and numbered (`grid --overlay`). Drawn as one SVG layer
 * composited over the input; sizes follow the tile size so the marks read at any scale.
 */
import { UsageError } from '../errors.js'
import type { Rect } from '../types.js'
import { GLYPH_HEIGHT, measureNumber, renderNumberPath } from './glyphs.js'
import { openPixels, resolveSource } from './load.js'
import type { ImageSource } from './load.js'
import { checkTilesInside } from './tiles.js'
import type { Diagnosis } from './detect.js'
import type { Layout, RawImage } from './types.js'

/** Chosen tiles: magenta is rare in street photos and stays visible on sky, foliage and asphalt. */
export const MARK_COLOUR = { r: 0xff, g: 0x2b, b: 0xd6 }
/** Every tile in the overlay. */
export const OVERLAY_COLOUR = { r: 0x00, g: 0xe5, b: 0xff }
/** The crop box in the overlay. */
export const CROP_COLOUR = { r: 0xff, g: 0xd4, b: 0x00 }

const TINT_OPACITY = 0.18
const BADGE_OPACITY = 0.82

export interface AnnotateOptions {
  /** The input's name for messages (default: the path, or "image"). */
  name?: string | undefined
  maxBytes?: number | undefined
  maxPixels?: number | undefined
  /** Dynamic round: tiles that were classified; those not chosen get a dashed outline only. */
  checked?: readonly number[] | undefined
}

/** Where and how big the marks of one tile are, in the input's pixels. */
export interface TileMarkGeometry {
  /** Width of the coloured outline. */
  stroke: number
  /** Width of the dark halo on each side of the outline. */
  halo: number
  /** The number badge (dark rounded box) in the tile's top-left corner. */
  badge: Rect
  /** Height of the digits inside the badge. */
  digitHeight: number
  /** Where the first digit's top-left corner is. */
  digitX: number
  digitY: number
}

/**
 * Mark sizes for a tile: proportional to the tile's shorter side, with floors so a 100 px tile
 * still gets a readable number, and the badge placed just inside the outline.
 */
export function measureTileMarks(tile: Rect, value: number, strokeRatio = 0.045): TileMarkGeometry {
  const side = Math.min(tile.width, tile.height)
  const stroke = Math.max(2, Math.round(side * strokeRatio))
  const halo = Math.max(1, Math.round(stroke * 0.4))
  const digitHeight = Math.max(9, Math.round(side * 0.16))
  const digitStroke = digitStrokeWidth(digitHeight)
  const pad = Math.max(3, Math.round(digitHeight * 0.35))
  const scale = digitHeight / GLYPH_HEIGHT
  const width = Math.round(measureNumber(value) * scale + digitStroke + 2 * pad)
  const height = Math.round(digitHeight + digitStroke + 2 * pad)
  const inset = stroke + 2 * halo
  const badge = { x: tile.x + inset, y: tile.y + inset, width, height }
  return {
    stroke,
    halo,
    badge,
    digitHeight,
    digitX: badge.x + pad + digitStroke / 2,
    digitY: badge.y + pad + digitStroke / 2,
  }
}

function digitStrokeWidth(digitHeight: number): number {
  return Math.max(1.5, Math.round(digitHeight * 0.16 * 2) / 2)
}

/** The input with the `chosen` tiles outlined, tinted and numbered; returns PNG bytes. */
export async function renderAnnotated(
  source: ImageSource,
  layout: Layout,
  chosen: readonly number[],
  options: AnnotateOptions = {},
): Promise<Buffer> {
  const byIndex = new Map(layout.tiles.map((tile) => [tile.index, tile]))
  const missing = [...chosen, ...(options.checked ?? [])].filter((index) => !byIndex.has(index))
  if (missing.length > 0) {
    throw new UsageError(
      `tile ${missing.join(', ')} is not in the ${layout.grid} grid (tiles 0 to ${layout.tiles.length - 1})`,
      {
        hint: 'tiles are numbered from 0, row by row, as the services number them',
      },
    )
  }
  const parts: string[] = []
  for (const index of options.checked ?? []) {
    const tile = byIndex.get(index)
    if (tile === undefined || chosen.includes(index)) continue
    parts.push(drawDashedOutline(tile, measureTileMarks(tile, index), MARK_COLOUR))
  }
  for (const index of [...new Set(chosen)].sort((a, b) => a - b)) {
    const tile = byIndex.get(index)
    if (tile === undefined) continue
    const marks = measureTileMarks(tile, index)
    parts.push(drawTint(tile, marks, MARK_COLOUR))
    parts.push(drawOutline(tile, marks, MARK_COLOUR))
    parts.push(drawBadge(index, marks))
  }
  return composite(source, layout, parts, options)
}

/** The input with every tile outlined and numbered and the crop box shown; returns PNG bytes. */
export function renderOverlay(
  source: ImageSource,
  layout: Layout,
  options: AnnotateOptions = {},
): Promise<Buffer> {
  const outlined = layout.tiles.flatMap((tile) => {
    const marks = measureTileMarks(tile, tile.index, 0.03)
    return [drawOutline(tile, marks, OVERLAY_COLOUR), drawBadge(tile.index, marks)]
  })
  return composite(source, layout, [drawCropBox(layout.crop, layout), ...outlined], options)
}

/**
 * When no grid was found: what the detector saw, drawn over the input. Header-shaped blue boxes in
 * yellow, square blobs (tiles that show) in cyan, the best lattice's cells dashed in magenta,
 * even where they leave the picture (that is why it was refused).
 */
export async function renderDiagnosis(
  source: ImageSource,
  diagnosis: Diagnosis,
  options: AnnotateOptions = {},
): Promise<Buffer> {
  const parts: string[] = []
  const thin = (rect: Rect, colour: typeof MARK_COLOUR, width: number, dashed: boolean): string => {
    const dash = dashed ? ` stroke-dasharray="${width * 4} ${width * 2}"` : ''
    return (
      `<rect x="${rect.x}" y="${rect.y}" width="${rect.width}" height="${rect.height}" fill="none" stroke="#000" stroke-opacity="0.8" stroke-width="${width + 2}"${dash}/>` +
      `<rect x="${rect.x}" y="${rect.y}" width="${rect.width}" height="${rect.height}" fill="none" stroke="${rgb(colour)}" stroke-width="${width}"${dash}/>`
    )
  }
  const lattice = diagnosis.lattice
  if (lattice !== undefined) {
    const stroke = Math.max(2, Math.round(lattice.side / 40))
    for (let j = 0; j < lattice.n; j++) {
      for (let i = 0; i < lattice.n; i++) {
        const cell = {
          x: Math.round(lattice.x0 + i * lattice.pitch),
          y: Math.round(lattice.y0 + j * lattice.pitch),
          width: Math.round(lattice.side),
          height: Math.round(lattice.side),
        }
        parts.push(thin(cell, MARK_COLOUR, stroke, true))
      }
    }
  }
  // Drawn over the lattice, so the tiles that show stay visible inside the cells.
  for (const square of diagnosis.squares)
    parts.push(thin(square, OVERLAY_COLOUR, Math.max(1, Math.round(square.width / 60)), false))
  for (const header of diagnosis.headers)
    parts.push(thin(header, CROP_COLOUR, Math.max(2, Math.round(header.height / 30)), true))
  const name = options.name ?? (typeof source === 'string' ? source : 'image')
  const image = await resolveSource(source, {
    name,
    maxBytes: options.maxBytes,
    maxPixels: options.maxPixels,
  })
  return svgOver(image.pixels, parts)
}

async function svgOver(pixels: RawImage, parts: string[]): Promise<Buffer> {
  const { width, height } = pixels
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    parts.join('') +
    '</svg>'
  return openPixels(pixels)
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .png()
    .toBuffer()
}

async function composite(
  source: ImageSource,
  layout: Layout,
  parts: string[],
  options: AnnotateOptions,
): Promise<Buffer> {
  const name = options.name ?? (typeof source === 'string' ? source : 'image')
  const image = await resolveSource(source, {
    name,
    maxBytes: options.maxBytes,
    maxPixels: options.maxPixels,
  })
  const { width, height } = image.pixels
  checkTilesInside(layout, image.pixels, name)
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">` +
    parts.join('') +
    '</svg>'
  return openPixels(image.pixels)
    .composite([{ input: Buffer.from(svg), left: 0, top: 0 }])
    .png()
    .toBuffer()
}

function rgb(colour: { r: number; g: number; b: number }): string {
  return `rgb(${colour.r},${colour.g},${colour.b})`
}

function drawTint(tile: Rect, marks: TileMarkGeometry, colour: typeof MARK_COLOUR): string {
  const inset = marks.stroke + 2 * marks.halo
  return `<rect x="${tile.x + inset}" y="${tile.y + inset}" width="${Math.max(0, tile.width - 2 * inset)}" height="${Math.max(0, tile.height - 2 * inset)}" fill="${rgb(colour)}" fill-opacity="${TINT_OPACITY}"/>`
}

/**
 * A bright outline with a dark halo on both sides, kept inside the tile so neighbouring tiles
 * stay untouched: the halo separates it from bright content, the colour from dark content.
 */
function drawOutline(tile: Rect, marks: TileMarkGeometry, colour: typeof MARK_COLOUR): string {
  const { stroke, halo } = marks
  const offset = halo + stroke / 2
  const x = tile.x + offset
  const y = tile.y + offset
  const w = Math.max(0, tile.width - 2 * offset)
  const h = Math.max(0, tile.height - 2 * offset)
  return (
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#000" stroke-opacity="0.85" stroke-width="${stroke + 2 * halo}"/>` +
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${rgb(colour)}" stroke-width="${stroke}"/>`
  )
}

/** Checked but not to click: a thinner dashed outline with the same halo, no tint, no number. */
function drawDashedOutline(
  tile: Rect,
  marks: TileMarkGeometry,
  colour: typeof MARK_COLOUR,
): string {
  const stroke = Math.max(2, Math.round(marks.stroke / 2))
  const offset = marks.halo + stroke / 2
  const w = Math.max(0, tile.width - 2 * offset)
  const h = Math.max(0, tile.height - 2 * offset)
  const dash = stroke * 4
  return (
    `<rect x="${tile.x + offset}" y="${tile.y + offset}" width="${w}" height="${h}" fill="none" stroke="#000" stroke-opacity="0.85" stroke-width="${stroke + 2 * marks.halo}" stroke-dasharray="${dash} ${dash / 2}"/>` +
    `<rect x="${tile.x + offset}" y="${tile.y + offset}" width="${w}" height="${h}" fill="none" stroke="${rgb(colour)}" stroke-width="${stroke}" stroke-dasharray="${dash} ${dash / 2}"/>`
  )
}

/** White stroked digits on a dark rounded badge with a thin white rim. */
function drawBadge(value: number, marks: TileMarkGeometry): string {
  const { badge, digitHeight } = marks
  const rim = Math.max(1, Math.round(digitHeight * 0.08))
  const radius = Math.round(Math.min(badge.width, badge.height) * 0.22)
  const digits = renderNumberPath(value, marks.digitX, marks.digitY, digitHeight)
  return (
    `<rect x="${badge.x + rim / 2}" y="${badge.y + rim / 2}" width="${badge.width - rim}" height="${badge.height - rim}" rx="${radius}" ` +
    `fill="#000" fill-opacity="${BADGE_OPACITY}" stroke="#fff" stroke-width="${rim}"/>` +
    `<path d="${digits}" fill="none" stroke="#fff" stroke-width="${digitStrokeWidth(digitHeight)}" stroke-linecap="round" stroke-linejoin="round"/>`
  )
}

/** Dashed yellow box with a dark halo around the crop; drawn just outside it when there is room. */
function drawCropBox(crop: Rect, layout: Layout): string {
  const side = Math.min(
    ...layout.tiles.map((tile) => Math.min(tile.width, tile.height)),
    crop.width,
    crop.height,
  )
  const stroke = Math.max(2, Math.round(side * 0.025))
  const dash = stroke * 4
  const outside = layout.kind === 'payload' ? -stroke : stroke
  const x = crop.x - outside
  const y = crop.y - outside
  const w = crop.width + 2 * outside
  const h = crop.height + 2 * outside
  return (
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#000" stroke-opacity="0.85" stroke-width="${stroke + 2}"/>` +
    `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${rgb(CROP_COLOUR)}" stroke-width="${stroke}" stroke-dasharray="${dash} ${dash / 2}"/>`
  )
}
