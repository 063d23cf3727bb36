/**
 * Dynamic rounds end to end (docs/commands.md), in process through runCli against the loopback server:
 * `--since` on rendered pairs of captures finds exactly the replaced tiles and sends each as one
 * 100x100 task; `--tiles` sends the tiles named; nothing changed sends nothing; another widget is
 * refused; the table and --annotate mark checked tiles and fill the ones to click.
 */
import { readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import type { Rect } from '../../src/types.js'
import { TILES_DIR } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  type OracleInput,
  type ProviderServer,
  redOracle,
  startProviderServer,
} from '../helpers/provider-server.js'
import { renderRoundPair } from '../helpers/rounds.js'

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let dir: string
let files: string[] = []
const seen: OracleInput[] = []

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

async function rc2(
  args: string[],
  env: Record<string, string> = { HOME: dir, RC2_API_KEY: KEY },
): Promise<Run> {
  const run = await runInProcess(args, { env, cwd: dir })
  expect(run.stdout + run.stderr).not.toContain(KEY)
  return run
}

interface RoundJson {
  ok: boolean
  grid: string
  size: number
  type: string
  checked: number[]
  objects: number[]
  clicks: { tile: number; x: number; y: number }[]
  points: number | null
  confidences: number[] | null
  warnings?: string[]
  annotated?: string
}

function inside(point: { x: number; y: number }, rect: Rect): boolean {
  return (
    point.x > rect.x &&
    point.x < rect.x + rect.width &&
    point.y > rect.y &&
    point.y < rect.y + rect.height
  )
}

beforeAll(async () => {
  server = await startProviderServer({
    oracle: (input) => {
      seen.push(input)
      return redOracle(input)
    },
  })
  dir = await mkdtemp(join(tmpdir(), 'rc2-rounds-'))
  files = readdirSync(TILES_DIR, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(TILES_DIR, f))
})

afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe('rc2 solve --since', () => {
  const PAIRS = 16

  it(`classifies exactly the replaced tiles of ${PAIRS} rendered pairs, one 100x100 call each`, async () => {
    const problems: string[] = []
    for (let k = 1; k <= PAIRS; k++) {
      const pair = await renderRoundPair(files, 9100 + k, { redShare: 0.5 })
      const before = join(dir, `before-${k}.${pair.beforeFormat === 'png' ? 'png' : 'jpg'}`)
      const after = join(dir, `after-${k}.${pair.afterFormat === 'png' ? 'png' : 'jpg'}`)
      await writeFile(before, pair.before)
      await writeFile(after, pair.after)
      seen.length = 0
      const r = await rc2([
        'solve',
        after,
        '--since',
        before,
        '-q',
        'car',
        '--json',
        '--endpoint',
        server.url,
      ])
      expect(r.code, `${pair.label}\n${r.stderr}`).toBe(0)
      const result = JSON.parse(r.stdout) as RoundJson
      expect(result).toMatchObject({ ok: true, grid: '3x3', size: 100, type: 'multi' })
      if (JSON.stringify(result.checked) !== JSON.stringify(pair.replaced))
        problems.push(`${pair.label}: checked ${result.checked.join(',')}`)
      expect(result.objects, pair.label).toEqual(pair.red)

      for (const click of result.clicks)
        expect(
          inside(click, pair.tiles[click.tile]!),
          `${pair.label} click ${JSON.stringify(click)}`,
        ).toBe(true)
      // One call per checked tile, every one a 100x100 image; never the whole grid. Red squares
      // cut to the same bytes are one request, asked once (a run pays once for the same content).
      expect(seen.every((s) => s.grid === '1x1' && s.size === 100)).toBe(true)
      expect(seen.length).toBeLessThanOrEqual(result.checked.length)
      expect(seen.length).toBeGreaterThanOrEqual(
        result.checked.length - Math.max(0, pair.red.length - 1),
      )
      expect(result.points).toBe(2 * seen.length)
    }
    console.log(
      `rounds end to end: ${PAIRS} pairs, ${PAIRS - problems.length} with exactly the replaced tiles checked`,
    )
    expect(problems).toEqual([])
  }, 300_000)

  it('nothing changed (the same capture re-encoded): checked [], a warning, exit 0, no call', async () => {
    const pair = await renderRoundPair(files, 9201, { kind: 'widget', ratio: 1.5 })
    await writeFile(join(dir, 'same-a.png'), pair.after)
    await writeFile(
      join(dir, 'same-b.jpg'),
      await sharp(pair.after).jpeg({ quality: 75 }).toBuffer(),
    )
    seen.length = 0
    const r = await rc2([
      'solve',
      'same-b.jpg',
      '--since',
      'same-a.png',
      '-q',
      'car',
      '--json',
      '--endpoint',
      server.url,
    ])
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout) as RoundJson
    expect(result).toMatchObject({
      ok: true,
      checked: [],
      objects: [],
      clicks: [],
      points: 0,
      size: 100,
    })
    expect(result.warnings).toEqual(['no tile changed since same-a.png: nothing was sent'])
    expect(seen).toEqual([])
    const table = await rc2([
      'solve',
      'same-b.jpg',
      '--since',
      'same-a.png',
      '-q',
      'car',
      '--endpoint',
      server.url,
    ])
    expect(table.code).toBe(0)
    expect(table.stdout + table.stderr).toContain('no tile changed')
  })

  it('another widget (moved, other grid) is an input error naming what differs, exit 4, no call', async () => {
    const a = await renderRoundPair(files, 9301, {
      kind: 'page',
      ratio: 1,
      position: { x: 30, y: 40 },
      pageSize: { width: 700, height: 900 },
    })
    const b = await renderRoundPair(files, 9301, {
      kind: 'page',
      ratio: 1,
      position: { x: 30, y: 75 },
      pageSize: { width: 700, height: 900 },
    })
    await writeFile(join(dir, 'moved-a.png'), a.before)
    await writeFile(join(dir, 'moved-b.png'), b.after)
    seen.length = 0
    const r = await rc2([
      'solve',
      'moved-b.png',
      '--since',
      'moved-a.png',
      '-q',
      'car',
      '--endpoint',
      server.url,
    ])
    expect(r.code).toBe(4)
    expect(r.stderr).toContain('the grid in moved-b.png sits 35 px lower than in moved-a.png')
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(seen).toEqual([])
  })
})

describe('rc2 solve --tiles', () => {
  it('--dry-run shows the checked tiles and one 100x100 request each, sends nothing', async () => {
    const pair = await renderRoundPair(files, 9601, { kind: 'widget', ratio: 1 })
    await writeFile(join(dir, 'dry.png'), pair.after)
    seen.length = 0
    const r = await rc2([
      'solve',
      'dry.png',
      '--tiles',
      '2,5',
      '-q',
      'car',
      '--json',
      '--dry-run',
      '--endpoint',
      server.url,
    ])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {
      dryRun: boolean
      size: number
      checked: number[]
      clicksIfChosen: { tile: number }[]
      request: { body: { task: { image: string } } }
    }
    expect(result).toMatchObject({ dryRun: true, size: 100, checked: [2, 5] })
    expect(result.clicksIfChosen.map((c) => c.tile)).toEqual([2, 5])
    expect(result.request.body.task.image).toMatch(/100x100, one request per checked tile/)
    expect(seen).toEqual([])
  })

  it('sends only the named tiles; table marks the checked ones and fills those to click; --annotate too', async () => {
    const pair = await renderRoundPair(files, 9401, { kind: 'widget', ratio: 2, redShare: 1 })
    await writeFile(join(dir, 'tiles.png'), pair.after)
    const red = pair.red[0]!
    const other = [0, 1, 2, 3, 4, 5, 6, 7, 8].find((t) => !pair.red.includes(t))!
    seen.length = 0
    const r = await rc2([
      'solve',
      'tiles.png',
      '--tiles',
      `${other},${red}`,
      '-q',
      'car',
      '--endpoint',
      server.url,
      '--annotate',
      join(dir, 'marked.png'),
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(seen.map((s) => s.size)).toEqual([100, 100])
    expect(r.stdout).toContain(`[  ${other} ]`)
    expect(r.stdout).toContain(`██ ${red}██`)
    expect(r.stdout).toContain(
      `checked ${[other, red].sort((x, y) => x - y).join(', ')}: click ${red}`,
    )
    // The annotation: the tile to click is tinted and numbered, the checked one outlined, others untouched.
    const before = await sharp(pair.after).removeAlpha().raw().toBuffer({ resolveWithObject: true })
    const after = await sharp(await readFile(join(dir, 'marked.png')))
      .removeAlpha()
      .raw()
      .toBuffer()
    const diff = (rect: Rect): number => {
      let sum = 0
      for (let y = rect.y; y < rect.y + rect.height; y++) {
        for (let x = rect.x; x < rect.x + rect.width; x++) {
          const p = (y * before.info.width + x) * 3
          for (let c = 0; c < 3; c++) sum += Math.abs(before.data[p + c]! - after[p + c]!)
        }
      }
      return sum / (rect.width * rect.height * 3)
    }
    const untouched = [0, 1, 2, 3, 4, 5, 6, 7, 8].find((t) => t !== red && t !== other)!
    expect(diff(pair.tiles[red]!)).toBeGreaterThan(diff(pair.tiles[other]!))
    expect(diff(pair.tiles[other]!)).toBeGreaterThan(2)
    expect(diff(pair.tiles[untouched]!)).toBe(0)
  })

  it('--json: taskId is the first of taskIds (a string), and a capture says selected and loading, [] for none', async () => {
    const pair = await renderRoundPair(files, 9402, { kind: 'widget', ratio: 1, redShare: 1 })
    await writeFile(join(dir, 'ids.png'), pair.after)
    const r = await rc2([
      'solve',
      'ids.png',
      '--tiles',
      '0,4,8',
      '-q',
      'car',
      '--json',
      '--endpoint',
      server.url,
    ])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as {
      taskId: unknown
      taskIds: unknown[]
      selected: unknown
      loading: unknown
    }
    expect(result.taskIds).toHaveLength(3)
    expect(typeof result.taskId).toBe('string')
    expect(result.taskId).toBe(result.taskIds[0])
    expect(result.selected).toEqual([])
    expect(result.loading).toEqual([])
  })

  it('with a failover list, tiles the first service cannot answer go to the next', async () => {
    const pair = await renderRoundPair(files, 9701, { kind: 'widget', ratio: 1, redShare: 1 })
    await writeFile(join(dir, 'failover.png'), pair.after)
    seen.length = 0
    const r = await rc2(
      [
        'solve',
        'failover.png',
        '--tiles',
        '0,8',
        '-q',
        'car',
        '--json',
        '-p',
        'yescaptcha,capsolver',
      ],
      {
        HOME: dir,
        NO_COLOR: '1',
        CI: '1',
        // Nothing listens on port 1: YesCaptcha fails before sending, CapSolver answers.
        RC2_YESCAPTCHA_API_KEY: KEY,
        RC2_YESCAPTCHA_ENDPOINT: 'http://127.0.0.1:1',
        RC2_CAPSOLVER_API_KEY: KEY,
        RC2_CAPSOLVER_ENDPOINT: server.endpoints.capsolver,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as RoundJson & {
      provider: string
      attempts?: { provider: string; kind: string }[]
    }
    expect(result).toMatchObject({ provider: 'capsolver', checked: [0, 8] })
    expect(result.objects).toEqual([0, 8].filter((t) => pair.red.includes(t)))
    expect(result.attempts?.map((a) => [a.provider, a.kind])).toEqual([
      ['yescaptcha', 'network'],
      ['yescaptcha', 'network'],
    ])
    expect(seen.map((s) => `${s.provider} ${s.size}`)).toEqual(['capsolver 100', 'capsolver 100'])
  })

  it('acedata gives a confidence per checked tile; a 4x4 capture is refused', async () => {
    const pair = await renderRoundPair(files, 9501, { kind: 'widget', ratio: 1, redShare: 1 })
    await writeFile(join(dir, 'ace.png'), pair.after)
    const r = await rc2([
      'solve',
      'ace.png',
      '--tiles',
      '0,4,8',
      '-q',
      'car',
      '--json',
      '-p',
      'acedata',
      '--endpoint',
      server.url,
    ])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as RoundJson
    expect(result.checked).toEqual([0, 4, 8])
    expect(result.confidences).toHaveLength(3)
    expect(result.objects).toEqual([0, 4, 8].filter((t) => pair.red.includes(t)))
    result.confidences!.forEach((score, k) =>
      expect(score >= 0.5).toBe(pair.red.includes(result.checked[k]!)),
    )

    await writeFile(
      join(dir, 'four.png'),
      await sharp({ create: { width: 450, height: 450, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    )
    const four = await rc2([
      'solve',
      'four.png',
      '--tiles',
      '1',
      '-q',
      'car',
      '--endpoint',
      server.url,
    ])
    expect(four.code).toBe(4)
    expect(four.stderr).toContain(
      'four.png shows a 4x4 grid; --tiles classifies tiles of a 3x3 challenge one by one',
    )
  })
})
