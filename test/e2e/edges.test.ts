/**
 * The edges a user meets, each shown where only a real process shows it: pipes closed
 * by `head`, a pseudo-terminal made by script(1) for colour, width and a terminal on stdin, a
 * refused port, colliding output names, broken config files. Everything runs against the loopback
 * server; every output is checked for the key.
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { BIN, hasStackTrace, runRc2, type RunResult } from '../helpers/cli.js'
import { runRc2InProcess } from '../helpers/cli-in-process.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let root: string
const outputs: RunResult[] = []

function rc2(
  args: string[],
  options: {
    env?: Record<string, string | undefined>
    cwd?: string
    onSpawn?: (child: ChildProcess) => void
    input?: Buffer
  } = {},
): Promise<RunResult> {
  return runRc2(args, {
    env: { HOME: root, RC2_API_KEY: KEY, RC2_ENDPOINT: server.url, ...options.env },
    cwd: options.cwd ?? root,
    timeoutMs: 60_000,
    ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
    ...(options.input ? { input: options.input } : {}),
  }).then((result) => {
    outputs.push(result)
    return result
  })
}

/**
 * rc2 through runCli in this process (no terminal, no colour): for what a spawned binary would show
 * nothing more about (shapes, messages, exit codes, config). An env value of undefined removes it.
 */
async function inProcess(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; input?: Buffer } = {},
): Promise<RunResult> {
  const env: Record<string, string> = {}
  for (const [k, v] of Object.entries({
    HOME: root,
    RC2_API_KEY: KEY,
    RC2_ENDPOINT: server.url,
    ...options.env,
  }))
    if (v !== undefined) env[k] = v
  const r = await runRc2InProcess(args, {
    cwd: options.cwd ?? root,
    env,
    ...(options.input ? { stdin: options.input } : {}),
  })
  const result = { code: r.code, signal: null, stdout: r.stdout, stderr: r.stderr }
  outputs.push(result)
  return result
}

/** Run a shell pipeline; `rc2` is the built binary. Returns rc2's own exit status (PIPESTATUS). */
function pipeline(
  command: string,
  env: Record<string, string> = {},
): Promise<{ rc2: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const script = `rc2() { '${process.execPath}' '${BIN}' "$@"; }\n${command}; echo "rc2-status=\${PIPESTATUS[0]}" >&2`
    const child = spawn('bash', ['-c', script], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: root,
        NO_COLOR: '1',
        CI: '1',
        RC2_API_KEY: KEY,
        RC2_ENDPOINT: server.url,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', () => {
      clearTimeout(timer)
      const status = /rc2-status=(\d+)/.exec(stderr)
      outputs.push({ code: null, signal: null, stdout, stderr })
      resolve({
        rc2: status === null ? -1 : Number(status[1]),
        stdout,
        stderr: stderr.replace(/rc2-status=\d+\n?/, ''),
      })
    })
  })
}

/**
 * Run rc2 on a pseudo-terminal made by script(1) (stdin, stdout and stderr all on it), `columns`
 * wide. Returns what the terminal showed, escape codes included.
 */
async function onTerminal(
  args: string,
  env: Record<string, string> = {},
  columns = 80,
): Promise<{ code: number | null; terminal: string }> {
  const typescript = join(root, `tty-${Date.now()}-${Math.random().toString(36).slice(2)}.txt`)
  const command = `stty cols ${columns} rows 30; '${process.execPath}' '${BIN}' ${args}`
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('script', ['-qec', command, typescript], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: root,
        RC2_API_KEY: KEY,
        RC2_ENDPOINT: server.url,
        TERM: 'xterm',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'ignore'],
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('error', reject)
    child.on('close', (c) => {
      clearTimeout(timer)
      resolve(c)
    })
  })
  // script(1) adds a "Script started/done" line of its own: not rc2's.
  const terminal = (await readFile(typescript, 'utf8'))
    .split('\n')
    .filter((line) => !/^Script (started|done)/.test(line))
    .join('\n')
  outputs.push({ code, signal: null, stdout: terminal, stderr: '' })
  return { code, terminal }
}

const ESC = String.fromCharCode(27)

/** Display width of a terminal line: escapes removed, East Asian wide characters count two. */
function displayWidth(line: string): number {
  const plain = line.replace(new RegExp(`${ESC}\\[[0-9;?]*[A-Za-z]`, 'g'), '').replace(/\r/g, '')
  let width = 0
  for (const ch of plain) {
    const cp = ch.codePointAt(0) ?? 0
    if (cp >= 0x300 && cp <= 0x36f) continue
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6)
    width += wide ? 2 : 1
  }
  return width
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number }
      probe.close(() => resolve(port))
    })
  })
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

async function waitFor(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!condition() && Date.now() < until) await new Promise((r) => setTimeout(r, 10))
}

beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-e2e-edges-'))
  await writeFile(join(root, 'one.png'), await renderRedGrid('3x3', [1, 4]))
  await mkdir(join(root, 'many'))
  for (let k = 0; k < 30; k++)
    await writeFile(
      join(root, 'many', `in-${String(k).padStart(2, '0')}.png`),
      // 30 different images (a run pays once for the same content): the bits of k + 1 in red.
      await renderRedGrid(
        '3x3',
        Array.from({ length: 9 }, (_, t) => t).filter((t) => ((k + 1) >> t) & 1),
      ),
    )
  await mkdir(join(root, 'a'))
  await mkdir(join(root, 'b'))
  await writeFile(join(root, 'a', 'x.png'), await renderRedGrid('3x3', [0]))
  await writeFile(join(root, 'b', 'x.png'), await renderRedGrid('3x3', [8]))
  await mkdir(join(root, 'solo'))
  await writeFile(join(root, 'solo', 'only.png'), await renderRedGrid('3x3', [2]))
  await mkdir(join(root, 'four'))
  await writeFile(join(root, 'four', 'p.png'), await renderRedGrid('4x4', [0, 5]))
  await writeFile(join(root, 'four', 'q.png'), await renderRedGrid('4x4', [3, 6]))
  await mkdir(join(root, 'nested', 'deeper'), { recursive: true })
  await writeFile(join(root, 'nested', 'deeper', 'in.png'), await renderRedGrid('3x3', [3]))
  await mkdir(join(root, 'mixed'))
  await writeFile(join(root, 'mixed', 'good.png'), await renderRedGrid('3x3', [5]))
  await writeFile(join(root, 'mixed', 'notes.txt'), 'not an image\n')
  await writeFile(join(root, 'mixed', 'list.csv'), 'a,b\n')
  await writeFile(join(root, 'mixed', 'broken.png'), 'not a png at all\n')
})

afterAll(async () => {
  await server.close()
  for (const r of outputs) {
    expect(r.stdout).not.toContain(KEY)
    expect(r.stderr).not.toContain(KEY)
  }
  await rm(root, { recursive: true, force: true })
})

beforeEach(() => {
  server.resetCounters()
  server.setReply(undefined)
  server.setZeroBalance(false)
  server.setLatency(0)
  server.setKeys([KEY])
})

describe('money and data', () => {
  it('refuses an --annotate target that cannot be written before anything is sent', async () => {
    const r = await rc2(['solve', 'one.png', '-q', 'car', '--annotate', 'nodir/x.png', '--json'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--annotate nodir\/x\.png: the directory nodir does not exist/)
    expect(server.createCount).toBe(0)
  })

  it('keeps a paid answer (ok: true, a warning) when its picture cannot be written after paying', async () => {
    await mkdir(join(root, 'gone'), { recursive: true })
    // The service answers only once the directory is gone.
    const release = server.hold()
    const r = await rc2(['solve', 'one.png', '-q', 'car', '--annotate', 'gone/x.png', '--json'], {
      onSpawn: () => {
        // The directory passes the check, then vanishes while the service works: the write fails after paying.
        void waitFor(() => server.createCount >= 1)
          .then(() => rm(join(root, 'gone'), { recursive: true, force: true }))
          .finally(release)
      },
    })
    expect(server.paidCount).toBe(1)
    expect(r.code).toBe(0)
    const result = JSON.parse(r.stdout)
    expect(result).toMatchObject({ ok: true, input: 'one.png', objects: [1, 4] })
    expect(result.annotated).toBeUndefined()
    expect(result.warnings.join(' ')).toMatch(/cannot write the annotated picture to gone\/x\.png/)
  })

  it('gives colliding --annotate names a distinguishing part, and refuses one file for several inputs', async () => {
    const r = await rc2(['solve', 'a/x.png', 'b/x.png', '-q', 'car', '--annotate', 'ann', '--json'])
    expect(r.code).toBe(0)
    const results = JSON.parse(r.stdout) as { annotated: string }[]
    expect(results.map((x) => x.annotated)).toEqual([
      join('ann', 'a_x.annotated.png'),
      join('ann', 'b_x.annotated.png'),
    ])
    expect((await readdir(join(root, 'ann'))).sort()).toEqual([
      'a_x.annotated.png',
      'b_x.annotated.png',
    ])

    server.resetCounters()
    const file = await rc2(['solve', 'a/x.png', 'b/x.png', '-q', 'car', '--annotate', 'single.png'])
    expect(file.code).toBe(2)
    expect(file.stderr).toMatch(/--annotate single\.png names one file, but there are 2 inputs/)
    expect(await exists(join(root, 'single.png'))).toBe(false)
    expect(server.createCount).toBe(0)
  })

  it('resize: colliding names get a distinguishing part; -o <file> with several inputs is a usage error', async () => {
    const r = await rc2(['resize', 'a/x.png', 'b/x.png', '-o', 'out/'])
    expect(r.code).toBe(0)
    expect((await readdir(join(root, 'out'))).sort()).toEqual(['a_x.jpg', 'b_x.jpg'])
    const file = await rc2(['resize', 'a/x.png', 'b/x.png', '-o', 'single.jpg'])
    expect(file.code).toBe(2)
    expect(file.stderr).toMatch(/-o single\.jpg names one file, but there are 2 inputs/)
    expect(await exists(join(root, 'single.jpg'))).toBe(false)
  })

  it('a refused connection or a blocked port is a plain network error: nothing paid, nothing "may have been charged"', async () => {
    for (const endpoint of [`http://127.0.0.1:${await closedPort()}`, 'http://127.0.0.1:1']) {
      const r = await rc2(
        ['solve', 'a/x.png', 'b/x.png', 'one.png', '-q', 'car', '--json', '--retries', '0'],
        { env: { RC2_ENDPOINT: endpoint } },
      )
      expect(r.code).toBe(5)
      const results = JSON.parse(r.stdout) as {
        ok: boolean
        paidCalls?: number
        error: { kind: string; hint: string }
      }[]
      for (const result of results) {
        expect(result).toMatchObject({ ok: false, error: { kind: 'network' } })
        expect(result.paidCalls).toBeUndefined()
        expect(result.error.hint).toContain('nothing was charged')
      }
      const summary = JSON.parse(r.stderr.trim().split('\n').at(-1) ?? '{}').summary
      expect(summary).toMatchObject({ points: 0, extraPaidCalls: 0 })
      expect(r.stderr).not.toMatch(/may have been (processed and )?charged/)
      const balance = await rc2(['balance'], { env: { RC2_ENDPOINT: endpoint } })
      expect(balance.code).toBe(5)
      expect(balance.stderr).toContain('nothing was charged')
      expect(balance.stderr).not.toMatch(/may have been (processed and )?charged/)
    }
  })
})

describe('pipes and terminals', () => {
  it('ends quietly with exit 0 when stdout is closed: solve --ndjson | head -1, csv | head -1, --help | head -1', async () => {
    server.setLatency(40)
    const ndjson = await pipeline('rc2 solve many -q car --ndjson --concurrency 2 | head -1')
    expect(ndjson.rc2).toBe(0)
    expect(ndjson.stdout.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse(ndjson.stdout)).toMatchObject({ schemaVersion: 1, ok: true })
    expect(hasStackTrace(ndjson.stderr)).toBe(false)
    expect(ndjson.stderr).not.toMatch(/EPIPE|internal error|interrupted/)
    // It stopped submitting once nobody was reading.
    expect(server.createCount).toBeLessThan(30)

    const csv = await pipeline('rc2 solve many -q car --format csv | head -1')
    expect(csv.rc2).toBe(0)
    expect(csv.stdout).toMatch(/^input,ok,/)
    expect(csv.stderr).not.toMatch(/EPIPE|internal error/)

    for (let k = 0; k < 5; k++) {
      const help = await pipeline('rc2 --help | head -1')
      expect(help.rc2).toBe(0)
      expect(help.stdout.trim().split('\n')).toHaveLength(1)
      expect(help.stderr).toBe('')
    }
  })

  it('NO_COLOR keeps the spinner free of colour on a terminal', async () => {
    server.setLatency(60)
    // stdout on the terminal too: that is when ora's own colour check says yes.
    const r = await onTerminal('solve many -q car --ndjson --concurrency 2', { NO_COLOR: '1' }, 100)
    expect(r.code).toBe(0)
    expect(r.terminal).toMatch(/\d+\/30 done ·/)
    // Cursor control is fine; colour (SGR 30-37, 90-97, bold, dim) is not.
    expect(r.terminal).not.toMatch(new RegExp(`${ESC}\\[(?:[0-9;]*;)?(?:3[0-7]|9[0-7]|1|2)m`))
  })

  it('fits the questions table to an 80-column terminal', async () => {
    for (const args of ['questions --all', 'questions --lang ja', 'questions --lang de --all']) {
      const r = await onTerminal(args, {}, 80)
      expect(r.code).toBe(0)
      const lines = r.terminal.split('\n').filter((l) => l.trim() !== '')
      expect(lines.length).toBeGreaterThan(10)
      expect(Math.max(...lines.map(displayWidth))).toBeLessThanOrEqual(80)
    }
    // A pipe gets whole lines, however long.
    const piped = await rc2(['questions', '--lang', 'de', '--all'])
    expect(Math.max(...piped.stdout.split('\n').map(displayWidth))).toBeGreaterThan(80)
  })

  it('refuses `solve -` when standard input is a terminal instead of waiting silently', async () => {
    const started = Date.now()
    const r = await onTerminal('solve - -q car')
    expect(r.code).toBe(2)
    expect(r.terminal).toContain(
      '"-" reads an image from standard input, but standard input is a terminal',
    )
    expect(Date.now() - started).toBeLessThan(20_000)
    expect(server.createCount).toBe(0)
  })
})

describe('what the reader is told', () => {
  it('prints warnings on stderr in table and csv modes, once for a batch', async () => {
    for (const format of ['table', 'csv']) {
      const r = await inProcess(['solve', 'four', '-q', 'bus', '--format', format])
      expect(r.code).toBe(0)
      const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning:'))
      expect(warnings).toEqual([
        'warning: no service documents 4x4 support for "bus" (/m/01bjv); the answer may be an error or poor',
      ])
    }
    const single = await inProcess(['solve', 'one.png', '-q', 'Select all squares with cars'])
    expect(single.stderr).toContain('warning: the sentence implies a 4x4 grid but the image is 3x3')
  })

  it('takes the JSON shape from the command line: one object only for exactly one file or -', async () => {
    const dir = await inProcess(['solve', 'solo', '-q', 'car', '--json'])
    expect(Array.isArray(JSON.parse(dir.stdout))).toBe(true)
    const file = await inProcess(['solve', 'solo/only.png', '-q', 'car', '--json'])
    expect(JSON.parse(file.stdout)).toMatchObject({ input: 'solo/only.png', ok: true })
    const stdin = await inProcess(['solve', '-', '-q', 'car', '--json'], {
      input: await readFile(join(root, 'one.png')),
    })
    expect(JSON.parse(stdin.stdout)).toMatchObject({ input: '-', ok: true })
    const two = await inProcess(['solve', 'solo/only.png', 'one.png', '-q', 'car', '--json'])
    expect(JSON.parse(two.stdout)).toHaveLength(2)
    await mkdir(join(root, 'empty'), { recursive: true })
    const none = await inProcess(['solve', 'empty', '-q', 'car', '--json'])
    expect(none.code).toBe(4)
    expect(JSON.parse(none.stdout)).toEqual([])
  })

  it('says a bad key once for the whole batch, and exits 3 even with a bad file in it', async () => {
    for (const format of ['table', 'ndjson']) {
      const r = await inProcess(
        ['solve', 'many', 'mixed/broken.png', '-q', 'car', '--format', format],
        { env: { RC2_API_KEY: 'not-the-key-123' } },
      )
      expect(r.code).toBe(3)
      expect(r.stderr.match(/the API key is not valid/g)).toHaveLength(1)
      expect(r.stderr).toContain('the key rc2 sent came from RC2_API_KEY')
      // The bad file still has its own line, naming it once.
      expect(r.stderr.match(/mixed\/broken\.png/g)).toHaveLength(1)
    }
  })

  it('says the --max-points stop once, with --resume only when there is an --output', async () => {
    const r = await inProcess([
      'solve',
      'many',
      '-q',
      'car',
      '--max-points',
      '20',
      '--concurrency',
      '2',
    ])
    expect(r.code).toBe(6)
    const lines = r.stderr.trim().split('\n')
    expect(lines.filter((l) => l.includes('--max-points'))).toEqual([lines.at(-1)])
    expect(lines.at(-1)).toContain(
      '27 not sent: --max-points 20 reached (raise --max-points to send them)',
    )
    expect(r.stderr).not.toContain('--resume')
    const kept = await inProcess([
      'solve',
      'many',
      '-q',
      'car',
      '--max-points',
      '20',
      '--format',
      'ndjson',
      '--output',
      'kept.ndjson',
    ])
    const keptLines = kept.stderr.trim().split('\n')
    expect(keptLines.filter((l) => l.includes('--max-points'))).toEqual([keptLines.at(-1)])
    expect(keptLines.at(-1)).toContain(
      '27 not sent: --max-points 20 reached (run again with --resume and a higher --max-points to send them)',
    )
    const json = await inProcess(['solve', 'many', '-q', 'car', '--max-points', '20', '--json'])
    expect(
      json.stderr
        .trim()
        .split('\n')
        .filter((l) => l.includes('--max-points')),
    ).toEqual(['27 not sent: --max-points 20 reached (raise --max-points to send them)'])
  })

  it('names a bad file once in table mode; a dry-run batch claims no solving; skipped non-images are counted', async () => {
    const table = await inProcess(['solve', 'mixed', '-q', 'car'])
    expect(table.code).toBe(6)
    const bad = table.stderr.split('\n').filter((l) => l.includes('broken.png'))
    expect(bad).toHaveLength(1)
    expect(bad[0]?.match(/mixed\/broken\.png/g)).toHaveLength(1)
    expect(table.stderr).toContain('2 skipped (not images)')

    const json = await inProcess(['solve', 'mixed', '-q', 'car', '--json'])
    const summary = JSON.parse(json.stderr.trim().split('\n').at(-1) ?? '{}').summary
    expect(summary).toMatchObject({ skipped: 2, notImages: 2 })

    server.resetCounters()
    const dry = await inProcess(['solve', 'many', '-q', 'car', '--dry-run', '--format', 'ndjson'])
    expect(dry.code).toBe(0)
    const last = dry.stderr.trim().split('\n').at(-1) ?? ''
    expect(last).toMatch(/^30\/30 prepared \(dry run: nothing sent\)/)
    expect(last).not.toMatch(/solved|p50|points/)
    expect(server.createCount).toBe(0)
  })
})

describe('exit codes and hints', () => {
  it('balance -p acedata is a usage error (2) that points at the console, needing no key', async () => {
    const r = await inProcess(['balance', '-p', 'acedata'], { env: { RC2_API_KEY: undefined } })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('acedata has no balance call')
    expect(r.stderr).toContain('https://platform.acedata.cloud/console')
  })

  it("Ace's zero balance points at its console, not at an rc2 balance call that cannot work", async () => {
    server.setZeroBalance(true)
    const r = await inProcess([
      'solve',
      'one.png',
      '-q',
      'car',
      '-p',
      'AceData',
      '--endpoint',
      server.endpoints.acedata,
      '--json',
    ])
    expect(r.code).toBe(5)
    const result = JSON.parse(r.stdout)
    expect(result.error.kind).toBe('balance')
    expect(result.error.hint).toContain('https://platform.acedata.cloud/console')
    expect(result.error.hint).not.toContain('rc2 balance')
  })

  it('--max-points 0 is a usage error (nothing would be sent); -p is case-insensitive', async () => {
    const zero = await inProcess(['solve', 'one.png', '-q', 'car', '--max-points', '0'])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toContain('--dry-run')
    expect(server.createCount).toBe(0)
    const mixed = await inProcess(['solve', 'one.png', '-q', 'car', '-p', 'YesCaptcha', '--json'])
    expect(mixed.code).toBe(0)
    expect(JSON.parse(mixed.stdout)).toMatchObject({ ok: true, provider: 'yescaptcha' })
  })

  it('hints lead somewhere: no grid found says what to change and the overlay it suggests is written; images only in subdirectories suggest --recursive', async () => {
    const odd = join(root, 'wide.png')
    const sharp = (await import('sharp')).default
    await writeFile(
      odd,
      await sharp({ create: { width: 640, height: 360, channels: 3, background: '#808080' } })
        .png()
        .toBuffer(),
    )
    const wide = await rc2(['grid', 'wide.png'])
    expect(wide.code).toBe(4)
    expect(wide.stderr).toContain('no challenge tile grid found in wide.png')
    expect(wide.stderr).toContain('capture the whole challenge with the white gutters')
    // Following the hint as written gives a picture.
    const suggested = /run `rc2 (grid wide\.png --overlay out\.png)`/.exec(wide.stderr)
    expect(suggested).not.toBeNull()
    const followed = await rc2((suggested?.[1] ?? '').split(' '))
    expect(followed.code).toBe(4)
    expect((await stat(join(root, 'out.png'))).size).toBeGreaterThan(0)

    const nested = await inProcess(['solve', 'nested', '-q', 'car'])
    expect(nested.code).toBe(4)
    expect(nested.stderr).toContain('1 subdirectory was not searched')
    expect(nested.stderr).toContain('add --recursive (-r)')
  })
})

describe('config mistakes', () => {
  async function project(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(root, name)
    await mkdir(dir, { recursive: true })
    for (const [file, text] of Object.entries(files))
      await writeFile(join(dir, file), text, { mode: 0o600 })
    await writeFile(join(dir, 'one.png'), await readFile(join(root, 'one.png')))
    return dir
  }
  const secret = 'sekret-config-key-98765'

  it('a broken YAML or JSON file: the file, line, column and problem, never the key', async () => {
    const yaml = await project('bad-yaml', {
      '.recaptcharc': `providers:\n  yescaptcha:\n    apiKey: "${secret}\n  timeout: [1\n`,
    })
    const y = await inProcess(['solve', 'one.png', '-q', 'car'], {
      cwd: yaml,
      env: { RC2_API_KEY: undefined },
    })
    expect(y.code).toBe(3)
    expect(y.stderr).toMatch(
      new RegExp(
        `config file ${join(yaml, '.recaptcharc').replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: line \\d+, column \\d+: \\S`,
      ),
    )
    expect(y.stderr).not.toContain(secret)

    const json = await project('bad-json', {
      '.recaptcharc.json': `{\n  "providers": { "yescaptcha": { "apiKey": "${secret}" } }\n  "timeout": 3\n}\n`,
    })
    const j = await inProcess(['solve', 'one.png', '-q', 'car'], {
      cwd: json,
      env: { RC2_API_KEY: undefined },
    })
    expect(j.code).toBe(3)
    expect(j.stderr).toContain(`config file ${join(json, '.recaptcharc.json')}: line 3, column 3:`)
    expect(j.stderr).not.toContain(secret)
    expect(server.createCount).toBe(0)
  })

  it('an unknown key suggests the nearest one', async () => {
    const dir = await project('typo', {
      '.recaptcharc': 'provder: yescaptcha\nproviders:\n  yescaptcha:\n    apiKy: x\n',
    })
    const r = await inProcess(['solve', 'one.png', '-q', 'car'], { cwd: dir })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain('provder: unknown key; did you mean "provider"?')
    expect(r.stderr).toContain('providers.yescaptcha.apiKy: unknown key; did you mean "apiKey"?')
  })

  it('ignores rc2.config.js found here (and says how to use it); runs it when named with --config', async () => {
    const dir = await project('js', {
      'rc2.config.js': `module.exports = { providers: { yescaptcha: { apiKey: '${KEY}' } } }\n`,
    })
    const found = await inProcess(['solve', 'one.png', '-q', 'car', '--json'], {
      cwd: dir,
      env: { RC2_API_KEY: undefined },
    })
    expect(found.code).toBe(3)
    expect(found.stderr).toContain(`ignored ${join(dir, 'rc2.config.js')}`)
    expect(found.stderr).toContain('no API key for yescaptcha')
    const named = await inProcess(
      ['--config', 'rc2.config.js', 'solve', 'one.png', '-q', 'car', '--json'],
      {
        cwd: dir,
        env: { RC2_API_KEY: undefined },
      },
    )
    expect(named.code).toBe(0)
    expect(JSON.parse(named.stdout)).toMatchObject({ ok: true })
  })

  it('recognises the placeholder key of .recaptcharc.example before sending; a refused key says where it came from', async () => {
    const example = await readFile(join(BIN, '..', '..', '.recaptcharc.example'), 'utf8')
    const copied = await project('copied', { '.recaptcharc': example })
    const r = await inProcess(['solve', 'one.png', '-q', 'car'], {
      cwd: copied,
      env: { RC2_API_KEY: undefined },
    })
    expect(r.code).toBe(3)
    expect(r.stderr).toContain(`is the placeholder from .recaptcharc.example`)
    expect(r.stderr).toContain(join(copied, '.recaptcharc'))
    expect(server.createCount).toBe(0)

    const wrong = await project('wrong', {
      '.recaptcharc': `providers:\n  yescaptcha:\n    apiKey: ${secret}\n`,
    })
    const refused = await inProcess(['solve', 'one.png', '-q', 'car', '--json'], {
      cwd: wrong,
      env: { RC2_API_KEY: undefined },
    })
    expect(refused.code).toBe(3)
    expect(JSON.parse(refused.stdout).error.hint).toContain(
      `the key rc2 sent came from providers.yescaptcha.apiKey in ${join(wrong, '.recaptcharc')}`,
    )
    expect(refused.stderr).not.toContain(secret)
    const balance = await inProcess(['balance'], { cwd: wrong, env: { RC2_API_KEY: undefined } })
    expect(balance.code).toBe(3)
    expect(balance.stderr).toContain(
      `came from providers.yescaptcha.apiKey in ${join(wrong, '.recaptcharc')}`,
    )
  })
})
