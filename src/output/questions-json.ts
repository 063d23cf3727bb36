/** The JSON of `rc2 questions --json`: its own module, so printing it loads no table renderer. */
import type { Lang, QuestionEntry, QuestionMatch } from '../questions/types.js'
import type { Grid } from '../types.js'

/** One entry in the JSON contract of `rc2 questions --json`. */
export interface QuestionJson {
  id: string
  en: string
  zh: string | null
  status: QuestionEntry['status']
  grids: Record<Grid, boolean | null>
  names: Partial<Record<Lang, readonly string[]>>
}

/** `{ schemaVersion: 1, questions: [...] }`, keys in a fixed order. */
export function toQuestionsJson(entries: readonly QuestionEntry[]): {
  schemaVersion: 1
  questions: QuestionJson[]
} {
  return {
    schemaVersion: 1,
    questions: entries.map((e) => ({
      id: e.id,
      en: e.en,
      zh: e.zh === '' ? null : e.zh,
      status: e.status,
      grids: { '3x3': e.grids['3x3'], '4x4': e.grids['4x4'], '1x1': e.grids['1x1'] },
      names: { ...e.names },
    })),
  }
}

/** The parse of a sentence query in JSON. */
export interface QuestionMatchJson {
  schemaVersion: 1
  query: string
  match: {
    id: string
    name: string
    grid: Grid | null
    dynamic: boolean
    lang: Lang | null
    via: QuestionMatch['via']
    status: QuestionEntry['status']
    note: string | null
  }
  warnings?: string[]
}

export function toQuestionMatchJson(
  query: string,
  match: QuestionMatch,
  warnings?: readonly string[],
): QuestionMatchJson {
  const json: QuestionMatchJson = {
    schemaVersion: 1,
    query,
    match: {
      id: match.entry.id,
      name: match.entry.en,
      grid: match.grid,
      dynamic: match.dynamic,
      lang: match.lang,
      via: match.via,
      status: match.entry.status,
      note: match.note ?? null,
    },
  }
  if (warnings !== undefined && warnings.length > 0) json.warnings = [...warnings]
  return json
}
