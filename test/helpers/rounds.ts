/**
 * Pairs of captures of one dynamic 3x3 round for tests: the same widget (alone or on a page,
 * ratios 1 to 2, PNG or JPEG) before and after 1 to 4 of its tiles were replaced by other real
 * tiles; sometimes the tiles to be replaced show selected in the first capture (just clicked), and
 * sometimes a kept tile shows selected in the later one (not a change).
 */
import sharp from 'sharp'
import type { Rect } from '../../src/types.js'
import { type CaptureOptions, composeGrid, createRng, renderCapture } from './captures.js'

export interface RoundPair {
  label: string
  before: Buffer
  after: Buffer
  beforeFormat: 'png' | 'jpeg'
  afterFormat: 'png' | 'jpeg'
  /** Tiles whose picture differs in `after`, ascending. */
  replaced: number[]
  /** Replaced tiles that now show a pure red picture (the test server's "object"). */
  red: number[]
  /** A kept tile drawn selected in `after`. */
  selectedAfter: number[]
  /** Where each tile is in `after`. */
  tiles: Rect[]
}

/** The server's "object": a pure red tile. */
const RED_TILE = sharp({
  create: { width: 100, height: 100, channels: 3, background: { r: 230, g: 20, b: 20 } },
})
  .png()
  .toBuffer()

/** A pair of captures from `seed`; with `redShare` > 0 some replacements are red squares. */
export async function renderRoundPair(
  tileFiles: string[],
  seed: number,
  options: Partial<CaptureOptions> & { redShare?: number } = {},
): Promise<RoundPair> {
  const rng = createRng(seed)
  const pick = (): string => tileFiles[Math.floor(rng() * tileFiles.length)]!
  const cells: (string | Buffer)[] = Array.from({ length: 9 }, pick)
  const count = 1 + Math.floor(rng() * 4)
  const replaced: number[] = []
  while (replaced.length < count) {
    const k = Math.floor(rng() * 9)
    if (!replaced.includes(k)) replaced.push(k)
  }
  replaced.sort((a, b) => a - b)
  const next = [...cells]
  const red: number[] = []
  const redTile = await RED_TILE
  for (const k of replaced) {
    if (rng() < (options.redShare ?? 0)) {
      next[k] = redTile
      red.push(k)
      continue
    }
    let other = pick()
    while (other === cells[k]) other = pick()
    next[k] = other
  }
  const kept = [...Array(9).keys()].filter((k) => !replaced.includes(k))
  const selectedAfter = rng() < 0.5 ? [kept[Math.floor(rng() * kept.length)]!] : []
  const ratio = ([1, 1.25, 1.5, 2] as const)[Math.floor(rng() * 4)]!
  const kind = rng() < 0.5 ? 'widget' : 'page'
  const beforeFormat = rng() < 0.5 ? 'png' : 'jpeg'
  const afterFormat = rng() < 0.5 ? 'png' : 'jpeg'
  const { redShare: _, ...rest } = options
  const base: CaptureOptions = {
    payload: Buffer.alloc(0),
    grid: '3x3',
    kind,
    ratio,
    seed,
    quality: 70 + Math.floor(rng() * 20),
    background: (['white', 'grey', 'photo'] as const)[Math.floor(rng() * 3)]!,
    ...rest,
  }
  if (base.kind === 'page' && base.pageSize === undefined)
    base.pageSize = { width: Math.round(400 * ratio * 1.5), height: Math.round(640 * ratio * 1.3) }
  // As a user leaves it: the tiles about to be replaced were just clicked, so they show selected.
  const selectedBefore = rng() < 0.5 ? replaced : []
  const before = await renderCapture({
    ...base,
    payload: await composeGrid(cells, '3x3'),
    format: beforeFormat,
    selectedTiles: selectedBefore,
  })
  const after = await renderCapture({
    ...base,
    payload: await composeGrid(next, '3x3'),
    format: afterFormat,
    selectedTiles: selectedAfter,
  })
  const label = `seed ${seed}: ${base.kind} x${base.ratio} ${beforeFormat}->${afterFormat}, replaced ${replaced.join(',')}${selectedBefore.length > 0 ? ' (selected before)' : ''}, selected after ${selectedAfter.join(',') || '-'}`
  return {
    label,
    before: before.buffer,
    after: after.buffer,
    beforeFormat,
    afterFormat,
    replaced,
    red,
    selectedAfter,
    tiles: after.truth.tiles,
  }
}
