/**
 * The one walk over a JPEG's marker segments, shared by the header reader (jpeg-header.ts) and
 * the metadata stripper (jpeg-metadata.ts). Lazy: a reader that stops at the first scan never
 * looks past it.
 */

const SOI = 0xd8
export const EOI = 0xd9
export const SOS = 0xda
/** The other markers the readers name (SOFn frames, tables, APPn, COM, DRI). */
export const MARKER = {
  SOF_BASELINE: 0xc0,
  SOF_EXTENDED: 0xc1,
  SOF_PROGRESSIVE: 0xc2,
  DHT: 0xc4,
  DQT: 0xdb,
  DRI: 0xdd,
  APP0: 0xe0,
  APP1: 0xe1,
  APP2: 0xe2,
  APP14: 0xee,
  APP15: 0xef,
  COM: 0xfe,
} as const
/** The marker of the item that says the walk met bytes it cannot follow (no JPEG marker is negative). */
export const DAMAGED = -1
/** The marker of the item for a scan's entropy-coded data (after each SOS). */
export const SCAN_DATA = -2

export interface JpegSegment {
  /** The marker byte (SOS, APP1, ...), EOI, SCAN_DATA, or DAMAGED where the walk gave up. */
  marker: number
  /** Where the segment's 0xFF is (where a scan's data starts). */
  at: number
  /** Just past the segment (for EOI: past its two bytes). */
  end: number
}

/** Each marker segment after SOI, in order, up to EOI; a DAMAGED item ends a walk that cannot go on. */
export function* jpegSegments(b: Buffer): Generator<JpegSegment> {
  const damaged = { marker: DAMAGED, at: 0, end: 0 }
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) return yield damaged
  let pos = 2
  for (;;) {
    pos = skipFill(b, pos)
    if (pos + 2 > b.length || b[pos] !== 0xff) return yield damaged
    const marker = b[pos + 1] as number
    if (marker === EOI) return yield { marker, at: pos, end: pos + 2 }
    if (pos + 4 > b.length) return yield damaged
    const end = pos + 2 + b.readUInt16BE(pos + 2)
    if (end > b.length || end < pos + 4) return yield damaged
    yield { marker, at: pos, end }
    pos = end
    if (marker === SOS) {
      // Only when the reader goes on past the scan's header: a header reader stops there.
      const scanEnd = endOfScan(b, end)
      if (scanEnd === undefined) return yield damaged
      yield { marker: SCAN_DATA, at: end, end: scanEnd }
      pos = scanEnd
    }
  }
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
