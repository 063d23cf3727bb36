/**
 * The built binary attacked as a careful reviewer would: a service that drips, redirects, bombs or
 * floods; inputs that never end (/dev/zero, a FIFO with a slow writer, 300 MB on stdin); signals
 * under frequent garbage collection. Each run must end on time with the right exit code and a
 * peak RSS under 400 MB (the child's own peak, from getrusage at exit, or /proc VmHWM if killed).
 */
import type { ChildProcess } from 'node:child_process'
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BIN, FIXTURES, hasStackTrace, type RunResult } from '../helpers/cli.js'
import {
  drip,
  gzipBomb,
  hugeJson,
  json,
  lazyBytes,
  redirect,
  startHostileServer,
  type HostileServer,
} from '../helpers/hostile-server.js'
import { DEFAULT_TEST_KEY } from '../helpers/provider-server.js'
import { distinctCopy } from '../helpers/distinct-images.js'

const KEY = DEFAULT_TEST_KEY
const PAYLOAD = join(FIXTURES, 'payload-3x3.png')
const MB = 1024 * 1024
const RSS_LIMIT_MB = 400
const ANSWER = {
  errorId: 0,
  status: 'ready',
  taskId: 'task-1',
  solution: { type: 'multi', objects: [0, 4] },
}

let root: string
let hostile: HostileServer
let elsewhere: HostileServer
/** An --import hook for the child: its peak RSS written at exit, and optionally a gc() every 300 ms. */
let rssHook: string
let gcHook: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-hostile-'))
  hostile = await startHostileServer()
  elsewhere = await startHostileServer(json(200, ANSWER))
  rssHook = join(root, 'rss-hook.mjs')
  gcHook = join(root, 'gc-hook.mjs')
  await writeFile(
    rssHook,
    `import { writeFileSync } from 'node:fs'
process.on('exit', () => { if (process.env.RC2_TEST_RSS_FILE) writeFileSync(process.env.RC2_TEST_RSS_FILE, String(process.resourceUsage().maxRSS)) })
`,
  )
  await writeFile(gcHook, `setInterval(() => globalThis.gc(), 300).unref()\n`)
})
afterAll(async () => {
  await hostile.close()
  await elsewhere.close()
  await rm(root, { recursive: true, force: true })
})
beforeEach(() => {
  hostile.requests.length = 0
  elsewhere.requests.length = 0
})

interface Measured extends RunResult {
  peakRssMb: number
  ms: number
}

let runCount = 0
/** Spawn rc2 with the RSS hook (and the gc hook when asked); VmHWM is polled as a fallback. */
async function rc2(
  args: string[],
  options: {
    env?: Record<string, string>
    input?: Buffer
    stdin?: Readable
    gc?: boolean
    timeoutMs?: number
    onSpawn?: (child: ChildProcess) => void
    cwd?: string
    /** `ulimit -f` in 1 kB blocks: files can grow only this far, as on a disk that fills. */
    fileSizeLimitKb?: number
  } = {},
): Promise<Measured> {
  const rssFile = join(root, `rss-${++runCount}.txt`)
  const imports = [
    `--import=${rssHook}`,
    ...(options.gc === true ? ['--expose-gc', `--import=${gcHook}`] : []),
  ]
  let polledKb = 0
  let poll: NodeJS.Timeout | undefined
  const started = Date.now()
  const result = await new Promise<RunResult>((resolve, reject) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      NO_COLOR: '1',
      FORCE_COLOR: '0',
      CI: '1',
      HOME: root,
      RC2_API_KEY: KEY,
      NODE_OPTIONS: imports.join(' '),
      RC2_TEST_RSS_FILE: rssFile,
      ...options.env,
    }
    const command =
      options.fileSizeLimitKb === undefined
        ? [process.execPath, BIN, ...args]
        : [
            '/bin/sh',
            '-c',
            `ulimit -f ${options.fileSizeLimitKb}; exec "$@"`,
            'sh',
            process.execPath,
            BIN,
            ...args,
          ]
    const child = spawn(command[0]!, command.slice(1), {
      cwd: options.cwd ?? root,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8')
        const hwm = /VmHWM:\s+(\d+)/.exec(status)
        if (hwm) polledKb = Math.max(polledKb, Number(hwm[1]))
      } catch {
        // gone already
      }
    }, 25)
    child.stdin.on('error', () => undefined)
    if (options.stdin !== undefined) options.stdin.pipe(child.stdin)
    else child.stdin.end(options.input)
    options.onSpawn?.(child)
  })
  clearInterval(poll)
  const ms = Date.now() - started
  let peakKb = polledKb
  try {
    peakKb = Math.max(peakKb, Number(await readFile(rssFile, 'utf8')))
  } catch {
    // killed before exit: the polled figure is all there is
  }
  const measured = { ...result, peakRssMb: Math.round(peakKb / 1024), ms }
  // RC2_TEST_REPORT=1 prints what each attack cost (for the table).
  if (process.env.RC2_TEST_REPORT !== undefined)
    console.info(
      `[measure] exit ${result.code} in ${ms} ms, peak RSS ${measured.peakRssMb} MB: ${args.join(' ')}`,
    )
  return measured
}

function solveArgs(input: string, ...extra: string[]): string[] {
  return ['solve', input, '-q', 'car', '--endpoint', hostile.url, '--retries', '0', ...extra]
}

describe('inputs are bounded while reading', () => {
  it('/dev/zero is refused at the input limit, quickly, with an input error', async () => {
    const run = await rc2(solveArgs('/dev/zero'))
    expect(run.code).toBe(4)
    expect(run.stderr).toContain('/dev/zero is over the 25 MB limit')
    expect(hasStackTrace(run.stderr)).toBe(false)
    expect(run.ms).toBeLessThan(20_000)
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
    expect(hostile.requests).toHaveLength(0)
  }, 60_000)

  it('a FIFO with a slow writer that never stops is refused at the limit', async () => {
    const fifo = join(root, 'endless.fifo')
    execFileSync('mkfifo', [fifo])
    const writer = (async () => {
      const handle = await open(fifo, 'w')
      const chunk = Buffer.alloc(MB, 0x41)
      try {
        // 1 MB every 20 ms until rc2 stops reading (EPIPE)
        for (;;) {
          await handle.write(chunk)
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
      } catch {
        // rc2 closed its end
      } finally {
        await handle.close()
      }
    })()
    const run = await rc2(solveArgs(fifo))
    await writer
    expect(run.code).toBe(4)
    expect(run.stderr).toContain('over the 25 MB limit')
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)

  it('a FIFO whose slow writer sends a real image works', async () => {
    const fifo = join(root, 'image.fifo')
    execFileSync('mkfifo', [fifo])
    const bytes = readFileSync(PAYLOAD)
    const writer = (async () => {
      const handle = await open(fifo, 'w')
      for (let at = 0; at < bytes.length; at += 4096) {
        await handle.write(bytes.subarray(at, at + 4096))
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
      await handle.close()
    })()
    hostile.setHandler(json(200, ANSWER))
    const run = await rc2([...solveArgs(fifo), '--json'])
    await writer
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, objects: [0, 4] })
  }, 60_000)

  it('300 MB on stdin is refused at the limit with bounded memory', async () => {
    const run = await rc2(solveArgs('-'), {
      stdin: Readable.from(lazyBytes(300 * MB, Buffer.alloc(MB, 0x42))),
    })
    expect(run.code).toBe(4)
    expect(run.stderr).toContain('stdin is over the 25 MB limit')
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
    expect(run.ms).toBeLessThan(30_000)
  }, 60_000)
})

describe('replies are bounded after decompression', () => {
  it('a 1 GB gzip bomb is refused as a provider error, RSS bounded', async () => {
    hostile.setHandler(gzipBomb(1024 * MB))
    const run = await rc2(solveArgs(PAYLOAD))
    expect(run.code).toBe(5)
    expect(run.stderr).toContain('the reply is larger than 4.2 MB')
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)

  it('a 200 MB JSON reply is refused, RSS bounded', async () => {
    hostile.setHandler(hugeJson(200 * MB))
    const run = await rc2(solveArgs(PAYLOAD))
    expect(run.code).toBe(5)
    expect(run.stderr).toContain('the reply is larger than 4.2 MB')
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)
})

describe('deadlines and signals hold under frequent garbage collection', () => {
  it('--timeout 5 ends a reply that drips a byte a second', async () => {
    hostile.setHandler(drip(1000))
    const run = await rc2(solveArgs(PAYLOAD, '--timeout', '5'), { gc: true })
    expect(run.code).toBe(5)
    // Either the attempt's own deadline (a share of --timeout) or the overall one ends it.
    expect(run.stderr).toMatch(/overall deadline|no reply within/)
    expect(run.ms).toBeLessThan(20_000)
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`a first ${signal} ends a run stuck on a dripping reply`, async () => {
      hostile.setHandler(drip(1000))
      let sentAt = 0
      const run = await rc2(solveArgs(PAYLOAD, '--timeout', '300'), {
        gc: true,
        onSpawn: (child) => {
          const wait = setInterval(() => {
            if (hostile.requests.length > 0) {
              clearInterval(wait)
              sentAt = Date.now()
              child.kill(signal)
            }
          }, 50)
        },
      })
      expect(run.code).toBe(130)
      expect(run.stderr).toContain('interrupted')
      expect(hasStackTrace(run.stderr)).toBe(false)
      // 5 s of grace for requests in flight, then they are cut.
      expect(Date.now() - sentAt).toBeLessThan(14_000)
      expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
    }, 60_000)
  }

  it('a SIGINT ends a run waiting on a standard input that never comes', async () => {
    const { PassThrough } = await import('node:stream')
    const silent = new PassThrough()
    let sentAt = 0
    const run = await rc2(solveArgs('-'), {
      stdin: silent,
      onSpawn: (child) => {
        setTimeout(() => {
          sentAt = Date.now()
          child.kill('SIGINT')
        }, 1500)
      },
    })
    silent.destroy()
    expect(run.code).toBe(130)
    expect(hasStackTrace(run.stderr)).toBe(false)
    expect(Date.now() - sentAt).toBeLessThan(5000)
  }, 60_000)

  it('a SIGTERM ends a run stuck opening a FIFO nobody writes to', async () => {
    const fifo = join(root, 'silent.fifo')
    execFileSync('mkfifo', [fifo])
    let sentAt = 0
    const run = await rc2(solveArgs(fifo), {
      onSpawn: (child) => {
        setTimeout(() => {
          sentAt = Date.now()
          child.kill('SIGTERM')
        }, 1500)
      },
    })
    // The FIFO is read through the event loop, so the interrupt stops the read at once.
    expect(run.signal).toBeNull()
    expect(run.code).toBe(130)
    expect(run.stderr).toContain('interrupted')
    expect(hasStackTrace(run.stderr)).toBe(false)
    expect(Date.now() - sentAt).toBeLessThan(5000)
    expect(hostile.requests).toHaveLength(0)
  }, 60_000)

  it('two Ctrl-C 0.2 s apart: the answers on their way are written before leaving', async () => {
    const dir = join(root, 'two-signals')
    await mkdirWithPayloads(dir, 16)
    const finished: number[] = []
    hostile.setHandler((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(ANSWER), () => finished.push(Date.now()))
      }, 600)
    })
    const out = join(root, 'two-signals.ndjson')
    let secondAt = 0
    const run = await rc2(solveArgs(dir, '--concurrency', '16', '--ndjson', '--output', out), {
      onSpawn: (child) => {
        const wait = setInterval(() => {
          if (hostile.requests.length >= 16) {
            clearInterval(wait)
            child.kill('SIGINT')
            setTimeout(() => {
              secondAt = Date.now()
              child.kill('SIGINT')
            }, 200)
          }
        }, 20)
      },
    })
    expect(run.code).toBe(130)
    expect(hasStackTrace(run.stderr)).toBe(false)
    expect(Date.now() - secondAt).toBeLessThan(4000)
    const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line !== '')
    const written = lines.map((line) => JSON.parse(line) as { ok: boolean })
    // Every answer the service sent was paid for; all 16 arrived within the second's grace.
    expect(finished).toHaveLength(16)
    expect(written).toHaveLength(16)
    expect(written.every((result) => result.ok)).toBe(true)
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)
})

describe('redirects', () => {
  for (const status of [302, 307]) {
    it(`a ${status} to a second server is a provider error shown with --verbose; the second server receives nothing`, async () => {
      hostile.setHandler(redirect(status, `${elsewhere.url}/createTask`))
      const run = await rc2(['--verbose', ...solveArgs(PAYLOAD)])
      expect(run.code).toBe(5)
      expect(run.stderr).toContain(
        `HTTP ${status}, a redirect to ${elsewhere.url}/createTask; rc2 does not follow redirects`,
      )
      expect(run.stderr).toContain(
        `-> ${status} redirect to ${elsewhere.url}/createTask (not followed)`,
      )
      expect(run.stderr).not.toContain(KEY)
      expect(elsewhere.requests).toHaveLength(0)
    }, 60_000)
  }
})

async function mkdirWithPayloads(dir: string, count: number): Promise<void> {
  const { mkdir, writeFile } = await import('node:fs/promises')
  await mkdir(dir, { recursive: true })
  // Distinct images: the same image is asked once per run.
  for (let k = 0; k < count; k++)
    await writeFile(join(dir, `p${String(k).padStart(2, '0')}.png`), await distinctCopy(PAYLOAD, k))
}

describe('a results file that cannot be written', () => {
  it('--output /dev/full: a clear error, nothing more is sent, results on stdout kept, exit 2', async () => {
    const dir = join(root, 'full')
    await mkdirWithPayloads(dir, 6)
    hostile.setHandler(json(200, ANSWER))
    const run = await rc2(solveArgs(dir, '--concurrency', '1', '--ndjson', '--output', '/dev/full'))
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('cannot write --output /dev/full: no space left on the device')
    expect(hasStackTrace(run.stderr)).toBe(false)
    // The first answer could not be recorded: the batch stopped submitting after it.
    expect(hostile.requests).toHaveLength(1)
    const streamed = run.stdout.split('\n').filter((line) => line !== '')
    expect(streamed).toHaveLength(1)
    expect(JSON.parse(streamed[0]!)).toMatchObject({ ok: true, objects: [0, 4] })
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)

  it('a disk that fills mid-batch (ulimit -f): the file keeps whole lines only, and the run stops with exit 2', async () => {
    const dir = join(root, 'filling')
    await mkdirWithPayloads(dir, 30)
    hostile.setHandler(json(200, ANSWER))
    const out = join(root, 'filling.ndjson')
    const run = await rc2(solveArgs(dir, '--concurrency', '2', '--ndjson', '--output', out), {
      fileSizeLimitKb: 4,
    })
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(/cannot write --output .*filling\.ndjson: EFBIG/)
    expect(hasStackTrace(run.stderr)).toBe(false)
    const text = await readFile(out, 'utf8')
    expect(text.endsWith('\n')).toBe(true)
    const lines = text.split('\n').filter((line) => line !== '')
    for (const line of lines) expect(JSON.parse(line)).toMatchObject({ ok: true })
    expect(lines.length).toBeGreaterThan(2)
    expect(lines.length).toBeLessThan(30)
    // Stopped submitting: at most what was in flight when the write failed went out after it.
    expect(hostile.requests.length).toBeLessThanOrEqual(lines.length + 1 + 2)
    // Every answer received is on stdout, recorded or not.
    expect(run.stdout.split('\n').filter((line) => line !== '').length).toBe(
      hostile.requests.length,
    )
    expect(run.peakRssMb).toBeLessThan(RSS_LIMIT_MB)
  }, 60_000)
})
