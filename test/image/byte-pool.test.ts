/**
 * The byte pool detection and tile joining borrow from: buffers come back for the next picture,
 * and what the last borrower left in them never shows in a result.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { giveBytes, letIdleGo, takeBytes, withBytes } from '../../src/image/byte-pool.js'
import { detectLayout } from '../../src/image/detect.js'
import { findHeaders } from '../../src/image/detect-header.js'
import { viewOf } from '../../src/image/pixel-view.js'
import { detectReduced } from '../../src/image/reduced.js'
import { loadImage } from '../../src/image/load.js'
import { encodePayload } from '../../src/image/tiles.js'
import type { Layout, RawImage } from '../../src/image/types.js'
import type { Rect } from '../../src/types.js'
import type { Capture } from '../helpers/captures.js'
import { composeGrid, renderCapture } from '../helpers/captures.js'

const TILES = join(import.meta.dirname, '../data/recaptcha-tiles')

describe('takeBytes / giveBytes', () => {
  // Test files share modules (isolate: false): each test starts from an empty pool, and the idle
  // timer armed by its first buffer given back is a fake one the test drives.
  beforeEach(() => {
    vi.useFakeTimers()
    letIdleGo()
  })
  afterEach(() => {
    letIdleGo()
    vi.useRealTimers()
  })

  it('lends exactly the length asked, and the same memory again once given back', () => {
    const first = takeBytes(1000)
    expect(first.length).toBe(1000)
    first.fill(7)
    giveBytes(first)
    const again = takeBytes(900)
    expect(again.length).toBe(900)
    expect(again.buffer === first.buffer).toBe(true)
    // Whatever the last borrower left: the caller writes every byte it reads.
    expect(again[0]).toBe(7)
    giveBytes(again)
  })

  it('never lends one buffer twice at once', () => {
    const a = takeBytes(5000)
    const b = takeBytes(5000)
    expect(a.buffer === b.buffer).toBe(false)
    giveBytes(a)
    giveBytes(a)
    const c = takeBytes(5000)
    const d = takeBytes(5000)
    expect(c.buffer === d.buffer).toBe(false)
    for (const bytes of [b, c, d]) giveBytes(bytes)
  })

  it("takes back only what it lent, once: never a caller's own array, never one lent again since", () => {
    const own = new Uint8Array(4 * 1024 * 1024)
    giveBytes(own)
    const a = takeBytes(4 * 1024 * 1024)
    expect(a.buffer === own.buffer).toBe(false)
    giveBytes(a)
    const b = takeBytes(4 * 1024 * 1024)
    expect(b.buffer === a.buffer).toBe(true)
    // A late second give of `a` (now lent as `b`) must not put it back while `b` uses it.
    giveBytes(a)
    const c = takeBytes(4 * 1024 * 1024)
    expect(c.buffer === b.buffer).toBe(false)
    giveBytes(b)
    giveBytes(c)
  })

  it('lets idle buffers go after 30 s without a borrower, not while they are in use', () => {
    const a = takeBytes(9 * 1024 * 1024)
    giveBytes(a)
    vi.advanceTimersByTime(20_000)
    // Borrowed again within the 30 s: kept.
    const b = takeBytes(9 * 1024 * 1024)
    expect(b.buffer === a.buffer).toBe(true)
    giveBytes(b)
    vi.advanceTimersByTime(20_000)
    const c = takeBytes(9 * 1024 * 1024)
    expect(c.buffer === a.buffer).toBe(true)
    giveBytes(c)
    vi.advanceTimersByTime(61_000)
    const d = takeBytes(9 * 1024 * 1024)
    expect(d.buffer === a.buffer).toBe(false)
    giveBytes(d)
  })

  it('refuses to lend for work that returns a promise (the buffer would go back while it ran)', () => {
    expect(() => withBytes(16, async () => 1)).toThrow(/synchronous work only/)
  })

  it('keeps no buffer larger than 16 MiB', () => {
    const huge = takeBytes(17 * 1024 * 1024)
    giveBytes(huge)
    const next = takeBytes(17 * 1024 * 1024)
    expect(next.buffer === huge.buffer).toBe(false)
  })

  it('takes the buffer back when the work throws', () => {
    let lent: Uint8Array | undefined
    expect(() =>
      // The pool starts empty: the only buffer that can come back is this one.
      withBytes(10 * 1024 * 1024, (bytes) => {
        lent = bytes
        throw new Error('boom')
      }),
    ).toThrow('boom')
    const next = takeBytes(10 * 1024 * 1024)
    expect(next.buffer === lent!.buffer).toBe(true)
    giveBytes(next)
  })
})

/** Fill every buffer the pool would lend next with `value`, as a previous picture might have left it. */
function soil(value: number): void {
  // Only soiled buffers idle (other test files in this worker may have left clean ones).
  letIdleGo()
  const taken = [1, 2, 4, 8, 12].map((mb) => takeBytes(mb * 1024 * 1024))
  for (const bytes of taken) bytes.fill(value)
  for (const bytes of taken) giveBytes(bytes)
}

/** Decoded as rc2 decodes an input (its pixels a plain Uint8Array over sharp's bytes). */
async function decode(capture: Capture): Promise<RawImage> {
  return (await loadImage(capture.buffer, { name: 'capture.png' })).pixels
}

/** Payload pixels, decoded from the encoded payload (PNG: lossless). */
async function payloadPixels(image: RawImage, layout: Layout): Promise<Buffer> {
  const { buffer } = await encodePayload(image, layout, { format: 'png' })
  return sharp(buffer).raw().toBuffer()
}

describe('detection and payloads with a soiled pool', () => {
  const images: RawImage[] = []
  beforeAll(async () => {
    const dir = (await readdir(TILES, { withFileTypes: true })).find((d) => d.isDirectory())!.name
    const tiles = (await readdir(join(TILES, dir))).sort().map((f) => join(TILES, dir, f))
    const payload = await composeGrid(tiles.slice(0, 9), '3x3')
    // A widget with selected tiles (pictures pasted back) and a page large enough for the reduced copy.
    const widget = await renderCapture({
      payload,
      grid: '3x3',
      kind: 'widget',
      ratio: 2,
      selectedTiles: [1, 5],
      seed: 3,
    })
    const page = await renderCapture({
      payload,
      grid: '3x3',
      kind: 'page',
      ratio: 2,
      pageSize: { width: 2400, height: 1600 },
      seed: 4,
    })
    images.push(await decode(widget), await decode(page))
  }, 60_000)

  it('finds the same layouts and builds the same payloads whatever the pool held', async () => {
    const runs: { layouts: Layout[]; payloads: Buffer[]; headers: Rect[] }[] = []
    for (const value of [0, 255, 128]) {
      soil(value)
      const layouts = images.map((image) => detectLayout(image, { name: 'capture.png' }))
      soil(value)
      const reduced = detectReduced(images[1]!, { name: 'page.png' }, 0)
      expect(reduced).toEqual(layouts[1])
      soil(value)
      // The header search's own mask (used when bright tiles hide the top rows).
      const headers = findHeaders(viewOf(images[0]!))
      const payloads: Buffer[] = []
      for (const [k, image] of images.entries()) {
        soil(value)
        payloads.push(await payloadPixels(image, layouts[k]!))
      }
      runs.push({ layouts, payloads, headers })
    }
    expect(runs[0]!.layouts[0]!.selected).toEqual([1, 5])
    expect(runs[0]!.layouts[1]!.kind).toBe('page')
    // The header right above the widget's tiles, as wide as their band.
    const crop = runs[0]!.layouts[0]!.crop
    expect(runs[0]!.headers.some((h) => Math.abs(h.x - crop.x) <= 2 && h.y < crop.y)).toBe(true)
    for (const run of runs.slice(1)) {
      expect(run.layouts).toEqual(runs[0]!.layouts)
      expect(run.headers).toEqual(runs[0]!.headers)
      for (const [k, pixels] of run.payloads.entries())
        expect(pixels.equals(runs[0]!.payloads[k]!)).toBe(true)
    }
  }, 60_000)

  it('keeps joined tiles lent until their payload is encoded, with detections and other payloads between', async () => {
    const layouts = images.map((image) => detectLayout(image, { name: 'capture.png' }))
    const reference = await Promise.all(images.map((image, k) => payloadPixels(image, layouts[k]!)))
    // Eight payloads started at once, the pool soiled and detection run while they are encoded:
    // a joined buffer given back too early would be lent again and overwritten under sharp.
    const pending: Promise<Buffer>[] = []
    for (let k = 0; k < 8; k++) {
      pending.push(payloadPixels(images[k % 2]!, layouts[k % 2]!))
      soil(k % 2 === 0 ? 0 : 255)
      detectLayout(images[(k + 1) % 2]!, { name: 'capture.png' })
    }
    const pixels = await Promise.all(pending)
    pixels.forEach((p, k) => expect(p.equals(reference[k % 2]!)).toBe(true))
  }, 60_000)
})
