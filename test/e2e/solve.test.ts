import { readFile, writeFile, mkdir, chmod } from 'node:fs/promises'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'
import { hasStackTrace, runInProcess, runRc2, type RunResult, withTempDir } from '../helpers/cli.js'

/**
 * rc2 as a user runs it, against the loopback server that speaks each provider's protocol: in this
 * process (runCli) for answers, flags and messages; the built binary spawned where a real process
 * matters (a piped stdin, --help/--version, usage and partial-batch exit statuses). Every output of
 * every run is checked for the key.
 */

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let dir: string
const outputs: RunResult[] = []

async function rc2(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: Buffer,
  how: 'spawn' | 'in-process' = 'in-process',
): Promise<RunResult> {
  const run = how === 'spawn' ? runRc2 : runInProcess
  const result = await run(args, {
    env: { HOME: dir, RC2_API_KEY: KEY, ...env },
    cwd: dir,
    ...(input !== undefined ? { input } : {}),
  })
  outputs.push(result)
  return result
}

beforeAll(async () => {
  server = await startProviderServer()
  dir = await (
    await import('node:fs/promises')
  ).mkdtemp(join((await import('node:os')).tmpdir(), 'rc2-e2e-solve-'))
  await writeFile(join(dir, 'grid3.png'), await renderRedGrid('3x3', [1, 4, 7, 8]))
  await writeFile(
    join(dir, 'grid4.jpg'),
    await renderRedGrid('4x4', [0, 1, 4, 5], { format: 'jpeg' }),
  )
  await writeFile(join(dir, 'tile-red.png'), await renderRedGrid('1x1', [0]))
  await writeFile(join(dir, 'tile-grey.png'), await renderRedGrid('1x1', []))
  // JPEG bytes under a .png name: sniffed by content.
  await writeFile(
    join(dir, 'jpeg-named.png'),
    await renderRedGrid('3x3', [0, 2, 6], { format: 'jpeg' }),
  )
  await writeFile(join(dir, 'notes.png'), 'this is not an image\n')
  await writeFile(
    join(dir, 'odd.png'),
    await sharp({ create: { width: 512, height: 512, channels: 3, background: '#808080' } })
      .png()
      .toBuffer(),
  )
})

afterAll(async () => {
  await server.close()
  // The key must not appear anywhere a user or a log could see it.
  for (const r of outputs) {
    expect(r.stdout).not.toContain(KEY)
    expect(r.stderr).not.toContain(KEY)
  }
  await (await import('node:fs/promises')).rm(dir, { recursive: true, force: true })
})

beforeEach(() => {
  server.resetCounters()
  server.setReply(undefined)
  server.setZeroBalance(false)
  server.setAsync(0)
})

describe('rc2 solve: answers', () => {
  it('solves a 3x3 payload: top three without --confidence, every match with it', async () => {
    const top = await rc2(['solve', 'grid3.png', '-q', 'car', '--endpoint', server.url, '--json'])
    expect(top.code).toBe(0)
    const a = JSON.parse(top.stdout)
    expect(a).toMatchObject({
      schemaVersion: 1,
      input: 'grid3.png',
      ok: true,
      question: { id: '/m/0k4j', name: 'cars' },
      grid: '3x3',
      size: 300,
      type: 'multi',
      provider: 'yescaptcha',
      points: 6,
    })
    expect(a.objects).toHaveLength(3)
    for (const tile of a.objects) expect([1, 4, 7, 8]).toContain(tile)
    expect(typeof a.elapsedMs).toBe('number')

    const all = JSON.parse(
      (
        await rc2([
          'solve',
          'grid3.png',
          '-q',
          '/m/0k4j',
          '--confidence',
          '0.5',
          '--endpoint',
          server.url,
          '--json',
        ])
      ).stdout,
    )
    expect(all.objects).toEqual([1, 4, 7, 8])
    // Clicks are the centres of the chosen 100x100 cells of the payload.
    expect(all.clicks).toEqual([
      { tile: 1, x: 150, y: 50 },
      { tile: 4, x: 150, y: 150 },
      { tile: 7, x: 150, y: 250 },
      { tile: 8, x: 250, y: 250 },
    ])
    const sent = server.requests.findLast((r) => r.path.endsWith('createTask'))
    expect((sent?.body as { task: { confidence: number } }).task.confidence).toBe(0.5)
  })

  it('solves a 4x4 payload with 112.5 px cells', async () => {
    const r = await rc2([
      'solve',
      'grid4.jpg',
      '-q',
      'Select all squares with vehicles',
      '--endpoint',
      server.url,
      '--json',
    ])
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({
      grid: '4x4',
      size: 450,
      objects: [0, 1, 4, 5],
      question: { id: '/m/0k4j' },
    })
    expect(out.clicks[1]).toEqual({ tile: 1, x: 169, y: 56 })
  })

  it('answers a 1x1 tile with hasObject', async () => {
    const yes = JSON.parse(
      (
        await rc2([
          'solve',
          'tile-red.png',
          '-q',
          'fire hydrant',
          '--endpoint',
          server.url,
          '--json',
        ])
      ).stdout,
    )
    expect(yes).toMatchObject({
      grid: '1x1',
      size: 100,
      type: 'single',
      hasObject: true,
      points: 2,
      clicks: [{ tile: 0, x: 50, y: 50 }],
    })
    const no = JSON.parse(
      (
        await rc2([
          'solve',
          'tile-grey.png',
          '-q',
          'fire hydrant',
          '--endpoint',
          server.url,
          '--json',
        ])
      ).stdout,
    )
    expect(no).toMatchObject({ type: 'single', hasObject: false, clicks: [] })
  })

  it('reads the image from standard input', async () => {
    const bytes = await readFile(join(dir, 'grid3.png'))
    const r = await rc2(
      ['solve', '-', '-q', 'cars', '--confidence', '0.5', '--endpoint', server.url, '--json'],
      {},
      bytes,
      'spawn',
    )
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ input: '-', objects: [1, 4, 7, 8] })
  })

  it('sniffs a JPEG named .png and sends it', async () => {
    const r = await rc2([
      'solve',
      'jpeg-named.png',
      '-q',
      'cars',
      '--confidence',
      '0.5',
      '--endpoint',
      server.url,
      '--json',
    ])
    expect(JSON.parse(r.stdout).objects).toEqual([0, 2, 6])
  })

  it('polls when the answer is not in the first reply', async () => {
    server.setAsync(2)
    const r = await rc2(
      [
        'solve',
        'grid3.png',
        '-q',
        'cars',
        '--confidence',
        '0.5',
        '--endpoint',
        server.url,
        '--json',
      ],
      { RC2_POLL_MS: undefined },
    )
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout).objects).toEqual([1, 4, 7, 8])
    expect(server.pollCount).toBeGreaterThanOrEqual(2)
  }, 30_000)

  it('speaks Ace Data Cloud and CapSolver too', async () => {
    const ace = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '-p',
      'acedata',
      '--endpoint',
      server.endpoints.acedata,
      '--json',
    ])
    expect(ace.code).toBe(0)
    const a = JSON.parse(ace.stdout)
    expect(a.provider).toBe('acedata')
    expect(a.objects).toEqual([1, 4, 7, 8])
    expect(a.confidences).toHaveLength(9)
    expect(server.requests.at(-1)?.key).toBe(KEY)

    const cap = await rc2(
      ['solve', 'grid4.jpg', '-q', 'cars', '--endpoint', server.endpoints.capsolver, '--json'],
      { RC2_PROVIDER: 'capsolver' },
    )
    expect(cap.code).toBe(0)
    expect(JSON.parse(cap.stdout)).toMatchObject({ provider: 'capsolver', objects: [0, 1, 4, 5] })
  })

  it('draws the grid in the table format with a summary line', async () => {
    const r = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '--confidence',
      '0.5',
      '--endpoint',
      server.url,
    ])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('██ 1██')
    expect(r.stdout).toContain('██ 8██')
    expect(r.stdout).not.toContain('██ 0██')
    expect(r.stdout).toMatch(
      /click 1, 4, 7, 8 · cars \(\/m\/0k4j\) · 3x3 · yescaptcha · 6 points · \d+ ms/,
    )
    expect(r.stderr).toBe('')
  })

  it('writes an annotated picture with --annotate', async () => {
    const out = join(dir, 'marked.png')
    const r = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '--confidence',
      '0.5',
      '--endpoint',
      server.url,
      '--json',
      '--annotate',
      out,
    ])
    expect(JSON.parse(r.stdout).annotated).toBe(out)
    const meta = await sharp(out).metadata()
    expect([meta.width, meta.height, meta.format]).toEqual([300, 300, 'png'])
  })
})

describe('rc2 solve: --dry-run sends nothing', () => {
  it('prints the request with the key redacted and the image summarised', async () => {
    const r = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'Select all images with cars',
      '--endpoint',
      server.url,
      '--dry-run',
      '--json',
      '--confidence',
      '0.7',
    ])
    expect(r.code).toBe(0)
    expect(server.createCount).toBe(0)
    expect(server.requests).toHaveLength(0)
    const out = JSON.parse(r.stdout)
    expect(out).toMatchObject({
      dryRun: true,
      grid: '3x3',
      size: 300,
      request: {
        method: 'POST',
        url: `${server.url}/createTask`,
        body: {
          clientKey: '***',
          task: { type: 'ReCaptchaV2Classification', question: '/m/0k4j', confidence: 0.7 },
        },
      },
    })
    // Both sizes: the JPEG's bytes (as image.bytes says) and the base64 text sent for them.
    const summary = /^<jpeg 300x300: (\d+) bytes, (\d+) characters of base64>$/.exec(
      out.request.body.task.image,
    )
    expect(summary).not.toBeNull()
    expect(Number(summary?.[1])).toBe(out.image.bytes)
    expect(Number(summary?.[2])).toBe(4 * Math.ceil(out.image.bytes / 3))
  })

  it('needs no key', async () => {
    const r = await rc2(['solve', 'grid3.png', '-q', 'cars', '--dry-run', '-p', 'acedata'], {
      RC2_API_KEY: undefined,
    })
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('authorization: Bearer ***')
    expect(r.stdout).toContain('https://api.acedata.cloud/captcha/recognition/recaptcha2')
  })
})

describe('rc2 solve: exit codes and messages', () => {
  const clean = (r: RunResult): void => {
    expect(hasStackTrace(r.stderr)).toBe(false)
    expect(hasStackTrace(r.stdout)).toBe(false)
  }

  it('2: an unknown flag, a bad value, an unknown question (with suggestions, nothing sent)', async () => {
    const flag = await rc2(['solve', 'grid3.png', '-q', 'cars', '--bogus'], {}, undefined, 'spawn')
    expect(flag.code).toBe(2)
    expect(flag.stderr).toMatch(/unknown option '--bogus'/)
    const value = await rc2(['solve', 'grid3.png', '-q', 'cars', '--confidence', '2'])
    expect(value.code).toBe(2)
    expect(value.stderr).toMatch(/--confidence/)
    const question = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'fire hydrnts',
      '--endpoint',
      server.url,
    ])
    expect(question.code).toBe(2)
    expect(question.stderr).toMatch(/\/m\/01pns0/)
    expect(server.createCount).toBe(0)
    expect(question.stdout).toBe('')
    for (const r of [flag, value, question]) clean(r)
  })

  it('3: no key, with where to put it; a key the service refuses', async () => {
    const none = await rc2(['solve', 'grid3.png', '-q', 'cars', '--endpoint', server.url], {
      RC2_API_KEY: undefined,
    })
    expect(none.code).toBe(3)
    expect(none.stderr).toMatch(/no API key for yescaptcha/)
    expect(none.stderr).toMatch(/RC2_API_KEY/)
    const wrong = await rc2(
      ['solve', 'grid3.png', '-q', 'cars', '--endpoint', server.url, '--json'],
      { RC2_API_KEY: 'wrong-key-123456' },
    )
    expect(wrong.code).toBe(3)
    expect(JSON.parse(wrong.stdout).error).toMatchObject({
      kind: 'auth',
      code: 'ERROR_KEY_DOES_NOT_EXIST',
    })
    expect(wrong.stderr).not.toContain('wrong-key-123456')
    for (const r of [none, wrong]) clean(r)
  })

  it('3: a config file with a bad value names the key path', async () => {
    await withTempDir(async (cwd) => {
      await writeFile(
        join(cwd, '.recaptcharc.json'),
        JSON.stringify({ providers: { yescaptcha: { endpoint: 'not a url' } } }),
      )
      const r = await runInProcess(['solve', join(dir, 'grid3.png'), '-q', 'cars'], {
        cwd,
        env: { HOME: cwd, RC2_API_KEY: KEY },
      })
      expect(r.code).toBe(3)
      expect(r.stderr).toMatch(/providers\.yescaptcha\.endpoint/)
      clean(r)
    })
  })

  it('4: not an image, missing file, non-standard size without --grid', async () => {
    const text = await rc2(['solve', 'notes.png', '-q', 'cars', '--endpoint', server.url])
    expect(text.code).toBe(4)
    expect(text.stderr).toMatch(/notes\.png/)
    const missing = await rc2(['solve', 'nope.png', '-q', 'cars', '--endpoint', server.url])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toMatch(/nope\.png/)
    const odd = await rc2(['solve', 'odd.png', '-q', 'cars', '--endpoint', server.url])
    expect(odd.code).toBe(4)
    expect(odd.stderr).toMatch(/--grid/)
    expect(server.createCount).toBe(0)
    const scaled = await rc2([
      'solve',
      'odd.png',
      '-q',
      'cars',
      '--grid',
      '3x3',
      '--endpoint',
      server.url,
      '--json',
    ])
    expect(scaled.code).toBe(0)
    expect(JSON.parse(scaled.stdout)).toMatchObject({ grid: '3x3', size: 300 })
    for (const r of [text, missing, odd]) clean(r)
  })

  it('5: zero balance, a malformed reply, an out-of-range tile, a closed port', async () => {
    server.setZeroBalance(true)
    const broke = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '--endpoint',
      server.url,
      '--json',
    ])
    expect(broke.code).toBe(5)
    expect(JSON.parse(broke.stdout).error).toMatchObject({
      kind: 'balance',
      code: 'ERROR_ZERO_BALANCE',
    })
    expect(broke.stderr).toMatch(/top up/i)
    server.setZeroBalance(false)

    server.setReply({ path: /createTask/, status: 200, text: '{"errorId":0,"solution":' })
    const malformed = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '--endpoint',
      server.url,
      '--retries',
      '0',
    ])
    expect(malformed.code).toBe(5)
    server.setReply({
      path: /createTask/,
      status: 200,
      json: {
        errorId: 0,
        status: 'ready',
        taskId: 't1',
        solution: { type: 'multi', objects: [1, 11] },
      },
    })
    const outside = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '--endpoint',
      server.url,
      '--json',
    ])
    expect(outside.code).toBe(5)
    expect(JSON.parse(outside.stdout).error.message).toMatch(/objects/)
    server.setReply(undefined)

    const closed = await rc2([
      'solve',
      'grid3.png',
      '-q',
      'cars',
      '--endpoint',
      'http://127.0.0.1:9',
      '--retries',
      '0',
      '--json',
    ])
    expect(closed.code).toBe(5)
    expect(JSON.parse(closed.stdout).error.kind).toBe('network')
    for (const r of [broke, malformed, outside, closed]) clean(r)
  })

  it('6: a batch where some inputs fail; the rest are still solved', async () => {
    const r = await rc2(
      [
        'solve',
        'grid3.png',
        'notes.png',
        'tile-red.png',
        '-q',
        'cars',
        '--endpoint',
        server.url,
        '--ndjson',
      ],
      {},
      undefined,
      'spawn',
    )
    expect(r.code).toBe(6)
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toHaveLength(3)
    expect(lines.filter((l) => l.ok)).toHaveLength(2)
    expect(lines.find((l) => !l.ok)).toMatchObject({ input: 'notes.png', error: { kind: 'input' } })
    expect(r.stderr).toMatch(/2\/3 solved/)
  })

  it('refuses plain http to a non-loopback host', async () => {
    const r = await rc2(['solve', 'grid3.png', '-q', 'cars', '--endpoint', 'http://example.com'])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/--allow-insecure/)
  })

  it('--help and --version print to stdout and exit 0', async () => {
    const help = await rc2(['solve', '--help'], {}, undefined, 'spawn')
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/Examples:/)
    expect(help.stderr).toBe('')
    const version = await rc2(['--version'], {}, undefined, 'spawn')
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
  })

  it('--verbose logs each request with the key redacted', async () => {
    const r = await rc2(
      ['solve', 'grid3.png', '-q', 'cars', '--endpoint', server.url, '--verbose'],
      { RC2_API_KEY: KEY },
    )
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/POST http:\/\/127\.0\.0\.1:\d+\/createTask -> 200/)
  })

  it('warns about a key file readable by others, without showing the key', async () => {
    await withTempDir(async (cwd) => {
      const file = join(cwd, '.recaptcharc')
      await writeFile(file, `providers:\n  yescaptcha:\n    apiKey: ${KEY}\n`)
      await chmod(file, 0o644)
      await mkdir(join(cwd, 'x'))
      const r = await runInProcess(
        ['solve', join(dir, 'grid3.png'), '-q', 'cars', '--endpoint', server.url],
        { cwd, env: { HOME: cwd } },
      )
      outputs.push(r)
      expect(r.code).toBe(0)
      expect(r.stderr).toMatch(/readable by other users/)
    })
  })
})
