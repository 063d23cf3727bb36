/**
 * What a finished input leaves behind: a --files-from list of missing paths (no image work, so the
 * run is quick) solved with --ndjson, the live heap measured (after a full collection) once every
 * result is out, at two list lengths. The difference per extra input is what each queued input
 * costs; a million must stay well under a gigabyte. And the peak resident set size of a whole run
 * (only a process shows it): what each input leaves as garbage must not pile up either. Measured
 * in bytes, never in time.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, REPO, runInProcess } from '../helpers/cli.js'

const PROBE = join(REPO, 'test', 'helpers', 'heap-probe.mjs')
// The benchmark's probe: the peak of the process's own memory (VmHWM), written as it exits.
const RSS_PROBE = join(REPO, 'bench', 'max-rss.mjs')
let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-memory-'))
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Writes a list of `count` missing paths (about fifty characters, each distinct); its path. */
async function missingList(count: number): Promise<string> {
  const list = join(root, `list-${count}.txt`)
  const lines: string[] = []
  for (let k = 0; k < count; k++) lines.push(`captures/2026-12-07/gone/challenge-${k}.png`)
  await writeFile(list, lines.join('\n') + '\n')
  return list
}

/** Solves the list with --dry-run --ndjson under node `flags` (a probe preloaded); the exit code. */
async function solveList(
  list: string,
  flags: string[],
  env: Record<string, string>,
): Promise<number | null> {
  const args = [...flags, BIN, 'solve', '--files-from', list, '-q', 'car', '--dry-run', '--ndjson']
  return new Promise<number | null>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: root, NO_COLOR: '1', CI: '1', ...env },
      stdio: ['ignore', 'ignore', 'ignore'],
    })
    child.on('error', reject)
    child.on('close', resolve)
  })
}

/** The live heap (bytes) once all `count` results of a list of missing paths are written. */
async function heapAfter(count: number): Promise<number> {
  const list = await missingList(count)
  const probeFile = join(root, `heap-${count}.txt`)
  const env = { RC2_PROBE_FILE: probeFile, RC2_PROBE_LINES: String(count) }
  const code = await solveList(list, ['--expose-gc', '--import', PROBE], env)
  // Every input failed (missing): the exit code of bad input, not a crash.
  expect(code).toBe(4)
  return Number(await readFile(probeFile, 'utf8'))
}

/** The peak resident set size (kilobytes) of the whole run over a list of `count` missing paths. */
async function peakRss(count: number): Promise<number> {
  const list = await missingList(count)
  const probeFile = join(root, `rss-${count}.json`)
  const code = await solveList(list, ['--import', RSS_PROBE], { RC2_BENCH_RSS_FILE: probeFile })
  expect(code).toBe(4)
  return (JSON.parse(await readFile(probeFile, 'utf8')) as { maxRssKb: number }).maxRssKb
}

describe('memory per queued input', () => {
  it('a missing path keeps under 500 bytes of heap once its result is out', async () => {
    // 20,000 inputs apart: 254-271 bytes in three runs, against 263-264 at 90,000 apart (which took
    // five times as long); the bound is twice that.
    const small = await heapAfter(2_000)
    const large = await heapAfter(22_000)
    const perInput = (large - small) / 20_000
    console.log(`heap per input: ${perInput.toFixed(0)} bytes (${small} at 2k, ${large} at 22k)`)
    // Its name and path are kept until the end (the list itself); no error, stack or said-line is.
    expect(perInput).toBeGreaterThan(0)
    expect(perInput).toBeLessThan(500)
  }, 360_000)
})

describe('peak memory of a long list', () => {
  it('50,000 missing paths add under 90 MB of peak RSS to a run of one', async () => {
    const one = await peakRss(1)
    const many = await peakRss(50_000)
    const addedMb = (many - one) / 1024
    console.log(
      `peak RSS: ${one} kB for 1 input, ${many} kB for 50,000 (+${addedMb.toFixed(0)} MB)`,
    )
    // Garbage that outlives its input (a signal per input did on Node 20) reaches the old space and
    // stays until a full collection, which V8 puts off as the heap grows: the peak grew with the
    // list, about 2.7 kB per input (+130 MB here, 2.7 GB at a million). What each input keeps
    // (about 300 bytes) and V8's young space remain: about +45 MB here.
    expect(many).toBeGreaterThan(one)
    expect(addedMb).toBeLessThan(90)
  }, 360_000)
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
