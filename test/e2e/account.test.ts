import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { runInProcess, runRc2, type RunResult } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'
import { renderRoundPair } from '../helpers/rounds.js'

/**
 * The per-input account end to end: what a batch spends when failover, rounds, budgets and
 * duplicates meet. Two loopback services where failover is involved: `first` stands for the
 * service named first (YesCaptcha), `second` for the one after it (CapSolver), so each can fail
 * on its own.
 */

const KEY = DEFAULT_TEST_KEY
const TILES_DIR = join(import.meta.dirname, '../data/recaptcha-tiles')
let first: ProviderServer
let second: ProviderServer
let dir: string
let tileFiles: string[] = []

interface Result {
  input: string
  ok: boolean
  provider?: string
  points?: number | null
  objects?: number[]
  checked?: number[]
  sent?: false
  paidCalls?: number
  warnings?: string[]
  error?: { kind: string; code: string | null; message: string; hint: string | null }
}

async function rc2(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return runInProcess(args, {
    cwd: dir,
    env: {
      HOME: dir,
      NO_COLOR: '1',
      CI: '1',
      RC2_YESCAPTCHA_API_KEY: KEY,
      RC2_YESCAPTCHA_ENDPOINT: first.endpoints.yescaptcha,
      RC2_CAPSOLVER_API_KEY: KEY,
      RC2_CAPSOLVER_ENDPOINT: second.endpoints.capsolver,
      ...env,
    },
  })
}

const lines = (stdout: string): Result[] =>
  stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Result)

/** `count` distinct 3x3 payloads in `name/`: each has its own set of red tiles. */
async function makeDir(name: string, count: number): Promise<string> {
  const path = join(dir, name)
  await mkdir(path)
  for (let i = 0; i < count; i++) {
    // Bits of i + 1 as the red tiles: every image differs from the others.
    const red = Array.from({ length: 9 }, (_, t) => t).filter((t) => ((i + 1) >> t) & 1)
    await writeFile(
      join(path, `in-${String(i).padStart(2, '0')}.png`),
      await renderRedGrid('3x3', red),
    )
  }
  return path
}

beforeAll(async () => {
  first = await startProviderServer()
  second = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-account-'))
  tileFiles = (await readdir(TILES_DIR, { recursive: true }))
    .map(String)
    .filter((f) => f.endsWith('.png'))
    .sort()
    .map((f) => join(TILES_DIR, f))
})

afterAll(async () => {
  await Promise.all([first.close(), second.close()])
  await rm(dir, { recursive: true, force: true })
})

beforeEach(() => {
  for (const server of [first, second]) {
    server.setReply(undefined)
    server.setZeroBalance(false)
    server.resetCounters()
  }
})

describe('failover prices the provider actually asked', () => {
  it('an empty first account: 10 inputs cost 10 (CapSolver counts 1 a call), and the drop is said once', async () => {
    await makeDir('ten', 10)
    first.setZeroBalance(true)
    const r = await rc2(['solve', 'ten', '-q', 'cars', '-p', 'yescaptcha,capsolver', '--ndjson'])
    expect(r.code, r.stderr).toBe(0)
    const results = lines(r.stdout)
    expect(results.filter((x) => x.ok && x.provider === 'capsolver')).toHaveLength(10)
    const summary = r.stderr.trim().split('\n').at(-1) ?? ''
    expect(summary).toContain('10/10 solved')
    expect(summary).toContain(' 10 points')
    expect(summary).toContain('answers: capsolver 10')
    // The dropped provider, said once on stderr with why, whatever the number of inputs.
    const dropped = r.stderr.split('\n').filter((l) => l.includes('dropped for the rest'))
    expect(dropped).toHaveLength(1)
    expect(dropped[0]).toMatch(/yescaptcha dropped .*\(balance\).*ERROR_ZERO_BALANCE.*capsolver/)
  })

  it('with --max-points 100, 50 inputs are all answered once the first provider is dropped', async () => {
    await makeDir('fifty', 50)
    first.setZeroBalance(true)
    const r = await rc2([
      'solve',
      'fifty',
      '-q',
      'cars',
      '-p',
      'yescaptcha,capsolver',
      '--ndjson',
      '--max-points',
      '100',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(lines(r.stdout).filter((x) => x.ok)).toHaveLength(50)
    expect(second.paidCount).toBe(50)
    expect(r.stderr.trim().split('\n').at(-1)).toContain(' 50 points')
  })
})

describe('a reply lost before failover', () => {
  it('the answer from the next provider says the lost call may have cost too (paidCalls 2)', async () => {
    const one = join(dir, 'lost-then-failover.png')
    await writeFile(one, await renderRedGrid('3x3', [1, 5]))
    // Every call to the first service does its work and loses the reply: charged, no answer.
    first.setFaults({ seed: 3, resetAfterWork: 1 })
    try {
      const args = ['solve', one, '-q', 'cars', '-p', 'yescaptcha,capsolver', '--retries', '0']
      const r = await rc2([...args, '--json'])
      expect(r.code, r.stderr).toBe(0)
      const result = JSON.parse(r.stdout) as Result
      expect(result.ok).toBe(true)
      expect(result.provider).toBe('capsolver')
      expect(first.paidCount).toBe(1)
      expect(result.paidCalls).toBe(2)
      // The table says it too.
      const table = await rc2(args)
      expect(table.stdout).toContain('may have cost 2x')
    } finally {
      first.setFaults(undefined)
    }
  })
})

describe('a dynamic round with failover under --max-points', () => {
  it("reserves the next provider's tile calls and counts the failed provider's charges", async () => {
    const pair = await renderRoundPair(tileFiles, 9701, { kind: 'widget', ratio: 1, redShare: 1 })
    await writeFile(join(dir, 'round.png'), pair.after)
    // YesCaptcha's replies break (charged, 2 points a tile, not resent with --retries 0): each tile
    // then goes to CapSolver (1 a call). Two tiles: 2 + 2 spent, so only one CapSolver call fits in 5.
    first.setReply({ path: '/createTask', text: '{"errorId":0,"solution":{"obj' })
    const r = await rc2([
      'solve',
      'round.png',
      '--tiles',
      '0,8',
      '-q',
      'car',
      '--json',
      '-p',
      'yescaptcha,capsolver',
      '--retries',
      '0',
      '--max-points',
      '5',
    ])
    expect(first.createCount).toBe(2)
    expect(second.createCount).toBe(1)
    const result = JSON.parse(r.stdout) as Result
    expect(result).toMatchObject({ ok: true, provider: 'capsolver' })
    expect(result.checked).toHaveLength(1)
    expect(result.warnings?.join('\n')).toMatch(/tile \d was not classified/)
  })
})

describe('a round never costs more than a whole solve without saying so', () => {
  it('--since with a capture of another challenge: input error, exit 4, a whole solve suggested, no call', async () => {
    const a = await renderRoundPair(tileFiles, 4242, { kind: 'widget', ratio: 1 })
    const b = await renderRoundPair(tileFiles, 4343, { kind: 'widget', ratio: 1 })
    await writeFile(join(dir, 'a.png'), a.before)
    await writeFile(join(dir, 'b.png'), b.after)
    const r = await rc2(['solve', 'b.png', '--since', 'a.png', '-q', 'car', '--json'])
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toMatch(/not the same challenge/)
    expect(r.stderr).toMatch(/drop --since/)
    expect(first.createCount).toBe(0)
  })
})

describe('a budget stop', () => {
  it('is kind budget (exit 2 when nothing could be sent), is not written to --output, and names only flags that apply', async () => {
    await makeDir('over', 4)
    // One 3x3 call costs 6 at YesCaptcha: --max-points 5 sends nothing.
    const r = await rc2(['solve', 'over', '-q', 'cars', '--ndjson', '--max-points', '5'])
    expect(r.code, r.stderr).toBe(2)
    const results = lines(r.stdout)
    expect(results).toHaveLength(4)
    for (const x of results)
      expect(x).toMatchObject({ ok: false, sent: false, error: { kind: 'budget', code: null } })
    expect(r.stderr).toContain('4 not sent: --max-points 5 reached')
    expect(r.stderr).not.toContain('--resume')

    const out = join(dir, 'over.ndjson')
    const withOutput = await rc2([
      'solve',
      'over',
      '-q',
      'cars',
      '--ndjson',
      '--max-points',
      '14',
      '--output',
      out,
    ])
    expect(withOutput.code, withOutput.stderr).toBe(6)
    // Two answers fit (12 points); the two never sent are on stdout and in the summary, not in the file.
    expect(lines(withOutput.stdout)).toHaveLength(4)
    const kept = lines(await readFile(out, 'utf8'))
    expect(kept).toHaveLength(2)
    expect(kept.every((x) => x.ok)).toBe(true)
    expect(withOutput.stderr).toContain('2 not sent: --max-points 14 reached')
    expect(withOutput.stderr).toContain('--resume')
  })
})

describe('--resume', () => {
  it('skips a null line (or any non-object) in the --output file with a warning', async () => {
    await makeDir('nulls', 2)
    const out = join(dir, 'nulls.ndjson')
    await writeFile(out, 'null\n42\n"text"\n[1]\n')
    const r = await rc2(['solve', 'nulls', '-q', 'cars', '--output', out, '--resume', '--ndjson'])
    expect(r.code, r.stderr).toBe(0)
    expect(lines(r.stdout).filter((x) => x.ok)).toHaveLength(2)
    expect(r.stderr).toMatch(/4 line\(s\) are not results and were skipped/)
    expect(r.stderr).not.toMatch(/internal error|TypeError/)
  })
})

describe('the same content with the same question', () => {
  it('is paid once per run and its answer given to every such input', async () => {
    const copies = await makeDir('copies', 1)
    const image = await readFile(join(copies, 'in-00.png'))
    for (const name of ['b.png', 'c.png']) await writeFile(join(copies, name), image)
    const r = await rc2(['solve', 'copies', '-q', 'cars', '--ndjson'])
    expect(r.code, r.stderr).toBe(0)
    const results = lines(r.stdout)
    expect(results).toHaveLength(3)
    expect(results.every((x) => x.ok && x.objects?.join() === '0')).toBe(true)
    expect(first.createCount).toBe(1)
    expect(r.stderr.trim().split('\n').at(-1)).toContain(' 6 points')
    // The same file named three times: one call too.
    first.resetCounters()
    const same = join('copies', 'b.png')
    const again = await rc2(['solve', same, same, same, '-q', 'cars', '--ndjson'])
    expect(again.code, again.stderr).toBe(0)
    expect(lines(again.stdout).filter((x) => x.ok)).toHaveLength(3)
    expect(first.createCount).toBe(1)
  })
})

describe('copies waiting for an answer in flight', () => {
  it('lend their slots: the input asking can resume its retry (no deadlock, every copy answered)', async () => {
    // Two slots, three copies: the first asks and is told to retry in 1 s; its slot goes to the
    // third while it waits. Both copies then wait on its answer; had they held their slots, the
    // retry could never resume and the process would end with nothing pending (exit 13).
    const copies = await makeDir('waiting', 1)
    const image = await readFile(join(copies, 'in-00.png'))
    for (const name of ['b.png', 'c.png']) await writeFile(join(copies, name), image)
    first.pushReply({
      path: '/createTask',
      status: 429,
      text: '<html>429 Too Many Requests</html>',
      headers: { 'retry-after': '1' },
    })
    const r = await runRc2(['solve', 'waiting', '-q', 'cars', '--ndjson', '--concurrency', '2'], {
      cwd: dir,
      env: { HOME: dir, RC2_API_KEY: KEY, RC2_ENDPOINT: first.endpoints.yescaptcha },
      timeoutMs: 45_000,
    })
    expect(r.code, r.stderr).toBe(0)
    const results = lines(r.stdout)
    expect(results).toHaveLength(3)
    expect(results.every((x) => x.ok && x.objects?.join() === '0')).toBe(true)
    expect(first.createCount).toBe(2)
  })
})

describe('two runs on one --output', () => {
  it('the second refuses before sending (exit 2) while the first runs; a stale lock is taken over', async () => {
    await makeDir('locked', 4)
    const out = join(dir, 'locked.ndjson')
    // One at a time, and the service answers nothing until the second run has ended: the first run
    // is still going when the second starts.
    const release = first.hold()
    const env = {
      HOME: dir,
      RC2_API_KEY: KEY,
      RC2_ENDPOINT: first.endpoints.yescaptcha,
    }
    const args = [
      'solve',
      'locked',
      '-q',
      'cars',
      '--ndjson',
      '--concurrency',
      '1',
      '--output',
      out,
      '--resume',
    ]
    const one = runRc2(args, { cwd: dir, env, timeoutMs: 60_000 })
    // The first run holds the lock once it has opened the file (it then waits on the slow service).
    for (let i = 0; i < 200 && first.createCount === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 50))
    const two = await runRc2(args, { cwd: dir, env, timeoutMs: 60_000 })
    release()
    const done = await one
    expect(done.code, done.stderr).toBe(0)
    expect(two.code, two.stderr).toBe(2)
    expect(two.stderr).toMatch(/being written by another rc2 run \(process \d+\)/)
    expect(two.stdout).toBe('')
    // Paid once per input, by the first run only.
    expect(first.paidCount).toBe(4)
    expect(lines(await readFile(out, 'utf8'))).toHaveLength(4)

    // A lock left by a run that was killed (its process is gone) does not stop the next run.
    const gone = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'])
    await writeFile(`${out}.lock`, `${gone.stdout.toString()}\n`)
    const after = await rc2(args)
    expect(after.code, after.stderr).toBe(0)
    expect(after.stderr).toContain('4 already solved (--resume)')
  }, 90_000)
})
