import sharp from 'sharp'
import type { Sharp } from 'sharp'
import { describe, expect, it } from 'vitest'
import { readPlainJpegHeader } from '../../src/image/jpeg-header.js'

const base = (): Sharp =>
  sharp({ create: { width: 300, height: 200, channels: 3, background: { r: 200, g: 10, b: 40 } } })

describe('readPlainJpegHeader', () => {
  it('reads what sharp reads from plain JPEGs: size, progressive, colour space', async () => {
    const variants = [
      base().jpeg(),
      base().jpeg({ progressive: true }),
      base().toColourspace('b-w').jpeg(),
      base().jpeg({ mozjpeg: true }),
      base().jpeg({ chromaSubsampling: '4:4:4', optimiseCoding: true, quality: 40 }),
    ]
    for (const variant of variants) {
      const buffer = await variant.toBuffer()
      const meta = await sharp(buffer).metadata()
      const header = readPlainJpegHeader(buffer)
      expect(header).toEqual({
        width: meta.width,
        height: meta.height,
        isProgressive: meta.isProgressive,
        space: meta.space,
      })
    }
    expect(readPlainJpegHeader(await base().toColourspace('b-w').jpeg().toBuffer())?.space).toBe(
      'b-w',
    )
  })

  it('leaves to sharp a JPEG with EXIF (it may carry an orientation), a CMYK one, and a cut header', async () => {
    expect(
      readPlainJpegHeader(await base().withMetadata({ orientation: 6 }).jpeg().toBuffer()),
    ).toBeUndefined()
    expect(
      readPlainJpegHeader(await base().toColourspace('cmyk').jpeg().toBuffer()),
    ).toBeUndefined()
    const whole = await base().jpeg().toBuffer()
    expect(readPlainJpegHeader(whole.subarray(0, 30))).toBeUndefined()
    expect(readPlainJpegHeader(Buffer.from('not a jpeg at all'))).toBeUndefined()
  })

  it('leaves to sharp a JPEG whose quantisation table does not fit its segment', async () => {
    const whole = await base().jpeg().toBuffer()
    const dqt = whole.indexOf(Buffer.from([0xff, 0xdb]))
    const broken = Buffer.from(whole)
    broken[dqt + 4] = 0x27 // precision 2: no such table
    expect(readPlainJpegHeader(broken)).toBeUndefined()
  })
})
