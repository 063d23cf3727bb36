/**
 * Reading an input image: file checks, format sniffing by content, size and pixel caps, one decode
 * to 8-bit sRGB pixels with EXIF orientation applied. Everything later works from those pixels.
 */
import { stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import type SharpModule from 'sharp'
import type { Metadata, Sharp } from 'sharp'
import { InputError, readFailure } from '../errors.js'
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS } from '../limits.js'
import { readPlainJpegHeader } from './jpeg-header.js'
import { readFileBounded } from './read.js'
import type { RawImage } from './types.js'

const requireCommonJs = createRequire(import.meta.url)
let sharpModule: typeof SharpModule | undefined

/**
 * sharp, loaded on first use: a batch of standard JPEG payloads is checked from their headers and
 * never needs libvips (about 30 ms of CPU and its threads saved per run). Through its CommonJS
 * entry: the ES module one imports its package.json as a JSON module, which Node before 20.18
 * reports as experimental on stderr in every command that reads an image.
 */
export function loadSharp(): typeof SharpModule {
  if (sharpModule === undefined) {
    sharpModule = requireCommonJs('sharp') as typeof SharpModule
    // rc2 never runs the same operation on the same image twice, so libvips's operation cache (up
    // to 50 MB by default) only holds memory: a batch's peak would grow with it for no gain.
    sharpModule.cache(false)
  }
  return sharpModule
}

/** Formats rc2 reads, as sniffed from the first bytes. */
export type ImageFormat = 'png' | 'jpeg' | 'webp' | 'gif' | 'tiff' | 'avif' | 'heif'

export interface LoadOptions {
  /** The input's name for messages (file path or "stdin"). */
  name: string
  /** Largest accepted file, in bytes (default 25 MB). */
  maxBytes?: number | undefined
  /** Largest accepted decoded size, width x height (default 40 megapixels). */
  maxPixels?: number | undefined
}

/** What the file and its header say, before any pixel is decoded. */
export interface ImageHeader {
  name: string
  /** The input exactly as read (used for byte-for-byte pass-through). */
  buffer: Buffer
  /** Encoded size of the input. */
  bytes: number
  format: ImageFormat
  /** Size after EXIF orientation. */
  width: number
  height: number
  /** EXIF orientation tag (1 when absent). */
  orientation: number
  progressive: boolean
  /** Colour space of the encoded input as libvips names it (srgb, b-w, cmyk, ...). */
  space: string
  /** Frames in the file (an animated WebP or GIF has more than one; only the first is used). */
  frames: number
  /** Whether the file has an alpha channel. */
  hasAlpha: boolean
}

export interface LoadedImage extends ImageHeader {
  /** Decoded pixels: 8-bit sRGB, 3 channels, alpha flattened onto white, orientation applied. */
  pixels: RawImage
}

/** Anything the image functions accept: a path, the file's bytes, or an image already loaded. */
export type ImageSource = string | Buffer | LoadedImage

const ACCEPTED = 'pass a PNG, JPEG, WebP, GIF, TIFF or AVIF file'

/** Load `source` unless it already is a loaded image. */
export async function resolveSource(
  source: ImageSource,
  options: LoadOptions,
): Promise<LoadedImage> {
  if (typeof source === 'string' || Buffer.isBuffer(source)) return loadImage(source, options)
  return source
}

export async function loadImage(
  source: string | Buffer,
  options: LoadOptions,
): Promise<LoadedImage> {
  return decodeImage(await readImageHeader(source, options), options)
}

/** Read the input (a path or its bytes) and its header: format, size, orientation, no pixels. */
export async function readImageHeader(
  source: string | Buffer,
  options: LoadOptions,
): Promise<ImageHeader> {
  const { name } = options
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS
  const buffer = typeof source === 'string' ? await readInputFile(source, name, maxBytes) : source
  checkByteSize(buffer.length, name, maxBytes)

  const format = sniffFormat(buffer, name)
  // Header only (no pixel decode), so an oversized image is refused before any memory is spent.
  const meta = await readHeader(buffer, name, format)
  const orientation = meta.orientation ?? 1
  const rotated = orientation >= 5
  const width = rotated ? meta.height : meta.width
  const height = rotated ? meta.width : meta.height
  if (width * height > maxPixels) {
    throw new InputError(
      `${name} is ${width}x${height} (${formatMegapixels(width * height)} megapixels), over the ${formatMegapixels(maxPixels)}-megapixel limit`,
      { hint: 'crop or scale the screenshot down to the part with the challenge' },
    )
  }
  return {
    name,
    buffer,
    bytes: buffer.length,
    format,
    width,
    height,
    orientation,
    progressive: meta.isProgressive === true,
    space: meta.space ?? 'srgb',
    frames: meta.pages ?? 1,
    hasAlpha: meta.hasAlpha === true,
  }
}

/** Decode a read image to pixels (8-bit sRGB, orientation applied); the file is not read again. */
export async function decodeImage(header: ImageHeader, options: LoadOptions): Promise<LoadedImage> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS
  const pixels = await decodePixels(header.buffer, header.name, maxPixels)
  // Flattened onto white, a fully transparent image would be sent as a blank white square.
  if (header.hasAlpha && isAllWhite(pixels) && (await alphaMax(header.buffer, maxPixels)) === 0) {
    throw new InputError(
      `${header.name} is fully transparent: there is nothing in it to recognise`,
      {
        hint: 'capture the challenge again (a transparent screenshot usually missed the page)',
      },
    )
  }
  return { ...header, width: pixels.width, height: pixels.height, pixels }
}

/**
 * True when a JPEG's data ends with its end-of-image marker, as a whole file does. A truncated
 * download does not, and goes through a full decode, which names the damage.
 */
export function endsLikeWholeJpeg(buffer: Buffer): boolean {
  return (
    buffer.length >= 4 && buffer[buffer.length - 2] === 0xff && buffer[buffer.length - 1] === 0xd9
  )
}

async function readInputFile(path: string, name: string, maxBytes: number): Promise<Buffer> {
  try {
    const info = await stat(path)
    if (info.isDirectory()) {
      throw new InputError(`${name} is a directory, not an image file`, {
        hint: 'pass the image files inside it (rc2 solve also accepts a directory)',
      })
    }
    return await readFileBounded(path, name, maxBytes)
  } catch (error) {
    if (error instanceof InputError) throw error
    throw describeFileError(error, name)
  }
}

export function describeFileError(error: unknown, name: string): InputError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (readFailure(error)) {
    case 'missing':
      return new InputError(`${name} does not exist`, {
        hint: 'check the path and spelling',
        cause: error,
      })
    case 'denied':
      return new InputError(`${name} cannot be read (permission denied)`, {
        hint: 'check the file permissions (chmod +r) or run as a user who can read it',
        cause: error,
      })
    case 'directory':
      return new InputError(`${name} is a directory, not an image file`, {
        hint: 'pass the image files inside it',
        cause: error,
      })
    default:
      return new InputError(`${name} cannot be read (${code ?? 'unknown error'})`, {
        hint: 'check that the file exists and is readable',
        cause: error,
      })
  }
}

function checkByteSize(size: number, name: string, maxBytes: number): void {
  if (size === 0) {
    throw new InputError(`${name} is empty (0 bytes)`, {
      hint: 'the download or screenshot probably failed; save the image again',
    })
  }
  if (size > maxBytes) {
    throw new InputError(
      `${name} is ${formatMegabytes(size)} MB, over the ${formatMegabytes(maxBytes)} MB limit`,
      {
        hint: 'pass the challenge image or a screenshot, not a larger file',
      },
    )
  }
}

/**
 * Identify the format from the magic bytes. The extension is ignored on purpose: images saved from
 * a page often carry the wrong one (JPEG bytes named .png).
 */
export function sniffFormat(buffer: Buffer, name: string): ImageFormat {
  const b = buffer
  if (b.length >= 8 && b.readUInt32BE(0) === 0x89504e47 && b.readUInt32BE(4) === 0x0d0a1a0a)
    return 'png'
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg'
  if (b.length >= 6 && /^GIF8[79]a$/.test(b.toString('latin1', 0, 6))) return 'gif'
  if (
    b.length >= 12 &&
    b.toString('latin1', 0, 4) === 'RIFF' &&
    b.toString('latin1', 8, 12) === 'WEBP'
  )
    return 'webp'
  if (b.length >= 4 && /^(II\*\0|MM\0\*)$/.test(b.toString('latin1', 0, 4))) return 'tiff'
  if (b.length >= 12 && b.toString('latin1', 4, 8) === 'ftyp') {
    const brand = b.toString('latin1', 8, 12)
    if (brand === 'avif' || brand === 'avis') return 'avif'
    if (/^(heic|heix|heim|heis|hevc|hevx|mif1|msf1)$/.test(brand)) return 'heif'
  }
  throw new InputError(`${name} is not an image (it looks like ${guessContent(b)}); ${ACCEPTED}`, {
    hint: 'check that the file is the challenge image or a screenshot of it',
  })
}

/** A few words on what a non-image file seems to be, for the error message. */
function guessContent(b: Buffer): string {
  const head = b.toString('latin1', 0, Math.min(b.length, 1024))
  if (/<svg[\s>]/i.test(head)) return 'an SVG drawing, which rc2 does not rasterise'
  if (head.startsWith('%PDF')) return 'a PDF document'
  if (head.startsWith('BM')) return 'a BMP image, which rc2 does not read'
  if (b.length >= 4 && b.readUInt32BE(0) === 0x00000100) return 'an ICO icon'
  if (head.startsWith('PK\x03\x04')) return 'a ZIP archive'
  if (head.startsWith('\x1f\x8b')) return 'gzip-compressed data'
  if (/^\s*</.test(head)) return 'HTML or XML'
  if (isMostlyText(b.subarray(0, 1024))) return 'text'
  return 'binary data of an unknown kind'
}

function isMostlyText(sample: Buffer): boolean {
  let printable = 0
  for (const byte of sample) {
    if (byte === 9 || byte === 10 || byte === 13 || byte >= 32) printable++
  }
  return sample.length > 0 && printable / sample.length > 0.95 && !sample.includes(0)
}

/** The parts of a header rc2 uses, as sharp's metadata names them. */
type HeaderFields = Pick<
  Metadata,
  'orientation' | 'isProgressive' | 'space' | 'pages' | 'hasAlpha'
> & { width: number; height: number }

async function readHeader(
  buffer: Buffer,
  name: string,
  format: ImageFormat,
): Promise<HeaderFields> {
  const plain = format === 'jpeg' ? readPlainJpegHeader(buffer) : undefined
  if (plain !== undefined) return { ...plain, hasAlpha: false }
  // Loaded outside the try: sharp failing to load is a broken install, not a damaged header.
  const sharp = loadSharp()
  try {
    const meta = await sharp(buffer, { limitInputPixels: false }).metadata()
    if (!meta.width || !meta.height) throw new Error('no dimensions in the header')
    return { ...meta, width: meta.width, height: meta.height }
  } catch (error) {
    if (format === 'heif') {
      throw new InputError(
        `${name} is a HEIC/HEIF image, which rc2 cannot decode (only AVIF of that family)`,
        {
          hint: 'convert it to PNG or JPEG first',
          cause: error,
        },
      )
    }
    throw new InputError(
      `${name} looks like a ${format.toUpperCase()} file but its header is damaged`,
      {
        hint: 'save or download the image again',
        cause: error,
      },
    )
  }
}

async function decodePixels(buffer: Buffer, name: string, maxPixels: number): Promise<RawImage> {
  const sharp = loadSharp()
  try {
    // failOn 'error' aborts on truncated or corrupt data (instead of grey filler) but tolerates
    // benign warnings such as extra bytes after the image.
    const { data, info } = await sharp(buffer, {
      failOn: 'error',
      limitInputPixels: maxPixels,
      autoOrient: true,
    })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true })
    return {
      // A plain Uint8Array over the same bytes: detection and tile joining take thousands of row
      // views, and a Buffer's subarray costs several times a typed array's.
      data: new Uint8Array(data.buffer, data.byteOffset, data.length),
      width: info.width,
      height: info.height,
      channels: info.channels as RawImage['channels'],
    }
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    const truncated = /premature end|truncat|read error|unexpected end|not enough/i.test(detail)
    throw new InputError(
      truncated
        ? `${name} is truncated or damaged (the image data ends early)`
        : `${name} could not be decoded (${firstLine(detail)})`,
      {
        hint: 'save or download the image again; a partial download looks like this',
        cause: error,
      },
    )
  }
}

/** Every pixel pure white; stops at the first that is not (so a real image costs almost nothing). */
function isAllWhite(pixels: RawImage): boolean {
  const { data } = pixels
  for (let i = 0; i < data.length; i++) if (data[i] !== 255) return false
  return true
}

/** The largest alpha value in the image (a second decode, only for an all-white result). */
async function alphaMax(buffer: Buffer, maxPixels: number): Promise<number> {
  const stats = await loadSharp()(buffer, { limitInputPixels: maxPixels }).stats()
  return stats.channels.at(-1)?.max ?? 255
}

/** A sharp pipeline reading decoded pixels (no second decode of the input). */
export function openPixels(pixels: RawImage): Sharp {
  return loadSharp()(pixels.data, {
    raw: { width: pixels.width, height: pixels.height, channels: pixels.channels },
  })
}

function firstLine(text: string): string {
  return (text.split('\n')[0] ?? text).trim()
}

function formatMegabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')
}

function formatMegapixels(pixels: number): string {
  const megapixels = pixels / 1_000_000
  if (megapixels < 1) return String(Number(megapixels.toPrecision(2)))
  return megapixels.toFixed(1).replace(/\.0$/, '')
}
