/**
 * Captures taken mid-challenge, end to end in process against the loopback service: tiles already
 * selected are reported (JSON, CSV, table) and sent restored to full size; tiles still fading in
 * are named in a warning and in `loading`, and a dynamic round does not send them.
 */
import { readdirSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess, TILES_DIR } from '../helpers/cli.js'
import { composeGrid, renderCapture } from '../helpers/captures.js'
import {
  DEFAULT_TEST_KEY,
  type OracleInput,
  type ProviderServer,
  redOracle,
  startProviderServer,
} from '../helpers/provider-server.js'

let server: ProviderServer
let dir: string
let files: string[] = []
const seen: OracleInput[] = []

async function rc2(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runInProcess([...args, '--endpoint', server.url], {
    env: { HOME: dir, RC2_API_KEY: DEFAULT_TEST_KEY },
    cwd: dir,
  })
}

/** A 3x3 payload of real tiles with pure red pictures (the test service's object) at `red`. */
async function payloadWithRed(red: number[]): Promise<Buffer> {
  const redTile = await sharp({
    create: { width: 100, height: 100, channels: 3, background: { r: 230, g: 20, b: 20 } },
  })
    .png()
    .toBuffer()
  const cells = Array.from({ length: 9 }, (_, k) =>
    red.includes(k) ? redTile : join(TILES_DIR, files[(k * 7) % files.length]!),
  )
  return composeGrid(cells, '3x3')
}

beforeAll(async () => {
  server = await startProviderServer({
    oracle: (input) => {
      seen.push(input)
      return redOracle(input)
    },
  })
  dir = await mkdtemp(join(tmpdir(), 'rc2-states-'))
  files = readdirSync(TILES_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
})

afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe('a capture with tiles already selected', () => {
  it('reports them in JSON, CSV and the table, and sends their pictures restored to full size', async () => {
    // Drawn at 80% of its cell the red picture averages too pale for the service's "red" (G > 90):
    // only restored does tile 4 read as the object.
    const capture = await renderCapture({
      payload: await payloadWithRed([1, 4]),
      grid: '3x3',
      kind: 'widget',
      ratio: 1.25,
      selectedTiles: [4, 6],
      shrink: 0.8,
      seed: 31,
    })
    await writeFile(join(dir, 'selected.png'), capture.buffer)
    seen.length = 0
    const json = await rc2(['solve', 'selected.png', '-q', 'car', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const result = JSON.parse(json.stdout) as { selected?: number[]; objects: number[] }
    expect(result.selected).toEqual([4, 6])
    expect(result.objects).toEqual([1, 4])
    expect(seen.map((s) => `${s.grid} ${s.size}`)).toEqual(['3x3 300'])

    const csv = await rc2(['solve', 'selected.png', '-q', 'car', '--format', 'csv'])
    expect(csv.code, csv.stderr).toBe(0)
    const [header, row] = csv.stdout.trim().split('\n')
    const columns = header!.split(',')
    expect(row!.split(',')[columns.indexOf('selected')]).toBe('4 6')
    expect(row!.split(',')[columns.indexOf('loading')]).toBe('')

    const table = await rc2(['solve', 'selected.png', '-q', 'car'])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toContain('already selected: 4, 6')
  })
})

describe('a capture with tiles still fading in', () => {
  let path: string
  beforeAll(async () => {
    const capture = await renderCapture({
      payload: await payloadWithRed([2, 5]),
      grid: '3x3',
      kind: 'page',
      ratio: 1.5,
      fading: { 2: 0, 6: 0.3 },
      background: 'dark',
      overlay: true,
      seed: 32,
    })
    path = join(dir, 'fading.jpg')
    await writeFile(path, await sharp(capture.buffer).jpeg({ quality: 80 }).toBuffer())
  })

  it('--tiles sends only the loaded tiles and names the loading ones', async () => {
    seen.length = 0
    const r = await rc2(['solve', path, '--tiles', '2,5,6', '-q', 'car', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {
      checked: number[]
      loading?: number[]
      objects: number[]
      warnings?: string[]
    }
    expect(result.checked).toEqual([5])
    expect(result.objects).toEqual([5])
    expect(result.loading).toEqual([2, 6])
    expect(result.warnings).toContainEqual(expect.stringMatching(/tiles 2, 6 still loading/))
    expect(seen.map((s) => `${s.grid} ${s.size}`)).toEqual(['1x1 100'])
  })

  it('--since classifies the replaced tiles that have loaded and holds back the one still fading in', async () => {
    const common = { grid: '3x3', kind: 'widget', ratio: 1, seed: 33 } as const
    const before = await renderCapture({ ...common, payload: await payloadWithRed([]) })
    // Tiles 4 and 7 replaced by red pictures; tile 4's is still fading in.
    const after = await renderCapture({
      ...common,
      payload: await payloadWithRed([4, 7]),
      fading: { 4: 0.2 },
    })
    await writeFile(join(dir, 'round-a.png'), before.buffer)
    await writeFile(join(dir, 'round-b.png'), after.buffer)
    seen.length = 0
    const r = await rc2(['solve', 'round-b.png', '--since', 'round-a.png', '-q', 'car', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {
      checked: number[]
      loading?: number[]
      objects: number[]
    }
    expect(result.loading).toEqual([4])
    expect(result.checked).toEqual([7])
    expect(result.objects).toEqual([7])
    expect(seen).toHaveLength(1)
  })

  it('a whole solve says which tiles look unloaded, in the result and on stderr', async () => {
    const json = await rc2(['solve', path, '-q', 'car', '--json'])
    expect(json.code, json.stderr).toBe(0)
    const result = JSON.parse(json.stdout) as { loading?: number[]; warnings?: string[] }
    expect(result.loading).toEqual([2, 6])
    expect(result.warnings).toContainEqual(expect.stringMatching(/tiles 2, 6 look still loading/))
    const table = await rc2(['solve', path, '-q', 'car'])
    expect(table.stderr).toMatch(/tiles 2, 6 look still loading/)
    expect(table.stdout).toContain('still loading: 2, 6')
  })
})
