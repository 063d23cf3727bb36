/** Encoding the prepared pixels for the services (JPEG by default, PNG on request). */
import type { JpegOptions, Sharp } from 'sharp'
import { writeFailure } from '../errors.js'
import type { RawImage } from './types.js'
import { openPixels } from './load.js'
import { writeFileNoFollow } from './write.js'

export type OutputFormat = 'jpeg' | 'png'

/**
 * Default JPEG quality. On payloads composed from real reCAPTCHA tiles, q 85 keeps the mean
 * error about 2.5 grey levels (worst tile about 5) for a 300 px request of about 38-40 kB of base64,
 * 40% less than q 95; the tiles themselves arrive as JPEG-grade images, so more buys nothing.
 */
const DEFAULT_JPEG_QUALITY = 85

export interface EncodeOptions {
  format?: OutputFormat | undefined
  /** JPEG quality 1-100 (default DEFAULT_JPEG_QUALITY); ignored for PNG. */
  quality?: number | undefined
}

export interface EncodedImage {
  buffer: Buffer
  mime: 'image/jpeg' | 'image/png'
  format: OutputFormat
}

export async function encodeImage(
  pixels: RawImage,
  options: EncodeOptions = {},
): Promise<EncodedImage> {
  return encodePipeline(openPixels(pixels), pixels.width * pixels.height, options)
}

/**
 * Encode what `pipeline` makes, `pixels` of them (the pixels, or a scaling of them: one sharp
 * pipeline for both).
 */
export async function encodePipeline(
  pipeline: Sharp,
  pixels: number,
  options: EncodeOptions = {},
): Promise<EncodedImage> {
  const format = options.format ?? 'jpeg'
  if (format === 'png') {
    const buffer = await pipeline.png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer()
    return { buffer, mime: 'image/png', format }
  }
  const buffer = await pipeline
    .jpeg(jpegOptions(options.quality ?? DEFAULT_JPEG_QUALITY, pixels))
    .toBuffer()
  return { buffer, mime: 'image/jpeg', format }
}

/** Up to this many pixels, a 100 px tile, the JPEG's Huffman codes are optimised. */
const OPTIMISE_UP_TO = 100 * 100

/**
 * Measured on payloads composed from real reCAPTCHA tiles: at equal request size, mozjpeg's
 * trellis/table-3 preset and 4:2:0 at a higher quality give the same pixel error as plain 4:4:4,
 * so the simplest encoder wins: baseline (what the challenge pages serve), standard tables, and
 * full-resolution chroma, which keeps small coloured objects (traffic lights, hydrants) from
 * bleeding across the 100 px tiles. Huffman codes optimised for a tile (OPTIMISE_UP_TO), the
 * standard ones for a larger payload: the optimising pass is a second one over the picture, 1.2 ms
 * of a 300 px payload's 2.7 for 2-6% fewer bytes, and a batch of screenshots is bound by preparing
 * them (the services charge per call, not per byte); on a 100 px tile it costs a tenth of that
 * and saves 11%.
 */
function jpegOptions(quality: number, pixels: number): JpegOptions {
  return {
    quality: Math.round(quality),
    chromaSubsampling: '4:4:4',
    progressive: false,
    optimiseCoding: pixels <= OPTIMISE_UP_TO,
  }
}

/** Bare base64, as the services want it (no data: prefix). */
export function toBase64(buffer: Buffer): string {
  return buffer.toString('base64')
}

export function mimeOf(format: OutputFormat): 'image/jpeg' | 'image/png' {
  return format === 'png' ? 'image/png' : 'image/jpeg'
}

/**
 * Write an output file; a failure is the user's path choice, named with the flag that set it
 * (writeFailure: exit 2). A missing directory is not created here: a file target's directory must
 * exist, and a directory target was made by whoever chose it (prepareOutputTarget, --split).
 */
export async function writeImageFile(path: string, buffer: Buffer, flag: string): Promise<void> {
  try {
    // Temporary file + rename: a link planted at the name is refused, never written through.
    await writeFileNoFollow(path, buffer)
  } catch (error) {
    throw writeFailure(flag, path, error)
  }
}
