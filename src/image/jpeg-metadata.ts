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
import { DAMAGED, EOI, jpegSegments, MARKER, SCAN_DATA } from './jpeg-segments.js'

const { APP0, APP2, APP14, APP15, COM } = MARKER

/** The JPEG without its metadata (the same Buffer when there is none), or undefined to re-encode. */
export function stripJpegMetadata(b: Buffer): Buffer | undefined {
  const kept: Buffer[] = [b.subarray(0, 2)]
  let changed = false
  for (const { marker, at, end } of jpegSegments(b)) {
    if (marker === DAMAGED) return undefined
    const segment = b.subarray(at, end)
    if (marker === EOI) {
      kept.push(segment)
      if (end !== b.length) changed = true
      break
    }
    const decision = marker === SCAN_DATA ? 'keep' : decide(marker, segment)
    if (decision === 'reencode') return undefined
    if (decision === 'keep') kept.push(segment)
    else {
      if (decision !== 'drop') kept.push(decision)
      changed = true
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
