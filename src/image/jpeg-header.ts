/**
 * The header of a plain JPEG read directly, without sharp: a batch of standard payloads spends a
 * third of a millisecond per input in sharp's metadata call (and a trip through libuv's thread
 * pool) for what a walk over a few marker segments gives. Only a plain file takes this path:
 * 8-bit baseline or progressive, 1 or 3 components, no APP1 segment (EXIF, which could carry an
 * orientation), every segment up to the scan well formed, quantisation and Huffman tables whose
 * sizes add up. Anything else returns undefined and is read by sharp as before.
 */
import { DAMAGED, EOI, jpegSegments, MARKER, SOS } from './jpeg-segments.js'

/** What rc2 uses from a header, named as sharp's metadata names it. */
export interface PlainJpegHeader {
  width: number
  height: number
  isProgressive: boolean
  space: 'srgb' | 'b-w'
}

const { SOF_BASELINE, SOF_EXTENDED, SOF_PROGRESSIVE, DHT, DQT, DRI, APP0, APP1, APP15, COM } =
  MARKER

export function readPlainJpegHeader(b: Buffer): PlainJpegHeader | undefined {
  let header: PlainJpegHeader | undefined
  for (const { marker, at, end } of jpegSegments(b)) {
    const start = at + 4
    if (marker === SOS) return header
    if (marker === APP1 || marker === DAMAGED || marker === EOI) return undefined
    if (marker === SOF_BASELINE || marker === SOF_EXTENDED || marker === SOF_PROGRESSIVE) {
      if (header !== undefined) return undefined
      header = readFrame(b, start, end, marker === SOF_PROGRESSIVE)
      if (header === undefined) return undefined
    } else if (marker === DQT) {
      if (!quantTablesFit(b, start, end)) return undefined
    } else if (marker === DHT) {
      if (!huffmanTablesFit(b, start, end)) return undefined
    } else if (!(marker >= APP0 && marker <= APP15) && marker !== COM && marker !== DRI) {
      // Only APPn, COM and DRI besides the above; any other marker goes to sharp.
      return undefined
    }
  }
  return undefined
}

function readFrame(
  b: Buffer,
  start: number,
  end: number,
  progressive: boolean,
): PlainJpegHeader | undefined {
  if (end - start < 6) return undefined
  const precision = b[start]
  const height = b.readUInt16BE(start + 1)
  const width = b.readUInt16BE(start + 3)
  const components = b[start + 5] as number
  if (precision !== 8 || width === 0 || height === 0) return undefined
  if ((components !== 1 && components !== 3) || end - start !== 6 + 3 * components) return undefined
  return { width, height, isProgressive: progressive, space: components === 1 ? 'b-w' : 'srgb' }
}

function quantTablesFit(b: Buffer, start: number, end: number): boolean {
  let pos = start
  while (pos < end) {
    const spec = b[pos] as number
    if (spec >> 4 > 1 || (spec & 15) > 3) return false
    pos += 1 + 64 * ((spec >> 4) + 1)
  }
  return pos === end && end > start
}

function huffmanTablesFit(b: Buffer, start: number, end: number): boolean {
  let pos = start
  while (pos < end) {
    const spec = b[pos] as number
    if (spec >> 4 > 1 || (spec & 15) > 3 || pos + 17 > end) return false
    let count = 0
    for (let k = 1; k <= 16; k++) count += b[pos + k] as number
    if (count > 256) return false
    pos += 17 + count
  }
  return pos === end && end > start
}
