/**
 * What the user typed for --question -> one table entry. Pure: no fs, net, process or clock.
 *
 * Accepts an id, a name or alias in any language of the table, or a whole widget sentence
 * (which also tells the grid). Never guesses: unknown text and text naming two ids are
 * refused with suggestions, except the documented "vehicles" quirk, which resolves by rule.
 * The name index is name-index.ts, the fuzzy search search.ts, the grid check check.ts.
 */
import { UsageError, type Rc2ErrorOptions } from '../errors.js'
import { editDistance, normalizeText, stripArticles, toBaseKey } from './normalize.js'
import { findNameHits, getQuestionIndex, type IndexHit, type QuestionIndex } from './name-index.js'
import {
  searchQuestions,
  STATUS_RANK,
  suggestQuestions,
  type QuestionSuggestion,
  type SearchOptions,
} from './search.js'
import {
  readSentence,
  stripSuffixes,
  type PromptKind,
  type SentenceReading,
  type SuffixStrip,
} from './sentences.js'
import {
  LANGS,
  type Lang,
  type PromptType,
  type QuestionEntry,
  type QuestionMatch,
} from './types.js'

export { checkQuestion } from './check.js'
export type { QuestionSuggestion } from './search.js'

/** The services' id for cars; the only one of the two "vehicles" ids they accept. */
const CARS_ID = '/m/0k4j'
/** Google's "vehicles" id: the same English (and most translated) text as the 4x4 cars prompt. */
const VEHICLES_ID = '/m/07yv9'

const VEHICLES_NOTE =
  '"vehicles" names both /m/0k4j and /m/07yv9; the 4x4 cars prompt says "vehicles" and the services accept only /m/0k4j, so it is used'

const LIST_HINT = 'run `rc2 questions` for the list'

/** A UsageError that also carries the suggestions (unknown text) or choices (ambiguous text). */
export class QuestionLookupError extends UsageError {
  readonly text: string
  readonly suggestions: readonly QuestionSuggestion[]
  readonly ambiguous: boolean

  constructor(
    message: string,
    details: { text: string; suggestions: readonly QuestionSuggestion[]; ambiguous: boolean },
    options: Rc2ErrorOptions,
  ) {
    super(message, options)
    this.name = 'QuestionLookupError'
    this.text = details.text
    this.suggestions = details.suggestions
    this.ambiguous = details.ambiguous
  }
}

/** Text as typed, only case- and width-insensitive: to tell languages apart, not to match. */
function spellingOf(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim()
}

function uniqueEntries(hits: readonly IndexHit[]): QuestionEntry[] {
  return [...new Set(hits.map((h) => h.entry))]
}

function shorten(text: string): string {
  const flat = text.replace(/\s+/gu, ' ').trim()
  return flat.length > 80 ? `${flat.slice(0, 77)}…` : flat
}

function formatSuggestion(s: QuestionSuggestion): string {
  return `${s.name} (${s.id})`
}

interface Chosen {
  entry: QuestionEntry
  lang: Lang | null
  note?: string
}

const PROMPT_OF_KIND: Record<PromptKind, PromptType> = {
  images: 'imageselect',
  squares: 'tileselect',
  tap: 'tapcenter',
  outline: 'boundingbox',
}

/**
 * One entry out of the hits, or a refusal listing the choices. Shared names are settled only
 * by facts: the sentence's language, the challenge kind the ids appear in, the vehicles rule.
 */
function chooseEntry(
  hits: readonly IndexHit[],
  text: string,
  context: { lang: Lang | null; kind?: PromptKind },
  index: QuestionIndex,
): Chosen {
  const langHint = context.lang
  let entries = uniqueEntries(hits)
  if (entries.length > 1 && langHint !== null) {
    // A name shared across languages may belong to one id in the language the sentence is in.
    const inLang = uniqueEntries(hits.filter((h) => h.lang === langHint))
    if (inLang.length === 1) entries = inLang
  }
  const kind = context.kind
  if (entries.length > 1 && kind !== undefined) {
    // "Tap the center of the mail boxes": only one of the two "mail boxes" ids has that prompt.
    const ofKind = entries.filter((e) => e.prompts?.includes(PROMPT_OF_KIND[kind]) === true)
    if (ofKind.length === 1) entries = ofKind
  }
  let note: string | undefined
  if (entries.length > 1 && entries.every((e) => e.id === CARS_ID || e.id === VEHICLES_ID)) {
    entries = entries.filter((e) => e.id === CARS_ID)
    note = VEHICLES_NOTE
  }
  const [entry] = entries
  if (entry === undefined) throw new Error('chooseEntry called without hits')
  if (entries.length > 1) {
    const choices = entries
      .sort((a, b) => (index.order.get(a) ?? 0) - (index.order.get(b) ?? 0))
      .map((e) => ({ id: e.id, name: e.en, status: e.status }))
    throw new QuestionLookupError(
      `"${shorten(text)}" names several questions: ${choices.map((c) => `${formatSuggestion(c)} [${c.status}]`).join(', ')}`,
      { text, suggestions: choices, ambiguous: true },
      { hint: `pass the id instead, e.g. --question ${choices[0]?.id ?? ''}; ${LIST_HINT}` },
    )
  }
  const own = hits.filter((h) => h.entry === entry)
  // Folding makes "táxis" (pt-BR) and "taxis" (en) one key; the exact spelling tells them apart.
  const spelled = spellingOf(text)
  const lang =
    own.find((h) => h.lang === langHint)?.lang ??
    own.find((h) => spellingOf(h.name) === spelled)?.lang ??
    LANGS.find((l) => own.some((h) => h.lang === l)) ??
    null
  return note === undefined ? { entry, lang } : { entry, lang, note }
}

function unknownError(
  message: string,
  text: string,
  suggestFor: string,
  index: QuestionIndex,
): QuestionLookupError {
  const suggestions = suggestQuestions(suggestFor, 5, index)
  const hint =
    suggestions.length > 0
      ? `did you mean: ${suggestions.map(formatSuggestion).join(', ')}; ${LIST_HINT}`
      : `${LIST_HINT}, or pass a /m/ id`
  return new QuestionLookupError(message, { text, suggestions, ambiguous: false }, { hint })
}

const ID_PATTERN = /^\/?m\/[0-9a-z_]+$/i

function lookupId(raw: string, index: QuestionIndex): QuestionMatch {
  const id = `/${raw.replace(/^\//, '').toLowerCase()}`
  const entry = index.byId.get(id)
  if (entry !== undefined) return { entry, via: 'id', grid: null, dynamic: false, lang: null }
  const suggestions = [...index.byId.values()]
    .map((e) => ({ e, d: editDistance(id, e.id, 2) }))
    .filter(({ d }) => d <= 2)
    .sort((a, b) => a.d - b.d || STATUS_RANK[a.e.status] - STATUS_RANK[b.e.status])
    .slice(0, 5)
    .map(({ e }) => ({ id: e.id, name: e.en, status: e.status }))
  const hint =
    suggestions.length > 0
      ? `did you mean: ${suggestions.map(formatSuggestion).join(', ')}; ${LIST_HINT}`
      : `${LIST_HINT}; the services accept only the ids listed there`
  throw new QuestionLookupError(
    `question id "${id}" is not in the question table`,
    { text: raw, suggestions, ambiguous: false },
    { hint },
  )
}

const KIND_NOTE: Partial<Record<PromptKind, string>> = {
  tap: 'a "tap the center" prompt: not a tile grid, so it implies no grid',
  outline: 'an "outline / select around" prompt: not a tile grid, so it implies no grid',
}

export interface LookupOptions {
  /** Language to prefer when a name or sentence could be read in several. */
  lang?: Lang
}

/**
 * Read --question: an id ("/m/0k4j"), a name or alias in any language ("car", "消防栓",
 * "les voitures"), or an instruction sentence ("Select all squares with motorcycles").
 * Throws QuestionLookupError (a UsageError) for unknown or ambiguous text.
 */
export function lookupQuestion(text: string, options: LookupOptions = {}): QuestionMatch {
  const index = getQuestionIndex()
  const trimmed = text.normalize('NFKC').trim()
  if (ID_PATTERN.test(trimmed)) return lookupId(trimmed, index)
  const normalized = normalizeText(text)
  if (normalized === '') {
    throw new UsageError('--question is empty', {
      hint: `give an object name ("cars"), a /m/ id or the challenge sentence; ${LIST_HINT}`,
    })
  }
  const langHint = options.lang ?? null
  const readings = readSentence(normalized, options.lang)
  const stripped = stripSuffixes(normalized)
  const found =
    lookupInSentence(readings, index) ??
    lookupBeforeSuffix(normalized, stripped, langHint, index) ??
    lookupName(normalized, text, langHint, index)
  if (found !== undefined) return found

  const [reading] = readings
  if (reading !== undefined) {
    throw unknownError(
      `no question matches "${shorten(reading.object)}" in the sentence "${shorten(text)}"`,
      text,
      stripArticles(reading.object),
      index,
    )
  }
  const rest = stripped.rest === '' ? normalized : stripped.rest
  throw unknownError(`unknown question "${shorten(text)}"`, text, rest, index)
}

function withNote(match: QuestionMatch, note: string | undefined): QuestionMatch {
  return note === undefined ? match : { ...match, note }
}

/** The first template reading whose object is a known name. */
function lookupInSentence(
  readings: readonly SentenceReading[],
  index: QuestionIndex,
): QuestionMatch | undefined {
  for (const reading of readings) {
    const hits = findNameHits(reading.object, index)
    if (hits.length === 0) continue
    const context = { lang: reading.lang, kind: reading.kind }
    const chosen = chooseEntry(hits, reading.object, context, index)
    const { grid, dynamic, lang } = reading
    const match: QuestionMatch = { entry: chosen.entry, via: 'sentence', grid, dynamic, lang }
    return withNote(match, chosen.note ?? KIND_NOTE[reading.kind])
  }
  return undefined
}

/** The widget's trailing line without the first one: "fire hydrants / Click verify once …". */
function lookupBeforeSuffix(
  normalized: string,
  stripped: SuffixStrip,
  langHint: Lang | null,
  index: QuestionIndex,
): QuestionMatch | undefined {
  if (stripped.rest === normalized || stripped.rest === '') return undefined
  const hits = findNameHits(stripped.rest, index)
  if (hits.length === 0) return undefined
  const chosen = chooseEntry(hits, stripped.rest, { lang: stripped.lang ?? langHint }, index)
  const match: QuestionMatch = {
    entry: chosen.entry,
    via: 'sentence',
    // Only the image-grid challenge carries the "verify once there are none left" line.
    grid: stripped.dynamic ? '3x3' : null,
    dynamic: stripped.dynamic,
    lang: stripped.lang,
  }
  return withNote(match, chosen.note)
}

/** The whole text as a name. */
function lookupName(
  normalized: string,
  text: string,
  langHint: Lang | null,
  index: QuestionIndex,
): QuestionMatch | undefined {
  const hits = findNameHits(normalized, index)
  if (hits.length === 0) return undefined
  const chosen = chooseEntry(hits, text, { lang: langHint }, index)
  const match: QuestionMatch = {
    entry: chosen.entry,
    via: 'name',
    grid: null,
    dynamic: false,
    lang: chosen.lang,
  }
  return withNote(match, chosen.note)
}

/** What `rc2 questions [query]` shows: the matching entries, and the parse when the query is a sentence. */
export interface QuestionsView {
  entries: QuestionEntry[]
  /** Set when the query is an instruction sentence: how it parses. */
  match?: QuestionMatch
}

/** True when the text reads as a widget sentence (a template or a trailing instruction line). */
export function isQuestionSentence(text: string): boolean {
  const normalized = normalizeText(text)
  return (
    normalized !== '' &&
    (readSentence(normalized).length > 0 || stripSuffixes(normalized).rest !== normalized)
  )
}

/**
 * The data behind `rc2 questions [query]`. A sentence is parsed (and refused like --question
 * when it names nothing known); other text filters the table. A filter that finds nothing is a
 * UsageError with suggestions, pointing at --all when only non-service ids match.
 */
export function describeQuestions(
  query: string | undefined,
  options: SearchOptions = {},
): QuestionsView {
  if (query !== undefined && isQuestionSentence(query)) {
    const match = lookupQuestion(query, options.lang === undefined ? {} : { lang: options.lang })
    return { entries: [match.entry], match }
  }
  const entries = searchQuestions(query, options)
  if (entries.length > 0 || query === undefined || toBaseKey(query) === '') return { entries }
  if (options.all !== true) {
    const hidden = searchQuestions(query, { ...options, all: true }).length
    if (hidden > 0) {
      throw new UsageError(`no question the services accept matches "${shorten(query)}"`, {
        hint: `${hidden === 1 ? 'one id' : `${hidden} ids`} that no service accepts match it: add --all to see ${hidden === 1 ? 'it' : 'them'}`,
      })
    }
  }
  throw unknownError(`no question matches "${shorten(query)}"`, query, query, getQuestionIndex())
}
