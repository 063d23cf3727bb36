/**
 * Instruction sentences of the reCAPTCHA widget, per language, and the parser that takes the
 * object name out of them. Pure.
 *
 * Templates are from Google's locale bundles, the source of data/questions.json's names
 * (en, es, fr, it, pt-BR, ru, tr, ja, ko, zh-CN). The de, nl, zh-TW and uk ones are simple
 * best guesses: no bundle for them was archived, so they are never the only way to match.
 */
import type { Grid } from '../types.js'
import { hasCjk, normalizeText } from './normalize.js'
import { LANGS, type Lang } from './types.js'

/** What the sentence asks for: a 3x3 image grid, a 4x4 square grid, or a non-grid prompt. */
export type PromptKind = 'images' | 'squares' | 'tap' | 'outline'

interface Template {
  lang: Lang
  kind: PromptKind
  /** `{X}` marks the object name. */
  text: string
}

interface Suffix {
  lang: Lang
  /** "Click verify once there are none left": a dynamic 3x3 whose clicked tiles get replaced. */
  dynamic: boolean
  text: string
}

/**
 * Lines of `<lang> <heading>` followed by its texts, indented: the table form of the templates and
 * suffixes below. Headings are checked against `headings`, languages against LANGS.
 */
function readTable<H extends string>(
  table: string,
  headings: readonly H[],
): { lang: Lang; heading: H; text: string }[] {
  const rows: { lang: Lang; heading: H; text: string }[] = []
  let current: { lang: Lang; heading: H } | undefined
  for (const line of table.split('\n')) {
    if (line.trim() === '') continue
    if (line.startsWith(' ')) {
      if (current === undefined) throw new Error(`a text before any heading: ${line}`)
      rows.push({ ...current, text: line.trim() })
      continue
    }
    const [lang, heading] = line.split(' ') as [Lang, H]
    if (!LANGS.includes(lang) || !headings.includes(heading))
      throw new Error(`not a language and heading: ${line}`)
    current = { lang, heading }
  }
  return rows
}

/**
 * The widget's sentences, `{X}` marking the object name: a 3x3 image grid (images), a 4x4 square
 * grid (squares), or a non-grid prompt (tap, outline). Korean puts the subject particle 이 or 가
 * right after the name. de, nl, zh-TW and uk are the best guesses of the file comment.
 */
const TEMPLATE_TABLE = `
en images
  Select all images with {X}
  Select all images of {X}
  Select all images that match the label: {X}
en squares
  Select all squares with {X}
  Select all squares that match the label: {X}
en tap
  Tap the center of {X}
  Tap the centre of {X}
en outline
  Outline {X}
  Select around {X}
es images
  Selecciona todas las imágenes de {X}
  Selecciona todas las imágenes con {X}
  Selecciona todas las imágenes que contengan {X}
es squares
  Selecciona todos los cuadrados que contengan {X}
  Selecciona todos los cuadrados con {X}
es tap
  Toca el centro de {X}
fr images
  Sélectionnez toutes les images montrant {X}
  Sélectionnez toutes les images contenant {X}
fr squares
  Sélectionnez toutes les cases montrant {X}
  Sélectionnez toutes les cases contenant {X}
fr tap
  Appuyez au centre {X}
  Appuyez au centre de {X}
it images
  Seleziona tutte le immagini con {X}
it squares
  Seleziona tutti i riquadri con {X}
it tap
  Tocca il centro {X}
pt-BR images
  Selecione todas as imagens com {X}
  Selecione todas as imagens de {X}
pt-BR squares
  Selecione todos os quadrados com {X}
pt-BR tap
  Toque no centro {X}
ru images
  Выберите все изображения, где есть {X}
  Выберите все изображения с {X}
  Выберите все изображения со {X}
ru squares
  Выберите все квадраты, в которых изображены {X}
  Выберите все квадраты, в которых есть {X}
  Выберите все квадраты с {X}
ru tap
  Нажмите в центр всех {X}
  Нажмите в центр {X}
tr images
  {X} içeren tüm resimleri seçin
tr squares
  {X} içeren tüm kareleri seçin
tr tap
  {X} ortasına dokunun
ja images
  {X}の画像をすべて選択してください
  {X}の画像をすべて選択します
ja squares
  {X}のタイルをすべて選択してください
  {X}のタイルをすべて選択します
ja tap
  {X}の中央部をタップしてください
ko images
  {X}이 있는 이미지를 모두 선택하세요
  {X}가 있는 이미지를 모두 선택하세요
  {X}이 포함된 이미지를 모두 선택하세요
  {X}가 포함된 이미지를 모두 선택하세요
ko squares
  {X}이 있는 타일을 모두 선택하세요
  {X}가 있는 타일을 모두 선택하세요
ko tap
  {X}의 가운데를 탭하세요
zh-CN images
  请选择包含{X}的所有图片
  请选择所有包含{X}的图片
zh-CN squares
  请选择包含{X}的所有图块
  请选择包含{X}的所有方块
  请选择所有包含{X}的图块
zh-CN tap
  点按各辆{X}的中心位置
  点按各个{X}的中心位置
de images
  Wählen Sie alle Bilder mit {X} aus
  Wähle alle Bilder mit {X} aus
  Wählen Sie alle Bilder mit {X}
de squares
  Wählen Sie alle Felder mit {X} aus
  Wählen Sie alle Quadrate mit {X} aus
  Wähle alle Felder mit {X} aus
nl images
  Selecteer alle afbeeldingen met {X}
nl squares
  Selecteer alle vakjes met {X}
  Selecteer alle vierkantjes met {X}
  Selecteer alle vierkanten met {X}
zh-TW images
  請選取含有{X}的所有圖片
  請選擇包含{X}的所有圖片
zh-TW squares
  請選取含有{X}的所有圖塊
  請選擇包含{X}的所有圖塊
  請選取含有{X}的所有方塊
uk images
  Виберіть усі зображення з {X}
  Виберіть усі зображення, де є {X}
uk squares
  Виберіть усі квадрати з {X}
  Виберіть усі квадрати, де є {X}
`

/** The trailing line: "if there are none, skip", or "verify once there are none left" (dynamic). */
const SUFFIX_TABLE = `
en skip
  If there are none, click skip
en verify
  Click verify once there are none left
es skip
  Si no hay ninguno, pulsa Saltar
es verify
  Haz clic en Verificar cuando no quede ninguna
fr skip
  S'il n'y en a aucune, cliquez sur "Ignorer"
fr verify
  Lorsque vous avez terminé, cliquez sur le bouton de validation
it skip
  Se non ne vedi, fai clic su Salta
it verify
  Fai clic su Verifica dopo averle selezionate tutte
pt-BR skip
  Se não houver nenhum, clique em "Pular"
pt-BR verify
  Clique em "Confirmar" quando não houver mais nenhuma
ru skip
  Если их нет, нажмите "Пропустить"
ru verify
  Когда изображения закончатся, нажмите "Подтвердить"
tr skip
  Yoksa, Atla düğmesini tıklayın
tr verify
  Seçilmemiş resim kalmadığında Doğrula'yı tıklayın
ja skip
  何も表示されない場合は、[スキップ] をクリックしてください
ja verify
  すべて選択し終わったら [確認] をクリックしてください
ko skip
  아무것도 없으면 건너뛰기를 클릭하세요
ko verify
  위의 조건과 일치하는 새 이미지를 모두 선택했으면 확인을 클릭하세요
zh-CN skip
  如果没有，请点击“跳过”
zh-CN verify
  在没有新图片可以点按后，请点击“验证”
`

const PROMPT_KINDS: readonly PromptKind[] = ['images', 'squares', 'tap', 'outline']

function readTemplates(): Template[] {
  return readTable(TEMPLATE_TABLE, PROMPT_KINDS).map(({ lang, heading, text }) => ({
    lang,
    kind: heading,
    text,
  }))
}

function readSuffixes(): Suffix[] {
  return readTable(SUFFIX_TABLE, ['skip', 'verify'] as const).map(({ lang, heading, text }) => ({
    lang,
    dynamic: heading === 'verify',
    text,
  }))
}

/** A space in the pattern: optional in CJK text (people and OCR drop them), required elsewhere. */
function spaceOf(text: string): string {
  return hasCjk(text) ? ' ?' : ' '
}

/** Normalised text as a regex source. */
function toPattern(normalized: string): string {
  return normalized
    .split(' ')
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join(spaceOf(normalized))
}

interface CompiledTemplate extends Template {
  regex: RegExp
}
interface CompiledSuffix extends Suffix {
  regex: RegExp
}

let compiled: { templates: CompiledTemplate[]; suffixes: CompiledSuffix[] } | undefined

function getCompiled(): { templates: CompiledTemplate[]; suffixes: CompiledSuffix[] } {
  compiled ??= {
    templates: readTemplates().map((t) => {
      const [before = '', after = ''] = t.text.split('{X}').map(normalizeText)
      const head = before === '' ? '' : `${toPattern(before)}${spaceOf(before)}`
      const tail = after === '' ? '' : `${spaceOf(after)}${toPattern(after)}`
      return { ...t, regex: new RegExp(`^${head}(.+)${tail}$`, 'u') }
    }),
    suffixes: readSuffixes().map((s) => ({
      ...s,
      regex: new RegExp(`(?:^| ?)${toPattern(normalizeText(s.text))}$`, 'u'),
    })),
  }
  return compiled
}

/** One way to read a sentence: the object text it names and what the wording implies. */
export interface SentenceReading {
  lang: Lang
  kind: PromptKind
  /** The object name as it stands in the (normalised) sentence, articles included. */
  object: string
  dynamic: boolean
  /** 3x3 for "images", 4x4 for "squares"; null for tap/outline prompts. */
  grid: Grid | null
}

/** Result of stripping the trailing instruction ("click verify …", "if there are none …"). */
export interface SuffixStrip {
  rest: string
  dynamic: boolean
  lang: Lang | null
}

/** Remove the widget's trailing instructions (at most two, either order) from normalised text. */
export function stripSuffixes(normalized: string): SuffixStrip {
  let rest = normalized
  let dynamic = false
  let lang: Lang | null = null
  for (let round = 0; round < 2; round++) {
    const hit = getCompiled().suffixes.find((s) => s.regex.test(rest))
    if (hit === undefined) break
    rest = rest.replace(hit.regex, '').trim()
    dynamic ||= hit.dynamic
    lang ??= hit.lang
  }
  return { rest, dynamic, lang }
}

const GRID_OF_KIND: Record<PromptKind, Grid | null> = {
  images: '3x3',
  squares: '4x4',
  tap: null,
  outline: null,
}

/**
 * Every template reading of a normalised sentence, the preferred language first. Empty when
 * no template matches (the text is then treated as a bare name).
 */
export function readSentence(normalized: string, preferLang?: Lang): SentenceReading[] {
  const { rest, dynamic, lang: suffixLang } = stripSuffixes(normalized)
  const readings: SentenceReading[] = []
  for (const template of getCompiled().templates) {
    const match = template.regex.exec(rest)
    const object = match?.[1]?.trim()
    if (object === undefined || object === '') continue
    readings.push({
      lang: template.lang,
      kind: template.kind,
      object,
      dynamic,
      grid: GRID_OF_KIND[template.kind],
    })
  }
  const rank = (r: SentenceReading): number =>
    r.lang === preferLang ? 0 : r.lang === suffixLang ? 1 : 2
  return readings.sort((a, b) => rank(a) - rank(b))
}
