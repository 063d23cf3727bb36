/**
 * The lightness mask grid detection starts from: one byte a pixel, luma capped near the smallest
 * channel. The per-pixel work runs in WebAssembly (pixel-kernels.wat) for RGB, the common case.
 * Detection reads pixels through a PixelView: the whole image, or a window of it read in place.
 */
import { type PixelKernels, pixelKernels } from './pixel-kernels.js'
import type { Rect } from '../types.js'
import type { PixelView, RawImage } from './types.js'

/** All of `image`, as detection reads pixels. */
export function viewOf(image: RawImage): PixelView {
  const { data, width, height, channels } = image
  return { bytes: data, width, height, channels, offset: 0, stride: width * channels }
}

/** The part of `image` inside `rect` (which must lie within it), read in place. */
export function windowOf(image: RawImage, rect: Rect): PixelView {
  const { data, width, channels } = image
  const stride = width * channels
  return {
    bytes: data,
    width: rect.width,
    height: rect.height,
    channels,
    offset: rect.y * stride + rect.x * channels,
    stride,
  }
}

/** Lightness: luma, capped near the smallest channel so saturated yellows and cyans do not count as white. */
export function computeLightness(image: RawImage | PixelView): Uint8Array {
  const view = 'bytes' in image ? image : viewOf(image)
  const { bytes, width, height, channels, offset, stride } = view
  const count = width * height
  // The module copies what the size says it holds: a short buffer would read the last image's pixels.
  if (height > 0 && offset + (height - 1) * stride + width * channels > bytes.length)
    throw new RangeError(`${width}x${height}x${channels} pixels in ${bytes.length} bytes`)
  const out = new Uint8Array(count)
  const kernels = channels === 3 && count >= 16 && width <= CHUNK ? pixelKernels() : undefined
  if (kernels !== undefined) {
    lightnessOfRgb(kernels, view, out)
    return out
  }
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0, p = offset + y * stride; x < width; x++, i++, p += channels)
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
 * The lightness of RGB pixels into `out`, through pixel-kernels.wat: as many whole rows as a chunk
 * holds are copied into its memory side by side (a window's rows are apart in the image), sixteen
 * pixels a step, and back; the last pixels of a chunk short of sixteen here. The copies cost far
 * less than the pixel work in JavaScript.
 */
function lightnessOfRgb(
  { memory, lightness }: PixelKernels,
  { bytes, width, height, offset, stride }: PixelView,
  out: Uint8Array,
): void {
  const heap = new Uint8Array(memory.buffer)
  const rowBytes = width * 3
  const rowsPerChunk = Math.floor(CHUNK / width)
  for (let y0 = 0; y0 < height; y0 += rowsPerChunk) {
    const rows = Math.min(rowsPerChunk, height - y0)
    const start = offset + y0 * stride
    if (stride === rowBytes) heap.set(bytes.subarray(start, start + rows * rowBytes), 0)
    else
      for (let r = 0, from = start; r < rows; r++, from += stride)
        heap.set(bytes.subarray(from, from + rowBytes), r * rowBytes)
    const pixels = rows * width
    const whole = pixels - (pixels % 16)
    lightness(0, OUT_AT, whole / 16)
    out.set(heap.subarray(OUT_AT, OUT_AT + whole), y0 * width)
    for (let i = whole; i < pixels; i++)
      out[y0 * width + i] = lightnessOf(heap[3 * i]!, heap[3 * i + 1]!, heap[3 * i + 2]!)
  }
}
