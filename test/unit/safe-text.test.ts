import { describe, expect, it } from 'vitest'
import { safeBlock, safeText } from '../../src/output/safe-text.js'

describe('outside text on the terminal', () => {
  it('escapes ESC, OSC, BEL, CR, LF, DEL, C1 and direction overrides in one line of outside text', () => {
    const hostile = '\u001b[2J\u001b]0;owned\u0007\r\nrc2: ok\u007f\u009b31m\u202egnp.exe\ttab'
    const shown = safeText(hostile)
    expect(shown).toBe(
      '\\u001b[2J\\u001b]0;owned\\u0007\\u000d\\u000arc2: ok\\u007f\\u009b31m\\u202egnp.exe\ttab',
    )
    // eslint-disable-next-line no-control-regex -- the point of the test
    expect(shown).not.toMatch(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u202e]/)
  })

  it('leaves ordinary text, other scripts and emoji alone', () => {
    for (const text of [
      'shots/a b.png',
      '请选择包含消防栓的所有图片',
      'Feuerhydranten · ✔',
      'ü 😀',
    ])
      expect(safeText(text)).toBe(text)
  })

  it('a written block keeps its newlines, tabs and colours (SGR) but no other sequence', () => {
    const block = '\u001b[32mok\u001b[39m\n\tnext \u001b[2K\u001b]8;;http://x\u0007link\r'
    expect(safeBlock(block)).toBe(
      '\u001b[32mok\u001b[39m\n\tnext \\u001b[2K\\u001b]8;;http://x\\u0007link\\u000d',
    )
  })

  it('escapes are valid inside a JSON string: a JSON line stays JSON with the same value', () => {
    const value = { message: 'a\u009bb\u2028c\u007fd' }
    const line = safeBlock(JSON.stringify(value))
    expect(line).not.toMatch(/[\u007f-\u009f\u2028]/)
    expect(JSON.parse(line)).toEqual(value)
  })
})
