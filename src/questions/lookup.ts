/**
 * What the user typed for --question -> one table entry. Pure: no fs, net, process or clock.
 *
 * Accepts an id, a name or alias in any language of the table, or a whole widget sentence
 * (which also tells the grid). Never guesses: unknown text and text naming two ids are
 * refused with suggestions, except the documented "vehicles" quirk, which resolves by rule.
 */
import { UsageError, type Rc2ErrorOptions } from '../errors.js'
import type { Grid } from '../types.js'
import {
  compactKey,
  editDistance,
  hasCjk,
  inflectionVariants,
  maxTypoDistance,
  normalizeText,
  stripArticles,
  toBaseKey,
} from './normalize.js'
import { readSentence, stripSuffixes, type PromptKind } from './sentences.js'
import { listQuestions, QUESTIONS } from './table.js'
import {
  LANGS,
  type Lang,
  type PromptType,
  type QuestionEntry,
  type QuestionMatch,
} from './types.js'

/** The services' id for cars; the only one of the two "vehicles" ids they accept. */
const CARS_ID = '/m/0k4j'
/** Google's "vehicles" id: the same English (and most translated) text as the 4x4 cars prompt. */
const VEHICLES_ID = '/m/07yv9'

const VEHICLES_NOTE =
  '"vehicles" names both /m/0k4j and /m/07yv9; the 4x4 cars prompt says "vehicles" and the services accept only /m/0k4j, so it is used'

const SERVICE_NAMES = 'YesCaptcha, Ace Data Cloud and CapSolver'
const LIST_HINT = 'run `rc2 questions` for the list'

/** One name of the table under its index key. */
export interface IndexHit {
  entry: QuestionEntry
  /** Language of the name; aliases count as English or Chinese by their script. */
  lang: Lang | null
  /** The name as the table spells it (for suggestions). */
  name: string
}

export interface QuestionIndex {
  byKey: ReadonlyMap<string, readonly IndexHit[]>
  /** Same names with every space removed ("firehydrant", as some solver tables write them). */
  bySquashed: ReadonlyMap<string, readonly IndexHit[]>
  byId: ReadonlyMap<string, QuestionEntry>
  /** Every key of each entry, for search. */
  keysOf: ReadonlyMap<QuestionEntry, readonly { key: string; lang: Lang | null }[]>
  /** Position in the table, for stable ordering. */
  order: ReadonlyMap<QuestionEntry, number>
}

/** A near match offered when the text is unknown. */
export interface QuestionSuggestion {
  id: string
  name: string
  status: QuestionEntry['status']
}

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

function squash(key: string): string {
  return key.replace(/ /g, '')
}

function langOfAlias(alias: string): Lang {
  return hasCjk(alias) ? 'zh-CN' : 'en'
}

/** Build the name index (normalised name -> hits). Called once, lazily, by the lookups. */
function buildQuestionIndex(entries: readonly QuestionEntry[] = QUESTIONS): QuestionIndex {
  const byKey = new Map<string, IndexHit[]>()
  const bySquashed = new Map<string, IndexHit[]>()
  const byId = new Map<string, QuestionEntry>()
  const keysOf = new Map<QuestionEntry, { key: string; lang: Lang | null }[]>()
  const order = new Map<QuestionEntry, number>()
  const add = (map: Map<string, IndexHit[]>, key: string, hit: IndexHit): void => {
    if (key === '') return
    const list = map.get(key)
    if (list === undefined) map.set(key, [hit])
    else if (!list.some((h) => h.entry === hit.entry && h.lang === hit.lang)) list.push(hit)
  }
  entries.forEach((entry, position) => {
    byId.set(entry.id, entry)
    order.set(entry, position)
    const named: { name: string; lang: Lang | null }[] = [{ name: entry.en, lang: 'en' }]
    if (entry.zh !== '') named.push({ name: entry.zh, lang: 'zh-CN' })
    for (const lang of LANGS) for (const name of entry.names[lang] ?? []) named.push({ name, lang })
    for (const alias of entry.aliases) named.push({ name: alias, lang: langOfAlias(alias) })
    const keys: { key: string; lang: Lang | null }[] = []
    for (const { name, lang } of named) {
      // "recreational vehicle (RV)", "Treppen(stufen)": also findable without the bracket.
      const spellings = name.includes('(') ? [name, name.replace(/\([^)]*\)/g, ' ')] : [name]
      for (const spelling of spellings) {
        const key = toBaseKey(spelling)
        const hit = { entry, lang, name }
        add(byKey, key, hit)
        add(bySquashed, squash(key), hit)
        keys.push({ key, lang })
      }
    }
    keysOf.set(entry, keys)
  })
  return { byKey, bySquashed, byId, keysOf, order }
}

let cachedIndex: QuestionIndex | undefined

/** The index over the built-in table, built on first use. */
export function getQuestionIndex(): QuestionIndex {
  cachedIndex ??= buildQuestionIndex(QUESTIONS)
  return cachedIndex
}

/** Hits for a piece of text taken as a name: as written, then singular/plural, then without spaces. */
function findNameHits(text: string, index: QuestionIndex): readonly IndexHit[] {
  const key = toBaseKey(text)
  if (key === '') return []
  const exact = index.byKey.get(key)
  if (exact !== undefined) return exact
  const inflected = inflectionVariants(key).flatMap((variant) => index.byKey.get(variant) ?? [])
  if (inflected.length > 0) return inflected
  return index.bySquashed.get(squash(key)) ?? []
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

const STATUS_RANK: Record<QuestionEntry['status'], number> = { service: 0, recaptcha: 1, legacy: 2 }

/** The nearest names to `text`: typos within a few edits, then names containing it (or it them). */
function suggestQuestions(
  text: string,
  limit = 5,
  index: QuestionIndex = getQuestionIndex(),
): QuestionSuggestion[] {
  const key = toBaseKey(text)
  if (key === '') return []
  const maxDistance = maxTypoDistance(key)
  const minContained = hasCjk(key) ? 2 : 4
  const keyLength = Array.from(key).length
  const best = new Map<QuestionEntry, { score: number; name: string }>()
  const squashedKey = squash(key)
  for (const [candidate, hits] of index.byKey) {
    // Also compare without spaces, so a space typed in the wrong place ("ab us") counts as one edit.
    let score = Math.min(
      editDistance(key, candidate, maxDistance),
      editDistance(squashedKey, squash(candidate), maxDistance),
    )
    // Replacing every character is no resemblance ("a" is one edit from 山).
    if (score >= Math.min(keyLength, Array.from(candidate).length)) score = maxDistance + 1
    if (score > maxDistance) {
      const contains = Array.from(key).length >= minContained && candidate.includes(key)
      const contained = Array.from(candidate).length >= minContained && key.includes(candidate)
      if (!contains && !contained) continue
      score = maxDistance + 1
    }
    for (const hit of hits) {
      const previous = best.get(hit.entry)
      if (previous === undefined || score < previous.score)
        best.set(hit.entry, { score, name: hit.name })
    }
  }
  return [...best]
    .sort(
      ([a, sa], [b, sb]) =>
        sa.score - sb.score ||
        STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
        (index.order.get(a) ?? 0) - (index.order.get(b) ?? 0),
    )
    .slice(0, limit)
    .map(([entry, { name }]) => ({ id: entry.id, name, status: entry.status }))
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
  for (const reading of readings) {
    const hits = findNameHits(reading.object, index)
    if (hits.length === 0) continue
    const chosen = chooseEntry(
      hits,
      reading.object,
      { lang: reading.lang, kind: reading.kind },
      index,
    )
    const note = chosen.note ?? KIND_NOTE[reading.kind]
    const match: QuestionMatch = {
      entry: chosen.entry,
      via: 'sentence',
      grid: reading.grid,
      dynamic: reading.dynamic,
      lang: reading.lang,
    }
    return note === undefined ? match : { ...match, note }
  }

  // The widget's trailing line without the first one: "fire hydrants / Click verify once …".
  const stripped = stripSuffixes(normalized)
  if (stripped.rest !== normalized && stripped.rest !== '') {
    const hits = findNameHits(stripped.rest, index)
    if (hits.length > 0) {
      const chosen = chooseEntry(hits, stripped.rest, { lang: stripped.lang ?? langHint }, index)
      const match: QuestionMatch = {
        entry: chosen.entry,
        via: 'sentence',
        // Only the image-grid challenge carries the "verify once there are none left" line.
        grid: stripped.dynamic ? '3x3' : null,
        dynamic: stripped.dynamic,
        lang: stripped.lang,
      }
      return chosen.note === undefined ? match : { ...match, note: chosen.note }
    }
  }

  const hits = findNameHits(normalized, index)
  if (hits.length > 0) {
    const chosen = chooseEntry(hits, text, { lang: langHint }, index)
    const match: QuestionMatch = {
      entry: chosen.entry,
      via: 'name',
      grid: null,
      dynamic: false,
      lang: chosen.lang,
    }
    return chosen.note === undefined ? match : { ...match, note: chosen.note }
  }

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

/** What checkQuestion found acceptable but worth saying. */
export interface CheckResult {
  warnings: string[]
}

const STATUS_WHY: Record<Exclude<QuestionEntry['status'], 'service'>, string> = {
  recaptcha: 'it is seen in reCAPTCHA challenges but no service accepts it',
  legacy: 'it is a legacy prompt, last seen in 2019 reCAPTCHA bundles',
}

/**
 * Refuse what the services will not take, before anything is sent: an id none of them lists,
 * or a grid they do not accept for the id (both allowed with `force`, as warnings). Warn when
 * 4x4 support is unknown or the grid contradicts the sentence.
 */
export function checkQuestion(
  match: QuestionMatch,
  grid: Grid,
  options: { force?: boolean } = {},
): CheckResult {
  const { entry } = match
  const force = options.force === true
  const warnings: string[] = []
  const label = `"${entry.en}" (${entry.id})`
  if (entry.status !== 'service') {
    const message = `${label} is not listed by any service (${SERVICE_NAMES}): ${STATUS_WHY[entry.status]}`
    if (!force)
      throw new UsageError(message, {
        hint: `choose an id from \`rc2 questions\`, or pass --force to send it anyway`,
      })
    warnings.push(`${message}; sending it anyway (--force)`)
  } else if (entry.grids[grid] === false) {
    const accepted = (Object.keys(entry.grids) as Grid[])
      .filter((g) => entry.grids[g] !== false)
      .join(', ')
    const message = `the services do not accept ${label} as a ${grid} challenge (accepted: ${accepted})`
    if (!force)
      throw new UsageError(message, {
        hint: `check --grid (Google shows this object only in 3x3 challenges), or pass --force to send it anyway`,
      })
    warnings.push(`${message}; sending it anyway (--force)`)
  } else if (entry.grids[grid] === null) {
    warnings.push(
      `no service documents ${grid} support for ${label}; the answer may be an error or poor`,
    )
  }
  if (match.grid !== null && match.grid !== grid && !(match.dynamic && grid === '1x1')) {
    warnings.push(`the sentence implies a ${match.grid} grid but the image is ${grid}`)
  }
  return { warnings }
}

export interface SearchOptions {
  /** Include ids no service accepts (status recaptcha / legacy). */
  all?: boolean
  /** Language whose names rank first. */
  lang?: Lang
}

/**
 * Entries for `rc2 questions [query]`: every service entry (or every entry with `all`)
 * whose id, name or alias in any language equals, starts with, contains or nearly matches
 * the query; best matches first, then table order.
 */
export function searchQuestions(
  query: string | undefined,
  options: SearchOptions = {},
): QuestionEntry[] {
  const pool = listQuestions(options)
  const trimmed = (query ?? '').normalize('NFKC').trim().toLowerCase()
  const key = query === undefined ? '' : toBaseKey(query)
  if (trimmed === '' || key === '') return pool
  // Built only for a query: listing the whole table (`rc2 questions`) needs no index.
  const index = getQuestionIndex()
  const maxDistance = maxTypoDistance(key)
  const keyLength = Array.from(key).length
  const scored: { entry: QuestionEntry; score: number }[] = []
  for (const entry of pool) {
    let score = entry.id.includes(trimmed)
      ? entry.id === trimmed
        ? 0
        : 2
      : Number.POSITIVE_INFINITY
    for (const { key: candidate, lang } of index.keysOf.get(entry) ?? []) {
      let s: number
      if (candidate === key) s = 0
      else if (candidate.startsWith(key)) s = 1
      else if (candidate.includes(key)) s = 2
      else {
        const words = hasCjk(candidate) ? [candidate] : [candidate, ...candidate.split(' ')]
        const distances = words.map((w) => {
          const d = editDistance(key, compactKey(w), maxDistance)
          // As in suggestions: changing every character is no resemblance.
          return d >= Math.min(keyLength, Array.from(w).length) ? maxDistance + 1 : d
        })
        const d = Math.min(...distances)
        if (d > maxDistance) continue
        s = 3 + d
      }
      // Names in the requested language win ties against other languages.
      if (options.lang !== undefined && lang === options.lang) s -= 0.5
      score = Math.min(score, s)
    }
    if (Number.isFinite(score)) scored.push({ entry, score })
  }
  return scored
    .sort(
      (a, b) =>
        a.score - b.score || (index.order.get(a.entry) ?? 0) - (index.order.get(b.entry) ?? 0),
    )
    .map((s) => s.entry)
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
