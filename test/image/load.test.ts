import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crc32, deflateSync } from 'node:zlib'
import sharp from 'sharp'
import type { Sharp } from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { describeFileError, loadImage, sniffFormat } from '../../src/image/load.js'
import type { RawImage } from '../../src/image/types.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-load-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** 40x20 picture: left half red, right half blue; easy to check after decoding and rotating. */
async function makeHalves(): Promise<Sharp> {
  const red = await sharp({ create: { width: 20, height: 20, channels: 3, background: '#e01010' } })
    .png()
    .toBuffer()
  return sharp({ create: { width: 40, height: 20, channels: 3, background: '#1010e0' } }).composite(
    [{ input: red, left: 0, top: 0 }],
  )
}

function pixelAt(image: RawImage, x: number, y: number): number[] {
  const offset = (y * image.width + x) * image.channels
  return [...image.data.subarray(offset, offset + image.channels)]
}

function expectColour(actual: number[], expected: number[], tolerance: number): void {
  expect(actual).toHaveLength(expected.length)
  actual.forEach((value, i) =>
    expect(Math.abs(value - (expected[i] ?? 0))).toBeLessThanOrEqual(tolerance),
  )
}

/** Expect `promise` to reject with an InputError whose message matches and which carries a hint. */
async function expectInputError(promise: Promise<unknown>, message: RegExp): Promise<InputError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(InputError)
  const inputError = error as InputError
  expect(inputError.message).toMatch(message)
  expect(inputError.message).not.toContain('\n')
  expect(inputError.hint).toBeTruthy()
  return inputError
}

/** A PNG chunk with a correct CRC, for hand-made files. */
function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4)
  length.writeUInt32BE(data.length)
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(body))
  return Buffer.concat([length, body, crc])
}

describe('loadImage: formats sniffed by content', () => {
  it('reads a JPEG saved with a .png name as JPEG', async () => {
    const path = join(dir, 'payload.png')
    await writeFile(path, await (await makeHalves()).jpeg({ quality: 95 }).toBuffer())
    const image = await loadImage(path, { name: 'payload.png' })
    expect(image.format).toBe('jpeg')
    expect([image.width, image.height]).toEqual([40, 20])
    expect(image.pixels.channels).toBe(3)
    expectColour(pixelAt(image.pixels, 5, 10), [0xe0, 0x10, 0x10], 12)
    expectColour(pixelAt(image.pixels, 35, 10), [0x10, 0x10, 0xe0], 12)
  })

  it.each([
    ['webp', (s: Sharp) => s.webp({ lossless: true }), 'webp'],
    ['tiff', (s: Sharp) => s.tiff(), 'tiff'],
    ['avif', (s: Sharp) => s.avif({ lossless: true }), 'avif'],
    ['png', (s: Sharp) => s.png(), 'png'],
  ] as const)('decodes %s to the same pixels', async (_label, encode, format) => {
    const buffer = await encode(await makeHalves()).toBuffer()
    const image = await loadImage(buffer, { name: `input.${format}` })
    expect(image.format).toBe(format)
    expect([image.pixels.width, image.pixels.height, image.pixels.channels]).toEqual([40, 20, 3])
    expectColour(pixelAt(image.pixels, 3, 3), [0xe0, 0x10, 0x10], 8)
    expectColour(pixelAt(image.pixels, 36, 16), [0x10, 0x10, 0xe0], 8)
  })

  it('takes the first frame of an animated GIF', async () => {
    const red = await sharp({
      create: { width: 20, height: 10, channels: 3, background: '#ff0000' },
    })
      .png()
      .toBuffer()
    const blue = await sharp({
      create: { width: 20, height: 10, channels: 3, background: '#0000ff' },
    })
      .png()
      .toBuffer()
    const gif = await sharp([red, blue], { join: { animated: true } })
      .gif()
      .toBuffer()
    const image = await loadImage(gif, { name: 'anim.gif' })
    expect(image.format).toBe('gif')
    expect([image.width, image.height]).toEqual([20, 10])
    expectColour(pixelAt(image.pixels, 10, 5), [255, 0, 0], 4)
  })

  it('applies EXIF orientation (6: rotate 90 degrees clockwise)', async () => {
    const jpeg = await (
      await makeHalves()
    )
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer()
    const image = await loadImage(jpeg, { name: 'phone.jpg' })
    expect(image.orientation).toBe(6)
    expect([image.width, image.height]).toEqual([20, 40])
    // The left (red) half of the stored picture becomes the top half.
    expectColour(pixelAt(image.pixels, 10, 5), [0xe0, 0x10, 0x10], 12)
    expectColour(pixelAt(image.pixels, 10, 35), [0x10, 0x10, 0xe0], 12)
  })

  it('flattens transparency onto white and reduces 16-bit input to 8 bits', async () => {
    // Transparent but for one opaque red pixel (a fully transparent image is refused: hostile-images.test.ts).
    const dot = await sharp({
      create: { width: 1, height: 1, channels: 4, background: { r: 255, g: 0, b: 0, alpha: 1 } },
    })
      .png()
      .toBuffer()
    const png = await sharp({
      create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } },
    })
      .composite([{ input: dot, left: 0, top: 0 }])
      .toColourspace('rgb16')
      .png()
      .toBuffer()
    const image = await loadImage(png, { name: 'clear.png' })
    expect(image.pixels.channels).toBe(3)
    expect(image.pixels.data).toHaveLength(8 * 8 * 3)
    expectColour(pixelAt(image.pixels, 4, 4), [255, 255, 255], 1)
    expectColour(pixelAt(image.pixels, 0, 0), [255, 0, 0], 1)
  })

  it('expands greyscale input to RGB', async () => {
    const grey = await sharp({
      create: { width: 6, height: 6, channels: 3, background: '#808080' },
    })
      .greyscale()
      .png()
      .toBuffer()
    const image = await loadImage(grey, { name: 'grey.png' })
    expect(image.pixels.channels).toBe(3)
    expectColour(pixelAt(image.pixels, 2, 2), [128, 128, 128], 1)
  })
})

describe('loadImage: refusals', () => {
  it('refuses SVG even though sharp could render it', async () => {
    const svg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="300" height="300"><rect width="300" height="300"/></svg>',
    )
    const path = join(dir, 'drawing.png')
    await writeFile(path, svg)
    await expectInputError(
      loadImage(path, { name: 'drawing.png' }),
      /^drawing\.png is not an image \(it looks like an SVG drawing/,
    )
  })

  it('refuses a text file with the exact message', async () => {
    const path = join(dir, 'notes.png')
    await writeFile(path, 'shopping list\nmilk\neggs\n')
    await expectInputError(
      loadImage(path, { name: 'notes.png' }),
      /^notes\.png is not an image \(it looks like text\); pass a PNG, JPEG, WebP, GIF, TIFF or AVIF file$/,
    )
  })

  it('refuses a BMP (a real image format rc2 does not read)', async () => {
    const bmp = Buffer.concat([Buffer.from('BM', 'latin1'), Buffer.alloc(60, 1)])
    await expectInputError(
      loadImage(bmp, { name: 'old.bmp' }),
      /old\.bmp is not an image \(it looks like a BMP image/,
    )
  })

  it('refuses a zero-byte file', async () => {
    const path = join(dir, 'empty.png')
    await writeFile(path, Buffer.alloc(0))
    await expectInputError(
      loadImage(path, { name: 'empty.png' }),
      /^empty\.png is empty \(0 bytes\)$/,
    )
  })

  it.each([
    ['PNG', (s: Sharp) => s.png()],
    ['JPEG', (s: Sharp) => s.jpeg({ quality: 90 })],
  ] as const)('refuses a truncated %s instead of decoding grey filler', async (_label, encode) => {
    const noisy = sharp({
      create: {
        width: 200,
        height: 200,
        channels: 3,
        background: '#000000',
        noise: { type: 'gaussian', mean: 128, sigma: 50 },
      },
    })
    const whole = await encode(noisy).toBuffer()
    const cut = whole.subarray(0, Math.floor(whole.length * 0.6))
    await expectInputError(loadImage(cut, { name: 'cut.img' }), /^cut\.img is truncated or damaged/)
  })

  it('refuses a 30000x30000 PNG from its header, before decoding', async () => {
    const ihdr = Buffer.alloc(13)
    ihdr.writeUInt32BE(30000, 0)
    ihdr.writeUInt32BE(30000, 4)
    ihdr[8] = 8 // bit depth
    ihdr[9] = 2 // RGB
    const bomb = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      pngChunk('IHDR', ihdr),
      pngChunk('IDAT', deflateSync(Buffer.alloc(64))),
      pngChunk('IEND', Buffer.alloc(0)),
    ])
    expect(bomb.length).toBeLessThan(200)
    const started = performance.now()
    await expectInputError(
      loadImage(bomb, { name: 'bomb.png' }),
      /^bomb\.png is 30000x30000 \(900 megapixels\), over the 40-megapixel limit$/,
    )
    // Decoding 900 megapixels would take seconds and gigabytes; the header check takes milliseconds.
    expect(performance.now() - started).toBeLessThan(1000)
  })

  it('honours a smaller pixel cap', async () => {
    const png = await sharp({
      create: { width: 100, height: 100, channels: 3, background: '#336699' },
    })
      .png()
      .toBuffer()
    await expectInputError(
      loadImage(png, { name: 'a.png', maxPixels: 5000 }),
      /a\.png is 100x100 .* over the 0\.005-megapixel limit/,
    )
    await expect(loadImage(png, { name: 'a.png', maxPixels: 10_000 })).resolves.toMatchObject({
      width: 100,
    })
  })

  it('refuses a file over the byte limit before reading it', async () => {
    const path = join(dir, 'big.png')
    await writeFile(path, Buffer.alloc(3 * 1024 * 1024, 7))
    await expectInputError(
      loadImage(path, { name: 'big.png', maxBytes: 2 * 1024 * 1024 }),
      /^big\.png is 3 MB, over the 2 MB limit$/,
    )
  })

  it('names a missing file', async () => {
    await expectInputError(
      loadImage(join(dir, 'nope.png'), { name: 'nope.png' }),
      /^nope\.png does not exist$/,
    )
  })

  it('names a directory', async () => {
    const sub = join(dir, 'shots')
    await mkdir(sub, { recursive: true })
    await expectInputError(
      loadImage(sub, { name: 'shots' }),
      /^shots is a directory, not an image file$/,
    )
  })

  it('maps permission errors to their own message', () => {
    // Tests may run as root, where chmod 000 does not stop reads; map a real errno error instead.
    const denied = Object.assign(new Error("EACCES: permission denied, open 'x.png'"), {
      code: 'EACCES',
    })
    const error = describeFileError(denied, 'x.png')
    expect(error).toBeInstanceOf(InputError)
    expect(error.message).toBe('x.png cannot be read (permission denied)')
    expect(error.hint).toMatch(/permission/)
  })

  it('sniffs magic bytes, not names', () => {
    expect(sniffFormat(Buffer.from('GIF89a........', 'latin1'), 'a.jpg')).toBe('gif')
    expect(sniffFormat(Buffer.from('RIFF\0\0\0\0WEBPVP8 ', 'latin1'), 'a.png')).toBe('webp')
    expect(sniffFormat(Buffer.from('MM\0*\0\0\0\x08', 'latin1'), 'a.png')).toBe('tiff')
    expect(sniffFormat(Buffer.from('\0\0\0\x1cftypheic\0\0\0\0', 'latin1'), 'a.png')).toBe('heif')
    expect(() => sniffFormat(Buffer.from('%PDF-1.7\n', 'latin1'), 'doc.png')).toThrow(
      /doc\.png is not an image \(it looks like a PDF document\)/,
    )
  })
})
