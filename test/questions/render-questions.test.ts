import { describe, expect, it } from 'vitest'
import { toQuestionMatchJson, toQuestionsJson } from '../../src/output/questions-json.js'
import {
  renderGrids,
  renderQuestionMatch,
  renderQuestionsTable,
} from '../../src/output/render-questions.js'
import { checkQuestion, lookupQuestion } from '../../src/questions/lookup.js'
import { searchQuestions } from '../../src/questions/search.js'
import { QUESTIONS } from '../../src/questions/table.js'

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/

function rowOf(table: string, id: string): string {
  const row = table.split('\n').find((line) => line.includes(`${id} `))
  if (row === undefined) throw new Error(`no row for ${id}`)
  return row
}

describe('renderGrids', () => {
  it.each([
    [{ '3x3': true, '4x4': null, '1x1': true }, '3x3 4x4? 1x1'],
    [{ '3x3': true, '4x4': false, '1x1': true }, '3x3 1x1'],
    [{ '3x3': true, '4x4': true, '1x1': false }, '3x3 4x4'],
    [{ '3x3': false, '4x4': false, '1x1': false }, '—'],
  ] as const)('%j -> %s', (grids, text) => {
    expect(renderGrids(grids)).toBe(text)
  })
})

describe('renderQuestionsTable', () => {
  const service = searchQuestions(undefined)

  it('has one row per entry with id, English, Chinese, grids and status', () => {
    const table = renderQuestionsTable(service)
    for (const entry of service) {
      const row = rowOf(table, entry.id)
      expect(row).toContain(entry.en)
      expect(row).toContain(entry.zh)
      expect(row).toContain(renderGrids(entry.grids))
      expect(row).toContain('service')
    }
    expect(table).toMatch(/│ id\s+│ English\s+│ Chinese\s+│ grids\s+│ status/)
    expect(table).toContain('17 questions (17 accepted by the services)')
    expect(rowOf(table, '/m/019jd')).toMatch(/│ 3x3 1x1\s+│/)
    expect(rowOf(table, '/m/0k4j')).toMatch(/│ 3x3 4x4\? 1x1\s+│/)
  })

  it('shows the chosen language in the third column, a dash where it has no name', () => {
    const table = renderQuestionsTable(searchQuestions(undefined, { all: true }), { lang: 'ja' })
    expect(table).toMatch(/│ Japanese\s+│/)
    expect(rowOf(table, '/m/015qff')).toContain('信号機')
    expect(rowOf(table, '/m/09d_r')).toMatch(/│ —\s+│/)
    expect(rowOf(table, '/m/07yv9')).toMatch(/│ recaptcha\s+│/)
    expect(rowOf(table, '/m/0342h')).toMatch(/│ legacy\s+│/)
  })

  it('uses colour only when asked', () => {
    expect(renderQuestionsTable(service, { color: false })).not.toMatch(ANSI)
    expect(renderQuestionsTable(service, { color: true })).toMatch(ANSI)
  })

  it('fits a given width by wrapping', () => {
    const wide = renderQuestionsTable(searchQuestions(undefined, { all: true }))
    const narrow = renderQuestionsTable(searchQuestions(undefined, { all: true }), {
      width: 72,
      lang: 'ru',
    })
    expect(Math.max(...wide.split('\n').map((l) => l.length))).toBeGreaterThan(72)
    for (const line of narrow.split('\n').slice(0, -1)) expect(line.length).toBeLessThanOrEqual(72)
    // Narrow columns wrap names, never the status or the grids.
    expect(narrow).toMatch(/│ recaptcha │/)
    expect(narrow).toMatch(/│ 3x3 4x4\? 1x1 │/)
  })

  it('renders an empty list as headers and a zero count', () => {
    expect(renderQuestionsTable([])).toContain('0 questions')
  })
})

describe('renderQuestionMatch', () => {
  it('says what a sentence parses to', () => {
    const match = lookupQuestion('Select all squares with vehicles')
    const text = renderQuestionMatch(match, checkQuestion(match, '4x4'))
    const [first, ...rest] = text.split('\n')
    expect(first).toBe('parses to /m/0k4j cars, grid 4x4, English sentence')
    expect(rest.join('\n')).toMatch(/note: .*\/m\/07yv9/)
    expect(rest.join('\n')).toMatch(/warning: no service documents 4x4 support/)
  })

  it('mentions dynamic grids, the language of a name and non-service status', () => {
    expect(
      renderQuestionMatch(
        lookupQuestion(
          'ヤシの木の画像をすべて選択してください。すべて選択し終わったら [確認] をクリックしてください。',
        ),
      ),
    ).toMatch(/^parses to \/m\/0cdl1 palm trees, grid 3x3, dynamic .*, Japanese sentence$/)
    expect(renderQuestionMatch(lookupQuestion('消防栓'))).toBe(
      'parses to /m/01pns0 fire hydrant, grid not implied, Chinese (simplified) name',
    )
    expect(renderQuestionMatch(lookupQuestion('/m/013_1c'))).toMatch(
      /by id\nnot accepted by the services \(status: recaptcha\)/,
    )
  })

  it('accepts a colour option and keeps plain text otherwise', () => {
    const match = lookupQuestion('cars')
    expect(renderQuestionMatch(match, { color: true })).toMatch(ANSI)
    expect(renderQuestionMatch(match, { color: false })).not.toMatch(ANSI)
  })
})

describe('JSON shapes', () => {
  it('toQuestionsJson has schemaVersion 1 and the agreed fields per question', () => {
    const json = toQuestionsJson(QUESTIONS)
    expect(json.schemaVersion).toBe(1)
    expect(json.questions).toHaveLength(113)
    for (const q of json.questions)
      expect(Object.keys(q)).toEqual(['id', 'en', 'zh', 'status', 'grids', 'names'])
    expect(json.questions.find((q) => q.id === '/m/019jd')).toMatchObject({
      en: 'boats',
      zh: '船',
      status: 'service',
      grids: { '3x3': true, '4x4': false, '1x1': true },
    })
    expect(json.questions.find((q) => q.id === '/m/03b6pr')?.zh).toBeNull()
    // Round-trips through JSON unchanged (no undefined, no class instances).
    expect(JSON.parse(JSON.stringify(json))).toEqual(json)
  })

  it('toQuestionMatchJson gives the parse', () => {
    const query = 'Select all images with\na bus\nClick verify once there are none left.'
    const json = toQuestionMatchJson(query, lookupQuestion(query))
    expect(json).toEqual({
      schemaVersion: 1,
      query,
      match: {
        id: '/m/01bjv',
        name: 'bus',
        grid: '3x3',
        dynamic: true,
        lang: 'en',
        via: 'sentence',
        status: 'service',
        note: null,
      },
    })
  })

  it('toQuestionMatchJson carries warnings when given', () => {
    const match = lookupQuestion('/m/0k4j')
    expect(
      toQuestionMatchJson('/m/0k4j', match, checkQuestion(match, '4x4').warnings).warnings,
    ).toHaveLength(1)
    expect(toQuestionMatchJson('/m/0k4j', match, []).warnings).toBeUndefined()
  })
})
