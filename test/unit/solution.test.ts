import { describe, expect, it } from 'vitest'
import { normalizeSolution } from '../../src/providers/solution.js'
import type { SolutionContext } from '../../src/providers/solution.js'

const grid3: SolutionContext = { provider: 'yescaptcha', grid: '3x3', size: 300 }
const grid4: SolutionContext = { provider: 'capsolver', grid: '4x4', size: 450 }
const tile: SolutionContext = { provider: 'acedata', grid: '1x1', size: 100, checkSize: true }

describe('normalizeSolution', () => {
  it('dedupes and sorts objects', () => {
    expect(normalizeSolution({ objects: [8, 0, 8, 3], type: 'multi' }, grid3)).toEqual({
      type: 'multi',
      objects: [0, 3, 8],
      hasObject: null,
      confidences: null,
    })
    expect(normalizeSolution({ objects: [], type: 'multi' }, grid4).objects).toEqual([])
    expect(normalizeSolution({ objects: [15] }, grid4).objects).toEqual([15])
  })

  it.each([
    [
      { objects: [9], type: 'multi' },
      grid3,
      'yescaptcha reply: solution.objects[0] = 9 is outside the 3x3 grid (0-8)',
    ],
    [
      { objects: [0, -1] },
      grid4,
      'capsolver reply: solution.objects[1] = -1 is outside the 4x4 grid (0-15)',
    ],
    [
      { objects: [1.5] },
      grid3,
      'yescaptcha reply: solution.objects[0]: Invalid input: expected int, received number',
    ],
    [{ type: 'multi' }, grid3, 'yescaptcha reply: solution.objects is missing'],
    [
      { type: 'single', hasObject: true },
      grid3,
      'yescaptcha reply: solution.type is "single" but a 3x3 grid (300x300) was sent',
    ],
    [
      { type: 'grid', objects: [1] },
      grid3,
      'yescaptcha reply: solution.type = "grid" is neither "multi" nor "single"',
    ],
    [
      { objects: [1], confidences: [0.5] },
      grid3,
      'yescaptcha reply: solution.confidences has 1 entries, expected 9 for the 3x3 grid',
    ],
    [
      { type: 'single' },
      tile,
      'acedata reply: solution.hasObject is missing from the answer for a single 100x100 tile',
    ],
    [{ type: 'single', hasObject: 'yes' }, tile, /^acedata reply: solution\.hasObject: /],
    [
      { objects: [1] },
      tile,
      'acedata reply: solution.objects[0] = 1 is outside the 1x1 grid (0-0)',
    ],
    [
      { size: 300, hasObject: true, type: 'single' },
      tile,
      'acedata reply: solution.size = 300 does not match the 100x100 image sent',
    ],
    ['nonsense', grid3, /^yescaptcha reply: solution: /],
  ])('rejects %j', (raw, context, message) => {
    expect(() => normalizeSolution(raw, context)).toThrow(message)
  })

  it('reads a single tile from hasObject, or from multi-shaped objects [0] / []', () => {
    expect(
      normalizeSolution({ type: 'single', hasObject: true, confidences: [0.9] }, tile),
    ).toEqual({
      type: 'single',
      objects: [],
      hasObject: true,
      confidences: [0.9],
    })
    expect(normalizeSolution({ type: 'multi', objects: [0] }, tile).hasObject).toBe(true)
    expect(normalizeSolution({ type: 'multi', objects: [] }, tile).hasObject).toBe(false)
  })

  it('ignores size unless asked to check it (CapSolver size meaning is unknown)', () => {
    expect(normalizeSolution({ size: 4, objects: [1] }, grid4).objects).toEqual([1])
  })
})
