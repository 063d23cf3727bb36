/**
 * Output a person reads: the click coordinates in the table (tiles numbered from 0), the time left
 * on the progress line, NopeCHA's reset times as dates, the rule under the questions table's header.
 */
import { Chalk } from 'chalk'
import { describe, expect, it } from 'vitest'
import { renderResultTable } from '../../src/output/render.js'
import { progressLine } from '../../src/output/progress.js'
import { renderBalance } from '../../src/output/render-balance.js'
import { renderQuestionsTable } from '../../src/output/render-questions.js'
import { listQuestions } from '../../src/questions/table.js'
import { renderLayoutTable } from '../../src/output/render-layout.js'
import { payloadLayout } from '../../src/image/detect.js'
import type { SolveSuccess } from '../../src/engine/result.js'

const plain = new Chalk({ level: 0 })

const screenshot: SolveSuccess = {
  schemaVersion: 1,
  input: 'shots/page.png',
  ok: true,
  question: { id: '/m/0k4j', name: 'cars' },
  grid: '3x3',
  size: 300,
  type: 'multi',
  objects: [0, 5],
  hasObject: null,
  confidences: null,
  clicks: [
    { tile: 0, x: 470, y: 389 },
    { tile: 5, x: 730, y: 519 },
  ],
  provider: 'yescaptcha',
  taskId: 't1',
  points: 6,
  elapsedMs: 900,
}

describe('the result table', () => {
  it("shows where to click in the input's pixels and that tiles count from 0", () => {
    const lines = renderResultTable(screenshot, plain).split('\n')
    const clicks = lines.find((l) => l.startsWith('click ('))
    expect(clicks).toBe(
      "click (tile from 0, at x,y in the input's pixels): 0 at 470,389 · 5 at 730,519",
    )
    // Between the grid and the summary line.
    expect(lines.indexOf(clicks as string)).toBe(lines.length - 2)
  })

  it('has no click line when there is nothing to click', () => {
    const text = renderResultTable({ ...screenshot, objects: [], clicks: [] }, plain)
    expect(text).not.toContain('click (tile')
  })
})

describe('the progress line', () => {
  const state = { total: 100, done: 20, ok: 19, failed: 1, inFlight: 4, limit: 4, points: 114 }

  it('estimates the time left from the rate so far', () => {
    // 20 done in 40 s: 0.5/s, 80 left: 160 s.
    expect(progressLine(state, 40_000)).toBe(
      '20/100 done · 19 ok · 1 failed · 114 points · 0.5/s · 4 in flight · about 2m 40s left',
    )
    expect(progressLine({ ...state, done: 1 }, 100_000)).toMatch(/about 2h 45m left$/)
    expect(progressLine({ ...state, done: 99 }, 99_000)).toMatch(/about 1s left$/)
  })

  it('says the time left is unknown before anything finished', () => {
    expect(progressLine({ ...state, done: 0, ok: 0, failed: 0 }, 5_000)).toMatch(
      /· time left unknown$/,
    )
  })
})

describe("NopeCHA's balance", () => {
  it('shows the last and next reset as UTC dates, not epoch numbers', () => {
    const now = Date.UTC(2026, 11, 7, 12, 0, 0)
    const line = renderBalance(
      {
        provider: 'nopecha',
        balance: 950,
        unit: 'credits',
        details: { quota: 1000, duration: 86_400, lastreset: now / 1000 - 3600, ttl: 82_800 },
      },
      ' · ',
      now,
    )
    expect(line).toBe(
      'nopecha: 950 credits · quota 1000 · period 24h 0m · last reset 2026-12-07 11:00 UTC · next reset 2026-12-08 11:00 UTC (in 23h 0m)',
    )
    expect(line).not.toMatch(/\d{9,}/)
  })
})

describe('the questions table', () => {
  it('has a rule under its header and none between rows', () => {
    const lines = renderQuestionsTable(listQuestions()).split('\n')
    expect(lines[1]).toMatch(/^│ id +│ English/)
    expect(lines[2]).toMatch(/^├─+┼─+┼─+┼─+┼─+┤$/)
    expect(lines.filter((l) => l.startsWith('├'))).toHaveLength(1)
    expect(lines[3]).toMatch(/^│ \/m\//)
  })
})

describe('the grid table', () => {
  it('says the tiles are numbered from 0 and where the coordinates are', () => {
    const lines = renderLayoutTable('p.png', 300, 300, payloadLayout('3x3', 300)).split('\n')
    expect(lines[2]).toMatch(/^ {3}0 /)
    expect(lines.at(-1)).toBe(
      "tiles numbered from 0, row by row; x, y, cx, cy in the input's pixels",
    )
  })
})
