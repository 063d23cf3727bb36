/**
 * `npm run bench`: the numbers quoted in the README. Not a test: nothing here passes or fails,
 * except a batch that loses results (that is a bug, so it stops the run).
 *
 * 1. Start-up: `rc2 --help` and `rc2 questions --json` against `node -e 0` (median of 20 spawns).
 * 2. Request size: base64 bytes sent for 300 and 450 payloads.
 * 3. Preparation: load + detect + rebuild + encode for a payload, a widget at 1x, a 2560x1720 page at 2x.
 * 4. Batch: 1000 inputs, concurrency 16, 200 ms per call on the loopback server (ideal 12.5 s).
 * 5. Memory: peak RSS of the rc2 process for 1000 and 5000 inputs.
 *
 * `--quick`: fewer repetitions, no 5000-input batch; `--only=startup,bytes,prepare,batch`: some sections.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { detectLayout, prepareImage } from '../src/image/index.js'
import type { RawImage } from '../src/image/index.js'
import { composeGrid, createRng, renderCapture } from '../test/helpers/captures.js'
import { DEFAULT_TEST_KEY, renderRedGrid, startProviderServer } from '../test/helpers/provider-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/rc2.js')
const TILES = join(ROOT, 'test/data/recaptcha-tiles')
const QUICK = process.argv.includes('--quick')
// `--only batch,prepare`: run just those sections (startup, bytes, prepare, batch).
const ONLY = process.argv.find((a) => a.startsWith('--only='))?.slice(7).split(',')
const wanted = (section: string): boolean => ONLY === undefined || ONLY.includes(section)

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const ms = (v: number): string => `${v.toFixed(1)} ms`

function report(label: string, value: string): void {
  console.log(`  ${label.padEnd(52)} ${value}`)
}

function timeSpawn(args: string[], runs: number): number {
  const times: number[] = []
  for (let k = 0; k < runs; k++) {
    const started = performance.now()
    const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
    times.push(performance.now() - started)
    if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`)
  }
  return median(times)
}

function benchStartup(): void {
  const runs = QUICK ? 5 : 20
  console.log(`\nStart-up (median of ${runs} spawns)`)
  const baseline = timeSpawn(['-e', '0'], runs)
  const help = timeSpawn([BIN, '--help'], runs)
  const questions = timeSpawn([BIN, 'questions', '--json'], runs)
  report('node -e 0', ms(baseline))
  report('rc2 --help', `${ms(help)} (+${ms(help - baseline)})`)
  report('rc2 questions --json', `${ms(questions)} (+${ms(questions - baseline)})`)
}

function tilePaths(): string[] {
  return readdirSync(TILES, { recursive: true }).map(String).filter((f) => f.endsWith('.png')).sort().map((f) => join(TILES, f))
}

async function benchRequestBytes(tiles: string[]): Promise<void> {
  console.log('\nRequest size (bare base64 characters sent, JPEG q85 4:4:4)')
  const rng = createRng(7)
  const pick = (count: number): string[] => Array.from({ length: count }, () => tiles[Math.floor(rng() * tiles.length)]!)
  const samples: { label: string; buffer: Buffer }[] = [
    { label: '300x300 payload, 9 real tiles', buffer: await composeGrid(pick(9), '3x3') },
    { label: '450x450 payload, one photo (real tile scaled)', buffer: await composeGrid(pick(1), '4x4') },
    { label: '450x450 payload, 16 distinct real tiles (worst case)', buffer: await composeGrid(pick(16), '4x4') },
    { label: '100x100 tile', buffer: await composeGrid(pick(1), '1x1') },
  ]
  for (const { label, buffer } of samples) {
    const prepared = await prepareImage(buffer, { name: label })
    report(label, `${(prepared.base64.length / 1000).toFixed(1)} kB (${prepared.bytes} JPEG bytes)`)
  }
}

async function decode(buffer: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(buffer).raw().toBuffer({ resolveWithObject: true })
  return { data, width: info.width, height: info.height, channels: info.channels as RawImage['channels'] }
}

async function benchPrepare(tiles: string[]): Promise<void> {
  const runs = QUICK ? 5 : 20
  console.log(`\nPreparation: load + detect + rebuild + encode (median of ${runs}; detection alone in brackets)`)
  const payload3 = await composeGrid(tiles.slice(0, 9), '3x3')
  const payload4 = await composeGrid(tiles.slice(9, 10), '4x4')
  const widget = await renderCapture({ payload: payload3, grid: '3x3', kind: 'widget', ratio: 1, seed: 1 })
  const page = await renderCapture({
    payload: payload4, grid: '4x4', kind: 'page', ratio: 2, pageSize: { width: 2560, height: 1720 }, background: 'photo', blueBanner: true, seed: 3,
  })
  const cases = [
    { label: '300x300 payload (PNG, re-encoded)', buffer: payload3 },
    { label: 'widget capture 3x3 at 1x (PNG)', buffer: widget.buffer },
    { label: '2560x1720 page capture 4x4 at 2x (PNG)', buffer: page.buffer },
  ]
  for (const { label, buffer } of cases) {
    const times: number[] = []
    for (let k = 0; k < runs; k++) {
      const started = performance.now()
      await prepareImage(buffer, { name: label })
      times.push(performance.now() - started)
    }
    const raw = await decode(buffer)
    const detectTimes: number[] = []
    for (let k = 0; k < runs; k++) {
      const started = performance.now()
      detectLayout(raw)
      detectTimes.push(performance.now() - started)
    }
    report(label, `${ms(median(times))} [${ms(median(detectTimes))}]`)
  }
}

interface BatchRun {
  wallMs: number
  maxRssKb: number
  results: number
  ok: number
}

/** Spawn `rc2 solve <dir> --ndjson` with the RSS probe preloaded; count what comes back. */
async function runBatch(dir: string, url: string, concurrency: number): Promise<BatchRun> {
  const rssFile = join(dir, '..', `rss-${Date.now()}.txt`)
  const started = performance.now()
  const child = spawn(
    process.execPath,
    ['--import', join(ROOT, 'bench/max-rss.mjs'), BIN, 'solve', dir, '-q', 'cars', '--ndjson', '--endpoint', url, '--concurrency', String(concurrency)],
    { env: { ...process.env, RC2_API_KEY: DEFAULT_TEST_KEY, RC2_BENCH_RSS_FILE: rssFile, HOME: join(dir, '..'), NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let results = 0
  let ok = 0
  let pending = ''
  child.stdout.setEncoding('utf8')
  child.stdout.on('data', (chunk: string) => {
    pending += chunk
    let newline: number
    while ((newline = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, newline)
      pending = pending.slice(newline + 1)
      if (line.trim() === '') continue
      results++
      if ((JSON.parse(line) as { ok: boolean }).ok) ok++
    }
  })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  const wallMs = performance.now() - started
  if (code !== 0) throw new Error(`batch exited ${code}: ${stderr.slice(-2000)}`)
  const maxRssKb = Number(await readFile(rssFile, 'utf8'))
  return { wallMs, maxRssKb, results, ok }
}

async function makeInputs(dir: string, count: number, tiles: string[]): Promise<void> {
  // Realistic payloads: JPEG 300x300 as the page serves them, real tiles with a few red ones.
  const others = await Promise.all(tiles.slice(0, 24).map((t) => readFile(t)))
  const variants: Buffer[] = []
  for (let k = 0; k < 16; k++) {
    variants.push(await renderRedGrid('3x3', [k % 9, (k * 4 + 1) % 9], { otherTiles: others.slice(k, k + 9), format: 'jpeg' }))
  }
  for (let k = 0; k < count; k++) await writeFile(join(dir, `in-${String(k).padStart(5, '0')}.jpg`), variants[k % variants.length]!)
}

async function benchBatch(tiles: string[]): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'rc2-bench-'))
  const server = await startProviderServer({ latencyMs: 200 })
  try {
    const small = join(work, 'inputs-1000')
    await (await import('node:fs/promises')).mkdir(small)
    await makeInputs(small, 1000, tiles)
    // Full mode takes the median of three runs: one run on a 2-core machine is noisy.
    const repeats = QUICK ? 1 : 3
    console.log(`\nBatch: 1000 JPEG payloads, --concurrency 16, 200 ms per call (ideal 12.5 s; ${repeats === 1 ? 'one run' : `median of ${repeats}`})`)
    const runs: BatchRun[] = []
    for (let k = 0; k < repeats; k++) {
      const run = await runBatch(small, server.url, 16)
      if (run.results !== 1000 || run.ok !== 1000) throw new Error(`lost results: ${run.results} results, ${run.ok} ok`)
      runs.push(run)
    }
    const run = runs.sort((a, b) => a.wallMs - b.wallMs)[Math.floor(runs.length / 2)]!
    report('wall time', `${(run.wallMs / 1000).toFixed(2)} s (${(run.wallMs / 12_500).toFixed(3)} x ideal)${repeats > 1 ? `; runs ${runs.map((r) => (r.wallMs / 1000).toFixed(2)).join(', ')} s` : ''}`)
    report('throughput', `${(1000 / (run.wallMs / 1000)).toFixed(1)} inputs/s; most in flight seen by the server ${server.maxInFlightSeen}`)
    report('peak RSS (1000 inputs)', `${(run.maxRssKb / 1024).toFixed(1)} MB`)
    if (QUICK) return

    // Same conditions, five times the inputs: streaming means the peak must not grow with the batch.
    const large = join(work, 'inputs-5000')
    await (await import('node:fs/promises')).mkdir(large)
    await makeInputs(large, 5000, tiles)
    const r5 = await runBatch(large, server.url, 16)
    if (r5.results !== 5000 || r5.ok !== 5000) throw new Error(`lost results: ${r5.results} results, ${r5.ok} ok`)
    report('peak RSS (5000 inputs)', `${(r5.maxRssKb / 1024).toFixed(1)} MB; wall ${(r5.wallMs / 1000).toFixed(2)} s (${(r5.wallMs / 62_500).toFixed(3)} x ideal 62.5 s)`)
  } finally {
    await server.close()
    await rm(work, { recursive: true, force: true })
  }
}

const tiles = tilePaths()
console.log(`rc2 benchmarks on Node ${process.version}, ${(await import('node:os')).cpus().length} cores${QUICK ? ' (quick)' : ''}`)
if (wanted('startup')) benchStartup()
if (wanted('bytes')) await benchRequestBytes(tiles)
if (wanted('prepare')) await benchPrepare(tiles)
if (wanted('batch')) await benchBatch(tiles)
