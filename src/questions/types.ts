import type { Grid } from '../types.js'

/** Whether the recognition services accept the id (`status` in data/questions.json). */
export type QuestionStatus = 'service' | 'recaptcha' | 'legacy'

/** Kinds of challenge an id was seen in (Google's template families). */
export const PROMPT_TYPES = ['imageselect', 'tileselect', 'tapcenter', 'boundingbox'] as const
export type PromptType = (typeof PROMPT_TYPES)[number]

/** Language codes of the names in the table. */
export const LANGS = [
  'en',
  'zh-CN',
  'es',
  'fr',
  'it',
  'pt-BR',
  'ru',
  'tr',
  'ja',
  'ko',
  'de',
  'nl',
  'zh-TW',
  'zh-HK',
  'uk',
] as const
export type Lang = (typeof LANGS)[number]

export interface QuestionEntry {
  /** The `/m/` id the services take. */
  id: string
  /** English display name (the services' label, e.g. "cars"). */
  en: string
  /** Chinese display name as the services' table gives it (e.g. "汽车"). */
  zh: string
  status: QuestionStatus
  /** Per grid: true accepted, false not accepted, null unknown. */
  grids: Record<Grid, boolean | null>
  /** Names as challenges show them, per language. */
  names: Partial<Record<Lang, readonly string[]>>
  /** Other spellings people type (singulars, synonyms, Chinese variants). */
  aliases: readonly string[]
  /**
   * Challenge kinds the id appears in: imageselect = "Select all images with", tileselect =
   * "Select all squares with", tapcenter = "Tap the center of", boundingbox = "Outline".
   */
  prompts?: readonly PromptType[]
}

/** The result of reading what the user typed for --question. */
export interface QuestionMatch {
  entry: QuestionEntry
  /** How the text was understood. */
  via: 'id' | 'name' | 'sentence'
  /** Grid the sentence implies ("images" -> 3x3, "squares" -> 4x4), else null. */
  grid: Grid | null
  /** The sentence says "click verify once there are none left": a dynamic 3x3. */
  dynamic: boolean
  /** Language the text was recognised in, when known. */
  lang: Lang | null
  /** Why a rule chose this id, or what the prompt kind implies (e.g. the "vehicles" quirk). */
  note?: string
}
