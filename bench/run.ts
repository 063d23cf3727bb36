/**
 * `npm run bench`: the numbers quoted in the README. Not a test: nothing here passes or fails,
 * except a batch that loses results (that is a bug, so it stops the run).
 *
 * 1. Start-up: `rc2 --help` and `rc2 questions --json` against `node -e 0` (median of 20 spawns).
 * 2. Request size: base64 bytes sent for 300 and 450 payloads.
 * 3. Preparation: load + detect + rebuild + encode for a payload, a widget at 1x, a 2560x1720 page at 2x.
 * 4. Batch: 1000 inputs, concurrency 16, 200 ms per call on the loopback server (ideal 12.5 s),
 *    rc2 against a bare client (bench/bare-client.mjs: read, base64, POST) on the same inputs:
 *    wall, CPU and peak RSS as ratios. Then one challenge per process: `rc2 solve` of one file
 *    against the bare client on one file (a bot running rc2 per challenge pays start-up each time).
 * 5. Faults: 200 inputs, concurrency 8, clean and under the issue's fault mix (the slowdown), a
 *    bare client with naive retries under the same mix; 8% of replies hanging 40 s (full mode).
 * 6. Memory: peak RSS of the rc2 process for 1000 and 5000 inputs.
 * 7. Screenshots: 100 rendered captures (widgets, tile areas and pages; 1x to 3x; PNG and JPEG),
 *    `rc2 solve dir --dry-run` beside the floor (bench/decode-floor.mjs: decode each file with
 *    sharp, four at a time) in the same run, the same 100 through the loopback service (200 ms,
 *    --concurrency 16) against the larger of the floor and the network ideal, and peak RSS for one
 *    36-megapixel capture and for eight of them in one batch.
 * 8. Gateway: `rc2 serve` (a spawned process) in front of the loopback service: the time it adds
 *    per task beside the same createTask sent straight to the service (paired, one at a time),
 *    then 20 clients x 20 tasks at once: wall time and the gateway's CPU per task.
 *
 * `--quick`: fewer repetitions, no 5000-input batch; `--only=startup,bytes,prepare,batch,screens,serve`: some sections.
 */
import { spawn, spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import sharp from 'sharp'
import { detectLayout } from '../src/image/detect.js'
import { prepareImage } from '../src/image/prepare.js'
import type { RawImage } from '../src/image/types.js'
import { composeGrid, createRng, renderCapture } from '../test/helpers/captures.js'
import {
  BUSY_SERVICE_FAULTS,
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../test/helpers/provider-server.js'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIN = join(ROOT, 'bin/rc2.js')
const TILES = join(ROOT, 'test/data/recaptcha-tiles')
const QUICK = process.argv.includes('--quick')
// `--only batch,prepare`: run just those sections (startup, bytes, prepare, batch).
const ONLY = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice(7)
  .split(',')
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

function timeSpawn(args: string[]): number {
  const started = performance.now()
  const result = spawnSync(process.execPath, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  })
  if (result.status !== 0)
    throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr.toString()}`)
  return performance.now() - started
}

function benchStartup(): void {
  const runs = QUICK ? 7 : 21
  console.log(
    `\nStart-up (median of ${runs} spawns each, taking turns so that load hits all alike)`,
  )
  const cases = {
    baseline: ['-e', '0'],
    help: [BIN, '--help'],
    questions: [BIN, 'questions', '--json'],
  }
  const times = { baseline: [] as number[], help: [] as number[], questions: [] as number[] }
  for (let k = 0; k < runs; k++)
    for (const key of ['baseline', 'help', 'questions'] as const)
      times[key].push(timeSpawn(cases[key]))
  const [baseline, help, questions] = [
    median(times.baseline),
    median(times.help),
    median(times.questions),
  ]
  report('node -e 0', ms(baseline))
  report('rc2 --help', `${ms(help)} (+${ms(help - baseline)}, ${(help / baseline).toFixed(2)}x)`)
  report(
    'rc2 questions --json',
    `${ms(questions)} (+${ms(questions - baseline)}, ${(questions / baseline).toFixed(2)}x)`,
  )
}

function tilePaths(): string[] {
  return readdirSync(TILES, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(TILES, f))
}

async function benchRequestBytes(tiles: string[]): Promise<void> {
  console.log('\nRequest size (bare base64 characters sent, JPEG q85 4:4:4)')
  const rng = createRng(7)
  const pick = (count: number): string[] =>
    Array.from({ length: count }, () => tiles[Math.floor(rng() * tiles.length)]!)
  const samples: { label: string; buffer: Buffer }[] = [
    { label: '300x300 payload, 9 real tiles', buffer: await composeGrid(pick(9), '3x3') },
    {
      label: '450x450 payload, one photo (real tile scaled)',
      buffer: await composeGrid(pick(1), '4x4'),
    },
    {
      label: '450x450 payload, 16 distinct real tiles (worst case)',
      buffer: await composeGrid(pick(16), '4x4'),
    },
    { label: '100x100 tile', buffer: await composeGrid(pick(1), '1x1') },
  ]
  for (const { label, buffer } of samples) {
    const prepared = await prepareImage(buffer, { name: label })
    report(label, `${(prepared.base64.length / 1000).toFixed(1)} kB (${prepared.bytes} JPEG bytes)`)
  }
}

async function decode(buffer: Buffer): Promise<RawImage> {
  const { data, info } = await sharp(buffer).raw().toBuffer({ resolveWithObject: true })
  return {
    data,
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage['channels'],
  }
}

async function benchPrepare(tiles: string[]): Promise<void> {
  const runs = QUICK ? 5 : 20
  console.log(
    `\nPreparation: load + detect + rebuild + encode (median of ${runs}; detection alone in brackets)`,
  )
  const payload3 = await composeGrid(tiles.slice(0, 9), '3x3')
  const payload4 = await composeGrid(tiles.slice(9, 10), '4x4')
  const widget = await renderCapture({
    payload: payload3,
    grid: '3x3',
    kind: 'widget',
    ratio: 1,
    seed: 1,
  })
  const page = await renderCapture({
    payload: payload4,
    grid: '4x4',
    kind: 'page',
    ratio: 2,
    pageSize: { width: 2560, height: 1720 },
    background: 'photo',
    blueBanner: true,
    seed: 3,
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

  // The hot path: a standard JPEG payload is checked from its header and sent as it is. The one
  // check that would need its pixels (damage inside the JPEG data, which the service refuses
  // anyway) costs a full decode; both in CPU time per payload, over many calls.
  const jpeg = await sharp(payload3).jpeg({ quality: 90 }).toBuffer()
  const calls = QUICK ? 200 : 1000
  const cpuPer = async (work: () => Promise<unknown>): Promise<number> => {
    const before = process.cpuUsage()
    for (let k = 0; k < calls; k++) await work()
    const used = process.cpuUsage(before)
    return (used.user + used.system) / 1000 / calls
  }
  const { decodeImage, readImageHeader } = await import('../src/image/load.js')
  const header = await readImageHeader(jpeg, { name: 'payload.jpg' })
  const sent = await cpuPer(() => prepareImage(jpeg, { name: 'payload.jpg' }))
  const decoded = await cpuPer(() => decodeImage(header, { name: 'payload.jpg' }))
  report(
    '300x300 JPEG payload, sent as it is (CPU)',
    `${ms(sent)} per payload; a full decode would add ${ms(decoded)}`,
  )
}

interface BatchRun {
  wallMs: number
  maxRssKb: number
  /** CPU time of the client process, user + system, every thread. */
  cpuMs: number
  results: number
  ok: number
}

/** Spawn a client (rc2 or the bare one) with the RSS/CPU probe preloaded; count what comes back as NDJSON. */
async function runClient(
  args: string[],
  workDir: string,
  env: Record<string, string> = {},
): Promise<BatchRun> {
  const rssFile = join(workDir, `rss-${Date.now()}-${Math.random().toString(36).slice(2)}.json`)
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', join(ROOT, 'bench/max-rss.mjs'), ...args], {
    env: {
      ...process.env,
      RC2_API_KEY: DEFAULT_TEST_KEY,
      RC2_BENCH_RSS_FILE: rssFile,
      HOME: workDir,
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
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
  if (code !== 0 && code !== 6)
    throw new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`)
  const probe = JSON.parse(await readFile(rssFile, 'utf8')) as { maxRssKb: number; cpuMs: number }
  return { wallMs, ...probe, results, ok }
}

/** `rc2 solve <dir> --ndjson` against `url`. */
function runRc2(
  dir: string,
  url: string,
  concurrency: number,
  extra: string[] = [],
): Promise<BatchRun> {
  return runClient(
    [
      BIN,
      'solve',
      dir,
      '-q',
      'cars',
      '--ndjson',
      '--endpoint',
      url,
      '--concurrency',
      String(concurrency),
      ...extra,
    ],
    join(dir, '..'),
  )
}

/** The bare client (read, base64, POST, parse) on the same inputs and server. */
function runBare(dir: string, url: string, concurrency: number, retries = 0): Promise<BatchRun> {
  return runClient(
    [
      join(ROOT, 'bench/bare-client.mjs'),
      dir,
      url,
      DEFAULT_TEST_KEY,
      String(concurrency),
      String(retries),
    ],
    join(dir, '..'),
  )
}

const seconds = (run: BatchRun): string => `${(run.wallMs / 1000).toFixed(2)} s`
const describeRun = (run: BatchRun): string =>
  `wall ${seconds(run)}, CPU ${(run.cpuMs / 1000).toFixed(2)} s, peak RSS ${(run.maxRssKb / 1024).toFixed(0)} MB`
const middle = (runs: BatchRun[], key: (r: BatchRun) => number): number => median(runs.map(key))

async function makeInputs(dir: string, count: number, tiles: string[]): Promise<void> {
  // Realistic payloads: JPEG 300x300 as the page serves them, real tiles with a few red ones. Every
  // input is a distinct image (one pixel of its own changed): rc2 asks the same image only once.
  const others = await Promise.all(tiles.slice(0, 24).map((t) => readFile(t)))
  const variants: RawImage[] = []
  for (let k = 0; k < 16; k++) {
    const png = await renderRedGrid('3x3', [k % 9, (k * 4 + 1) % 9], {
      otherTiles: others.slice(k, k + 9),
    })
    const { data, info } = await sharp(png)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    variants.push({ data, width: info.width, height: info.height, channels: 3 })
  }
  for (let k = 0; k < count; k++) {
    const base = variants[k % variants.length]!
    const data = Buffer.from(base.data)
    const at = Math.floor(k / variants.length) * 3
    data[at] = data[at]! ^ 0x80
    const raw = { width: base.width, height: base.height, channels: 3 as const }
    await writeFile(
      join(dir, `in-${String(k).padStart(5, '0')}.jpg`),
      await sharp(data, { raw }).jpeg({ quality: 90 }).toBuffer(),
    )
  }
}

async function benchBatch(tiles: string[]): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'rc2-bench-'))
  const server = await startProviderServer({ latencyMs: 200 })
  try {
    const small = join(work, 'inputs-1000')
    await mkdir(small)
    await makeInputs(small, 1000, tiles)
    // Full mode takes the median of three runs each, rc2 and the bare client taking turns: one
    // run on a 2-core machine is noisy, and turns expose both to the same moments of load.
    const repeats = QUICK ? 1 : 3
    console.log(
      `\nBatch: 1000 JPEG payloads, --concurrency 16, 200 ms per call (ideal 12.5 s; ${repeats === 1 ? 'one run' : `median of ${repeats}`}), against a bare client (read, base64, POST; 16 workers)`,
    )
    const runs: BatchRun[] = []
    const bare: BatchRun[] = []
    for (let k = 0; k < repeats; k++) {
      const run = await runRc2(small, server.url, 16)
      if (run.results !== 1000 || run.ok !== 1000)
        throw new Error(`lost results: ${run.results} results, ${run.ok} ok`)
      runs.push(run)
      const floor = await runBare(small, server.url, 16)
      if (floor.results !== 1000 || floor.ok !== 1000)
        throw new Error(`bare client: ${floor.results} results, ${floor.ok} ok`)
      bare.push(floor)
    }
    const run = runs.sort((a, b) => a.wallMs - b.wallMs)[Math.floor(runs.length / 2)]!
    report(
      'wall time',
      `${seconds(run)} (${(run.wallMs / 12_500).toFixed(3)} x ideal)${repeats > 1 ? `; runs ${runs.map(seconds).join(', ')}` : ''}`,
    )
    report(
      'throughput',
      `${(1000 / (run.wallMs / 1000)).toFixed(1)} inputs/s; most in flight seen by the server ${server.maxInFlightSeen}`,
    )
    report('peak RSS (1000 inputs)', `${(run.maxRssKb / 1024).toFixed(1)} MB`)
    const [rc2Wall, rc2Cpu, rc2Rss] = [
      middle(runs, (r) => r.wallMs),
      middle(runs, (r) => r.cpuMs),
      middle(runs, (r) => r.maxRssKb),
    ]
    const [bareWall, bareCpu, bareRss] = [
      middle(bare, (r) => r.wallMs),
      middle(bare, (r) => r.cpuMs),
      middle(bare, (r) => r.maxRssKb),
    ]
    report(
      'rc2 (medians)',
      `wall ${(rc2Wall / 1000).toFixed(2)} s, CPU ${(rc2Cpu / 1000).toFixed(2)} s, peak RSS ${(rc2Rss / 1024).toFixed(0)} MB`,
    )
    report(
      'bare client (medians)',
      `wall ${(bareWall / 1000).toFixed(2)} s, CPU ${(bareCpu / 1000).toFixed(2)} s, peak RSS ${(bareRss / 1024).toFixed(0)} MB`,
    )
    report(
      'rc2 / bare client',
      `wall ${(rc2Wall / bareWall).toFixed(2)}x, CPU ${(rc2Cpu / bareCpu).toFixed(2)}x (${(rc2Cpu / 1000).toFixed(2)} vs ${(bareCpu / 1000).toFixed(2)} ms per input), RSS ${(rc2Rss / bareRss).toFixed(2)}x`,
    )

    await benchOneChallenge(work, small)
    await benchFaults(work, server, tiles)
    if (QUICK) return

    // Same conditions, five times the inputs: streaming means the peak must not grow with the batch.
    const large = join(work, 'inputs-5000')
    await mkdir(large)
    await makeInputs(large, 5000, tiles)
    const r5 = await runRc2(large, server.url, 16)
    if (r5.results !== 5000 || r5.ok !== 5000)
      throw new Error(`lost results: ${r5.results} results, ${r5.ok} ok`)
    report(
      'peak RSS (5000 inputs)',
      `${(r5.maxRssKb / 1024).toFixed(1)} MB; wall ${seconds(r5)} (${(r5.wallMs / 62_500).toFixed(3)} x ideal 62.5 s)`,
    )
  } finally {
    await server.close()
    await rm(work, { recursive: true, force: true })
  }
}

/**
 * One challenge, one process (a bot that runs rc2 per challenge): start-up, loading, preparing and
 * one call, against the bare client doing the same for one file, both taking turns against a
 * service that answers at once.
 */
async function benchOneChallenge(work: string, inputs: string): Promise<void> {
  const runs = QUICK ? 5 : 11
  const dir = join(work, 'inputs-1')
  await mkdir(dir)
  await copyFile(join(inputs, 'in-00000.jpg'), join(dir, 'in-00000.jpg'))
  const server = await startProviderServer()
  try {
    const rc2: BatchRun[] = []
    const bare: BatchRun[] = []
    for (let k = 0; k < runs; k++) {
      rc2.push(await runRc2(dir, server.url, 1))
      bare.push(await runBare(dir, server.url, 1))
      if (rc2.at(-1)!.ok !== 1 || bare.at(-1)!.ok !== 1) throw new Error('one challenge: no answer')
    }
    const [rc2Wall, rc2Cpu, bareWall, bareCpu] = [
      middle(rc2, (r) => r.wallMs),
      middle(rc2, (r) => r.cpuMs),
      middle(bare, (r) => r.wallMs),
      middle(bare, (r) => r.cpuMs),
    ]
    console.log(`\nOne challenge per process (median of ${runs}, taking turns; no service latency)`)
    report('rc2 solve <a directory of one file> --ndjson', `wall ${ms(rc2Wall)}, CPU ${ms(rc2Cpu)}`)
    report('bare client, one file', `wall ${ms(bareWall)}, CPU ${ms(bareCpu)}`)
    report(
      'rc2 / bare client',
      `wall ${(rc2Wall / bareWall).toFixed(2)}x, CPU ${(rc2Cpu / bareCpu).toFixed(2)}x`,
    )
  } finally {
    await server.close()
  }
}

async function benchFaults(work: string, server: ProviderServer, tiles: string[]): Promise<void> {
  const dir = join(work, 'inputs-200')
  await mkdir(dir)
  await makeInputs(dir, 200, tiles)
  const repeats = QUICK ? 1 : 3
  console.log(
    `\nFaults: 200 JPEG payloads, --concurrency 8, 200 ms per call (ideal 5 s), clean and under the fault mix (${repeats === 1 ? 'one run' : `median of ${repeats}`} each)`,
  )
  const clean: BatchRun[] = []
  const mixed: BatchRun[] = []
  const bareMixed: BatchRun[] = []
  let charged = 0
  for (let k = 0; k < repeats; k++) {
    server.setFaults(undefined)
    clean.push(await runRc2(dir, server.url, 8))
    server.setFaults({ seed: 100 + k, ...BUSY_SERVICE_FAULTS })
    server.resetCounters()
    const run = await runRc2(dir, server.url, 8)
    charged = server.paidCount
    mixed.push(run)
    server.setFaults({ seed: 200 + k, ...BUSY_SERVICE_FAULTS })
    bareMixed.push(await runBare(dir, server.url, 8, 2))
  }
  server.setFaults(undefined)
  const cleanWall = middle(clean, (r) => r.wallMs)
  const mixWall = middle(mixed, (r) => r.wallMs)
  const last = mixed.at(-1)!
  report('rc2, no faults', describeRun(clean[Math.floor(clean.length / 2)]!))
  report(
    'rc2, fault mix',
    `wall ${(mixWall / 1000).toFixed(2)} s; last run ${last.ok}/200 solved, the service charged ${charged} calls`,
  )
  report('fault-mix slowdown (rc2)', `${(mixWall / cleanWall).toFixed(2)}x the clean run`)
  const bareMix = middle(bareMixed, (r) => r.wallMs)
  report(
    'bare client, fault mix, 2 naive retries',
    `wall ${(bareMix / 1000).toFixed(2)} s; ${bareMixed.at(-1)!.ok}/200 solved (no budget, no deadline)`,
  )
  if (QUICK) return

  // Replies that hang: 8% of calls answered only after 40 s, --timeout 30 (each attempt 10 s).
  const hang = join(work, 'inputs-40')
  await mkdir(hang)
  await makeInputs(hang, 40, tiles)
  server.setFaults({ seed: 8, slow: 0.08, slowMs: 40_000 })
  server.resetCounters()
  const hung = await runRc2(hang, server.url, 8, ['--timeout', '30'])
  const slow = server.faultCounts.slow
  server.setFaults(undefined)
  report(
    '8% of replies hang 40 s, --timeout 30',
    `${hung.ok}/40 solved in ${seconds(hung)}; ${slow} hung attempts abandoned after 10 s and resent`,
  )
}

/** 100 captures, the same for every run (fixed seeds): kinds, ratios, grids and formats mixed. */
async function makeCaptures(dir: string, tiles: string[]): Promise<number> {
  const rng = createRng(25)
  const kinds = ['widget', 'page', 'tiles', 'widget', 'page'] as const
  const ratios = [1, 1.5, 2, 2.5, 3]
  let bytes = 0
  for (let k = 0; k < 100; k++) {
    const grid = k % 3 === 2 ? '4x4' : '3x3'
    const picks = Array.from(
      { length: grid === '3x3' ? 9 : 1 },
      () => tiles[Math.floor(rng() * tiles.length)]!,
    )
    const kind = kinds[k % kinds.length]!
    const ratio = ratios[Math.floor(k / 5) % ratios.length]!
    const format = k % 3 === 0 ? 'jpeg' : 'png'
    const capture = await renderCapture({
      payload: await composeGrid(picks, grid),
      grid,
      kind,
      ratio,
      format,
      quality: 90,
      // A photo behind the page only in JPEG (as a PNG it alone would be most of the bytes).
      background:
        format === 'jpeg' && k % 2 === 1
          ? 'photo'
          : (['white', 'grey', 'dark'] as const)[(k >> 2) % 3]!,
      seed: 1000 + k,
    })
    bytes += capture.buffer.length
    await writeFile(
      join(dir, `capture-${String(k).padStart(3, '0')}.${format === 'png' ? 'png' : 'jpg'}`),
      capture.buffer,
    )
  }
  return bytes
}

/** A 36-megapixel page (7344x4896, a 3x widget on it), as a full-screen 3x capture is. */
async function makeHugeCapture(tiles: string[]): Promise<Buffer> {
  const capture = await renderCapture({
    payload: await composeGrid(tiles.slice(0, 9), '3x3'),
    grid: '3x3',
    kind: 'page',
    ratio: 3,
    pageSize: { width: 7344, height: 4896 },
    background: 'white',
    seed: 36,
  })
  return capture.buffer
}

function checkAll(run: BatchRun, count: number, what: string): void {
  if (run.results !== count) throw new Error(`${what}: ${run.results} results of ${count}`)
}

async function benchScreens(tiles: string[]): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'rc2-bench-screens-'))
  const server = await startProviderServer({ latencyMs: 200 })
  try {
    const dir = join(work, 'captures')
    await mkdir(dir)
    const bytes = await makeCaptures(dir, tiles)
    const repeats = QUICK ? 1 : 3
    console.log(
      `\nScreenshots: 100 captures (${(bytes / 1e6).toFixed(0)} MB; widgets, tile areas, pages; 1x-3x; PNG and JPEG), ${repeats === 1 ? 'one run' : `median of ${repeats}`} each, taking turns`,
    )
    const floor: BatchRun[] = []
    const dry: BatchRun[] = []
    const live: BatchRun[] = []
    for (let k = 0; k < repeats; k++) {
      const f = await runClient([join(ROOT, 'bench/decode-floor.mjs'), dir], work)
      floor.push(f)
      const d = await runRc2(dir, server.url, 16, ['--dry-run'])
      checkAll(d, 100, 'dry run')
      dry.push(d)
      const l = await runRc2(dir, server.url, 16)
      checkAll(l, 100, 'loopback run')
      live.push(l)
    }
    const wall = (runs: BatchRun[]): number => middle(runs, (r) => r.wallMs)
    const cpu = (runs: BatchRun[]): number => middle(runs, (r) => r.cpuMs)
    const s = (v: number): string => `${(v / 1000).toFixed(2)} s`
    report('floor: decode with sharp, 4 at a time', `wall ${s(wall(floor))}, CPU ${s(cpu(floor))}`)
    report(
      'rc2 solve dir --dry-run --ndjson',
      `wall ${s(wall(dry))} (${(wall(dry) / wall(floor)).toFixed(2)}x), CPU ${s(cpu(dry))} (${(cpu(dry) / cpu(floor)).toFixed(2)}x)`,
    )
    const ideal = Math.max(wall(floor), (100 * 200) / 16)
    report(
      'loopback 200 ms, --concurrency 16',
      `wall ${s(wall(live))} (${(wall(live) / ideal).toFixed(2)}x max(floor, ideal ${s((100 * 200) / 16)})), CPU ${s(cpu(live))}`,
    )
    await benchHugeCaptures(work, tiles)
  } finally {
    await server.close()
    await rm(work, { recursive: true, force: true })
  }
}

/** Peak RSS of `rc2 solve --dry-run` on one 36-megapixel capture, then on eight in one batch. */
async function benchHugeCaptures(work: string, tiles: string[]): Promise<void> {
  const huge = await makeHugeCapture(tiles)
  const one = join(work, 'huge-1')
  const eight = join(work, 'huge-8')
  await mkdir(one)
  await mkdir(eight)
  await writeFile(join(one, 'page.png'), huge)
  for (let k = 0; k < 8; k++) await writeFile(join(eight, `page-${k}.png`), huge)
  const single = await runRc2(one, 'http://127.0.0.1:9', 16, ['--dry-run'])
  checkAll(single, 1, 'one 36-MP capture')
  const batch = await runRc2(eight, 'http://127.0.0.1:9', 16, ['--dry-run'])
  checkAll(batch, 8, 'eight 36-MP captures')
  const mb = (run: BatchRun): string => `${(run.maxRssKb / 1024).toFixed(0)} MB`
  report(
    `36-MP capture (${(huge.length / 1000).toFixed(0)} kB PNG), --dry-run: peak RSS`,
    `one ${mb(single)} (wall ${seconds(single)}), eight in a batch ${mb(batch)} (wall ${seconds(batch)})`,
  )
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/** user + system CPU of a process so far, in ms (Linux /proc; clock ticks of 10 ms). */
async function cpuMsOf(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 10
}

async function postTask(url: string, clientKey: string, image: string): Promise<number> {
  const started = performance.now()
  const response = await fetch(`${url}/createTask`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      clientKey,
      task: { type: 'ReCaptchaV2Classification', image, question: '/m/0k4j', confidence: 0.5 },
    }),
  })
  const reply = (await response.json()) as { errorId: number; errorCode?: string }
  if (reply.errorId !== 0) throw new Error(`createTask failed: ${reply.errorCode}`)
  return performance.now() - started
}

/** Latency straight to the service and through the gateway, and what the gateway added. */
function reportPaired(direct: number[], via: number[]): void {
  const added = via.map((v, i) => v - direct[i]!)
  const p50p95 = (values: number[]): string =>
    `${ms(percentile(values, 50))} / ${ms(percentile(values, 95))}`
  report('straight to the service: p50 / p95', p50p95(direct))
  report('through rc2 serve: p50 / p95', p50p95(via))
  report('added by the gateway per task: p50 / p95', `${p50p95(added)} (aim: p95 < 5 ms)`)
}

/** `rc2 serve --port 0` as a process, once its first line names the address. */
async function spawnGateway(
  config: string,
  home: string,
): Promise<{ child: ReturnType<typeof spawn>; url: string }> {
  const child = spawn(process.execPath, [BIN, '--config', config, 'serve', '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', HOME: home },
  })
  const url = await new Promise<string>((resolve, reject) => {
    let seen = ''
    child.stderr.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      const match = /listening on (\S+)/.exec(seen)
      if (match !== null) resolve(match[1]!)
    })
    child.once('exit', () => reject(new Error(`rc2 serve ended: ${seen}`)))
  })
  return { child, url }
}

async function benchServe(tiles: string[]): Promise<void> {
  const paired = QUICK ? 100 : 300
  console.log(
    `\nGateway: rc2 serve in front of the loopback service (300x300 JPEG payloads, ${paired} tasks paired one at a time, then 20 clients x 20 at once)`,
  )
  const server = await startProviderServer()
  const work = await mkdtemp(join(tmpdir(), 'rc2-bench-serve-'))
  const keys = Array.from({ length: 20 }, (_, i) => `bench-client-${i}`)
  const config = join(work, 'rc2.json')
  await writeFile(
    config,
    JSON.stringify({
      providers: { yescaptcha: { apiKey: DEFAULT_TEST_KEY, endpoint: server.url } },
      confidence: 0.5,
      serve: { clients: keys.map((key) => ({ key })) },
    }),
    { mode: 0o600 },
  )
  const images = await Promise.all(
    Array.from({ length: 20 }, async (_, i) =>
      (
        await renderRedGrid('3x3', [i % 9, (i * 4) % 9], {
          otherTiles: await Promise.all(tiles.slice(i, i + 9).map((t) => readFile(t))),
          format: 'jpeg',
        })
      ).toString('base64'),
    ),
  )
  const { child, url } = await spawnGateway(config, work)
  try {
    for (let i = 0; i < 20; i++) {
      await postTask(server.url, DEFAULT_TEST_KEY, images[i]!)
      await postTask(url, keys[0]!, images[i]!)
    }
    const direct: number[] = []
    const via: number[] = []
    for (let i = 0; i < paired; i++) {
      const image = images[i % images.length]!
      direct.push(await postTask(server.url, DEFAULT_TEST_KEY, image))
      via.push(await postTask(url, keys[i % keys.length]!, image))
    }
    reportPaired(direct, via)
    const cpuBefore = await cpuMsOf(child.pid!)
    const started = performance.now()
    await Promise.all(
      keys.flatMap((key, k) =>
        Array.from({ length: 20 }, (_, i) => postTask(url, key, images[(k + i) % images.length]!)),
      ),
    )
    const wall = performance.now() - started
    const cpu = (await cpuMsOf(child.pid!)) - cpuBefore
    report('20 clients x 20 tasks at once', `${(wall / 1000).toFixed(2)} s wall, 400/400 answered`)
    report('gateway CPU per task (user + system)', ms(cpu / 400))
  } finally {
    child.kill('SIGTERM')
    await new Promise((resolve) => child.once('exit', resolve))
    await server.close()
    await rm(work, { recursive: true, force: true })
  }
}

const tiles = tilePaths()
console.log(
  `rc2 benchmarks on Node ${process.version}, ${(await import('node:os')).cpus().length} cores${QUICK ? ' (quick)' : ''}`,
)
if (wanted('startup')) benchStartup()
if (wanted('bytes')) await benchRequestBytes(tiles)
if (wanted('prepare')) await benchPrepare(tiles)
if (wanted('batch')) await benchBatch(tiles)
if (wanted('screens')) await benchScreens(tiles)
if (wanted('serve')) await benchServe(tiles)
