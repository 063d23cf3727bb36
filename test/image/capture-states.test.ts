/**
 * Corpus of captures as a bot takes them: tiles already selected, tiles still fading in, the red
 * message line, a sample picture in the header, zoom and fractional ratios, phone-width widgets,
 * dark and busy pages, overlays and cookie banners, JPEG 40-60, white and sky-coloured content at
 * the gutters. Rendered from fixed seeds around the real tiles in test/data; both grids.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import sharp from 'sharp'
import { beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { detectLayout } from '../../src/image/detect.js'
import { cellRect, rebuildPayload } from '../../src/image/tiles.js'
import type { Layout, RawImage } from '../../src/image/types.js'
import type { Rect } from '../../src/types.js'
import type { CaptureOptions, CaptureTruth } from '../helpers/captures.js'
import { composeGrid, createRng, renderCapture } from '../helpers/captures.js'

const TILE_ROOT = join(import.meta.dirname, '../data/recaptcha-tiles')
/** Browser zoom times device-pixel ratio: 67% to 175% zoom, fractional laptop ratios. */
const DESKTOP_RATIOS = [0.67, 0.8, 0.9, 1, 1.1, 1.25, 1.5, 1.75, 2]
const PHONE_RATIOS = [2, 2.625, 3]
const MESSAGES = [
  'Please select all matching images.',
  'Please also check the new images.',
  'Please try again.',
]
const STATES = [
  'selected',
  'fading',
  'message',
  'sample',
  'zoom',
  'phone',
  'page',
  'quality',
  'touching',
] as const
type State = (typeof STATES)[number]
const PER_STATE = 12

interface Case {
  label: string
  state: State
  options: CaptureOptions
  image: RawImage
  truth: CaptureTruth
}

async function decode(buffer: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(buffer).raw().toBuffer({ resolveWithObject: true })
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage['channels'],
  }
}

/**
 * A payload whose tiles meet the gutters in white or pale sky: for a 3x3, bright bands along the
 * grid's outer side of every border cell (a sky at the top, snow or a white wall elsewhere) and
 * along one inner side of some cells; for a 4x4 (one photo), a sky over the top of the top row, a
 * white bus across it and a pale pole down it, all running into the gutters on every side.
 */
async function touchingPayload(source: Buffer, grid: '3x3' | '4x4', seed: number): Promise<Buffer> {
  const { data, info } = await sharp(source)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true })
  const rng = createRng(seed)
  const size = info.width
  const sky = rng() < 0.5
  const paint = (x: number, y: number, pale: boolean): void => {
    const p = (y * size + x) * 3
    const noise = Math.floor(rng() * 6)
    const [r, g, b] =
      pale || sky
        ? [212 + noise, 230 + noise, 247 + noise]
        : [247 + noise, 248 + noise, 249 + noise]
    data[p] = Math.min(255, r)
    data[p + 1] = Math.min(255, g)
    data[p + 2] = Math.min(255, b)
  }
  const band = (): number => 10 + Math.floor(rng() * 20)
  if (grid === '3x3') {
    // Nine photos: a sky at the top of a top-row tile, snow or a white wall at the left, right or
    // bottom of another, so that bright content meets the grid's frame on every side, and a few
    // inner gutters too.
    const sides = [
      { cell: Math.floor(rng() * 3), side: 'top' },
      { cell: 3 * Math.floor(rng() * 3), side: 'left' },
      { cell: 3 * Math.floor(rng() * 3) + 2, side: 'right' },
      { cell: 6 + Math.floor(rng() * 3), side: 'bottom' },
      { cell: 4, side: pickFrom(rng, ['top', 'left', 'right', 'bottom']) },
    ]
    for (const { cell, side } of sides) {
      const depth = band()
      const x0 = (cell % 3) * 100
      const y0 = Math.floor(cell / 3) * 100
      for (let y = 0; y < 100; y++) {
        for (let x = 0; x < 100; x++) {
          const inside =
            side === 'top'
              ? y < depth
              : side === 'bottom'
                ? 99 - y < depth
                : side === 'left'
                  ? x < depth
                  : 99 - x < depth
          if (inside) paint(x0 + x, y0 + y, false)
        }
      }
    }
  } else {
    // Each band crosses a gutter but leaves part of every row showing.
    const skyBottom = 25 + Math.floor(rng() * 30)
    const busHeight = 50 + Math.floor(rng() * 35)
    const busTop = 225 - 20 - Math.floor(rng() * (busHeight - 40))
    const poleWidth = 25 + Math.floor(rng() * 15)
    const poleLeft = 113 - Math.floor(rng() * poleWidth)
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (y < skyBottom || (y >= busTop && y < busTop + busHeight)) paint(x, y, false)
        else if (x >= poleLeft && x < poleLeft + poleWidth) paint(x, y, true)
      }
    }
  }
  return sharp(data, { raw: { width: size, height: size, channels: 3 } })
    .png()
    .toBuffer()
}

function pickFrom<T>(rng: () => number, values: readonly T[]): T {
  return values[Math.floor(rng() * values.length)]!
}

/** Distinct tiles, `count` of them, out of `total`. */
function someTiles(rng: () => number, total: number, count: number): number[] {
  const tiles = new Set<number>()
  while (tiles.size < count) tiles.add(Math.floor(rng() * total))
  return [...tiles].sort((a, b) => a - b)
}

/** The plan of one capture in `state`; the k-th of its state alternates the grid. */
async function planCapture(
  state: State,
  k: number,
  rng: () => number,
  payloads: Record<'3x3' | '4x4', Buffer[]>,
): Promise<CaptureOptions> {
  const grid: '3x3' | '4x4' = state === 'fading' || k % 2 === 0 ? '3x3' : '4x4'
  const n = grid === '3x3' ? 3 : 4
  let payload = pickFrom(rng, payloads[grid])
  const options: CaptureOptions = {
    payload,
    grid,
    kind: pickFrom(rng, ['tiles', 'widget', 'page'] as const),
    ratio: pickFrom(rng, DESKTOP_RATIOS),
    format: rng() < 0.5 ? 'png' : 'jpeg',
    quality: 70 + Math.floor(rng() * 20),
    background: pickFrom(rng, ['white', 'grey', 'dark', 'photo'] as const),
    seed: 9000 + STATES.indexOf(state) * 100 + k,
  }
  if (state === 'selected') {
    options.selectedTiles = someTiles(rng, n * n, 1 + Math.floor(rng() * (n === 3 ? 6 : 8)))
    options.shrink = 0.8 + rng() * 0.06
  } else if (state === 'fading') {
    const tiles = someTiles(rng, 9, 1 + Math.floor(rng() * 2))
    options.fading = Object.fromEntries(tiles.map((t) => [t, rng() < 0.4 ? 0 : 0.1 + rng() * 0.3]))
    if (k % 4 === 3) options.kind = 'tiles'
  } else if (state === 'message') {
    options.message = MESSAGES[k % MESSAGES.length]!
    options.kind = k % 3 === 0 ? 'page' : 'widget'
  } else if (state === 'sample') {
    options.sample = true
    options.kind = k % 3 === 0 ? 'page' : 'widget'
  } else if (state === 'phone') {
    options.device = 'phone'
    options.ratio = PHONE_RATIOS[k % PHONE_RATIOS.length]!
    const cssWidth = 360 + Math.floor(rng() * 71)
    options.kind = k % 4 === 0 ? 'widget' : 'page'
    options.pageSize = {
      width: Math.round(cssWidth * options.ratio),
      height: Math.round(cssWidth * (1.8 + rng() * 0.4) * options.ratio),
    }
  } else if (state === 'page') {
    options.kind = 'page'
    options.background = k % 2 === 0 ? 'dark' : pickFrom(rng, ['white', 'grey', 'photo'] as const)
    options.overlay = k % 3 !== 2
    options.cookieBanner = k % 2 === 1
  } else if (state === 'quality') {
    options.format = 'jpeg'
    options.quality = 40 + Math.floor(rng() * 21)
  } else if (state === 'touching') {
    payload = await touchingPayload(payload, grid, options.seed!)
    options.kind = k % 3 === 0 ? 'tiles' : k % 3 === 1 ? 'widget' : 'page'
    options.payload = payload
    options.format = k % 3 === 0 ? 'png' : 'jpeg'
    options.quality = 40 + Math.floor(rng() * 40)
    if (k % 4 === 1) options.ratio = 1.25
  }
  if (options.kind === 'page' && options.pageSize === undefined) {
    const ratio = options.ratio ?? 1
    options.pageSize = {
      width: Math.round((520 + rng() * 300) * ratio),
      height: Math.round((720 + rng() * 200) * ratio),
    }
  }
  return options
}

const cases: Case[] = []

beforeAll(async () => {
  const files = readdirSync(TILE_ROOT, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
  const rng = createRng(20261207)
  const pick = (): string => join(TILE_ROOT, files[Math.floor(rng() * files.length)]!)
  // A pool of payloads of real tiles, reused: composing them is slow on a busy machine.
  const payloads = { '3x3': [] as Buffer[], '4x4': [] as Buffer[] }
  for (let k = 0; k < 8; k++) {
    payloads['3x3'].push(await composeGrid(Array.from({ length: 9 }, pick), '3x3'))
    payloads['4x4'].push(await composeGrid([pick()], '4x4'))
  }
  const plans: { state: State; options: CaptureOptions }[] = []
  for (const state of STATES) {
    for (let k = 0; k < PER_STATE; k++)
      plans.push({ state, options: await planCapture(state, k, rng, payloads) })
  }
  // Three at a time: sharp's work runs on libuv threads.
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const { state, options } = plans[next++]!
      const capture = await renderCapture(options)
      const label = `${state}: ${options.grid} ${options.device ?? 'desktop'} ${options.kind} x${options.ratio} ${options.format}${options.format === 'jpeg' ? ` q${options.quality}` : ''} seed ${options.seed}`
      cases.push({
        label,
        state,
        options,
        image: await decode(capture.buffer),
        truth: capture.truth,
      })
    }
  }
  await Promise.all([worker(), worker(), worker()])
  cases.sort((a, b) => a.options.seed! - b.options.seed!)
}, 600_000)

/** Largest distance between a found tile edge and the true one. */
function edgeError(layout: Layout, truth: Rect[]): number {
  let error = 0
  layout.tiles.forEach((t, k) => {
    const u = truth[k]!
    error = Math.max(
      error,
      Math.abs(t.x - u.x),
      Math.abs(t.y - u.y),
      Math.abs(t.x + t.width - u.x - u.width),
      Math.abs(t.y + t.height - u.y - u.height),
    )
  })
  return error
}

describe('captures in every state they are taken in', () => {
  it('finds every grid with tile edges within 1.5 px, and reports selected and loading tiles exactly', () => {
    const problems: string[] = []
    const worst = new Map<State, number>()
    let elapsed = 0
    for (const c of cases) {
      const started = performance.now()
      let layout: Layout
      try {
        layout = detectLayout(c.image, { name: c.label })
      } catch (error) {
        problems.push(`${c.label}: ${(error as Error).message}`)
        continue
      } finally {
        elapsed += performance.now() - started
      }
      if (layout.grid !== c.options.grid) {
        problems.push(`${c.label}: found ${layout.grid}`)
        continue
      }
      const error = edgeError(layout, c.truth.tiles)
      worst.set(c.state, Math.max(worst.get(c.state) ?? 0, error))
      if (error > 1.5) problems.push(`${c.label}: tile edge off by ${error} px`)
      if (JSON.stringify(layout.selected ?? []) !== JSON.stringify(c.truth.selected))
        problems.push(`${c.label}: selected ${String(layout.selected)}, truth ${c.truth.selected}`)
      if (JSON.stringify(layout.loading ?? []) !== JSON.stringify(c.truth.fading))
        problems.push(`${c.label}: loading ${String(layout.loading)}, truth ${c.truth.fading}`)
    }
    console.log(
      `capture states: ${cases.length} captures, worst edge error per state (px): ` +
        STATES.map((s) => `${s} ${worst.get(s) ?? '-'}`).join(', ') +
        `; mean detection ${(elapsed / cases.length).toFixed(1)} ms`,
    )
    expect(problems).toEqual([])
  }, 300_000)

  it('restores every selected tile to fill its cell, as the source tile', async () => {
    const problems: string[] = []
    let restored = 0
    let worstDiff = 0
    for (const c of cases.filter((c) => c.truth.selected.length > 0)) {
      const layout = detectLayout(c.image, { name: c.label })
      const rebuilt = await rebuildPayload(c.image, layout)
      const source = await decode(await sharp(c.options.payload).removeAlpha().png().toBuffer())
      for (const tile of c.truth.selected) {
        const cell = cellRect(c.options.grid, tile)
        const diff = cellDifference(rebuilt, source, cell)
        worstDiff = Math.max(worstDiff, diff)
        restored++
        // The same cell taken as drawn (picture shrunk inside its white margin) measures 20 and up.
        if (diff > 12) problems.push(`${c.label}: tile ${tile} differs by ${diff.toFixed(1)}`)
      }
    }
    console.log(
      `selected tiles restored: ${restored}, worst mean difference ${worstDiff.toFixed(1)} (0-255, tick corner left out)`,
    )
    expect(restored).toBeGreaterThan(20)
    expect(problems).toEqual([])
  }, 300_000)

  it('refuses these captures cut off through the grid, never guessing one', async () => {
    const refused: string[] = []
    const guessed: string[] = []
    for (const c of cases.filter((_, k) => k % 8 === 0)) {
      const capture = await renderCapture({
        ...c.options,
        cutOff: c.options.seed! % 2 === 0 ? 'right' : 'bottom',
      })
      try {
        const layout = detectLayout(await decode(capture.buffer), { name: c.label })
        guessed.push(`${c.label}: ${layout.grid} at ${layout.crop.x},${layout.crop.y}`)
      } catch (error) {
        expect(error, c.label).toBeInstanceOf(InputError)
        refused.push(c.label)
      }
    }
    console.log(`capture states: ${refused.length} cut-off captures refused`)
    expect(guessed).toEqual([])
  }, 300_000)
})

/**
 * Mean absolute difference per channel between the same cell of two payloads, over 4x4-pixel
 * block means, leaving out the top-left corner where the tick covers a selected tile's picture.
 */
function cellDifference(a: RawImage, b: RawImage, cell: Rect, block = 4): number {
  let sum = 0
  let count = 0
  const corner = 0.3 * cell.width
  for (let by = cell.y; by + block <= cell.y + cell.height; by += block) {
    for (let bx = cell.x; bx + block <= cell.x + cell.width; bx += block) {
      if (bx - cell.x < corner && by - cell.y < corner) continue
      for (let ch = 0; ch < 3; ch++) {
        let da = 0
        let db = 0
        for (let y = by; y < by + block; y++) {
          for (let x = bx; x < bx + block; x++) {
            da += a.data[(y * a.width + x) * a.channels + ch]!
            db += b.data[(y * b.width + x) * b.channels + ch]!
          }
        }
        sum += Math.abs(da - db) / (block * block)
        count++
      }
    }
  }
  return sum / count
}

describe('the captures that failed before', () => {
  const files = (): string[] =>
    readdirSync(TILE_ROOT, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.png'))
      .sort()
      .map((f) => join(TILE_ROOT, f))

  async function detectRendered(options: CaptureOptions): Promise<{
    layout: Layout
    truth: CaptureTruth
  }> {
    const capture = await renderCapture(options)
    return { layout: detectLayout(await decode(capture.buffer)), truth: capture.truth }
  }

  it('a 4x4 at 125% zoom, JPEG, whose white bus and pale pole touch the gutters', async () => {
    const bus = files().filter((f) => f.includes('/bus/'))
    for (const [k, kind] of (['widget', 'page'] as const).entries()) {
      const payload = await touchingPayload(await composeGrid([bus[k]!], '4x4'), '4x4', 40 + k)
      const { layout, truth } = await detectRendered({
        payload,
        grid: '4x4',
        kind,
        ratio: 1.25,
        format: 'jpeg',
        quality: 50,
        seed: 40 + k,
      })
      expect(layout.grid).toBe('4x4')
      expect(edgeError(layout, truth.tiles)).toBeLessThanOrEqual(1.5)
    }
  })

  it('a dynamic 3x3, tiles only, whose centre tile is blank white or mid-fade', async () => {
    const payload = await composeGrid(files().slice(0, 9), '3x3')
    for (const opacity of [0, 0.25]) {
      const { layout, truth } = await detectRendered({
        payload,
        grid: '3x3',
        kind: 'tiles',
        ratio: 1,
        fading: { 4: opacity },
        seed: 50,
      })
      expect(layout.grid).toBe('3x3')
      expect(edgeError(layout, truth.tiles)).toBeLessThanOrEqual(1.5)
      expect(layout.loading).toEqual([4])
    }
  })

  it('a 4x4 with six tiles selected, and a small phone capture with one', async () => {
    const photo = await composeGrid([files()[30]!], '4x4')
    const six = await detectRendered({
      payload: photo,
      grid: '4x4',
      kind: 'widget',
      ratio: 1,
      selectedTiles: [0, 2, 5, 6, 9, 15],
      shrink: 0.82,
      seed: 60,
    })
    expect(six.layout.grid).toBe('4x4')
    expect(edgeError(six.layout, six.truth.tiles)).toBeLessThanOrEqual(1.5)
    expect(six.layout.selected).toEqual([0, 2, 5, 6, 9, 15])
    const phone = await detectRendered({
      payload: await composeGrid(files().slice(9, 18), '3x3'),
      grid: '3x3',
      kind: 'page',
      device: 'phone',
      ratio: 0.85,
      pageSize: { width: 268, height: 480 },
      selectedTiles: [7],
      format: 'jpeg',
      quality: 60,
      seed: 61,
    })
    expect(phone.layout.grid).toBe('3x3')
    expect(edgeError(phone.layout, phone.truth.tiles)).toBeLessThanOrEqual(1.5)
    expect(phone.layout.selected).toEqual([7])
  })
})

describe('loaded tiles', () => {
  it('no real tile of the test data reads as still loading or as selected, in PNG or JPEG 40', async () => {
    const all = readdirSync(TILE_ROOT, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.png'))
      .sort()
      .map((f) => join(TILE_ROOT, f))
    const flagged: string[] = []
    for (let start = 0; start < all.length; start += 9) {
      const group = all.slice(start, start + 9)
      const payload = await composeGrid(group, '3x3')
      for (const format of ['png', 'jpeg'] as const) {
        const capture = await renderCapture({
          payload,
          grid: '3x3',
          kind: 'tiles',
          format,
          quality: 40,
          seed: start + 1,
        })
        const layout = detectLayout(await decode(capture.buffer))
        for (const tile of [...(layout.loading ?? []), ...(layout.selected ?? [])])
          flagged.push(`${group[tile % group.length]} (${format})`)
      }
    }
    expect(flagged).toEqual([])
  }, 300_000)
})
