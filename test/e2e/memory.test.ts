/**
 * What a finished input leaves behind: a --files-from list of missing paths (no image work, so the
 * run is quick) solved with --ndjson, the live heap measured (after a full collection) once every
 * result is out, at two list lengths. The difference per extra input is what each queued input
 * costs; a million must stay well under a gigabyte. Measured in bytes of heap, never in time.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, REPO, runInProcess } from '../helpers/cli.js'

const PROBE = join(REPO, 'test', 'helpers', 'heap-probe.mjs')
let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-memory-'))
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

/** The live heap (bytes) once all `count` results of a list of missing paths are written. */
async function heapAfter(count: number): Promise<number> {
  const list = join(root, `list-${count}.txt`)
  const lines: string[] = []
  // Realistic lengths: a path of about fifty characters, each distinct.
  for (let k = 0; k < count; k++) lines.push(`captures/2026-12-07/gone/challenge-${k}.png`)
  await writeFile(list, lines.join('\n') + '\n')
  const probeFile = join(root, `heap-${count}.txt`)
  const args = ['--expose-gc', '--import', PROBE, BIN, 'solve', '--files-from', list]
  args.push('-q', 'car', '--dry-run', '--ndjson')
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: root,
        NO_COLOR: '1',
        CI: '1',
        RC2_PROBE_FILE: probeFile,
        RC2_PROBE_LINES: String(count),
      },
      stdio: ['ignore', 'ignore', 'ignore'],
    })
    child.on('error', reject)
    child.on('close', resolve)
  })
  // Every input failed (missing): the exit code of bad input, not a crash.
  expect(code).toBe(4)
  return Number(await readFile(probeFile, 'utf8'))
}

describe('memory per queued input', () => {
  it('a missing path keeps under 500 bytes of heap once its result is out', async () => {
    const small = await heapAfter(10_000)
    const large = await heapAfter(100_000)
    const perInput = (large - small) / 90_000
    console.log(`heap per input: ${perInput.toFixed(0)} bytes (${small} at 10k, ${large} at 100k)`)
    // Its name and path are kept until the end (the list itself); no error, stack or said-line is.
    expect(perInput).toBeGreaterThan(0)
    expect(perInput).toBeLessThan(500)
  }, 120_000)
})

describe('failures said once, with nothing kept for inputs that come once', () => {
  it('a missing path listed twice is said once; each distinct one is said (ndjson and table)', async () => {
    for (const format of [['--ndjson'], []]) {
      const args = ['solve', 'gone-a.png', 'gone-b.png', 'gone-a.png', '-q', 'car', '--dry-run']
      const run = await runInProcess([...args, ...format], { cwd: root, env: { HOME: root } })
      expect(run.code).toBe(4)
      const lines = run.stderr.split('\n')
      expect(lines.filter((l) => l.includes('gone-a.png: no such file'))).toHaveLength(1)
      expect(lines.filter((l) => l.includes('gone-b.png: no such file'))).toHaveLength(1)
      if (format.length > 0) expect(run.stdout.trim().split('\n')).toHaveLength(3)
    }
  }, 60_000)
})
