/**
 * The image layer in one import, for tests and readers. rc2's own modules import the file they
 * need instead, so that a command loads only what it uses (sharp only when an image is touched).
 */
export { loadImage, sniffFormat, DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS } from './load.js'
export type { ImageFormat, ImageSource, LoadedImage, LoadOptions } from './load.js'
export { encodeImage, toBase64, DEFAULT_JPEG_QUALITY } from './encode.js'
export type { EncodeOptions, EncodedImage, OutputFormat } from './encode.js'
export {
  prepareImage,
  locateImage,
  resolveLayout,
  resizeToFile,
  chooseOutputFormat,
} from './prepare.js'
export type { LocateOptions, LocatedImage, PrepareOptions, ResizeResult } from './prepare.js'
export { rebuildPayload, splitTiles, cellEdges, cellRect } from './tiles.js'
export type { SplitOptions, SplitTile } from './tiles.js'
export {
  renderAnnotated,
  renderOverlay,
  measureTileMarks,
  MARK_COLOUR,
  OVERLAY_COLOUR,
  CROP_COLOUR,
} from './annotate.js'
export type { AnnotateOptions, TileMarkGeometry } from './annotate.js'
export { detectLayout, gridForPayloadSize, payloadLayout } from './detect.js'
export type { DetectHints, InputKind, Layout, PreparedImage, RawImage } from './types.js'
