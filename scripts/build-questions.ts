/**
 * Generates src/questions/table.ts from the question facts, data/questions.json.
 *
 *   npx tsx scripts/build-questions.ts [path/to/questions.json]
 *
 * Default input: data/questions.json (relative to the repository root).
 * The table keeps what lookup and display need (ids, status, grids, names, aliases); the
 * long `sources` and `notes` fields stay in the facts file and are only counted here.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  LANGS,
  PROMPT_TYPES,
  type Lang,
  type PromptType,
  type QuestionEntry,
  type QuestionStatus,
} from '../src/questions/types.js'
import { GRIDS, type Grid } from '../src/types.js'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const DEFAULT_INPUT = resolve(ROOT, 'data/questions.json')
const OUTPUT = resolve(ROOT, 'src/questions/table.ts')

/**
 * Aliases in the facts file that are mechanical singulars of plurals ending in -es/-us and
 * are not words; they would only add noise to suggestions.
 */
const DROPPED_ALIASES = new Set(['cactu', 'beache', 'sunglasse', 'mail boxe', 'eye glasse'])

const STATUSES: readonly QuestionStatus[] = ['service', 'recaptcha', 'legacy']

interface RawEntry {
  id: unknown
  en: unknown
  enForms?: unknown
  zh: unknown
  status: unknown
  grids: unknown
  i18n?: unknown
  aliases?: unknown
  sources?: unknown
  challengeTypes?: unknown
}

function fail(where: string, what: string): never {
  throw new Error(`questions.json ${where}: ${what}`)
}

function readStrings(value: unknown, where: string): string[] {
  if (value === undefined) return []
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string'))
    fail(where, 'expected an array of strings')
  return value as string[]
}

function uniqueStrings(values: readonly string[]): string[] {
  return [...new Set(values.map((v) => v.trim()).filter((v) => v.length > 0))]
}

function convertEntry(raw: RawEntry, index: number): { entry: QuestionEntry; sourceCount: number } {
  const where = `[${index}]`
  if (typeof raw.id !== 'string' || !/^\/m\/[0-9a-z_]+$/.test(raw.id))
    fail(`${where}.id`, 'expected a /m/ id')
  if (typeof raw.en !== 'string') fail(`${where}.en`, 'expected a string')
  if (raw.zh !== null && typeof raw.zh !== 'string')
    fail(`${where}.zh`, 'expected a string or null')
  if (!STATUSES.includes(raw.status as QuestionStatus))
    fail(`${where}.status`, `expected one of ${STATUSES.join(', ')}`)
  const gridsRaw = raw.grids as Record<string, unknown> | null
  if (typeof gridsRaw !== 'object' || gridsRaw === null)
    fail(`${where}.grids`, 'expected an object')
  const grids = {} as Record<Grid, boolean | null>
  for (const grid of GRIDS) {
    const flag = gridsRaw[grid]
    if (flag !== true && flag !== false && flag !== null)
      fail(`${where}.grids.${grid}`, 'expected true, false or null')
    grids[grid] = flag
  }
  const i18n = (raw.i18n ?? {}) as Record<string, unknown>
  const names: Partial<Record<Lang, readonly string[]>> = {}
  for (const key of Object.keys(i18n)) {
    if (!(LANGS as readonly string[]).includes(key))
      fail(`${where}.i18n.${key}`, 'unknown language code')
  }
  for (const lang of LANGS) {
    // enForms are the English bold texts ("a fire hydrant"); fold them into the English names.
    const extra = lang === 'en' ? readStrings(raw.enForms, `${where}.enForms`) : []
    const list = uniqueStrings([...readStrings(i18n[lang], `${where}.i18n.${lang}`), ...extra])
    if (list.length > 0) names[lang] = list
  }
  const named = new Set(Object.values(names).flat())
  const aliases = uniqueStrings(readStrings(raw.aliases, `${where}.aliases`)).filter(
    (alias) => !named.has(alias) && !DROPPED_ALIASES.has(alias),
  )
  const prompts = readStrings(raw.challengeTypes, `${where}.challengeTypes`)
  for (const prompt of prompts) {
    if (!(PROMPT_TYPES as readonly string[]).includes(prompt))
      fail(`${where}.challengeTypes`, `unknown challenge type "${prompt}"`)
  }
  const entry: QuestionEntry = {
    id: raw.id,
    en: raw.en,
    zh: raw.zh ?? '',
    status: raw.status as QuestionStatus,
    grids,
    names,
    aliases,
    prompts: prompts as PromptType[],
  }
  return { entry, sourceCount: readStrings(raw.sources, `${where}.sources`).length }
}

export function buildQuestionsSource(rawJson: string, inputLabel: string): string {
  const parsed: unknown = JSON.parse(rawJson)
  if (!Array.isArray(parsed)) fail('(root)', 'expected an array')
  const converted = (parsed as RawEntry[]).map(convertEntry)
  const ids = new Set<string>()
  for (const { entry } of converted) {
    if (ids.has(entry.id)) fail(entry.id, 'duplicate id')
    ids.add(entry.id)
  }
  const counts = STATUSES.map(
    (s) => `${converted.filter((c) => c.entry.status === s).length} ${s}`,
  ).join(', ')
  const sourceRefs = converted.reduce((sum, c) => sum + c.sourceCount, 0)
  // JSON text inside String.raw: a backtick or `${` would end or interrupt the template, and JSON
  // may spell both (they only occur inside strings) as \u escapes.
  const lines = converted.map(
    ({ entry }, i) =>
      `  ${JSON.stringify(entry).replaceAll('`', '\\u0060').replaceAll('${', '\\u0024{')}${i < converted.length - 1 ? ',' : ''}`,
  )
  return [
    '// GENERATED by scripts/build-questions.ts — do not edit by hand.',
    `// Facts: ${inputLabel} (${converted.length} ids: ${counts}), compiled from Google's`,
    '// reCAPTCHA locale bundles, the YesCaptcha / Ace Data Cloud / CapSolver / ttshitu question',
    `// lists and open-source solver tables (${sourceRefs} source references, kept in the facts file).`,
    '// Regenerate: npx tsx scripts/build-questions.ts',
    "import type { QuestionEntry } from './types.js'",
    '',
    'function freezeEntry(entry: QuestionEntry): QuestionEntry {',
    '  for (const list of Object.values(entry.names)) Object.freeze(list)',
    '  Object.freeze(entry.names)',
    '  Object.freeze(entry.grids)',
    '  Object.freeze(entry.aliases)',
    '  if (entry.prompts !== undefined) Object.freeze(entry.prompts)',
    '  return Object.freeze(entry)',
    '}',
    '',
    '// Parsed from JSON text: V8 reads JSON faster than the same object literal (start-up time).',
    'const ENTRIES = JSON.parse(String.raw`[',
    ...lines,
    ']`) as QuestionEntry[]',
    '',
    'export const QUESTIONS: readonly QuestionEntry[] = Object.freeze(ENTRIES.map(freezeEntry))',
    '',
    '/**',
    ' * What `rc2 questions` lists without a query: the entries a service accepts, or all of them, in',
    ' * table order. Here, not with the search, so that listing loads no name index (start-up time).',
    ' */',
    'export function listQuestions(options: { all?: boolean } = {}): QuestionEntry[] {',
    "  return QUESTIONS.filter((e) => options.all === true || e.status === 'service')",
    '}',
    '',
  ].join('\n')
}

function main(): void {
  const input = resolve(process.argv[2] ?? DEFAULT_INPUT)
  const label = relative(ROOT, input).split('\\').join('/')
  writeFileSync(OUTPUT, buildQuestionsSource(readFileSync(input, 'utf8'), label))
  process.stdout.write(`wrote ${relative(ROOT, OUTPUT)}\n`)
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url))
  main()
