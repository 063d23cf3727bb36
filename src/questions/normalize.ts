/**
 * Text normalisation shared by the name index, the sentence parser and search. Pure.
 *
 * Names and user text go through the same steps, so a match never depends on case,
 * punctuation, full-width forms, accents or (for CJK) spacing.
 */

const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u
const PUNCTUATION = /[\p{P}\p{S}]+/gu
const MARKS = /\p{M}+/gu
const ASCII = /^[\x20-\x7e\t\n\r]*$/
/** ASCII punctuation and symbols: what \p{P} and \p{S} cover below 0x80. */
const ASCII_PUNCTUATION = /[!-/:-@[-`{-~]+/g

/** Leading words dropped from names: articles and article-like contractions of the supported languages. */
const ARTICLES = new Set([
  // en
  'a',
  'an',
  'the',
  // es
  'un',
  'una',
  'unos',
  'unas',
  'el',
  'la',
  'los',
  'las',
  // fr (l' becomes "l" once the apostrophe is gone)
  'une',
  'des',
  'le',
  'les',
  'l',
  // it
  'uno',
  'il',
  'lo',
  'i',
  'gli',
  'dei',
  'degli',
  'delle',
  // pt
  'um',
  'uma',
  'uns',
  'umas',
  'o',
  'os',
  'as',
  'dos',
  'das',
  // de
  'ein',
  'eine',
  'einen',
  'einem',
  'einer',
  'der',
  'die',
  'das',
  'den',
  'dem',
  // nl
  'een',
  'het',
  'de',
])

export function hasCjk(text: string): boolean {
  return CJK.test(text)
}

/**
 * NFKC, lower case, punctuation and symbols to spaces, collapsed whitespace; for text without
 * CJK also accents folded (é -> e, Turkish ı/İ -> i, ß -> ss) so ASCII typing still matches.
 */
export function normalizeText(text: string): string {
  // Plain ASCII (most names and English sentences) needs no Unicode folding.
  if (ASCII.test(text))
    return text.toLowerCase().replace(ASCII_PUNCTUATION, ' ').replace(/\s+/g, ' ').trim()
  // İ would lower-case to "i" + combining dot; map it first so it stays a plain i.
  let out = text.normalize('NFKC').replace(/İ/g, 'I').toLowerCase()
  out = out.replace(PUNCTUATION, ' ').replace(/\s+/gu, ' ').trim()
  // Folding marks would break kana (voiced marks decompose to U+3099), so CJK text keeps them.
  if (!hasCjk(out))
    out = out
      .normalize('NFD')
      .replace(MARKS, '')
      .normalize('NFC')
      .replace(/ı/g, 'i')
      .replace(/ß/g, 'ss')
  return out
}

/** The index key of already-normalised text: CJK writing does not rely on spaces, so drop them. */
function compactKey(normalized: string): string {
  return hasCjk(normalized) ? normalized.replace(/ /g, '') : normalized
}

/** Drop leading articles ("a", "les", "gli" …), keeping at least one word. */
export function stripArticles(normalized: string): string {
  const words = normalized.split(' ')
  let start = 0
  while (start < words.length - 1 && ARTICLES.has(words[start] ?? '')) start++
  return words.slice(start).join(' ')
}

/** The form under which names are indexed and queries looked up. */
export function toBaseKey(text: string): string {
  return compactKey(stripArticles(normalizeText(text)))
}

/**
 * Singular/plural spellings of the last word to try when the text itself is not a name
 * (en/es/fr/pt/it regular forms: -s, -es, -y/-ies, -x). Latin-script text only.
 */
export function inflectionVariants(key: string): string[] {
  if (hasCjk(key) || !/[a-z]$/.test(key)) return []
  const variants = [`${key}s`, `${key}es`, `${key}x`]
  if (key.endsWith('ies')) variants.push(`${key.slice(0, -3)}y`)
  if (key.endsWith('y')) variants.push(`${key.slice(0, -1)}ies`)
  if (key.endsWith('es')) variants.push(key.slice(0, -2))
  if (key.endsWith('s') || key.endsWith('x')) variants.push(key.slice(0, -1))
  return variants.filter((v) => v.length > 1 && v !== key)
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent swaps) over code points,
 * giving up early: returns `limit + 1` as soon as the distance must exceed `limit`.
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  const s = Array.from(a)
  const t = Array.from(b)
  if (Math.abs(s.length - t.length) > limit) return limit + 1
  let prevPrev: number[] = []
  let prev = Array.from({ length: t.length + 1 }, (_, j) => j)
  for (let i = 1; i <= s.length; i++) {
    const row = [i]
    let rowMin = i
    for (let j = 1; j <= t.length; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1
      let value = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost)
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        value = Math.min(value, (prevPrev[j - 2] ?? 0) + 1)
      }
      row.push(value)
      rowMin = Math.min(rowMin, value)
    }
    if (rowMin > limit) return limit + 1
    prevPrev = prev
    prev = row
  }
  return prev[t.length] ?? 0
}

/** How many edits still count as "close" for a text of this length (one edit at least). */
export function maxTypoDistance(key: string): number {
  const length = Array.from(key).length
  if (hasCjk(key)) return 1
  return Math.min(3, Math.max(1, Math.floor(length / 4)))
}
