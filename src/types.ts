/** Types shared by every layer (a leaf module, like errors.ts). */

/** The challenge kinds the services know, named by their grid. */
export const GRIDS = ['3x3', '4x4', '1x1'] as const
export type Grid = (typeof GRIDS)[number]

/** Side in pixels of the image the services expect for each grid. */
export const GRID_SIZE: Record<Grid, number> = { '3x3': 300, '4x4': 450, '1x1': 100 }

/** Tiles per side for each grid. */
export const GRID_SIDE: Record<Grid, number> = { '3x3': 3, '4x4': 4, '1x1': 1 }

/** An axis-aligned rectangle in some image's pixels (x, y: top-left corner). */
export interface Rect {
  x: number
  y: number
  width: number
  height: number
}

/** One tile of the challenge as found in the input image: 0-based, row-major. */
export interface TileRect extends Rect {
  index: number
  /** Centre of the tile in the input's pixels (rounded), where a click should land. */
  cx: number
  cy: number
}

/** What a click should hit: tile index and the point in the input's pixels. */
export interface Click {
  tile: number
  x: number
  y: number
}
