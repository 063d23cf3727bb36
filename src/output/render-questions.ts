/**
 * Renderers for `rc2 questions`: the table, a sentence's parse, and their JSON shapes.
 * Pure: data in, strings or plain objects out.
 */
import { Chalk, type ChalkInstance } from 'chalk'
import Table from 'cli-table3'
import type { QuestionEntry, QuestionMatch, Lang } from '../questions/types.js'
import { GRIDS, type Grid } from '../types.js'

/** English names of the table's languages, for "English sentence", "Japanese name". */
const LANG_NAMES: Record<Lang, string> = {
  en: 'English',
  'zh-CN': 'Chinese (simplified)',
  es: 'Spanish',
  fr: 'French',
  it: 'Italian',
  'pt-BR': 'Portuguese (Brazil)',
  ru: 'Russian',
  tr: 'Turkish',
  ja: 'Japanese',
  ko: 'Korean',
  de: 'German',
  nl: 'Dutch',
  'zh-TW': 'Chinese (Taiwan)',
  'zh-HK': 'Chinese (Hong Kong)',
  uk: 'Ukrainian',
}

function chalkFor(color: boolean | undefined): ChalkInstance {
  // An explicit instance: the caller decides about colour, not chalk's own terminal detection.
  return new Chalk({ level: color === true ? 1 : 0 })
}

/** "3x3 4x4? 1x1": accepted grids, `?` where support is undocumented, rejected ones left out. */
export function renderGrids(grids: Record<Grid, boolean | null>): string {
  const parts = GRIDS.filter((g) => grids[g] !== false).map((g) =>
    grids[g] === null ? `${g}?` : g,
  )
  return parts.length > 0 ? parts.join(' ') : '—'
}

function localName(entry: QuestionEntry, lang: Lang | undefined): string {
  if (lang === undefined) return entry.zh === '' ? '—' : entry.zh
  const names = entry.names[lang] ?? []
  return names.length > 0 ? names.join(', ') : '—'
}

export interface QuestionsTableOptions {
  /** Language of the third column; Chinese (the services' names) by default. */
  lang?: Lang
  color?: boolean
  /** Terminal width: long names wrap to fit. */
  width?: number
}

/** The question table: id, English, a second language, grids, status; one line of totals. */
export function renderQuestionsTable(
  entries: readonly QuestionEntry[],
  options: QuestionsTableOptions = {},
): string {
  const c = chalkFor(options.color)
  const localHead = options.lang === undefined ? 'Chinese' : LANG_NAMES[options.lang]
  const statusColor = { service: c.green, recaptcha: c.yellow, legacy: c.dim }
  const widths = options.width === undefined ? undefined : columnWidths(options.width)
  const table = new Table({
    head: ['id', 'English', localHead, 'grids', 'status'],
    style: {
      head: options.color === true ? ['cyan'] : [],
      border: options.color === true ? ['grey'] : [],
    },
    // No rule between rows: the full table has over a hundred of them.
    chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
    ...(widths === undefined ? {} : { colWidths: widths, wordWrap: true }),
  })
  for (const entry of entries) {
    table.push([
      entry.id,
      entry.en,
      localName(entry, options.lang),
      renderGrids(entry.grids),
      statusColor[entry.status](entry.status),
    ])
  }
  const services = entries.filter((e) => e.status === 'service').length
  const footer = c.dim(
    `${entries.length} question${entries.length === 1 ? '' : 's'} (${services} accepted by the services); 4x4? = support undocumented`,
  )
  return `${ruleUnderHeader(table.toString())}\n${footer}`
}

/**
 * A rule under the header line only: cli-table3 draws one under every row or none, and a hundred
 * rules make the table twice as long. Drawn from the top border, colours and widths included.
 */
function ruleUnderHeader(drawn: string): string {
  const [top, head, ...rows] = drawn.split('\n')
  if (top === undefined || head === undefined) return drawn
  const rule = top.replace('┌', '├').replace(/┬/g, '┼').replace('┐', '┤')
  return [top, head, rule, ...rows].join('\n')
}

/** Split a terminal width over the five columns (borders take 6 characters, padding is included). */
function columnWidths(width: number): number[] {
  const [id, grids, status] = [12, 14, 11] // "/m/0h8lhkg", "3x3 4x4? 1x1", "recaptcha"
  const rest = Math.max(40, width) - 6 - id - grids - status
  const english = Math.max(8, Math.floor(rest / 2))
  return [id, english, Math.max(8, rest - english), grids, status]
}

/** Options of renderQuestionMatch: the warnings from checkQuestion (a CheckResult fits) and colour. */
export interface QuestionMatchRenderOptions {
  warnings?: readonly string[]
  color?: boolean
}

function describeVia(match: QuestionMatch): string {
  const lang = match.lang === null ? undefined : LANG_NAMES[match.lang]
  if (match.via === 'id') return 'by id'
  if (match.via === 'name') return lang === undefined ? 'name' : `${lang} name`
  return lang === undefined ? 'sentence' : `${lang} sentence`
}

/**
 * How a query parsed, e.g. "parses to /m/0k4j cars, grid 4x4, English sentence", then the
 * note and warnings, one per line.
 */
export function renderQuestionMatch(
  match: QuestionMatch,
  options: QuestionMatchRenderOptions = {},
): string {
  const c = chalkFor(options.color)
  const grid = match.grid === null ? 'grid not implied' : `grid ${match.grid}`
  const dynamic = match.dynamic ? ', dynamic (replaced tiles come back as 1x1)' : ''
  const lines = [
    `parses to ${c.bold(match.entry.id)} ${match.entry.en}, ${grid}${dynamic}, ${describeVia(match)}`,
  ]
  if (match.entry.status !== 'service')
    lines.push(c.yellow(`not accepted by the services (status: ${match.entry.status})`))
  if (match.note !== undefined) lines.push(c.dim(`note: ${match.note}`))
  for (const warning of options.warnings ?? []) lines.push(c.yellow(`warning: ${warning}`))
  return lines.join('\n')
}
