/**
 * Metadata dropped from a JPEG without decoding it: each case is a real sharp-made JPEG with
 * segments planted as a camera or an editor would write them, checked on decoded pixels.
 */
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { stripJpegMetadata } from '../../src/image/jpeg-metadata.js'
import { prepareImage } from '../../src/image/prepare.js'

const PAYLOAD = join(import.meta.dirname, '../../fixtures/payload-3x3.png')

let plain: Buffer

beforeAll(async () => {
  plain = await sharp(PAYLOAD).jpeg({ quality: 90 }).toBuffer()
})

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0])
  head.writeUInt16BE(payload.length + 2, 2)
  return Buffer.concat([head, payload])
}

/** `segments` planted right after SOI. */
function plant(jpeg: Buffer, ...segments: Buffer[]): Buffer {
  return Buffer.concat([jpeg.subarray(0, 2), ...segments, jpeg.subarray(2)])
}

async function pixels(jpeg: Buffer): Promise<Buffer> {
  return sharp(jpeg).raw().toBuffer()
}

/** The markers of the segments before the first scan. */
function markers(jpeg: Buffer): number[] {
  const found: number[] = []
  let pos = 2
  while (pos + 4 <= jpeg.length && jpeg[pos] === 0xff) {
    const marker = jpeg[pos + 1] as number
    found.push(marker)
    if (marker === 0xda) break
    pos += 2 + jpeg.readUInt16BE(pos + 2)
  }
  return found
}

describe('stripJpegMetadata', () => {
  it('returns the same buffer when there is nothing to drop', () => {
    expect(stripJpegMetadata(plain)).toBe(plain)
  })

  it('drops APP1 (EXIF, XMP), APP13 (IPTC), APP15 and COM; the pixels are unchanged', async () => {
    const planted = plant(
      plain,
      segment(0xe1, Buffer.from('Exif\0\0MM\0*secret-serial')),
      segment(0xed, Buffer.from('Photoshop 3.0\0owner')),
      segment(0xef, Buffer.from('vendor')),
      segment(0xfe, Buffer.from('a comment')),
    )
    const stripped = stripJpegMetadata(planted)
    expect(stripped).toBeDefined()
    expect(stripped!.equals(plain)).toBe(true)
    expect((await pixels(stripped!)).equals(await pixels(planted))).toBe(true)
  })

  it("keeps Adobe's APP14, which decides the colours: RGB data stays RGB", async () => {
    // transform 0: the three components are RGB, not YCbCr. Without the segment a decoder would
    // convert them from YCbCr, and every pixel would change.
    const adobe = segment(0xee, Buffer.from([...Buffer.from('Adobe'), 0, 100, 0, 0, 0, 0, 0]))
    const planted = plant(plain, adobe, segment(0xe1, Buffer.from('Exif\0\0gps')))
    const withoutAdobe = plant(plain)
    const stripped = stripJpegMetadata(planted)!
    expect(markers(stripped)).toContain(0xee)
    expect(markers(stripped)).not.toContain(0xe1)
    const [kept, wrong] = await Promise.all([pixels(stripped), pixels(withoutAdobe)])
    expect(kept.equals(await pixels(planted))).toBe(true)
    // The segment matters: dropping it would have changed the picture.
    expect(kept.equals(wrong)).toBe(false)
  })

  it('keeps JFIF but cuts out its thumbnail; drops a JFXX thumbnail segment', async () => {
    const thumbnail = Buffer.alloc(2 * 2 * 3, 0x7f)
    const jfif = segment(
      0xe0,
      Buffer.concat([Buffer.from('JFIF\0'), Buffer.from([1, 2, 0, 0, 1, 0, 1, 2, 2]), thumbnail]),
    )
    const jfxx = segment(0xe0, Buffer.from('JFXX\0\x13thumbnail-bytes'))
    const planted = plant(plain, jfif, jfxx)
    const stripped = stripJpegMetadata(planted)!
    expect(markers(stripped).filter((m) => m === 0xe0)).toHaveLength(1)
    const at = stripped.indexOf('JFIF\0') - 4
    expect(stripped.readUInt16BE(at + 2)).toBe(16)
    expect([stripped[at + 16], stripped[at + 17]]).toEqual([0, 0])
    expect(stripped.includes('JFXX')).toBe(false)
    expect((await pixels(stripped)).equals(await pixels(planted))).toBe(true)
  })

  it('drops bytes appended after the end marker', () => {
    const planted = Buffer.concat([plain, Buffer.from('PK\x03\x04 a hidden archive')])
    expect(stripJpegMetadata(planted)!.equals(plain)).toBe(true)
  })

  it('gives up (re-encode) on an ICC profile, a cut-off file, or a file that is not a JPEG', async () => {
    const icc = await sharp(PAYLOAD).jpeg().withIccProfile('p3').toBuffer()
    expect(stripJpegMetadata(icc)).toBeUndefined()
    expect(stripJpegMetadata(plain.subarray(0, plain.length - 100))).toBeUndefined()
    expect(stripJpegMetadata(Buffer.from('not a jpeg at all'))).toBeUndefined()
  })
})

describe('prepareImage sends a standard JPEG without its metadata', () => {
  it('EXIF with GPS: the payload keeps every pixel and loses the EXIF', async () => {
    const withExif = await sharp(PAYLOAD)
      .jpeg({ quality: 90 })
      .withExif({ IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2964/100' } })
      .toBuffer()
    const prepared = await prepareImage(withExif, { name: 'gps.jpg' })
    const sent = Buffer.from(prepared.base64, 'base64')
    expect(sent.includes('Exif')).toBe(false)
    expect((await sharp(sent).metadata()).exif).toBeUndefined()
    expect((await pixels(sent)).equals(await pixels(withExif))).toBe(true)
  })

  it('an ICC profile: re-encoded as sRGB, with no profile and no EXIF', async () => {
    const p3 = await sharp(PAYLOAD)
      .jpeg({ quality: 90 })
      .withIccProfile('p3')
      .withExif({ IFD0: { Artist: 'Jane Private' } })
      .toBuffer()
    const prepared = await prepareImage(p3, { name: 'p3.jpg' })
    const sent = Buffer.from(prepared.base64, 'base64')
    const meta = await sharp(sent).metadata()
    expect([meta.width, meta.height, meta.icc, meta.exif]).toEqual([300, 300, undefined, undefined])
    expect(sent.includes('Jane Private')).toBe(false)
  })
})
