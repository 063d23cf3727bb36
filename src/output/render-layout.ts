import type { Layout } from '../image/types.js'

/** `rc2 grid` as text: what the input is, then one row per tile. */
export function renderLayoutTable(
  input: string,
  width: number,
  height: number,
  layout: Layout,
): string {
  const { crop } = layout
  const head = `${input}: ${layout.kind}, ${width}x${height}, ${layout.grid} grid, tiles at ${crop.x},${crop.y} ${crop.width}x${crop.height}`
  const rows = layout.tiles.map((t) =>
    [t.index, t.x, t.y, t.width, t.height, t.cx, t.cy]
      .map((v, i) => String(v).padStart(i === 0 ? 4 : 6))
      .join(' '),
  )
  const header = ['tile', 'x', 'y', 'width', 'height', 'cx', 'cy']
    .map((h, i) => h.padStart(i === 0 ? 4 : 6))
    .join(' ')
  const note = "tiles numbered from 0, row by row; x, y, cx, cy in the input's pixels"
  return [head, header, ...rows, note].join('\n')
}
