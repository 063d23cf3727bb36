/**
 * Fuzzy search of the question table: the suggestions for text that names nothing, and the
 * filter of `rc2 questions [query]`. One scorer (typoDistance) for both. Pure.
 */
import { editDistance, hasCjk, maxTypoDistance, toBaseKey } from './normalize.js'
import { getQuestionIndex, squash, type QuestionIndex } from './name-index.js'
import { listQuestions } from './table.js'
import type { Lang, QuestionEntry } from './types.js'

/** A near match offered when the text is unknown. */
export interface QuestionSuggestion {
  id: string
  name: string
  status: QuestionEntry['status']
}

export const STATUS_RANK: Record<QuestionEntry['status'], number> = {
  service: 0,
  recaptcha: 1,
  legacy: 2,
}

/**
 * Edits from `typed` to `name` (also compared without spaces, so a space typed in the wrong place,
 * "ab us", counts as one edit); `maxDistance + 1` past `maxDistance`, and when every character
 * would change, which is no resemblance ("a" is one edit from 山).
 */
function typoDistance(typed: string, name: string, maxDistance: number): number {
  const distance = Math.min(
    editDistance(typed, name, maxDistance),
    editDistance(squash(typed), squash(name), maxDistance),
  )
  const shortest = Math.min(Array.from(typed).length, Array.from(name).length)
  return distance >= shortest || distance > maxDistance ? maxDistance + 1 : distance
}

/** The nearest names to `text`: typos within a few edits, then names containing it (or it them). */
export function suggestQuestions(
  text: string,
  limit = 5,
  index: QuestionIndex = getQuestionIndex(),
): QuestionSuggestion[] {
  const key = toBaseKey(text)
  if (key === '') return []
  const maxDistance = maxTypoDistance(key)
  const minContained = hasCjk(key) ? 2 : 4
  const best = new Map<QuestionEntry, { score: number; name: string }>()
  for (const [candidate, hits] of index.byKey) {
    const score = typoDistance(key, candidate, maxDistance)
    if (score > maxDistance) {
      const contains = Array.from(key).length >= minContained && candidate.includes(key)
      const contained = Array.from(candidate).length >= minContained && key.includes(candidate)
      if (!contains && !contained) continue
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
  const scored: { entry: QuestionEntry; score: number }[] = []
  for (const entry of pool) {
    const score = Math.min(idScore(entry.id, trimmed), nameScore(entry, key, index, options.lang))
    if (Number.isFinite(score)) scored.push({ entry, score })
  }
  return scored
    .sort(
      (a, b) =>
        a.score - b.score || (index.order.get(a.entry) ?? 0) - (index.order.get(b.entry) ?? 0),
    )
    .map((s) => s.entry)
}

/** 0 for the id typed whole, 2 for part of it, else no match (Infinity). */
function idScore(id: string, typed: string): number {
  if (!id.includes(typed)) return Number.POSITIVE_INFINITY
  return id === typed ? 0 : 2
}

/**
 * The best of an entry's names for `key`: 0 equal, 1 starts with it, 2 contains it, 3 + the
 * typos to the name or one of its words; half a point less in the language asked for.
 */
function nameScore(
  entry: QuestionEntry,
  key: string,
  index: QuestionIndex,
  lang: Lang | undefined,
): number {
  const maxDistance = maxTypoDistance(key)
  let best = Number.POSITIVE_INFINITY
  for (const { key: candidate, lang: nameLang } of index.keysOf.get(entry) ?? []) {
    let score: number
    if (candidate === key) score = 0
    else if (candidate.startsWith(key)) score = 1
    else if (candidate.includes(key)) score = 2
    else {
      const words = hasCjk(candidate) ? [candidate] : [candidate, ...candidate.split(' ')]
      const typos = Math.min(...words.map((word) => typoDistance(key, word, maxDistance)))
      if (typos > maxDistance) continue
      score = 3 + typos
    }
    // Names in the requested language win ties against other languages.
    if (lang !== undefined && nameLang === lang) score -= 0.5
    best = Math.min(best, score)
  }
  return best
}
