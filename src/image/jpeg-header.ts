/**
 * The header of a plain JPEG read directly, without sharp: a batch of standard payloads spends a
 * third of a millisecond per input in sharp's metadata call (and a trip through libuv's thread
 * pool) for what a walk over a few marker segments gives. Only a plain file takes this path:
 * 8-bit baseline or progressive, 1 or 3 components, no APP1 segment (EXIF, which could carry an
 * orientation), every segment up to the scan well formed, quantisation and Huffman tables whose
 * sizes add up. Anything else returns undefined and is read by sharp as before.
 */

/** What rc2 uses from a header, named as sharp's metadata names it. */
export interface PlainJpegHeader {
  width: number
  height: number
  isProgressive: boolean
  space: 'srgb' | 'b-w'
}

const SOF_BASELINE = 0xc0
const SOF_EXTENDED = 0xc1
const SOF_PROGRESSIVE = 0xc2
const DHT = 0xc4
const SOS = 0xda
const DQT = 0xdb
const APP1 = 0xe1

export function readPlainJpegHeader(b: Buffer): PlainJpegHeader | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined
  let header: PlainJpegHeader | undefined
  let pos = 2
  while (pos + 4 <= b.length) {
    if (b[pos] !== 0xff) return undefined
    const marker = b[pos + 1] as number
    const length = b.readUInt16BE(pos + 2)
    const start = pos + 4
    const end = pos + 2 + length
    if (length < 2 || end > b.length) return undefined
    if (marker === SOS) return header
    if (marker === APP1) return undefined
    if (marker === SOF_BASELINE || marker === SOF_EXTENDED || marker === SOF_PROGRESSIVE) {
      if (header !== undefined) return undefined
      header = readFrame(b, start, end, marker === SOF_PROGRESSIVE)
      if (header === undefined) return undefined
    } else if (marker === DQT) {
      if (!quantTablesFit(b, start, end)) return undefined
    } else if (marker === DHT) {
      if (!huffmanTablesFit(b, start, end)) return undefined
    } else if (!(marker >= 0xe0 && marker <= 0xef) && marker !== 0xfe && marker !== 0xdd) {
      // Only APPn, COM and DRI besides the above; any other marker goes to sharp.
      return undefined
    }
    pos = end
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
