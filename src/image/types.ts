import type { Grid, Rect, TileRect } from '../types.js'

/** Decoded pixels handed to the pure detection code: row-major, `channels` bytes per pixel. */
export interface RawImage {
  data: Uint8Array
  width: number
  height: number
  channels: 1 | 2 | 3 | 4
}

/**
 * Pixels read where they are, the whole of an image or a window of it: pixel (x, y) starts at
 * `offset + y * stride + x * channels` of `bytes`. Detection searches the window around a large
 * capture's grid this way, without copying it. Not a RawImage (no `data`), so that a window never
 * reaches code that reads rows as contiguous.
 */
export interface PixelView {
  bytes: Uint8Array
  width: number
  height: number
  channels: RawImage['channels']
  /** Where pixel (0, 0) starts in `bytes`. */
  offset: number
  /** Bytes from one row to the next (the whole image's row, for a window). */
  stride: number
}

/**
 * What kind of picture the input is:
 * - payload: the image the page downloads (300/450/100 square, or another square with the grid known);
 * - tiles:   a capture of the tile area only (white gutters, thin margin);
 * - widget:  a capture of the challenge widget (blue header, tiles, footer);
 * - page:    a larger capture with the widget somewhere on it.
 */
export type InputKind = 'payload' | 'tiles' | 'widget' | 'page'

/** Where the challenge is in the input, in the input's own pixels. */
export interface Layout {
  kind: InputKind
  grid: Grid
  /** Bounding box of all tiles (gutters between tiles included, outer margin excluded). */
  crop: Rect
  /** One rectangle per tile, row-major, without gutters. */
  tiles: TileRect[]
  /** Tiles shown as already selected (0-based, sorted): the widget draws their pictures shrunk. */
  selected?: number[] | undefined
  /** Where each selected tile's shrunk picture is in the input (what is scaled back to fill its cell). */
  pictures?: Record<number, Rect> | undefined
  /** Tiles of a 3x3 that look still fading in (pale or blank white), 0-based, sorted. */
  loading?: number[] | undefined
}

/** Hints that narrow detection: the grid from `--grid` or from the question sentence. */
export interface DetectHints {
  grid?: Grid | undefined
  /** Where the grid hint came from, for the message when it conflicts with the picture. */
  gridSource?: 'flag' | 'sentence' | undefined
  /** The input's name (file path or "stdin"), for error messages. */
  name?: string | undefined
}

/** The image as it will be sent, plus where it came from. */
export interface PreparedImage {
  /** Bare base64 (no data: prefix) of the encoded image. */
  base64: string
  mime: 'image/jpeg' | 'image/png'
  /** Encoded size in bytes. */
  bytes: number
  grid: Grid
  /** Side in pixels of the image sent (100, 300 or 450). */
  size: number
  /** Format sniffed from the input's content (jpeg, png, webp, gif, tiff, heif/avif). */
  inputFormat: string
  inputWidth: number
  inputHeight: number
  layout: Layout
  /** What the user should know about the input (an animated image of which one frame is used). */
  warnings?: string[] | undefined
}
