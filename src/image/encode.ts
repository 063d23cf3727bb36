/** Encoding the prepared pixels for the services (JPEG by default, PNG on request). */
import type { JpegOptions, Sharp } from 'sharp'
import { writeFailure } from '../errors.js'
import type { RawImage } from './types.js'
import { openPixels } from './load.js'
import { writeFileNoFollow } from './write.js'

export type OutputFormat = 'jpeg' | 'png'

/**
 * Default JPEG quality. On payloads composed from real reCAPTCHA tiles, q 85 keeps the mean
 * error about 2.5 grey levels (worst tile about 5) for a 300 px request of about 39 kB of base64,
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
  return encodePipeline(openPixels(pixels), options)
}

/** Encode what `pipeline` makes (the pixels, or a scaling of them: one sharp pipeline for both). */
export async function encodePipeline(
  pipeline: Sharp,
  options: EncodeOptions = {},
): Promise<EncodedImage> {
  const format = options.format ?? 'jpeg'
  if (format === 'png') {
    const buffer = await pipeline.png({ compressionLevel: 9, adaptiveFiltering: true }).toBuffer()
    return { buffer, mime: 'image/png', format }
  }
  const buffer = await pipeline
    .jpeg(jpegOptions(options.quality ?? DEFAULT_JPEG_QUALITY))
    .toBuffer()
  return { buffer, mime: 'image/jpeg', format }
}

/**
 * Measured on payloads composed from real reCAPTCHA tiles: at equal request size, mozjpeg's
 * trellis/table-3 preset and 4:2:0 at a higher quality give the same pixel error as plain 4:4:4,
 * so the simplest encoder wins: baseline (what the challenge pages serve), standard tables,
 * optimised Huffman codes, and full-resolution chroma, which keeps small coloured objects (traffic
 * lights, hydrants) from bleeding across the 100 px tiles.
 */
function jpegOptions(quality: number): JpegOptions {
  return {
    quality: Math.round(quality),
    chromaSubsampling: '4:4:4',
    progressive: false,
    optimiseCoding: true,
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
