/**
 * A tiny stroke font for the digits 0-9, as SVG path data. Tile numbers are drawn with these
 * paths instead of <text> so annotations look the same everywhere: librsvg would otherwise pick
 * whatever fonts the machine has (or none, in a slim container).
 *
 * Each glyph lives in a box GLYPH_WIDTH wide and GLYPH_HEIGHT tall, y pointing down, and is meant
 * to be stroked (round caps and joins) with no fill.
 */

export const GLYPH_WIDTH = 6
export const GLYPH_HEIGHT = 10
/** Horizontal advance between digits of one number, in glyph units. */
const GLYPH_ADVANCE = 8.5

const DIGIT_PATHS: Record<string, string> = {
  '0': 'M3 0 C-1 0 -1 10 3 10 C7 10 7 0 3 0 Z',
  '1': 'M0.8 2.4 L3.6 0 V10 M0.8 10 H6',
  '2': 'M0.2 2.6 C0.6 -0.9 6 -0.9 6 2.8 C6 5 2.4 6.6 0 10 H6.2',
  '3': 'M0.4 1.2 C2 -0.6 6 -0.4 5.8 2.5 C5.6 4.4 3.8 4.9 2.2 4.9 C4.4 4.9 6.3 5.8 6.2 7.6 C6 10.6 1.6 10.8 0 8.8',
  '4': 'M4.6 10 V0 L0 7 H6.4',
  '5': 'M5.8 0 H1 L0.5 4.6 C2.6 3.2 6.2 3.5 6.2 6.9 C6.2 10.6 1.6 10.8 0 8.8',
  '6': 'M5.4 0.9 C3.2 -0.7 0 0.4 0 6 C0 11.4 6.2 11.1 6.2 7 C6.2 3.4 1.2 3.3 0.1 6.6',
  '7': 'M0 0 H6.2 L2.4 10',
  '8': 'M3 4.7 C0.1 4.7 0.2 0 3 0 C5.8 0 5.9 4.7 3 4.7 Z M3 4.7 C-0.3 4.7 -0.3 10 3 10 C6.3 10 6.3 4.7 3 4.7 Z',
  '9': 'M0.8 9.1 C3 10.7 6.2 9.6 6.2 4 C6.2 -1.4 0 -1.1 0 3 C0 6.6 5 6.7 6.1 3.4',
}

/** Path data for one digit. */
function digitPath(digit: string): string {
  const path = DIGIT_PATHS[digit]
  if (path === undefined) throw new RangeError(`no glyph for ${JSON.stringify(digit)}`)
  return path
}

/** Width in glyph units of a number drawn with these glyphs. */
export function measureNumber(value: number): number {
  const digits = String(value).length
  return GLYPH_WIDTH + (digits - 1) * GLYPH_ADVANCE
}

/**
 * SVG path data for a non-negative integer, scaled so that the digits are `height` pixels tall,
 * with the top-left of the first digit at (x, y). Path data cannot be transformed in place, so the
 * glyph coordinates are rewritten number by number.
 */
export function renderNumberPath(value: number, x: number, y: number, height: number): string {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`cannot draw ${value}`)
  const scale = height / GLYPH_HEIGHT
  return [...String(value)]
    .map((digit, i) => transformPath(digitPath(digit), x + i * GLYPH_ADVANCE * scale, y, scale))
    .join(' ')
}

/** Scale and move absolute path data (commands M, L, H, V, C, Z only, as used above). */
function transformPath(path: string, dx: number, dy: number, scale: number): string {
  const tokens = path.match(/[MLHVCZ]|-?\d*\.?\d+/g) ?? []
  const out: string[] = []
  let command = ''
  let argIndex = 0
  for (const token of tokens) {
    if (/^[MLHVCZ]$/.test(token)) {
      command = token
      argIndex = 0
      out.push(token)
      continue
    }
    const value = Number(token)
    // H takes x values, V takes y values; M, L and C alternate x, y.
    const isX = command === 'H' || (command !== 'V' && argIndex % 2 === 0)
    out.push(formatNumber(isX ? dx + value * scale : dy + value * scale))
    argIndex++
  }
  return out.join(' ')
}

function formatNumber(value: number): string {
  return String(Math.round(value * 100) / 100)
}
