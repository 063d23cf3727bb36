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
import type { Lang } from './types.js'

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

const T = (lang: Lang, kind: PromptKind, ...texts: string[]): Template[] =>
  texts.map((text) => ({ lang, kind, text }))

const TEMPLATES: readonly Template[] = [
  ...T(
    'en',
    'images',
    'Select all images with {X}',
    'Select all images of {X}',
    'Select all images that match the label: {X}',
  ),
  ...T(
    'en',
    'squares',
    'Select all squares with {X}',
    'Select all squares that match the label: {X}',
  ),
  ...T('en', 'tap', 'Tap the center of {X}', 'Tap the centre of {X}'),
  ...T('en', 'outline', 'Outline {X}', 'Select around {X}'),
  ...T(
    'es',
    'images',
    'Selecciona todas las imágenes de {X}',
    'Selecciona todas las imágenes con {X}',
    'Selecciona todas las imágenes que contengan {X}',
  ),
  ...T(
    'es',
    'squares',
    'Selecciona todos los cuadrados que contengan {X}',
    'Selecciona todos los cuadrados con {X}',
  ),
  ...T('es', 'tap', 'Toca el centro de {X}'),
  ...T(
    'fr',
    'images',
    'Sélectionnez toutes les images montrant {X}',
    'Sélectionnez toutes les images contenant {X}',
  ),
  ...T(
    'fr',
    'squares',
    'Sélectionnez toutes les cases montrant {X}',
    'Sélectionnez toutes les cases contenant {X}',
  ),
  ...T('fr', 'tap', 'Appuyez au centre {X}', 'Appuyez au centre de {X}'),
  ...T('it', 'images', 'Seleziona tutte le immagini con {X}'),
  ...T('it', 'squares', 'Seleziona tutti i riquadri con {X}'),
  ...T('it', 'tap', 'Tocca il centro {X}'),
  ...T(
    'pt-BR',
    'images',
    'Selecione todas as imagens com {X}',
    'Selecione todas as imagens de {X}',
  ),
  ...T('pt-BR', 'squares', 'Selecione todos os quadrados com {X}'),
  ...T('pt-BR', 'tap', 'Toque no centro {X}'),
  ...T(
    'ru',
    'images',
    'Выберите все изображения, где есть {X}',
    'Выберите все изображения с {X}',
    'Выберите все изображения со {X}',
  ),
  ...T(
    'ru',
    'squares',
    'Выберите все квадраты, в которых изображены {X}',
    'Выберите все квадраты, в которых есть {X}',
    'Выберите все квадраты с {X}',
  ),
  ...T('ru', 'tap', 'Нажмите в центр всех {X}', 'Нажмите в центр {X}'),
  ...T('tr', 'images', '{X} içeren tüm resimleri seçin'),
  ...T('tr', 'squares', '{X} içeren tüm kareleri seçin'),
  ...T('tr', 'tap', '{X} ortasına dokunun'),
  ...T('ja', 'images', '{X}の画像をすべて選択してください', '{X}の画像をすべて選択します'),
  ...T('ja', 'squares', '{X}のタイルをすべて選択してください', '{X}のタイルをすべて選択します'),
  ...T('ja', 'tap', '{X}の中央部をタップしてください'),
  // Korean puts the subject particle 이 or 가 right after the name.
  ...T(
    'ko',
    'images',
    '{X}이 있는 이미지를 모두 선택하세요',
    '{X}가 있는 이미지를 모두 선택하세요',
    '{X}이 포함된 이미지를 모두 선택하세요',
    '{X}가 포함된 이미지를 모두 선택하세요',
  ),
  ...T('ko', 'squares', '{X}이 있는 타일을 모두 선택하세요', '{X}가 있는 타일을 모두 선택하세요'),
  ...T('ko', 'tap', '{X}의 가운데를 탭하세요'),
  ...T('zh-CN', 'images', '请选择包含{X}的所有图片', '请选择所有包含{X}的图片'),
  ...T(
    'zh-CN',
    'squares',
    '请选择包含{X}的所有图块',
    '请选择包含{X}的所有方块',
    '请选择所有包含{X}的图块',
  ),
  ...T('zh-CN', 'tap', '点按各辆{X}的中心位置', '点按各个{X}的中心位置'),
  // Best guesses (see the header).
  ...T(
    'de',
    'images',
    'Wählen Sie alle Bilder mit {X} aus',
    'Wähle alle Bilder mit {X} aus',
    'Wählen Sie alle Bilder mit {X}',
  ),
  ...T(
    'de',
    'squares',
    'Wählen Sie alle Felder mit {X} aus',
    'Wählen Sie alle Quadrate mit {X} aus',
    'Wähle alle Felder mit {X} aus',
  ),
  ...T('nl', 'images', 'Selecteer alle afbeeldingen met {X}'),
  ...T(
    'nl',
    'squares',
    'Selecteer alle vakjes met {X}',
    'Selecteer alle vierkantjes met {X}',
    'Selecteer alle vierkanten met {X}',
  ),
  ...T('zh-TW', 'images', '請選取含有{X}的所有圖片', '請選擇包含{X}的所有圖片'),
  ...T(
    'zh-TW',
    'squares',
    '請選取含有{X}的所有圖塊',
    '請選擇包含{X}的所有圖塊',
    '請選取含有{X}的所有方塊',
  ),
  ...T('uk', 'images', 'Виберіть усі зображення з {X}', 'Виберіть усі зображення, де є {X}'),
  ...T('uk', 'squares', 'Виберіть усі квадрати з {X}', 'Виберіть усі квадрати, де є {X}'),
]

const S = (lang: Lang, dynamic: boolean, ...texts: string[]): Suffix[] =>
  texts.map((text) => ({ lang, dynamic, text }))

const SUFFIXES: readonly Suffix[] = [
  ...S('en', false, 'If there are none, click skip'),
  ...S('en', true, 'Click verify once there are none left'),
  ...S('es', false, 'Si no hay ninguno, pulsa Saltar'),
  ...S('es', true, 'Haz clic en Verificar cuando no quede ninguna'),
  ...S('fr', false, 'S\'il n\'y en a aucune, cliquez sur "Ignorer"'),
  ...S('fr', true, 'Lorsque vous avez terminé, cliquez sur le bouton de validation'),
  ...S('it', false, 'Se non ne vedi, fai clic su Salta'),
  ...S('it', true, 'Fai clic su Verifica dopo averle selezionate tutte'),
  ...S('pt-BR', false, 'Se não houver nenhum, clique em "Pular"'),
  ...S('pt-BR', true, 'Clique em "Confirmar" quando não houver mais nenhuma'),
  ...S('ru', false, 'Если их нет, нажмите "Пропустить"'),
  ...S('ru', true, 'Когда изображения закончатся, нажмите "Подтвердить"'),
  ...S('tr', false, 'Yoksa, Atla düğmesini tıklayın'),
  ...S('tr', true, "Seçilmemiş resim kalmadığında Doğrula'yı tıklayın"),
  ...S('ja', false, '何も表示されない場合は、[スキップ] をクリックしてください'),
  ...S('ja', true, 'すべて選択し終わったら [確認] をクリックしてください'),
  ...S('ko', false, '아무것도 없으면 건너뛰기를 클릭하세요'),
  ...S('ko', true, '위의 조건과 일치하는 새 이미지를 모두 선택했으면 확인을 클릭하세요'),
  ...S('zh-CN', false, '如果没有，请点击“跳过”'),
  ...S('zh-CN', true, '在没有新图片可以点按后，请点击“验证”'),
]

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
    templates: TEMPLATES.map((t) => {
      const [before = '', after = ''] = t.text.split('{X}').map(normalizeText)
      const head = before === '' ? '' : `${toPattern(before)}${spaceOf(before)}`
      const tail = after === '' ? '' : `${spaceOf(after)}${toPattern(after)}`
      return { ...t, regex: new RegExp(`^${head}(.+)${tail}$`, 'u') }
    }),
    suffixes: SUFFIXES.map((s) => ({
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
