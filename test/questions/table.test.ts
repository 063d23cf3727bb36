import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { buildQuestionsSource } from '../../scripts/build-questions.js'
import { QUESTIONS } from '../../src/questions/table.js'
import { LANGS } from '../../src/questions/types.js'
import { GRIDS } from '../../src/types.js'

const ROOT = resolve(import.meta.dirname, '../..')
const FACTS_PATH = resolve(ROOT, 'data/questions.json')
const factsText = readFileSync(FACTS_PATH, 'utf8')
const facts = JSON.parse(factsText) as {
  id: string
  en: string
  zh: string | null
  status: string
  grids: Record<string, boolean | null>
  i18n: Record<string, string[]>
  aliases: string[]
}[]

describe('generated question table', () => {
  it('is what the build script makes from the facts file today', () => {
    const committed = readFileSync(resolve(ROOT, 'src/questions/table.ts'), 'utf8')
    expect(buildQuestionsSource(factsText, 'data/questions.json')).toBe(committed)
  })

  it('has every id of the facts file once, in the same order, with its status', () => {
    expect(QUESTIONS.map((q) => q.id)).toEqual(facts.map((f) => f.id))
    expect(new Set(QUESTIONS.map((q) => q.id)).size).toBe(113)
    const count = (status: string): number => QUESTIONS.filter((q) => q.status === status).length
    expect([count('service'), count('recaptcha'), count('legacy')]).toEqual([17, 39, 57])
  })

  it.each(facts.map((f) => [f.id, f] as const))(
    '%s keeps grids, names and display names',
    (id, fact) => {
      const entry = QUESTIONS.find((q) => q.id === id)
      expect(entry).toBeDefined()
      if (entry === undefined) return
      expect(entry.en).toBe(fact.en)
      expect(entry.zh).toBe(fact.zh ?? '')
      for (const grid of GRIDS) expect(entry.grids[grid]).toBe(fact.grids[grid])
      for (const lang of LANGS) {
        for (const name of fact.i18n[lang] ?? []) expect(entry.names[lang]).toContain(name)
      }
      // Every alias of the facts is a name or an alias of the table, bar the dropped non-words.
      const known = new Set([...Object.values(entry.names).flat(), ...entry.aliases])
      const missing = fact.aliases.filter((a) => !known.has(a))
      expect(
        missing.every((a) =>
          ['cactu', 'beache', 'sunglasse', 'mail boxe', 'eye glasse'].includes(a),
        ),
      ).toBe(true)
    },
  )

  it('never offers school bus, boats or mountains as 4x4', () => {
    for (const id of ['/m/02yvhj', '/m/019jd', '/m/09d_r']) {
      expect(QUESTIONS.find((q) => q.id === id)?.grids['4x4']).toBe(false)
    }
  })

  it('accepts every service id at 3x3 and 1x1 and no other id at any grid', () => {
    for (const entry of QUESTIONS) {
      const service = entry.status === 'service'
      expect([entry.grids['3x3'], entry.grids['1x1']]).toEqual([service, service])
      if (!service) expect(entry.grids['4x4']).toBe(false)
    }
  })

  it('is frozen, down to the name lists', () => {
    const [first] = QUESTIONS
    expect(Object.isFrozen(QUESTIONS)).toBe(true)
    expect(
      first !== undefined &&
        Object.isFrozen(first) &&
        Object.isFrozen(first.grids) &&
        Object.isFrozen(first.names.en),
    ).toBe(true)
    expect(() => (QUESTIONS as unknown as unknown[]).push({})).toThrow(TypeError)
  })

  it('holds JSON text that a backtick or ${ in a name cannot break out of (String.raw)', () => {
    const base = facts[0]!
    const tricky = {
      ...base,
      aliases: [...base.aliases, 'back`tick', 'dollar ${x}', 'back\\slash "quoted"'],
    }
    const source = buildQuestionsSource(JSON.stringify([tricky]), 'x.json')
    const raw = /String\.raw`([\s\S]*)`\) as QuestionEntry\[\]/.exec(source)?.[1]
    expect(raw).toBeDefined()
    // What the template holds verbatim: no backtick to end it, no ${ to interpolate.
    expect(raw).not.toContain('`')
    expect(raw).not.toContain('${')
    const [entry] = JSON.parse(raw!) as { aliases: string[] }[]
    expect(entry?.aliases).toEqual(
      expect.arrayContaining(['back`tick', 'dollar ${x}', 'back\\slash "quoted"']),
    )
  })

  it('keeps the source lists out of the repository copy', () => {
    const committed = readFileSync(resolve(ROOT, 'src/questions/table.ts'), 'utf8')
    expect(committed).not.toContain('github:')
    expect(committed).toMatch(/\d+ source references/)
  })
})

describe('build script input checks', () => {
  const base = facts[0]
  it.each([
    ['a duplicate id', () => [base, base], /duplicate id/],
    [
      'a bad grid flag',
      () => [{ ...base, grids: { ...base?.grids, '4x4': 'maybe' } }],
      /\[0\]\.grids\.4x4: expected true, false or null/,
    ],
    ['an unknown status', () => [{ ...base, status: 'gone' }], /\[0\]\.status/],
    [
      'an unknown language',
      () => [{ ...base, i18n: { xx: ['a'] } }],
      /\[0\]\.i18n\.xx: unknown language/,
    ],
    ['an id that is not /m/', () => [{ ...base, id: 'car' }], /\[0\]\.id/],
  ])('refuses %s, naming the field', (_what, make, message) => {
    expect(() => buildQuestionsSource(JSON.stringify(make()), 'x.json')).toThrow(message)
  })
})
