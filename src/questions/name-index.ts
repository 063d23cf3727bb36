/**
 * The index of every name the question table knows (any language, aliases, spellings without
 * brackets or spaces) and the lookup of a piece of text in it. Pure.
 */
import { hasCjk, inflectionVariants, toBaseKey } from './normalize.js'
import { QUESTIONS } from './table.js'
import { LANGS, type Lang, type QuestionEntry } from './types.js'

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

/** `key` without its spaces ("firehydrant", as some solver tables write names). */
export function squash(key: string): string {
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
export function findNameHits(text: string, index: QuestionIndex): readonly IndexHit[] {
  const key = toBaseKey(text)
  if (key === '') return []
  const exact = index.byKey.get(key)
  if (exact !== undefined) return exact
  const inflected = inflectionVariants(key).flatMap((variant) => index.byKey.get(variant) ?? [])
  if (inflected.length > 0) return inflected
  return index.bySquashed.get(squash(key)) ?? []
}
