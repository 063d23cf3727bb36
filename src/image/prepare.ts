/**
 * Turning any accepted input into the image the services expect: find the layout (standard
 * payload or detected capture), rebuild the 100/300/450 payload, encode it.
 */
import { extname } from 'node:path'
import { GRID_SIZE } from '../types.js'
import type { Grid, Rect, TileRect } from '../types.js'
import { UsageError } from '../errors.js'
import { detectLayout, gridForPayloadSize, payloadLayout } from './detect.js'
import { mimeOf, toBase64, writeImageFile } from './encode.js'
import type { OutputFormat } from './encode.js'
import { decodeImage, endsLikeWholeJpeg, readImageHeader } from './load.js'
import type { ImageFormat, ImageHeader, ImageSource, LoadedImage, LoadOptions } from './load.js'
import { stripJpegMetadata } from './jpeg-metadata.js'
import { encodePayload } from './tiles.js'
import { type PixelBudget, preparationBudget } from './pixel-budget.js'
import type { DetectHints, InputKind, Layout, PreparedImage } from './types.js'
import { detectReduced } from './reduced.js'

export interface LocateOptions extends LoadOptions {
  /** The grid from `--grid` or from the question sentence. */
  grid?: Grid | undefined
  gridSource?: 'flag' | 'sentence' | undefined
  /**
   * Decoded pixels and inputs in preparation at once, shared with other calls (default: the
   * process's, 48 MP and two inputs per core).
   */
  pixelBudget?: PixelBudget | undefined
}

export interface PrepareOptions extends LocateOptions {
  /** Encoding of the image sent (default jpeg). */
  format?: OutputFormat | undefined
  /** JPEG quality 1-100 (default 85). */
  quality?: number | undefined
}

export interface LocatedImage {
  image: LoadedImage
  layout: Layout
}

/** A JPEG at least this large is re-encoded even at a standard size (keeps requests small). */
const PASS_THROUGH_MAX_BYTES = 200 * 1024

/**
 * Load the input (unless already loaded) and find where the challenge is in it. An input read here
 * is decoded and searched in its turn of the pixel budget (a loaded one had its turn when loaded).
 */
export async function locateImage(
  source: ImageSource,
  options: LocateOptions,
): Promise<LocatedImage> {
  if (typeof source !== 'string' && !Buffer.isBuffer(source)) return locateLoaded(source, options)
  return inTurn(await readImageHeader(source, options), options, async (image) =>
    locateLoaded(image, options),
  )
}

function locateLoaded(image: LoadedImage, options: LocateOptions): LocatedImage {
  const layout =
    standardLayout(image, options) ??
    detectReduced(image.pixels, detectHints(options)) ??
    resolveLayout(image, options)
  return { image, layout }
}

/**
 * Decode the input in its turn of the pixel budget (its pixels within the limit, a turn free; the
 * header gave the size) and run `work` on it before the turn is given back.
 */
async function inTurn<T>(
  header: ImageHeader,
  options: LocateOptions,
  work: (image: LoadedImage) => Promise<T>,
): Promise<T> {
  const release = await (options.pixelBudget ?? preparationBudget).hold(
    header.width * header.height,
  )
  try {
    return await work(await decodeImage(header, options))
  } finally {
    release()
  }
}

/**
 * The layout of a loaded image. A standard payload size is authoritative: a `--grid` flag that
 * contradicts it is an error, while a grid read from the sentence yields to it (the same sentence
 * accompanies both the 300 px payload and the 100 px replacement tiles of a dynamic challenge).
 */
export function resolveLayout(image: LoadedImage, options: LocateOptions): Layout {
  return standardLayout(image, options) ?? detectLayout(image.pixels, detectHints(options))
}

function detectHints(options: LocateOptions): DetectHints {
  return { grid: options.grid, gridSource: options.gridSource, name: options.name }
}

/** The layout of a standard payload, known from its size alone; undefined for any other size. */
function standardLayout(image: ImageHeader, options: LocateOptions): Layout | undefined {
  const standard = gridForPayloadSize(image.width, image.height)
  if (standard === undefined) return undefined
  if (
    options.grid !== undefined &&
    options.grid !== standard &&
    options.gridSource !== 'sentence'
  ) {
    throw new UsageError(
      `--grid ${options.grid} conflicts with ${options.name}, a ${image.width}x${image.height} payload (${standard})`,
      { hint: `drop --grid (rc2 reads the grid from the payload size) or pass --grid ${standard}` },
    )
  }
  return payloadLayout(standard, image.width)
}

/** The prepared image with the bytes behind it and how they were made: what resize writes and reports. */
interface BuiltPayload {
  prepared: PreparedImage
  buffer: Buffer
  /** True when the input's own bytes are sent unchanged, less their metadata (EXIF, comments). */
  passThrough: boolean
  image: ImageHeader
}

/** Prepare `source` for a recognition service: standard size, bare base64, layout recorded. */
export async function prepareImage(
  source: ImageSource,
  options: PrepareOptions,
): Promise<PreparedImage> {
  return (await preparePayload(source, options)).prepared
}

async function preparePayload(source: ImageSource, options: PrepareOptions): Promise<BuiltPayload> {
  const quality = checkQuality(options.quality)
  const format = options.format ?? 'jpeg'
  if (typeof source !== 'string' && !Buffer.isBuffer(source))
    return buildPayload(source, options, format, quality)
  // The hot path: a payload that goes as it came (canPassThrough) is checked from its header and
  // sent unchanged, without decoding a pixel. Only a decode would find damage inside the JPEG
  // data itself (the service refuses such an image); a cut-off file is caught by its missing end
  // marker, and goes through the full decode below, which says what is wrong.
  const header = await readImageHeader(source, options)
  const standard = standardLayout(header, options)
  const sent =
    standard !== undefined &&
    canPassThrough(header, standard, format, quality) &&
    endsLikeWholeJpeg(header.buffer)
      ? stripJpegMetadata(header.buffer)
      : undefined
  if (standard !== undefined && sent !== undefined)
    return payloadOf(header, standard, sent, format, true, options.name)
  // Decoded, searched and rebuilt in the input's turn.
  return inTurn(header, options, (image) => buildPayload(image, options, format, quality))
}

/** Locate the challenge in a decoded image and encode the payload (or keep the input's bytes). */
async function buildPayload(
  source: LoadedImage,
  options: PrepareOptions,
  format: OutputFormat,
  quality: number | undefined,
): Promise<BuiltPayload> {
  const { image, layout } = await locateImage(source, options)
  // Sent as it came, less its metadata; re-encoded when that cannot be done without decoding.
  const kept = canPassThrough(image, layout, format, quality)
    ? stripJpegMetadata(image.buffer)
    : undefined
  const buffer = kept ?? (await encodePayload(image.pixels, layout, { format, quality })).buffer
  return payloadOf(image, layout, buffer, format, kept !== undefined, options.name)
}

function payloadOf(
  image: ImageHeader,
  layout: Layout,
  buffer: Buffer,
  format: OutputFormat,
  passThrough: boolean,
  name: string | undefined,
): BuiltPayload {
  const size = GRID_SIZE[layout.grid]
  const prepared: PreparedImage = {
    base64: toBase64(buffer),
    mime: mimeOf(format),
    bytes: buffer.length,
    grid: layout.grid,
    size,
    inputFormat: image.format,
    inputWidth: image.width,
    inputHeight: image.height,
    layout,
  }
  const warnings: string[] = []
  if (image.frames > 1) {
    const what =
      image.format === 'tiff'
        ? `has ${image.frames} pages: only the first page is used`
        : `is animated (${image.frames} frames): only the first frame is used`
    warnings.push(`${name ?? image.name} ${what}`)
  }
  const loading = loadingWarning(layout, name ?? image.name)
  if (loading !== undefined) warnings.push(loading)
  if (warnings.length > 0) prepared.warnings = warnings
  return { prepared, buffer, passThrough, image }
}

/** The warning for tiles that look still fading in, if any: their answer may be wrong. */
export function loadingWarning(layout: Layout, name: string): string | undefined {
  const loading = layout.loading ?? []
  if (loading.length === 0) return undefined
  const tiles = `${loading.length === 1 ? 'tile' : 'tiles'} ${loading.join(', ')}`
  return `${name}: ${tiles} ${loading.length === 1 ? 'looks' : 'look'} still loading (pale or blank); capture again once ${loading.length === 1 ? 'it has' : 'they have'} faded in`
}

/**
 * A standard-size baseline sRGB JPEG with no orientation to apply is sent as it came (less its
 * metadata, jpeg-metadata.ts): it is what the page served, and re-encoding would only lose detail.
 * Anything else is re-encoded by sharp, which writes no metadata (a PNG is never sent as it is).
 */
function canPassThrough(
  image: ImageHeader,
  layout: Layout,
  format: OutputFormat,
  quality: number | undefined,
): boolean {
  const size = GRID_SIZE[layout.grid]
  return (
    format === 'jpeg' &&
    quality === undefined &&
    image.format === 'jpeg' &&
    image.width === size &&
    image.height === size &&
    image.orientation === 1 &&
    !image.progressive &&
    (image.space === 'srgb' || image.space === 'b-w') &&
    image.bytes <= PASS_THROUGH_MAX_BYTES
  )
}

function checkQuality(quality: number | undefined): number | undefined {
  if (quality === undefined) return undefined
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) {
    throw new UsageError(`--quality must be a whole number from 1 to 100, got ${String(quality)}`, {
      hint: 'leave it out for the default (85)',
    })
  }
  return quality
}

/** What `rc2 resize --json` prints about one written image. */
export interface ResizeResult {
  input: string
  output: string
  kind: InputKind
  grid: Grid
  /** Side in pixels of the image written. */
  size: number
  format: OutputFormat
  bytes: number
  /** True when the input's bytes were written unchanged, less their metadata (a standard JPEG payload). */
  passThrough: boolean
  inputFormat: ImageFormat
  inputWidth: number
  inputHeight: number
  /** Bounding box of the tiles in the input. */
  crop: Rect
  /** Each tile's rectangle in the input, without gutters. */
  tiles: TileRect[]
}

/**
 * Prepare `source` and write it to `out`. The format comes from `options.format`, else from the
 * extension of `out` (.png, .jpg/.jpeg), else JPEG.
 */
export async function resizeToFile(
  source: ImageSource,
  out: string,
  options: PrepareOptions,
): Promise<ResizeResult> {
  const format = chooseOutputFormat(out, options.format)
  const { prepared, buffer, passThrough, image } = await preparePayload(source, {
    ...options,
    format,
  })
  await writeImageFile(out, buffer, '-o')
  const { layout } = prepared
  return {
    input: options.name,
    output: out,
    kind: layout.kind,
    grid: layout.grid,
    size: prepared.size,
    format,
    bytes: prepared.bytes,
    passThrough,
    inputFormat: image.format,
    inputWidth: image.width,
    inputHeight: image.height,
    crop: layout.crop,
    tiles: layout.tiles,
  }
}

/** Output format for `out`; an extension that says otherwise than --format is refused. */
export function chooseOutputFormat(out: string, format: OutputFormat | undefined): OutputFormat {
  const extension = extname(out).toLowerCase()
  const fromName: OutputFormat | undefined =
    extension === '.png'
      ? 'png'
      : extension === '.jpg' || extension === '.jpeg'
        ? 'jpeg'
        : undefined
  if (format !== undefined && fromName !== undefined && format !== fromName) {
    throw new UsageError(
      `-o ${out} names a ${fromName.toUpperCase()} file but --format is ${format}`,
      {
        hint: `name the file .${format === 'png' ? 'png' : 'jpg'} or drop --format`,
      },
    )
  }
  if (format === undefined && fromName === undefined && extension !== '') {
    throw new UsageError(`-o ${out}: rc2 resize writes JPEG or PNG, not ${extension}`, {
      hint: 'name the file .jpg or .png, or pass --format jpeg|png',
    })
  }
  return format ?? fromName ?? 'jpeg'
}
