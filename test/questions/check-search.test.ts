import { describe, expect, it } from 'vitest'
import { UsageError } from '../../src/errors.js'
import { checkQuestion } from '../../src/questions/check.js'
import { describeQuestions, lookupQuestion } from '../../src/questions/lookup.js'
import { searchQuestions } from '../../src/questions/search.js'
import { listQuestions, QUESTIONS } from '../../src/questions/table.js'
import type { QuestionMatch } from '../../src/questions/types.js'

function matchOf(id: string, extra: Partial<QuestionMatch> = {}): QuestionMatch {
  return { ...lookupQuestion(id), ...extra }
}

function refusal(run: () => unknown): UsageError {
  try {
    run()
  } catch (error) {
    if (error instanceof UsageError) return error
    throw error
  }
  throw new Error('expected a UsageError')
}

describe('checkQuestion', () => {
  const SERVICE = QUESTIONS.filter((q) => q.status === 'service')

  it.each(SERVICE.map((q) => [q.id] as const))(
    '%s is accepted at 3x3 and 1x1 without warnings',
    (id) => {
      expect(checkQuestion(matchOf(id), '3x3')).toEqual({ warnings: [] })
      expect(checkQuestion(matchOf(id), '1x1')).toEqual({ warnings: [] })
    },
  )

  it.each(SERVICE.filter((q) => q.grids['4x4'] === null).map((q) => [q.id] as const))(
    '%s at 4x4 warns that support is undocumented',
    (id) => {
      const { warnings } = checkQuestion(matchOf(id), '4x4')
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/no service documents 4x4 support/)
      expect(warnings[0]).toContain(id)
    },
  )

  it.each([['/m/02yvhj'], ['/m/019jd'], ['/m/09d_r']])(
    '%s at 4x4 is refused, and sent with a warning under force',
    (id) => {
      const error = refusal(() => checkQuestion(matchOf(id), '4x4'))
      expect(error.message).toContain(id)
      expect(error.message).toContain('4x4')
      expect(error.hint).toContain('--force')
      const { warnings } = checkQuestion(matchOf(id), '4x4', { force: true })
      expect(warnings.join('\n')).toMatch(/do not accept .* as a 4x4 challenge.*--force/)
    },
  )

  it('refuses a reCAPTCHA-only id, naming the three services and why', () => {
    const error = refusal(() => checkQuestion(matchOf('/m/07yv9'), '3x3'))
    for (const word of [
      '/m/07yv9',
      'YesCaptcha',
      'Ace Data Cloud',
      'CapSolver',
      'seen in reCAPTCHA challenges',
    ]) {
      expect(error.message).toContain(word)
    }
    expect(error.hint).toContain('--force')
    expect(error.exitCode).toBe(2)
  })

  it('refuses a legacy id as a legacy prompt', () => {
    const error = refusal(() => checkQuestion(matchOf('/m/0342h'), '3x3'))
    expect(error.message).toMatch(/guitars.*legacy prompt/)
  })

  it('with force, a non-service id becomes one warning', () => {
    const { warnings } = checkQuestion(matchOf('/m/013_1c'), '4x4', { force: true })
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toMatch(/not listed by any service.*--force/)
  })

  it('warns when the image grid contradicts the sentence, but not for a dynamic 3x3 tile', () => {
    const squares = lookupQuestion('Select all squares with bicycles')
    expect(checkQuestion(squares, '3x3').warnings).toEqual([
      'the sentence implies a 4x4 grid but the image is 3x3',
    ])
    const dynamic = lookupQuestion(
      'Select all images with bicycles. Click verify once there are none left.',
    )
    expect(checkQuestion(dynamic, '1x1').warnings).toEqual([])
    const plain = lookupQuestion('Select all images with bicycles')
    expect(checkQuestion(plain, '1x1').warnings).toEqual([
      'the sentence implies a 3x3 grid but the image is 1x1',
    ])
  })
})

describe('searchQuestions', () => {
  const ids = (list: readonly { id: string }[]): string[] => list.map((e) => e.id)

  it('lists the 17 service ids, or all 113 with all', () => {
    expect(searchQuestions(undefined)).toHaveLength(17)
    expect(searchQuestions(undefined).every((e) => e.status === 'service')).toBe(true)
    expect(searchQuestions(undefined, { all: true })).toHaveLength(113)
    expect(searchQuestions('  ', { all: true })).toHaveLength(113)
  })

  it('lists without a query what listQuestions lists (the list `rc2 questions` prints without loading the index), in table order', () => {
    expect(ids(listQuestions())).toEqual(ids(QUESTIONS.filter((e) => e.status === 'service')))
    expect(ids(listQuestions({ all: true }))).toEqual(ids(QUESTIONS))
    expect(ids(searchQuestions(undefined))).toEqual(ids(listQuestions()))
    expect(ids(searchQuestions(undefined, { all: true, lang: 'de' }))).toEqual(
      ids(listQuestions({ all: true })),
    )
    expect(describeQuestions(undefined, { all: true }).entries).toEqual(
      listQuestions({ all: true }),
    )
  })

  it.each([
    ['hydrant', '/m/01pns0'],
    ['HYDRANT', '/m/01pns0'],
    ['消防', '/m/01pns0'],
    ['/m/0k4j', '/m/0k4j'],
    ['0k4', '/m/0k4j'],
    ['motorcyles', '/m/04_sv'],
    ['semaforo', '/m/015qff'],
    ['Ampel', '/m/015qff'],
    ['タクシー', '/m/0pg52'],
    ['hydrnt', '/m/01pns0'],
  ])('%j finds %s first', (query, id) => {
    expect(ids(searchQuestions(query))[0]).toBe(id)
  })

  it('a substring filters to the entries containing it in any language', () => {
    const found = ids(searchQuestions('bus'))
    expect(found.slice(0, 2).sort()).toEqual(['/m/01bjv', '/m/02yvhj'])
    expect(found).not.toContain('/m/015qff')
  })

  it('hides non-service ids unless all', () => {
    expect(searchQuestions('statue')).toEqual([])
    expect(ids(searchQuestions('statue', { all: true }))).toEqual(['/m/013_1c'])
    expect(ids(searchQuestions('vehicle', { all: true }))).toEqual(
      expect.arrayContaining(['/m/0k4j', '/m/07yv9', '/m/02gx17']),
    )
  })

  it('ranks names of the chosen language first among equal matches', () => {
    // "ca" starts "cab" (alias of taxis) and "carros" (pt-BR cars): table order, unless pt-BR is asked for.
    expect(ids(searchQuestions('ca'))[0]).toBe('/m/0pg52')
    expect(ids(searchQuestions('ca', { lang: 'pt-BR' }))[0]).toBe('/m/0k4j')
    expect(new Set(ids(searchQuestions('ca', { lang: 'pt-BR' })))).toEqual(
      new Set(ids(searchQuestions('ca'))),
    )
  })

  it('finds nothing for junk', () => {
    expect(searchQuestions('qqqqqq', { all: true })).toEqual([])
  })
})

describe('describeQuestions (rc2 questions [query])', () => {
  it('without a query gives the service table', () => {
    const view = describeQuestions(undefined)
    expect(view.entries).toHaveLength(17)
    expect(view.match).toBeUndefined()
  })

  it('a sentence gives its parse', () => {
    const view = describeQuestions('Select all squares with traffic lights')
    expect(view.match?.entry.id).toBe('/m/015qff')
    expect(view.match?.grid).toBe('4x4')
    expect(ids(view.entries)).toEqual(['/m/015qff'])
  })

  it('a name filters', () => {
    const view = describeQuestions('hydrant')
    expect(view.match).toBeUndefined()
    expect(ids(view.entries)).toEqual(['/m/01pns0'])
  })

  it('a filter matching only hidden ids points at --all', () => {
    const error = refusal(() => describeQuestions('statue'))
    expect(error.message).toContain('"statue"')
    expect(error.hint).toMatch(/--all/)
  })

  it('a filter matching nothing is refused like --question', () => {
    const error = refusal(() => describeQuestions('qqqqqq'))
    expect(error.message).toContain('qqqqqq')
    expect(error.hint).toContain('rc2 questions')
  })

  it('an unknown object in a sentence is refused with a suggestion', () => {
    const error = refusal(() => describeQuestions('Select all images with bycicles'))
    expect(error.hint).toContain('/m/0199g')
  })

  function ids(list: readonly { id: string }[]): string[] {
    return list.map((e) => e.id)
  }
})
