/**
 * The lightness mask grid detection starts from: one byte a pixel, luma capped near the smallest
 * channel. The per-pixel work runs in WebAssembly (pixel-kernels.wat) for RGB, the common case.
 */
import { type PixelKernels, pixelKernels } from './pixel-kernels.js'
import type { RawImage } from './types.js'

/** Lightness: luma, capped near the smallest channel so saturated yellows and cyans do not count as white. */
export function computeLightness(image: RawImage): Uint8Array {
  const { data, width, height, channels } = image
  const count = width * height
  // The module copies what the size says it holds: a short buffer would read the last image's pixels.
  if (data.length < count * channels)
    throw new RangeError(`${width}x${height}x${channels} pixels in ${data.length} bytes`)
  const out = new Uint8Array(count)
  const kernels = channels === 3 && count >= 16 ? pixelKernels() : undefined
  if (kernels !== undefined) {
    lightnessOfRgb(kernels, data, count, out)
  } else if (channels >= 3) {
    for (let i = 0, p = 0; i < count; i++, p += channels)
      out[i] = lightnessOf(data[p]!, data[p + 1]!, data[p + 2]!)
  } else {
    for (let i = 0, p = 0; i < count; i++, p += channels) out[i] = data[p]!
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
 * The lightness of `count` RGB pixels into `out`, through pixel-kernels.wat: sixteen pixels per step,
 * a chunk at a time copied into its memory and back (the copies cost far less than the pixel work
 * in JavaScript); the last pixels short of sixteen here.
 */
function lightnessOfRgb(
  { memory, lightness }: PixelKernels,
  data: Uint8Array,
  count: number,
  out: Uint8Array,
): void {
  const heap = new Uint8Array(memory.buffer)
  const whole = count - (count % 16)
  for (let from = 0; from < whole; from += CHUNK) {
    const pixels = Math.min(CHUNK, whole - from)
    heap.set(data.subarray(from * 3, (from + pixels) * 3), 0)
    lightness(0, OUT_AT, pixels / 16)
    out.set(heap.subarray(OUT_AT, OUT_AT + pixels), from)
  }
  for (let i = whole, p = i * 3; i < count; i++, p += 3)
    out[i] = lightnessOf(data[p]!, data[p + 1]!, data[p + 2]!)
}
