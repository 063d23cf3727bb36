import { describe, expect, it } from 'vitest'
import {
  QuestionLookupError,
  isQuestionSentence,
  lookupQuestion,
} from '../../src/questions/lookup.js'
import { QUESTIONS } from '../../src/questions/table.js'
import type { Lang } from '../../src/questions/types.js'
import type { Grid } from '../../src/types.js'

/**
 * Sentence templates as Google's locale bundles word them (written out here on purpose,
 * not imported from the parser). `{X}` is the bold object name; `{X:ko}` adds 이/가.
 */
const TEMPLATES: Partial<
  Record<
    Lang,
    { images: string[]; squares: string[]; tap: string[]; skip: string; dynamic: string }
  >
> = {
  en: {
    images: [
      'Select all images with {X}.',
      'Select all images with a {X}.',
      'Select all images of {X}.',
    ],
    squares: ['Select all squares with {X}'],
    tap: ['Tap the center of the {X}'],
    skip: 'If there are none, click skip.',
    dynamic: 'Click verify once there are none left.',
  },
  es: {
    images: [
      'Selecciona todas las imágenes de {X}.',
      'Selecciona todas las imágenes con {X}.',
      'Selecciona todas las imágenes que contengan {X}.',
    ],
    squares: ['Selecciona todos los cuadrados que contengan {X}'],
    tap: ['Toca el centro de los {X}', 'Toca el centro de las {X}'],
    skip: 'Si no hay ninguno, pulsa Saltar.',
    dynamic: 'Haz clic en Verificar cuando no quede ninguna.',
  },
  fr: {
    images: [
      'Sélectionnez toutes les images montrant des {X}.',
      'Sélectionnez toutes les images montrant un {X}.',
      'Sélectionnez toutes les images montrant une {X}.',
    ],
    squares: ['Sélectionnez toutes les cases montrant des {X}'],
    tap: ['Appuyez au centre des {X}'],
    skip: 'S\'il n\'y en a aucune, cliquez sur "Ignorer".',
    dynamic: 'Lorsque vous avez terminé, cliquez sur le bouton de validation.',
  },
  it: {
    images: [
      'Seleziona tutte le immagini con {X}.',
      'Seleziona tutte le immagini con un {X}.',
      'Seleziona tutte le immagini con le {X}.',
      'Seleziona tutte le immagini con i {X}.',
      'Seleziona tutte le immagini con gli {X}.',
    ],
    squares: ['Seleziona tutti i riquadri con {X}'],
    tap: ['Tocca il centro dei {X}', 'Tocca il centro delle {X}'],
    skip: 'Se non ne vedi, fai clic su Salta.',
    dynamic: 'Fai clic su Verifica dopo averle selezionate tutte.',
  },
  'pt-BR': {
    images: [
      'Selecione todas as imagens com {X}.',
      'Selecione todas as imagens com um {X}.',
      'Selecione todas as imagens com uma {X}.',
    ],
    squares: ['Selecione todos os quadrados com {X}'],
    tap: ['Toque no centro dos {X}', 'Toque no centro das {X}'],
    skip: 'Se não houver nenhum, clique em "Pular".',
    dynamic: 'Clique em "Confirmar" quando não houver mais nenhuma.',
  },
  ru: {
    images: [
      'Выберите все изображения, где есть {X}.',
      'Выберите все изображения с {X}.',
      'Выберите все изображения со {X}.',
    ],
    squares: [
      'Выберите все квадраты, в которых изображены {X}.',
      'Выберите все квадраты, в которых есть {X}.',
    ],
    tap: ['Нажмите в центр всех {X}.'],
    skip: 'Если их нет, нажмите "Пропустить".',
    dynamic: 'Когда изображения закончатся, нажмите "Подтвердить".',
  },
  tr: {
    images: ['{X} içeren tüm resimleri seçin.'],
    squares: ['{X} içeren tüm kareleri seçin'],
    tap: ['{X} ortasına dokunun'],
    skip: 'Yoksa, Atla düğmesini tıklayın.',
    dynamic: "Seçilmemiş resim kalmadığında Doğrula'yı tıklayın.",
  },
  ja: {
    images: ['{X}の画像をすべて選択してください。', '{X}の画像をすべて選択します。'],
    squares: ['{X}のタイルをすべて選択してください'],
    tap: ['{X}の中央部をタップしてください'],
    skip: '何も表示されない場合は、[スキップ] をクリックしてください。',
    dynamic: 'すべて選択し終わったら [確認] をクリックしてください。',
  },
  ko: {
    images: ['{X:ko} 있는 이미지를 모두 선택하세요.', '{X:ko} 포함된 이미지를 모두 선택하세요.'],
    squares: ['{X:ko} 있는 타일을 모두 선택하세요.'],
    tap: ['{X}의 가운데를 탭하세요.'],
    skip: '아무것도 없으면 건너뛰기를 클릭하세요.',
    dynamic: '위의 조건과 일치하는 새 이미지를 모두 선택했으면 확인을 클릭하세요.',
  },
  'zh-CN': {
    images: ['请选择包含{X}的所有图片。', '请选择所有包含{X}的图片。'],
    squares: ['请选择包含{X}的所有图块', '请选择包含{X}的所有方块。'],
    tap: ['点按各辆{X}的中心位置', '点按各个{X}的中心位置'],
    skip: '如果没有，请点击“跳过”。',
    dynamic: '在没有新图片可以点按后，请点击“验证”。',
  },
}

/** Korean subject particle: 이 after a final consonant, 가 after a vowel. */
function withParticle(name: string): string {
  const last = name.codePointAt(name.length - 1) ?? 0
  const hangul = last >= 0xac00 && last <= 0xd7a3
  return `${name}${hangul && (last - 0xac00) % 28 !== 0 ? '이' : '가'}`
}

function fill(template: string, name: string): string {
  return template.replace('{X:ko}', withParticle(name)).replace('{X}', name)
}

function entry(id: string): (typeof QUESTIONS)[number] {
  const found = QUESTIONS.find((q) => q.id === id)
  if (found === undefined) throw new Error(`no ${id}`)
  return found
}

/** Objects per grid: name chosen from the data in that language (first for 3x3, last for 4x4). */
const OBJECTS_3X3 = ['/m/015qff', '/m/01pns0', '/m/01bjv', '/m/0cdl1']
const OBJECTS_4X4 = ['/m/015qff', '/m/04_sv', '/m/01pns0', '/m/0k4j']

interface Case {
  lang: Lang
  sentence: string
  id: string
  grid: Grid | null
  dynamic: boolean
}

function buildCases(): Case[] {
  const cases: Case[] = []
  for (const [langKey, t] of Object.entries(TEMPLATES)) {
    const lang = langKey as Lang
    if (t === undefined) continue
    const first = (id: string): string | undefined => entry(id).names[lang]?.[0]
    const last = (id: string): string | undefined => entry(id).names[lang]?.at(-1)
    for (const template of t.images) {
      for (const id of OBJECTS_3X3) {
        const name = first(id)
        if (name === undefined) continue
        cases.push({ lang, sentence: fill(template, name), id, grid: '3x3', dynamic: false })
      }
      // As the widget shows it: name on its own line, then the dynamic (or the skip) line.
      const name = first('/m/015qff') ?? ''
      const shown = fill(
        template.replace('{X', '\n{X').replace(/\{X(:ko)?\}/, (m) => `${m}\n`),
        name,
      )
      cases.push({
        lang,
        sentence: `${shown}\n${t.dynamic}`,
        id: '/m/015qff',
        grid: '3x3',
        dynamic: true,
      })
      cases.push({
        lang,
        sentence: `${shown}\n${t.skip}`,
        id: '/m/015qff',
        grid: '3x3',
        dynamic: false,
      })
    }
    for (const template of t.squares) {
      for (const id of OBJECTS_4X4) {
        const name = last(id)
        if (name === undefined) continue
        cases.push({ lang, sentence: fill(template, name), id, grid: '4x4', dynamic: false })
        cases.push({
          lang,
          sentence: `${fill(template, name)}\n${t.skip}`,
          id,
          grid: '4x4',
          dynamic: false,
        })
      }
    }
    for (const template of t.tap) {
      for (const id of ['/m/0k4j', '/m/04w67_']) {
        const name = last(id)
        if (name === undefined) continue
        cases.push({ lang, sentence: fill(template, name), id, grid: null, dynamic: false })
      }
    }
  }
  return cases
}

const CASES = buildCases()

describe('instruction sentences of every language in questions.md', () => {
  it('cover ten languages with several objects each', () => {
    const perLang = new Map<Lang, number>()
    for (const c of CASES) perLang.set(c.lang, (perLang.get(c.lang) ?? 0) + 1)
    expect([...perLang.keys()].sort()).toEqual([
      'en',
      'es',
      'fr',
      'it',
      'ja',
      'ko',
      'pt-BR',
      'ru',
      'tr',
      'zh-CN',
    ])
    for (const count of perLang.values()) expect(count).toBeGreaterThanOrEqual(15)
  })

  it.each(CASES.map((c) => [c.lang, JSON.stringify(c.sentence), c] as const))(
    '%s %s',
    (_lang, _shown, c) => {
      const match = lookupQuestion(c.sentence)
      expect(match.entry.id).toBe(c.id)
      expect(match.via).toBe('sentence')
      expect(match.grid).toBe(c.grid)
      expect(match.dynamic).toBe(c.dynamic)
      expect(match.lang).toBe(c.lang)
      expect(isQuestionSentence(c.sentence)).toBe(true)
    },
  )
})

describe('sentence details', () => {
  it('reads the widget text with line breaks, the dynamic line and no final period', () => {
    const match = lookupQuestion(
      'Select all images with\ncrosswalks\nClick verify once there are none left',
    )
    expect(match).toMatchObject({ via: 'sentence', grid: '3x3', dynamic: true, lang: 'en' })
    expect(match.entry.id).toBe('/m/014xcs')
  })

  it('takes the name line plus the dynamic line alone as a dynamic 3x3', () => {
    const match = lookupQuestion('bicycles\nClick verify once there are none left.')
    expect(match).toMatchObject({ via: 'sentence', grid: '3x3', dynamic: true, lang: 'en' })
    expect(match.entry.id).toBe('/m/0199g')
  })

  it('takes the name line plus the skip line as a name with no grid', () => {
    const match = lookupQuestion('bicycles\nIf there are none, click skip.')
    expect(match).toMatchObject({ via: 'sentence', grid: null, dynamic: false })
  })

  it('"squares with vehicles" is /m/0k4j at 4x4, with the rule noted', () => {
    const match = lookupQuestion('Select all squares with vehicles')
    expect(match.entry.id).toBe('/m/0k4j')
    expect(match.grid).toBe('4x4')
    expect(match.note).toContain('/m/07yv9')
  })

  it('"images with vehicles" (3x3) also resolves to /m/0k4j by the same rule', () => {
    const match = lookupQuestion('Select all images with vehicles')
    expect([match.entry.id, match.grid]).toEqual(['/m/0k4j', '3x3'])
    expect(match.note).toContain('/m/07yv9')
  })

  it('tap-the-center settles "mail boxes" to the id seen with that prompt', () => {
    expect(lookupQuestion('Tap the center of the mail boxes').entry.id).toBe('/m/04w67_')
    expect(lookupQuestion('Tap the center of the mail boxes').note).toMatch(/no grid/)
  })

  it('"images with mail boxes" stays ambiguous: both ids had that prompt', () => {
    expect(() => lookupQuestion('Select all images with mail boxes')).toThrow(
      /\/m\/04w67_.*\/m\/03b6pr/,
    )
  })

  it.each([
    ['Select all squares with school bus', '/m/02yvhj', '4x4'],
    ['Select all images with mountains or hills', '/m/09d_r', '3x3'],
    ['Select all images that match the label: boats', '/m/019jd', '3x3'],
    ['SELECT ALL SQUARES WITH TRAFFIC LIGHTS!', '/m/015qff', '4x4'],
    ['Selecciona todas las imagenes con semaforos', '/m/015qff', '3x3'],
    ['请选择包含 红绿灯 的所有图片', '/m/015qff', '3x3'],
    ['请选择包含消防栓的所有图块。如果没有，请点击“跳过”。', '/m/01pns0', '4x4'],
    ['Выберите все изображения с гидрантами', '/m/01pns0', '3x3'],
    ['Yangın musluğu içeren tüm kareleri seçin', '/m/01pns0', '4x4'],
    ['İLAN TAHTASI İÇEREN TÜM RESİMLERİ SEÇİN', '/m/01knjb', '3x3'],
  ])('%j -> %s %s', (text, id, grid) => {
    const match = lookupQuestion(text)
    expect([match.entry.id, match.grid]).toEqual([id, grid])
  })

  it.each([
    ['Wählen Sie alle Bilder mit Ampeln aus', 'de', '3x3'],
    ['Selecteer alle afbeeldingen met verkeerslichten', 'nl', '3x3'],
    ['請選取含有紅綠燈的所有圖片', 'zh-TW', '3x3'],
    ['Виберіть усі квадрати з світлофори', 'uk', '4x4'],
  ])('best-guess template %j (%s)', (text, lang, grid) => {
    const match = lookupQuestion(text)
    expect([match.entry.id, match.lang, match.grid]).toEqual(['/m/015qff', lang, grid])
  })

  it('an unknown object inside a sentence names the object and suggests', () => {
    try {
      lookupQuestion('Select all squares with trafic lights')
      expect.unreachable()
    } catch (error) {
      expect(error).toBeInstanceOf(QuestionLookupError)
      const e = error as QuestionLookupError
      expect(e.message).toContain('"trafic lights"')
      expect(e.message).toContain('in the sentence')
      expect(e.suggestions[0]?.id).toBe('/m/015qff')
    }
  })

  it('plain names are not sentences', () => {
    for (const text of ['cars', 'traffic lights', '消防栓', 'select'])
      expect(isQuestionSentence(text)).toBe(false)
  })
})
