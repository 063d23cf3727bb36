import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { QuestionLookupError, lookupQuestion } from '../../src/questions/lookup.js'
import { getQuestionIndex } from '../../src/questions/name-index.js'
import { QUESTIONS } from '../../src/questions/table.js'
import { LANGS, type Lang, type QuestionEntry } from '../../src/questions/types.js'

const SERVICE = QUESTIONS.filter((q) => q.status === 'service')

/** Every spelling the table gives for an entry, with the language it is listed under. */
function spellingsOf(entry: QuestionEntry): { name: string; lang: Lang | 'alias' }[] {
  const out: { name: string; lang: Lang | 'alias' }[] = [{ name: entry.en, lang: 'en' }]
  if (entry.zh !== '') out.push({ name: entry.zh, lang: 'zh-CN' })
  for (const lang of LANGS) for (const name of entry.names[lang] ?? []) out.push({ name, lang })
  for (const name of entry.aliases) out.push({ name, lang: 'alias' })
  return out
}

const ALL_SPELLINGS = QUESTIONS.flatMap((entry) => spellingsOf(entry).map((s) => ({ ...s, entry })))

/** Which ids a spelling belongs to, per the data (not per the lookup's own index). */
function idsOfSpelling(name: string): Set<string> {
  const folded = name.normalize('NFKC').toLowerCase()
  return new Set(
    ALL_SPELLINGS.filter((s) => s.name.normalize('NFKC').toLowerCase() === folded).map(
      (s) => s.entry.id,
    ),
  )
}

const UNIQUE = ALL_SPELLINGS.filter((s) => idsOfSpelling(s.name).size === 1)
const SHARED = ALL_SPELLINGS.filter((s) => idsOfSpelling(s.name).size > 1)

function lookupError(text: string): QuestionLookupError {
  try {
    lookupQuestion(text)
  } catch (error) {
    if (error instanceof QuestionLookupError) return error
    throw error
  }
  throw new Error(`expected "${text}" to be refused`)
}

describe('lookup by id', () => {
  it.each(SERVICE.map((q) => [q.id, q.en] as const))('%s (%s)', (id) => {
    const match = lookupQuestion(id)
    expect(match).toMatchObject({ via: 'id', grid: null, dynamic: false, lang: null })
    expect(match.entry.id).toBe(id)
  })

  it.each([
    ['  /m/0K4J  ', '/m/0k4j'],
    ['m/015qff', '/m/015qff'],
    ['／m／01pns0', '/m/01pns0'],
    ['/m/07yv9', '/m/07yv9'],
  ])('tolerates spacing, case and full-width slashes: %j', (text, id) => {
    expect(lookupQuestion(text).entry.id).toBe(id)
  })

  it('refuses an id that is not in the table and suggests the near one', () => {
    const error = lookupError('/m/0k4x')
    expect(error).toBeInstanceOf(UsageError)
    expect(error.message).toContain('/m/0k4x')
    expect(error.suggestions.map((s) => s.id)).toContain('/m/0k4j')
    expect(error.hint).toContain('rc2 questions')
  })
})

describe('every name in every language of the table', () => {
  it('covers every id but /m/03b6pr, whose only name "mail boxes" it shares', () => {
    const covered = new Set(UNIQUE.map((s) => s.entry.id))
    expect(QUESTIONS.filter((q) => !covered.has(q.id)).map((q) => q.id)).toEqual(['/m/03b6pr'])
    expect(UNIQUE.length).toBeGreaterThan(800)
  })

  it.each(UNIQUE.map((s) => [s.name, s.lang, s.entry.id] as const))(
    '%j (%s) -> %s',
    (name, lang, id) => {
      const match = lookupQuestion(name)
      expect(match.entry.id).toBe(id)
      expect(match.via).toBe('name')
      // The language reported is one the data lists this spelling under (aliases: en or zh-CN).
      const folded = name.normalize('NFKC').toLowerCase()
      const listed = ALL_SPELLINGS.filter(
        (s) => s.entry.id === id && s.name.normalize('NFKC').toLowerCase() === folded,
      ).map((s) => s.lang)
      const allowed: (Lang | 'alias' | null)[] = listed.includes('alias')
        ? [...listed, 'en', 'zh-CN']
        : listed
      expect(allowed).toContain(match.lang)
    },
  )
})

describe('names shared by several ids', () => {
  const sharedNames = [...new Set(SHARED.map((s) => s.name))]
  const vehicleNames = sharedNames.filter((n) => {
    const ids = idsOfSpelling(n)
    return ids.size === 2 && ids.has('/m/0k4j') && ids.has('/m/07yv9')
  })
  const otherNames = sharedNames.filter((n) => !vehicleNames.includes(n))

  it('are the vehicles names plus "mail boxes" and 桌子, nothing else', () => {
    expect(vehicleNames.length).toBeGreaterThanOrEqual(15)
    expect(otherNames.sort()).toEqual(['mail boxes', '桌子'])
  })

  it.each(vehicleNames)('%j resolves to /m/0k4j by the vehicles rule, with a note', (name) => {
    const match = lookupQuestion(name)
    expect(match.entry.id).toBe('/m/0k4j')
    expect(match.note).toMatch(/\/m\/07yv9/)
  })

  it.each([
    ['mail boxes', ['/m/04w67_', '/m/03b6pr']],
    ['桌子', ['/m/01y9k5', '/m/04bcr3']],
    ['Mail Boxes.', ['/m/04w67_', '/m/03b6pr']],
  ])('%j is refused with the choices', (name, ids) => {
    const error = lookupError(name)
    expect(error.ambiguous).toBe(true)
    expect(error.suggestions.map((s) => s.id).sort()).toEqual([...ids].sort())
    for (const id of ids) expect(error.message).toContain(id)
    expect(error.hint).toMatch(/--question \/m\//)
  })
})

describe('spelling tolerance', () => {
  it.each([
    ['CARS', '/m/0k4j'],
    ['  Traffic   Lights!! ', '/m/015qff'],
    ['"fire hydrants".', '/m/01pns0'],
    ['ＦＩＲＥ　ＨＹＤＲＡＮＴ', '/m/01pns0'],
    ['traffic\nlights', '/m/015qff'],
    ['a bus', '/m/01bjv'],
    ['the buses', '/m/01bjv'],
    ['an apartment building', '/m/01nblt'],
    ['apartment building', '/m/01nblt'],
    ['sky', '/m/01bqvp'],
    ['the Sky', '/m/01bqvp'],
    ['los semáforos', '/m/015qff'],
    ['semaforos', '/m/015qff'],
    ['les voitures', '/m/0k4j'],
    ['voiture', '/m/0k4j'],
    ["l'autobus", '/m/01bjv'],
    ['gli idranti', '/m/01pns0'],
    ['i semafori', '/m/015qff'],
    ['um hidrante', '/m/01pns0'],
    ['as bicicletas', '/m/0199g'],
    ['die Ampeln', '/m/015qff'],
    ['de fietsen', '/m/0199g'],
    ['Fussgaengerueberwegen'.replace('ae', 'ä').replace('ue', 'ü').replace('ue', 'ü'), '/m/014xcs'],
    ['fussgangeruberwegen', '/m/014xcs'],
    ['palm tree', '/m/0cdl1'],
    ['bridge', '/m/015kr'],
    ['chimney', '/m/01jk_4'],
    ['chimneies', '/m/01jk_4'],
    ['tractor', '/m/013xlm'],
    ['mountain', '/m/09d_r'],
    ['mountains or hills', '/m/09d_r'],
    ['Mountains or Hills.', '/m/09d_r'],
    ['firehydrant', '/m/01pns0'],
    ['trafficlights', '/m/015qff'],
    ['recreational vehicle', '/m/01lgkm'],
    ['recreational vehicle (RV)', '/m/01lgkm'],
    ['Treppen', '/m/01lynh'],
    ['İLAN TAHTASI', '/m/01knjb'],
    ['ilan tahtasi', '/m/01knjb'],
    ['YANGIN MUSLUĞU', '/m/01pns0'],
    ['消防栓。', '/m/01pns0'],
    ['「红绿灯」', '/m/015qff'],
    ['パーキングメーター', '/m/015qbp'],
    ['パーキング　メーター', '/m/015qbp'],
    ['주차요금정산기', '/m/015qbp'],
    ['ДОРОЖНЫЕ ЗНАКИ', '/m/01mqdt'],
    ['пожарные гидранты', '/m/01pns0'],
  ])('%j -> %s', (text, id) => {
    expect(lookupQuestion(text).entry.id).toBe(id)
  })
})

describe('quirks', () => {
  it('"a fire hydrant" and "fire hydrants" are the same id', () => {
    expect(lookupQuestion('a fire hydrant').entry.id).toBe('/m/01pns0')
    expect(lookupQuestion('fire hydrants').entry.id).toBe('/m/01pns0')
    expect(lookupQuestion('fire hydrant').entry.id).toBe('/m/01pns0')
  })

  it('"a bus", "buses" and "bus" are /m/01bjv; "school buses" stays /m/02yvhj', () => {
    for (const text of ['a bus', 'buses', 'bus'])
      expect(lookupQuestion(text).entry.id).toBe('/m/01bjv')
    expect(lookupQuestion('school buses').entry.id).toBe('/m/02yvhj')
  })

  it.each([
    ['巴士', '/m/01bjv'],
    ['公交车', '/m/01bjv'],
    ['公共汽车', '/m/01bjv'],
    ['停车计价表', '/m/015qbp'],
    ['停车计时器', '/m/015qbp'],
    ['汽车', '/m/0k4j'],
    ['小轿车', '/m/0k4j'],
    ['机动车', '/m/0k4j'],
    ['车辆', '/m/0k4j'],
    ['人行横道', '/m/014xcs'],
    ['过街人行道', '/m/014xcs'],
    ['山', '/m/09d_r'],
    ['山峰', '/m/09d_r'],
  ])('Chinese variant %s -> %s', (text, id) => {
    expect(lookupQuestion(text).entry.id).toBe(id)
  })

  it('"vehicles" resolves to /m/0k4j, but the /m/07yv9 id itself is kept', () => {
    expect(lookupQuestion('vehicles').entry.id).toBe('/m/0k4j')
    expect(lookupQuestion('/m/07yv9').entry.id).toBe('/m/07yv9')
    expect(lookupQuestion('交通工具').entry.id).toBe('/m/07yv9')
  })

  it("a language hint settles a name only if the name is that language's", () => {
    expect(lookupQuestion('taxis', { lang: 'fr' }).lang).toBe('fr')
    expect(lookupQuestion('taxis').lang).toBe('en')
    expect(lookupQuestion('vehicles', { lang: 'en' }).entry.id).toBe('/m/0k4j')
  })
})

describe('unknown text', () => {
  /** One-edit typos in the middle of a name: substitution, deletion, swap. */
  function typosOf(name: string): string[] {
    const mid = Math.floor(name.length / 2)
    const sub = name[mid] === 'q' ? 'z' : 'q'
    return [
      name.slice(0, mid) + sub + name.slice(mid + 1),
      name.slice(0, mid) + name.slice(mid + 1),
      name.slice(0, mid - 1) + (name[mid] ?? '') + (name[mid - 1] ?? '') + name.slice(mid + 1),
    ].filter((t) => t !== name)
  }
  const cases = SERVICE.flatMap((entry) =>
    [
      ...new Set([
        entry.en,
        ...(['en', 'es', 'fr', 'it', 'pt-BR', 'de'] as const).flatMap((l) => entry.names[l] ?? []),
      ]),
    ]
      .filter((name) => name.length >= 5 && !name.includes(' '))
      .flatMap((name) => typosOf(name).map((typo) => [typo, entry.id] as const)),
  )

  it('has a good number of typo cases', () => {
    expect(cases.length).toBeGreaterThan(150)
  })

  it.each(cases)('typo %j is refused with a suggestion of %s, never another id', (typo, id) => {
    let resolved: string | undefined
    let error: QuestionLookupError | undefined
    try {
      resolved = lookupQuestion(typo).entry.id
    } catch (e) {
      if (!(e instanceof QuestionLookupError)) throw e
      error = e
    }
    // Some "typos" are real spellings (a plural that is also listed); those must give the same id.
    if (resolved !== undefined) expect(resolved).toBe(id)
    else {
      expect(error?.suggestions[0]?.id).toBe(id)
      expect(error?.hint).toContain(`(${id})`)
      expect(error?.hint).toMatch(/^did you mean: .*; run `rc2 questions` for the list$/)
    }
  })

  it.each([
    ['fire hydrnts', '/m/01pns0'],
    ['trafic lights', '/m/015qff'],
    ['ab us', '/m/01bjv'],
    ['motorcyles', '/m/04_sv'],
    ['crosswalkz', '/m/014xcs'],
    ['消防拴', '/m/01pns0'],
    ['hydrant on the road', '/m/01pns0'],
  ])('%j -> suggestion %s', (text, id) => {
    const error = lookupError(text)
    expect(error.message).toBe(`unknown question "${text}"`)
    expect(error.suggestions.map((s) => s.id)).toContain(id)
    expect(error.kind).toBe('usage')
  })

  it.each(['xylophone zebra', 'a', 'x', 'les', 'the', 'select all images'])(
    '%j gets the list hint and no guess',
    (text) => {
      const error = lookupError(text)
      expect(error.suggestions).toEqual([])
      expect(error.hint).toBe('run `rc2 questions` for the list, or pass a /m/ id')
    },
  )

  it.each(['', '   ', '?!.', '。，'])('empty text %j is a usage error', (text) => {
    expect(() => lookupQuestion(text)).toThrow(UsageError)
    expect(() => lookupQuestion(text)).toThrow(/empty/)
  })

  it('keeps the message on one line and short for pasted junk', () => {
    const error = lookupError(`zzz\n${'q'.repeat(300)}`)
    expect(error.message).not.toContain('\n')
    expect(error.message.length).toBeLessThan(120)
  })
})

describe('the index', () => {
  it('is built once and reused', () => {
    expect(getQuestionIndex()).toBe(getQuestionIndex())
    expect(getQuestionIndex().byId.size).toBe(113)
  })
})
