/**
 * The lightness mask grid detection starts from: one byte a pixel, luma capped near the smallest
 * channel. The per-pixel work runs in WebAssembly (pixel-kernels.wat) for RGB, the common case.
 */
import { type PixelKernels, pixelKernels } from './pixel-kernels.js'
import { rowsOf, viewOf } from './pixel-view.js'
import type { PixelView, RawImage } from './types.js'

/**
 * Lightness: luma, capped near the smallest channel so saturated yellows and cyans do not count as
 * white. Written into `out` when given (a pixel a byte, every byte written), else a new array.
 */
export function computeLightness(
  image: RawImage | PixelView,
  out: Uint8Array = new Uint8Array(image.width * image.height),
): Uint8Array {
  const view = 'bytes' in image ? image : viewOf(image)
  const { bytes, width, height, channels, offset, stride } = view
  const count = width * height
  // The module copies what the size says it holds: a short buffer would read the last image's pixels.
  if (height > 0 && offset + (height - 1) * stride + width * channels > bytes.length)
    throw new RangeError(`${width}x${height}x${channels} pixels in ${bytes.length} bytes`)
  if (out.length !== count) throw new RangeError(`${count} pixels into ${out.length} bytes`)
  const kernels = channels === 3 && count >= 16 ? pixelKernels() : undefined
  if (kernels !== undefined) {
    lightnessOfRgb(kernels, view, out)
    return out
  }
  const { rows, columns } = rowsOf(view)
  for (let y = 0, i = 0; y < rows; y++) {
    for (let x = 0, p = offset + y * stride; x < columns; x++, i++, p += channels)
      out[i] = channels >= 3 ? lightnessOf(bytes[p]!, bytes[p + 1]!, bytes[p + 2]!) : bytes[p]!
  }
  return out
}

/** One pixel's lightness. Luma is at most 255, so the minimum needs no clamp. */
function lightnessOf(r: number, g: number, b: number): number {
  return Math.min((77 * r + 150 * g + 29 * b) >> 8, Math.min(r, g, b) + 90)
}

/** Pixels per call into the WebAssembly module: their RGB and lightness take 256 KiB of its memory. */
const CHUNK = 65_536
const OUT_AT = CHUNK * 3

/**
 * The lightness of RGB pixels into `out`, through pixel-kernels.wat: the rows' pixels copied into
 * its memory side by side, a chunk at a time (a window's rows are apart in the image; a long row
 * spans chunks), sixteen pixels a step, and back; the last pixels short of sixteen here. The
 * copies cost far less than the pixel work in JavaScript.
 */
function lightnessOfRgb(kernels: PixelKernels, view: PixelView, out: Uint8Array): void {
  const heap = new Uint8Array(kernels.memory.buffer)
  const { bytes, offset, stride } = view
  const { rows, columns } = rowsOf(view)
  let filled = 0
  let at = 0
  const flush = (): void => {
    const whole = filled - (filled % 16)
    kernels.lightness(0, OUT_AT, whole / 16)
    out.set(heap.subarray(OUT_AT, OUT_AT + whole), at)
    for (let i = whole; i < filled; i++)
      out[at + i] = lightnessOf(heap[3 * i]!, heap[3 * i + 1]!, heap[3 * i + 2]!)
    at += filled
    filled = 0
  }
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < columns;) {
      const n = Math.min(columns - x, CHUNK - filled)
      const from = offset + y * stride + x * 3
      heap.set(bytes.subarray(from, from + n * 3), filled * 3)
      filled += n
      x += n
      if (filled === CHUNK) flush()
    }
  }
  if (filled > 0) flush()
}
