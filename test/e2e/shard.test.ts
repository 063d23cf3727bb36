/**
 * --shard k/n (docs/many-machines.md): n runs, one per machine, each solve one share of the sorted inputs
 * and together cover every input exactly once. In-process against the loopback server.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { takeShard } from '../../src/inputs/list.js'
import { runRc2InProcess, type InProcessResult } from '../helpers/cli-in-process.js'
import {
  DEFAULT_TEST_KEY,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

let server: ProviderServer
let root: string

const rc2 = (args: string[]): Promise<InProcessResult> =>
  runRc2InProcess([...args, '--endpoint', server.url], {
    cwd: root,
    env: { RC2_API_KEY: DEFAULT_TEST_KEY },
  })

const parseLines = (text: string): { input: string; ok: boolean; objects?: number[] }[] =>
  text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as { input: string; ok: boolean; objects?: number[] })

/** A 300x300 JPEG payload with tile `red` red and the rest grey (a shade apart per `variant`). */
async function payload(red: number, variant = 0): Promise<Buffer> {
  const data = Buffer.alloc(300 * 300 * 3)
  for (let y = 0; y < 300; y++) {
    for (let x = 0; x < 300; x++) {
      const isRed = Math.floor(y / 100) * 3 + Math.floor(x / 100) === red
      data.set(isRed ? [230, 20, 20] : [120 + variant, 125, 130], (y * 300 + x) * 3)
    }
  }
  return sharp(data, { raw: { width: 300, height: 300, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer()
}

beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-shard-'))
  await mkdir(join(root, 'shots'))
  // 31 different images: a run pays once for the same content.
  const images = await Promise.all(Array.from({ length: 31 }, (_, k) => payload(k % 9, k)))
  // 31 files, named so that code-unit order differs from the order they were written in.
  for (let k = 0; k < 31; k++)
    await writeFile(join(root, 'shots', `${k % 2 === 0 ? 'A' : 'b'}-${30 - k}.jpg`), images[k]!)
})

afterAll(async () => {
  await server.close()
  await rm(root, { recursive: true, force: true })
})

beforeEach(() => server.resetCounters())

describe('--shard k/n', () => {
  it('three shards of a 31-file directory cover it exactly once, each a run of the sorted list', async () => {
    const parts: string[] = []
    for (const k of [1, 2, 3]) {
      const r = await rc2([
        'solve',
        'shots',
        '-q',
        'cars',
        '--shard',
        `${k}/3`,
        '--ndjson',
        '--output',
        join(root, `part-${k}.ndjson`),
      ])
      expect(r.code, r.stderr).toBe(0)
      const own = parseLines(r.stdout)
      // Shares differ in size by at most one: 10, 10, 11.
      expect(own.length).toBeGreaterThanOrEqual(10)
      expect(own.length).toBeLessThanOrEqual(11)
      parts.push(await readFile(join(root, `part-${k}.ndjson`), 'utf8'))
    }
    // `cat part-*.ndjson`: every input once, solved, and each was sent once.
    const all = parseLines(parts.join(''))
    const inputs = all.map((x) => x.input)
    expect(inputs).toHaveLength(31)
    expect(new Set(inputs).size).toBe(31)
    expect(all.every((x) => x.ok)).toBe(true)
    expect(server.createCount).toBe(31)
    const expected = Array.from({ length: 31 }, (_, k) =>
      join('shots', `${k % 2 === 0 ? 'A' : 'b'}-${30 - k}.jpg`),
    ).sort()
    expect([...inputs].sort()).toEqual(expected)
    // Each share is a run of the sorted list (code-unit order: "A-…" before "b-…"): everything in
    // part 1 sorts before part 2, and part 2 before part 3.
    const shares = parts.map((text) =>
      parseLines(text)
        .map((x) => x.input)
        .sort(),
    )
    for (let k = 1; k < shares.length; k++)
      expect(shares[k - 1]!.at(-1)! < shares[k]![0]!).toBe(true)
  })

  it('composes with --files-from: two shards of a list cover it once', async () => {
    const names = [
      'shots/b-1.jpg',
      'shots/A-30.jpg',
      'shots/A-2.jpg',
      'shots/b-9.jpg',
      'shots/A-14.jpg',
    ]
    await writeFile(join(root, 'list.txt'), names.join('\n') + '\n')
    const seen: string[] = []
    for (const k of [1, 2]) {
      const r = await rc2([
        'solve',
        '--files-from',
        'list.txt',
        '-q',
        'cars',
        '--shard',
        `${k}/2`,
        '--json',
      ])
      expect(r.code, r.stderr).toBe(0)
      seen.push(...(JSON.parse(r.stdout) as { input: string }[]).map((x) => x.input))
    }
    expect(seen.sort()).toEqual([...names].sort())
    expect(server.createCount).toBe(5)
  })

  it('--json is an array even for one file or an empty share', async () => {
    const one = await rc2(['solve', 'shots/A-30.jpg', '-q', 'cars', '--shard', '1/1', '--json'])
    expect(one.code).toBe(0)
    const parsed = JSON.parse(one.stdout) as unknown[]
    expect(Array.isArray(parsed)).toBe(true)
    expect(parsed).toHaveLength(1)
    // Two inputs over three machines: one machine has nothing to do, and that is not an error.
    const empty = await rc2([
      'solve',
      'shots/A-30.jpg',
      'shots/b-29.jpg',
      '-q',
      'cars',
      '--shard',
      '1/3',
      '--json',
    ])
    expect(empty.code).toBe(0)
    expect(JSON.parse(empty.stdout)).toEqual([])
    expect(server.createCount).toBe(1)
  })

  it.each(['0/3', '4/3', '3/0', '1', 'a/b', '1/2/3', '-1/2', '1.5/3'])(
    'refuses --shard %s as a usage error, before anything is sent',
    async (value) => {
      const r = await rc2(['solve', 'shots', '-q', 'cars', '--shard', value])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(/--shard/)
      expect(r.stderr).toMatch(/1 <= k <= n/)
      expect(server.createCount).toBe(0)
    },
  )

  it('refuses to split standard input', async () => {
    const r = await rc2(['solve', '-', '-q', 'cars', '--shard', '1/2'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--shard cannot split standard input')
  })

  it('shares are contiguous runs of the sorted list whose sizes differ by at most one', () => {
    const items = Array.from({ length: 31 }, (_, k) => ({
      input: `f${String(30 - k).padStart(2, '0')}`,
    }))
    for (const n of [1, 2, 3, 7, 31, 40]) {
      const shares = Array.from({ length: n }, (_, k) =>
        takeShard(items, { index: k + 1, count: n }),
      )
      expect(shares.flat().map((x) => x.input)).toEqual(items.map((x) => x.input).sort())
      const sizes = shares.map((s) => s.length)
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1)
    }
  })
})
