import { describe, expect, it } from 'vitest'
import {
  editDistance,
  inflectionVariants,
  maxTypoDistance,
  normalizeText,
  stripArticles,
  toBaseKey,
} from '../../src/questions/normalize.js'

describe('normalizeText', () => {
  it.each([
    ['  Traffic\n\tLights. ', 'traffic lights'],
    ['ＦＩＲＥ　ＨＹＤＲＡＮＴＳ！', 'fire hydrants'],
    ['«Pular»', 'pular'],
    ["S'il n'y en a aucune", 's il n y en a aucune'],
    ['Vehículos', 'vehiculos'],
    ['İLAN TAHTASI', 'ilan tahtasi'],
    ['ılan', 'ilan'],
    ['Fußgängerüberwegen', 'fussgangeruberwegen'],
    ['Ёлка', 'елка'],
    ['消防栓。', '消防栓'],
    ['请点击“跳过”。', '请点击 跳过'],
    ['「红绿灯」，', '红绿灯'],
    ['[スキップ] を', 'スキップ を'],
    ['バス', 'バス'],
    ['パーキング メーター', 'パーキング メーター'],
  ])('%j -> %j', (text, expected) => {
    expect(normalizeText(text)).toBe(expected)
  })

  it('keeps kana voicing marks (they would vanish with accent folding)', () => {
    expect(normalizeText('ボート')).not.toBe(normalizeText('ホート'))
  })
})

describe('keys', () => {
  it.each([
    ['The Sky', 'sky'],
    ['a fire hydrant', 'fire hydrant'],
    ['les les voitures', 'voitures'],
    ['the', 'the'],
    ['パーキング メーター', 'パーキングメーター'],
    ['주차 요금 정산기', '주차요금정산기'],
  ])('toBaseKey(%j) = %j', (text, key) => {
    expect(toBaseKey(text)).toBe(key)
  })

  it('stripArticles leaves the last word alone', () => {
    expect(stripArticles('a')).toBe('a')
    expect(stripArticles('un bus')).toBe('bus')
  })

  it('inflectionVariants gives singular and plural spellings of Latin text only', () => {
    expect(inflectionVariants('car')).toContain('cars')
    expect(inflectionVariants('buses')).toContain('bus')
    expect(inflectionVariants('chimneies')).toContain('chimney')
    expect(inflectionVariants('bateau')).toContain('bateaux')
    expect(inflectionVariants('消防栓')).toEqual([])
  })
})

describe('editDistance', () => {
  it.each([
    ['cars', 'cars', 0],
    ['cars', 'car', 1],
    ['hydrant', 'hydrnat', 1],
    ['kitten', 'sitting', 3],
    ['消防栓', '消防拴', 1],
    ['', 'abc', 3],
  ])('%j vs %j = %d', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d)
    expect(editDistance(b, a)).toBe(d)
  })

  it('stops at the limit', () => {
    expect(editDistance('abcdefgh', 'zzzzzzzz', 2)).toBe(3)
  })

  it('allows more edits for longer text, one for CJK', () => {
    expect([
      maxTypoDistance('bus'),
      maxTypoDistance('bicycles'),
      maxTypoDistance('mountains or hills'),
      maxTypoDistance('停车计价表'),
    ]).toEqual([1, 2, 3, 1])
  })
})
