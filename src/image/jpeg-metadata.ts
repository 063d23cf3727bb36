/**
 * A JPEG sent as it came carries whatever its maker put in it: EXIF (a GPS position, a camera
 * serial, an author), XMP, IPTC, comments, thumbnails. The service needs none of it. This drops
 * those segments from the byte stream, without decoding, so the picture itself stays bit for bit
 * what it was: the tables, the frame, the scans and restart markers are copied unchanged.
 *
 * Kept: APP0 when it is JFIF (its thumbnail cut out), APP14 when it is Adobe's (it says whether
 * the three components are YCbCr or RGB, which changes every decoded pixel), and every segment
 * that is not APPn or COM. Dropped: APP1..APP13, APP15, COM, a JFXX APP0, and bytes after the end
 * marker. An ICC profile (APP2) changes the colours a colour-managed decoder shows, so a JPEG that
 * has one is not stripped: undefined tells the caller to re-encode it (sharp converts it to sRGB
 * and writes no metadata). So is anything this walk does not understand.
 */

const SOI = 0xd8
const EOI = 0xd9
const SOS = 0xda
const APP0 = 0xe0
const APP2 = 0xe2
const APP14 = 0xee
const APP15 = 0xef
const COM = 0xfe

/** The JPEG without its metadata (the same Buffer when there is none), or undefined to re-encode. */
export function stripJpegMetadata(b: Buffer): Buffer | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) return undefined
  const kept: Buffer[] = [b.subarray(0, 2)]
  let changed = false
  let pos = 2
  for (;;) {
    pos = skipFill(b, pos)
    if (pos + 2 > b.length || b[pos] !== 0xff) return undefined
    const marker = b[pos + 1] as number
    if (marker === EOI) {
      kept.push(b.subarray(pos, pos + 2))
      if (pos + 2 !== b.length) changed = true
      break
    }
    if (pos + 4 > b.length) return undefined
    const end = pos + 2 + b.readUInt16BE(pos + 2)
    if (end > b.length || end < pos + 4) return undefined
    const segment = b.subarray(pos, end)
    const decision = decide(marker, segment)
    if (decision === 'reencode') return undefined
    if (decision === 'keep') kept.push(segment)
    else {
      if (decision !== 'drop') kept.push(decision)
      changed = true
    }
    pos = end
    if (marker === SOS) {
      const scanEnd = endOfScan(b, pos)
      if (scanEnd === undefined) return undefined
      kept.push(b.subarray(pos, scanEnd))
      pos = scanEnd
    }
  }
  return changed ? Buffer.concat(kept) : b
}

/** What to do with one marker segment: keep it, drop it, keep this shorter copy, or give up. */
function decide(marker: number, segment: Buffer): 'keep' | 'drop' | 'reencode' | Buffer {
  if (marker === COM) return 'drop'
  if (marker < APP0 || marker > APP15) return 'keep'
  if (marker === APP0) return isLabelled(segment, 'JFIF\0') ? withoutJfifThumbnail(segment) : 'drop'
  if (marker === APP2 && isLabelled(segment, 'ICC_PROFILE\0')) return 'reencode'
  if (marker === APP14 && isLabelled(segment, 'Adobe')) return 'keep'
  return 'drop'
}

function isLabelled(segment: Buffer, label: string): boolean {
  return segment.subarray(4, 4 + label.length).toString('latin1') === label
}

/** JFIF's fixed 16 bytes, with no thumbnail (its pixels are a second, smaller copy of the picture). */
function withoutJfifThumbnail(segment: Buffer): 'keep' | 'drop' | Buffer {
  if (segment.length < 18) return 'drop'
  if (segment.length === 18) return 'keep'
  const copy = Buffer.from(segment.subarray(0, 18))
  copy.writeUInt16BE(16, 2)
  copy[16] = 0
  copy[17] = 0
  return copy
}

/** Fill bytes: any number of 0xFF may come before a marker's own 0xFF. */
function skipFill(b: Buffer, pos: number): number {
  let at = pos
  while (at + 1 < b.length && b[at] === 0xff && b[at + 1] === 0xff) at++
  return at
}

/**
 * Where a scan's entropy-coded data ends: at the first marker that is not a stuffed 0xFF00 or a
 * restart marker (RST0..RST7, part of the scan).
 */
function endOfScan(b: Buffer, from: number): number | undefined {
  let at = from
  for (;;) {
    at = b.indexOf(0xff, at)
    if (at === -1 || at + 1 >= b.length) return undefined
    const next = b[at + 1] as number
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7) || next === 0xff) at += 1
    else return at
  }
}
