import { PassThrough } from 'node:stream'
import { text } from 'node:stream/consumers'
import { Chalk } from 'chalk'
import { describe, expect, it } from 'vitest'
import type { ErrorKind } from '../../src/errors.js'
import { Output } from '../../src/output/io.js'
import {
  renderCsvHeader,
  renderCsvRow,
  renderFailureLine,
  renderGrid,
  renderResultTable,
} from '../../src/output/render.js'
import { ResultSink } from '../../src/output/sink.js'
import { renderBatchSummary } from '../../src/output/progress.js'
import type { SolveFailure, SolveSuccess } from '../../src/engine/result.js'

const plain = new Chalk({ level: 0 })
const colour = new Chalk({ level: 1 })

const ok: SolveSuccess = {
  schemaVersion: 1,
  input: 'shots/a.png',
  ok: true,
  question: { id: '/m/0k4j', name: 'cars' },
  grid: '3x3',
  size: 300,
  type: 'multi',
  objects: [1, 4, 7],
  hasObject: null,
  confidences: null,
  clicks: [{ tile: 1, x: 150, y: 50 }],
  provider: 'yescaptcha',
  taskId: 'abc',
  points: 6,
  elapsedMs: 812,
}

describe('table rendering', () => {
  it('draws the grid with exactly the chosen tiles filled and numbered', () => {
    const lines = renderGrid(3, [1, 4, 7], plain)
    expect(lines).toHaveLength(7)
    const rows = lines.filter((l) => l.startsWith('│'))
    expect(rows).toHaveLength(3)
    for (const [r, row] of rows.entries()) {
      const cells = row.split('│').slice(1, -1)
      expect(cells).toHaveLength(3)
      expect(cells[1]).toBe(`██ ${r * 3 + 1}██`)
      expect(cells[0]).not.toMatch(/█|\d/)
      expect(cells[2]).not.toMatch(/█|\d/)
    }
  })

  it('numbers 4x4 tiles up to 15 and colours only when asked', () => {
    const text = renderGrid(4, [0, 15], plain).join('\n')
    expect(text).toContain('██ 0██')
    expect(text).toContain('██15██')
    expect(text).not.toContain('\u001b[')
    expect(renderGrid(4, [0], colour).join('\n')).toContain('\u001b[')
  })

  it('ends with one summary line naming the question, grid, provider, points and time', () => {
    const text = renderResultTable(ok, plain)
    const last = text.split('\n').at(-1) ?? ''
    expect(last).toContain('click 1, 4, 7')
    expect(last).toContain('cars (/m/0k4j)')
    expect(last).toContain('3x3')
    expect(last).toContain('yescaptcha')
    expect(last).toContain('6 points')
    expect(last).toContain('812 ms')
  })

  it('says "nothing to click" for an empty answer and yes/no for a single tile', () => {
    expect(renderResultTable({ ...ok, objects: [] }, plain)).toContain('nothing to click')
    const single: SolveSuccess = {
      ...ok,
      grid: '1x1',
      size: 100,
      type: 'single',
      objects: [],
      hasObject: true,
      points: 2,
    }
    expect(renderResultTable(single, plain)).toMatch(/shows cars: click it/)
    expect(renderResultTable({ ...single, hasObject: false }, plain)).toMatch(/does not show cars/)
  })

  it('renders a failure as one line with its code and hint', () => {
    const bad: SolveFailure = {
      schemaVersion: 1,
      input: 'x.png',
      ok: false,
      error: {
        kind: 'balance',
        code: 'ERROR_ZERO_BALANCE',
        message: 'yescaptcha: ERROR_ZERO_BALANCE: no points left',
        hint: 'top up',
      },
    }
    const text = renderResultTable(bad, plain)
    expect(text.split('\n')).toHaveLength(1)
    // A service's failure carries its code in the message: said once, not again as [code].
    expect(text).toBe('✘ x.png: yescaptcha: ERROR_ZERO_BALANCE: no points left (hint: top up)')
  })

  it('names the input beside any failure but an input error, whatever the words contain', () => {
    const lost = failure('a', 'network', null, 'yescaptcha: cannot connect to api.yescaptcha.com')
    expect(renderFailureLine(lost, plain)).toBe(
      '✘ a: yescaptcha: cannot connect to api.yescaptcha.com',
    )
    const empty = failure('shots/a.png', 'input', null, 'shots/a.png is empty (0 bytes)')
    expect(renderFailureLine(empty, plain)).toBe('✘ shots/a.png is empty (0 bytes)')
  })

  it("shows rc2's own code beside the message, even where the input's name holds it", () => {
    const gone = failure(
      'https://x.test/HTTP_404.png',
      'input',
      'HTTP_404',
      'https://x.test/HTTP_404.png: the server answered 404',
    )
    expect(renderFailureLine(gone, plain)).toBe(
      '✘ https://x.test/HTTP_404.png: the server answered 404 [HTTP_404]',
    )
  })
})

describe('failures said on stderr by a batch', () => {
  it('says a failure every input shares once, even where an input name appears in its words', async () => {
    const stderr = new PassThrough()
    const out = new Output({ stdout: new PassThrough(), stderr })
    const sink = new ResultSink(out, 'ndjson')
    const message = 'yescaptcha: ERROR_SERVICE_DOWN: the service is unavailable'
    for (const [index, input] of ['a', 'b', 'c'].entries())
      sink.add(failure(input, 'provider', 'ERROR_SERVICE_DOWN', message), index)
    sink.add(failure('d.png', 'input', null, 'd.png is empty (0 bytes)'), 3)
    sink.add(failure('e.png', 'input', 'EIO', 'e.png: cannot read it: input/output error'), 4)
    sink.finish()
    // Every line written, however the stream chose to hand them over (read() gives one chunk at a
    // time once the stream flows).
    stderr.end()
    expect((await text(stderr)).trimEnd().split('\n')).toEqual([
      `rc2: error: a: ${message}`,
      'rc2: error: d.png is empty (0 bytes)',
      'rc2: error: e.png: cannot read it: input/output error [EIO]',
    ])
  })
})

function failure(
  input: string,
  kind: ErrorKind,
  code: string | null,
  message: string,
): SolveFailure {
  return { schemaVersion: 1, input, ok: false, error: { kind, code, message, hint: null } }
}

describe('csv rendering', () => {
  it('has one column per header field and quotes what needs quoting', () => {
    const header = renderCsvHeader().split(',')
    const row = renderCsvRow({ ...ok, input: 'dir/a, "b".png' })
    expect(
      row.startsWith(
        '"dir/a, ""b"".png",true,/m/0k4j,cars,3x3,300,multi,1 4 7,,150:50,yescaptcha,abc,6,812',
      ),
    ).toBe(true)
    // Quoted commas do not split: parse naively after removing the quoted cell.
    expect(row.replace(/^"[^"]*(?:""[^"]*)*",/, 'X,').split(',')).toHaveLength(header.length)
  })

  it('ends with the selected and loading tiles of the capture, space-separated', () => {
    const header = renderCsvHeader().split(',')
    expect(header.slice(-2)).toEqual(['selected', 'loading'])
    const row = renderCsvRow({ ...ok, selected: [2, 5], loading: [7] }).split(',')
    expect(row.slice(-2)).toEqual(['2 5', '7'])
    expect(renderCsvRow(ok).split(',').slice(-2)).toEqual(['', ''])
  })
})

describe('batch summary', () => {
  it('gives solved, failures by kind, points, latency and wall time', () => {
    const line = renderBatchSummary({
      total: 10,
      solved: 8,
      failed: 2,
      skipped: 0,
      failedByKind: { input: 1, rate_limit: 1 },
      points: 48,
      unsentBudget: 0,
      unsentStopped: 0,
      interrupted: 0,
      extraPaidCalls: 1,
      latencyMs: { p50: 200, p95: 900 },
      wallMs: 2500,
    })
    expect(line).toBe(
      '8/10 solved · 2 failed (1 input, 1 rate_limit) · 48 points · p50 200 ms, p95 900 ms · 2.5 s · 1 call(s) may have been charged without an answer (lost replies)',
    )
  })
})
