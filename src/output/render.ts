import type { ChalkInstance } from 'chalk'
import { messageNamesCode, messageNamesInput } from '../errors.js'
import type { DryRunResult, SolveFailure, SolveResult, SolveSuccess } from '../engine/result.js'
import { type Click, GRID_SIDE } from '../types.js'
import { safeText } from './safe-text.js'

/** Pure renderers: result data in, text out. */

export type OutputFormat = 'table' | 'json' | 'ndjson' | 'csv'

export function renderJson(value: unknown): string {
  return JSON.stringify(value, null, 2)
}

export function renderNdjsonLine(value: unknown): string {
  return JSON.stringify(value)
}

/** The grid with the chosen tiles filled and numbered, then one summary line. */
export function renderResultTable(
  result: SolveResult,
  c: ChalkInstance,
  options: { showInput?: boolean } = {},
): string {
  if (!result.ok) return renderFailureLine(result, c)
  if ('dryRun' in result) return renderDryRun(result, c)
  const lines: string[] = []
  if (options.showInput === true) lines.push(c.bold(safeText(result.input)))
  if (result.type === 'single') {
    lines.push(renderSingle(result, c))
  } else {
    lines.push(...renderGrid(GRID_SIDE[result.grid], result.objects, c, result.checked))
    if (result.clicks.length > 0) lines.push(renderClicks(result.clicks, c))
  }
  lines.push(renderResultLine(result, c))
  return lines.join('\n')
}

/** `checked` (a dynamic round): the tiles classified; those not chosen show as "[ n ]". */
export function renderGrid(
  side: number,
  chosen: readonly number[],
  c: ChalkInstance,
  checked?: readonly number[],
): string[] {
  const width = 6
  const picked = new Set(chosen)
  const looked = new Set(checked ?? [])
  const bar = (l: string, m: string, r: string): string =>
    l + Array.from({ length: side }, () => '─'.repeat(width)).join(m) + r
  const lines = [bar('┌', '┬', '┐')]
  for (let row = 0; row < side; row++) {
    const cells: string[] = []
    for (let col = 0; col < side; col++) {
      const index = row * side + col
      const label = String(index).padStart(2, ' ')
      cells.push(
        picked.has(index)
          ? c.level > 0
            ? c.bgGreen.black.bold(`  ${label}  `)
            : `██${label}██`
          : looked.has(index)
            ? `[ ${label} ]`
            : c.dim(`  ${'·'.padStart(2, ' ')}  `),
      )
    }
    lines.push(`│${cells.join('│')}│`)
    lines.push(row === side - 1 ? bar('└', '┴', '┘') : bar('├', '┼', '┤'))
  }
  return lines
}

/**
 * Where to click, in the input's own pixels (a screenshot's, not the payload's): each chosen tile
 * (numbered from 0, row by row, as in the grid above) and its centre.
 */
function renderClicks(clicks: readonly Click[], c: ChalkInstance): string {
  const points = clicks.map((k) => `${k.tile} at ${k.x},${k.y}`).join(c.dim(' · '))
  return `${c.dim("click (tile from 0, at x,y in the input's pixels):")} ${points}`
}

function renderSingle(result: SolveSuccess, c: ChalkInstance): string {
  const name = result.question.name
  return result.hasObject === true
    ? c.green.bold(`✔ the tile shows ${name}: click it`)
    : c.yellow(`✘ the tile does not show ${name}: leave it`)
}

function renderResultLine(result: SolveSuccess, c: ChalkInstance): string {
  const parts = [
    `${result.question.name} (${result.question.id})`,
    result.checked !== undefined
      ? `${result.grid} round, ${result.checked.length} tile${result.checked.length === 1 ? '' : 's'} at 100x100`
      : result.grid,
    result.provider,
    result.points === null ? 'points unknown' : `${result.points} points`,
    `${result.elapsedMs} ms`,
  ]
  let verdict: string
  if (result.checked !== undefined) {
    verdict =
      result.checked.length === 0
        ? 'no tile changed: nothing sent'
        : `checked ${result.checked.join(', ')}: ${result.objects.length === 0 ? 'nothing to click (verify)' : `click ${result.objects.join(', ')}`}`
  } else if (result.type === 'single') verdict = result.hasObject === true ? 'click' : 'no click'
  else if (result.objects.length === 0) verdict = 'nothing to click (reload or skip)'
  else verdict = `click ${result.objects.join(', ')}`
  const extra: string[] = []
  if (result.paidCalls !== undefined && result.paidCalls > 1)
    extra.push(`may have cost ${result.paidCalls}x (a reply was lost and retried)`)
  if (result.selected?.length) extra.push(`already selected: ${result.selected.join(', ')}`)
  if (result.loading?.length) extra.push(`still loading: ${result.loading.join(', ')}`)
  if (result.annotated !== undefined) extra.push(`annotated: ${safeText(result.annotated)}`)
  return [c.bold(verdict), ...parts, ...extra].join(c.dim(' · '))
}

function renderDryRun(result: DryRunResult, c: ChalkInstance): string {
  const body = JSON.stringify(result.request.body)
  return [
    `${c.bold('dry run')}: nothing was sent`,
    `input     ${safeText(result.input)} (${result.image.inputKind}, ${result.image.width}x${result.image.height})`,
    `question  ${result.question.name} (${result.question.id})`,
    `grid      ${result.grid}, sent as ${result.size}x${result.size} ${result.image.format}, ${result.image.bytes} bytes`,
    ...(result.selected?.length
      ? [`selected  ${result.selected.join(', ')} (restored to full size)`]
      : []),
    ...(result.loading?.length ? [`loading   ${result.loading.join(', ')}`] : []),
    `provider  ${result.provider}`,
    `request   ${result.request.method} ${result.request.url}`,
    ...Object.entries(result.request.headers).map(([k, v]) => `          ${k}: ${v}`),
    `          ${body}`,
  ].join('\n')
}

export function renderFailureLine(result: SolveFailure, c: ChalkInstance): string {
  // The name, message and code may come from outside (a file name, a service): one safe line.
  const { kind, code: given, hint: hinted } = result.error
  const code = given === null || messageNamesCode(kind) ? '' : ` [${safeText(given)}]`
  const hint = hinted === null ? '' : c.dim(` (hint: ${safeText(hinted)})`)
  // Input errors already name the file ("x.png is empty"): say the name once.
  const named = result.input === '' || messageNamesInput(kind)
  return `${c.red('✘')} ${named ? '' : `${safeText(result.input)}: `}${safeText(result.error.message)}${code}${hint}`
}

const CSV_COLUMNS = [
  'input',
  'ok',
  'question_id',
  'question',
  'grid',
  'size',
  'type',
  'objects',
  'has_object',
  'clicks',
  'provider',
  'task_id',
  'points',
  'elapsed_ms',
  'error_kind',
  'error_code',
  'error_message',
  // Added after the first release: at the end, so scripts that read columns by position still work.
  'selected',
  'loading',
] as const

export function renderCsvHeader(): string {
  return CSV_COLUMNS.join(',')
}

export function renderCsvRow(result: SolveResult): string {
  const row: Record<(typeof CSV_COLUMNS)[number], string | number | boolean | null> = {
    input: result.input,
    ok: result.ok,
    question_id: null,
    question: null,
    grid: null,
    size: null,
    type: null,
    objects: null,
    has_object: null,
    clicks: null,
    selected: null,
    loading: null,
    provider: null,
    task_id: null,
    points: null,
    elapsed_ms: null,
    error_kind: null,
    error_code: null,
    error_message: null,
  }
  if (result.ok) {
    Object.assign(row, {
      question_id: result.question.id,
      question: result.question.name,
      grid: result.grid,
      size: result.size,
      provider: result.provider,
      selected: result.selected?.join(' ') ?? null,
      loading: result.loading?.join(' ') ?? null,
    })
    if (!('dryRun' in result)) {
      Object.assign(row, {
        type: result.type,
        objects: result.objects.join(' '),
        has_object: result.hasObject,
        clicks: result.clicks.map((k) => `${k.x}:${k.y}`).join(' '),
        task_id: result.taskId,
        points: result.points,
        elapsed_ms: result.elapsedMs,
      })
    }
  } else {
    Object.assign(row, {
      error_kind: result.error.kind,
      error_code: result.error.code,
      error_message: result.error.message,
      elapsed_ms: result.elapsedMs ?? null,
    })
  }
  return CSV_COLUMNS.map((k) => csvCell(row[k], OUTSIDE_TEXT_COLUMNS.has(k))).join(',')
}

/** Columns holding text from outside rc2 (a file name, a service's id or message). */
const OUTSIDE_TEXT_COLUMNS = new Set<string>([
  'input',
  'question_id',
  'question',
  'task_id',
  'error_code',
  'error_message',
])

/**
 * A spreadsheet runs a cell that starts with one of these as a formula (`=HYPERLINK(...)` in a
 * file name): outside text gets a leading `'`, as OWASP's CSV injection advice says. rc2's own
 * numbers and lists are left as they are.
 */
const FORMULA_START = /^[=+\-@\t\r]/

function csvCell(value: string | number | boolean | null, outside = false): string {
  if (value === null) return ''
  const raw = String(value)
  const text = (outside && FORMULA_START.test(raw) ? "'" : '') + safeText(raw)
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text
}
