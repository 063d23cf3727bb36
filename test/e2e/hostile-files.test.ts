/**
 * Hostile text and files, in process through runCli: a service whose errors carry escape
 * sequences, file names that do, output paths planted with symlinks or naming the input, broken
 * config files holding a key, a project file that tries to send the key elsewhere.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import { FIXTURES } from '../helpers/cli.js'
import { json, startHostileServer, type HostileServer } from '../helpers/hostile-server.js'
import { DEFAULT_TEST_KEY } from '../helpers/provider-server.js'

/** What a hostile user plants: a file holding 'precious' at `victim`, and a symbolic link to it at `at`. */
async function plantLink(victim: string, at: string): Promise<string> {
  await writeFile(victim, 'precious')
  await symlink(victim, at)
  return victim
}

const KEY = DEFAULT_TEST_KEY
const PAYLOAD = join(FIXTURES, 'payload-3x3.png')
const ANSWER = {
  errorId: 0,
  status: 'ready',
  taskId: 'task-1',
  solution: { type: 'multi', objects: [0, 4] },
}
/** Clear screen, retitle the window, then a fake line of success after a carriage return. */
const ESCAPES = '\u001b[2J\u001b]0;owned\u0007\r\nrc2: ok: all solved'

let root: string
let hostile: HostileServer
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-hostile-files-'))
  hostile = await startHostileServer(json(200, ANSWER))
})
afterAll(async () => {
  await hostile.close()
  await rm(root, { recursive: true, force: true })
})
beforeEach(() => {
  hostile.requests.length = 0
  hostile.setHandler(json(200, ANSWER))
})

async function rc2(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runInProcess(args, {
    env: { HOME: root, RC2_API_KEY: KEY, ...options.env },
    cwd: options.cwd ?? root,
  })
}

// eslint-disable-next-line no-control-regex -- what must never reach the terminal raw
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

describe('a service or a file name cannot drive the terminal', () => {
  it("a service's errorDescription with ESC, OSC and CR\\LF is shown escaped, on one line", async () => {
    hostile.setHandler(
      json(200, { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: ESCAPES }),
    )
    const run = await rc2([
      'solve',
      PAYLOAD,
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--retries',
      '0',
    ])
    expect(run.code).toBe(5)
    expect(run.stderr).not.toMatch(RAW_CONTROL)
    expect(run.stderr).toContain(
      '\\u001b[2J\\u001b]0;owned\\u0007\\u000d\\u000arc2: ok: all solved',
    )
    expect(run.stderr.split('\n').some((line) => line.startsWith('rc2: ok'))).toBe(false)
  })

  it('the same error in --ndjson stays JSON: parsed back, the message is what the service said', async () => {
    hostile.setHandler(
      json(200, { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: ESCAPES }),
    )
    const run = await rc2([
      'solve',
      PAYLOAD,
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--retries',
      '0',
      '--ndjson',
    ])
    expect(run.stdout).not.toMatch(RAW_CONTROL)
    expect(run.stderr).not.toMatch(RAW_CONTROL)
    const line = JSON.parse(run.stdout) as { error: { message: string } }
    expect(line.error.message).toContain(ESCAPES)
  })

  it('file names with escape sequences are escaped in the table, in csv, and in errors', async () => {
    const dir = join(root, 'names')
    await mkdir(dir, { recursive: true })
    await copyFile(PAYLOAD, join(dir, 'a\u001b]0;title\u0007.png'))
    await writeFile(join(dir, 'b\u001b[2J\r.png'), 'not an image')
    for (const format of ['table', 'csv']) {
      const run = await rc2([
        'solve',
        dir,
        '-q',
        'car',
        '--endpoint',
        hostile.url,
        '--format',
        format,
      ])
      expect(run.code).toBe(6)
      expect(run.stdout + run.stderr).not.toMatch(RAW_CONTROL)
      expect(run.stdout + run.stderr).toContain('a\\u001b]0;title\\u0007.png')
      expect(run.stderr).toContain('b\\u001b[2J\\u000d.png')
    }
  })
})

describe('writes never clobber an input or go through a link', () => {
  it('--annotate naming the input is refused before anything is sent; the input is untouched', async () => {
    const input = join(root, 'self.png')
    await copyFile(PAYLOAD, input)
    const before = await readFile(input)
    for (const annotate of [
      input,
      join(root, '.', 'self.png'),
      join(root, 'sub', '..', 'self.png'),
    ]) {
      const run = await rc2([
        'solve',
        'self.png',
        '-q',
        'car',
        '--endpoint',
        hostile.url,
        '--annotate',
        annotate,
      ])
      expect(run.code).toBe(2)
      expect(run.stderr).toContain('rc2 never writes over an input')
    }
    expect(hostile.requests).toHaveLength(0)
    expect((await readFile(input)).equals(before)).toBe(true)
  })

  it('a hard link to the input as --annotate is refused too', async () => {
    const { link } = await import('node:fs/promises')
    const input = join(root, 'linked.png')
    await copyFile(PAYLOAD, input)
    await link(input, join(root, 'linked-alias.png'))
    const run = await rc2([
      'solve',
      'linked.png',
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--annotate',
      join(root, 'linked-alias.png'),
    ])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('is the input linked.png itself')
    expect(hostile.requests).toHaveLength(0)
  })

  it('a symlink planted at the --annotate name is refused before sending; its target is untouched', async () => {
    const victim = await plantLink(join(root, 'victim.txt'), join(root, 'planted.png'))
    const run = await rc2([
      'solve',
      PAYLOAD,
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--annotate',
      join(root, 'planted.png'),
    ])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('symbolic link')
    expect(hostile.requests).toHaveLength(0)
    expect(await readFile(victim, 'utf8')).toBe('precious')
  })

  it('an annotate directory holding a link at one output name: that input is refused, the others are written', async () => {
    const { lstat } = await import('node:fs/promises')
    const inputs = join(root, 'batch-in')
    const annotated = join(root, 'batch-annotated')
    await mkdir(inputs, { recursive: true })
    await mkdir(annotated, { recursive: true })
    await copyFile(PAYLOAD, join(inputs, 'a.png'))
    await copyFile(PAYLOAD, join(inputs, 'b.png'))
    const victim = await plantLink(join(root, 'victim2.txt'), join(annotated, 'a.annotated.png'))
    const run = await rc2([
      'solve',
      'batch-in',
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--annotate',
      annotated,
      '--ndjson',
    ])
    expect(run.code).toBe(6)
    const results = run.stdout
      .trim()
      .split('\n')
      .map(
        (line) =>
          JSON.parse(line) as {
            input: string
            ok: boolean
            error?: { kind: string; message: string }
          },
      )
    const a = results.find((r) => r.input.endsWith('a.png'))
    expect(a).toMatchObject({ ok: false, error: { kind: 'usage' } })
    expect(a?.error?.message).toContain('symbolic link')
    expect(results.find((r) => r.input.endsWith('b.png'))).toMatchObject({ ok: true })
    expect(hostile.requests).toHaveLength(1)
    expect(await readFile(victim, 'utf8')).toBe('precious')
    expect((await lstat(join(annotated, 'b.annotated.png'))).isFile()).toBe(true)
  })

  it('a link at the --annotate name planted after the check is replaced, never written through', async () => {
    const { writeFileNoFollow } = await import('../../src/image/write.js')
    const { lstat } = await import('node:fs/promises')
    const at = join(root, 'late-link.png')
    const victim = await plantLink(join(root, 'victim3.txt'), at)
    await expect(writeFileNoFollow(at, Buffer.from('png'))).rejects.toMatchObject({ code: 'ELOOP' })
    expect(await readFile(victim, 'utf8')).toBe('precious')
    expect((await lstat(at)).isSymbolicLink()).toBe(true)
  })

  it('--output at a planted link is refused (exit 2), the target untouched; --output naming an input is refused (exit 2)', async () => {
    const victim = await plantLink(join(root, 'victim4.txt'), join(root, 'results-link.ndjson'))
    const linked = await rc2([
      'solve',
      PAYLOAD,
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--output',
      join(root, 'results-link.ndjson'),
    ])
    expect(linked.code).toBe(2)
    expect(linked.stderr).toContain('symbolic link')
    expect(await readFile(victim, 'utf8')).toBe('precious')
    const self = join(root, 'out-self.png')
    await copyFile(PAYLOAD, self)
    const over = await rc2([
      'solve',
      'out-self.png',
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--output',
      self,
    ])
    expect(over.code).toBe(2)
    expect(over.stderr).toContain('one of the inputs')
    expect(hostile.requests).toHaveLength(0)
  })

  it('resize -o naming the input, or a planted link, is refused', async () => {
    const dir = await mkdtemp(join(root, 'resize-'))
    const input = join(dir, 'shot.png')
    await copyFile(PAYLOAD, input)
    const before = await readFile(input)
    const self = await rc2(['resize', input, '-o', input])
    expect(self.code).toBe(2)
    expect(self.stderr).toContain('never writes over an input')
    expect((await readFile(input)).equals(before)).toBe(true)
    const victim = await plantLink(join(dir, 'victim.txt'), join(dir, 'out.jpg'))
    const linked = await rc2(['resize', input, '-o', join(dir, 'out.jpg')])
    expect(linked.code).toBe(2)
    expect(linked.stderr).toContain('symbolic link')
    expect(await readFile(victim, 'utf8')).toBe('precious')
  })
})

describe('the key through config handling', () => {
  const SECRET = 'sk-live-SECRET-9f8e7d6c5b4a'

  it('a malformed JSON or YAML config holding a key never prints it, even with --verbose', async () => {
    const cases: [string, string][] = [
      [
        '.recaptcharc.json',
        `{\n  "providers": { "yescaptcha": { "apiKey": "${SECRET}" } },\n  oops\n}\n`,
      ],
      ['.recaptcharc.json', `{"providers": {"yescaptcha": {"apiKey": "${SECRET}" x}}}`],
      ['.recaptcharc', `providers:\n  yescaptcha:\n    apiKey: ${SECRET}\n   endpoint: [broken\n`],
      ['.recaptcharc.yaml', `providers:\n  yescaptcha: {apiKey: "${SECRET}", endpoint: }}\n`],
    ]
    for (const [name, text] of cases) {
      const dir = await mkdtemp(join(root, 'badconfig-'))
      await writeFile(join(dir, name), text, { mode: 0o600 })
      const run = await rc2(
        ['--verbose', 'solve', PAYLOAD, '-q', 'car', '--endpoint', hostile.url],
        { cwd: dir, env: { RC2_API_KEY: '' } },
      )
      expect(run.code).toBe(3)
      expect(run.stderr).toContain(name)
      expect(run.stderr).not.toContain(SECRET)
      expect(run.stderr).not.toContain('SECRET')
    }
    expect(hostile.requests).toHaveLength(0)
  })

  describe('allowInsecure from a project file', () => {
    let offLoopback: HostileServer
    beforeAll(async () => {
      // 127.0.0.1 written as an IPv4-mapped IPv6 address: still loopback underneath, but not a name
      // rc2 counts as loopback, so it stands for another host while nothing listens beyond this machine.
      offLoopback = await startHostileServer(json(200, ANSWER), '[::ffff:7f00:1]')
    })
    afterAll(async () => {
      await offLoopback.close()
    })
    beforeEach(() => {
      offLoopback.requests.length = 0
    })

    async function project(): Promise<string> {
      const dir = await mkdtemp(join(root, 'project-'))
      // The file's own key: an endpoint a project file sets never gets a key from elsewhere.
      const recaptcha = {
        allowInsecure: true,
        providers: { yescaptcha: { apiKey: KEY, endpoint: offLoopback.url } },
      }
      await writeFile(
        join(dir, 'package.json'),
        JSON.stringify({ name: 'some-project', recaptcha }),
      )
      return dir
    }

    it('package.json#recaptcha cannot send its key over plain http to another host; the error names the file', async () => {
      const dir = await project()
      const run = await rc2(['solve', PAYLOAD, '-q', 'car'], { cwd: dir, env: { RC2_API_KEY: '' } })
      expect(run.code).toBe(3)
      expect(run.stderr).toContain(
        `set by providers.yescaptcha.endpoint in ${join(dir, 'package.json')}`,
      )
      expect(run.stderr).toContain('allowInsecure in')
      expect(run.stderr).toContain('is not honoured')
      expect(run.stderr).not.toContain(KEY)
      expect(offLoopback.requests).toHaveLength(0)
    })

    it('--allow-insecure on the command line allows it', async () => {
      const dir = await project()
      const run = await rc2(['solve', PAYLOAD, '-q', 'car', '--allow-insecure', '--json'], {
        cwd: dir,
        env: { RC2_API_KEY: '' },
      })
      expect(run.code).toBe(0)
      expect(offLoopback.requests).toHaveLength(1)
    })

    it("allowInsecure in the user's own config (--config) is honoured", async () => {
      const dir = await mkdtemp(join(root, 'own-'))
      const own = join(dir, 'mine.json')
      await writeFile(
        own,
        JSON.stringify({
          allowInsecure: true,
          providers: { yescaptcha: { endpoint: offLoopback.url } },
        }),
      )
      const run = await rc2(['--config', own, 'solve', PAYLOAD, '-q', 'car', '--json'], {
        cwd: dir,
      })
      expect(run.code).toBe(0)
      expect(offLoopback.requests).toHaveLength(1)
    })
  })

  it('a key echoed back as the taskId is masked on stdout and in the --output file', async () => {
    hostile.setHandler(json(200, { ...ANSWER, taskId: KEY }))
    const out = join(root, 'echo.ndjson')
    const run = await rc2([
      'solve',
      PAYLOAD,
      '-q',
      'car',
      '--endpoint',
      hostile.url,
      '--ndjson',
      '--output',
      out,
    ])
    expect(run.code).toBe(0)
    const file = await readFile(out, 'utf8')
    for (const text of [run.stdout, run.stderr, file]) expect(text).not.toContain(KEY)
    expect(JSON.parse(file)).toMatchObject({ ok: true, taskId: '***' })
  })
})

describe('smaller edges', () => {
  it('a file named -dash.jpg works after --; without it, the error says how', async () => {
    const dir = await mkdtemp(join(root, 'dash-'))
    await copyFile(PAYLOAD, join(dir, '-dash.jpg'))
    const ok = await rc2(
      ['solve', '-q', 'car', '--endpoint', hostile.url, '--json', '--', '-dash.jpg'],
      { cwd: dir },
    )
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.stdout)).toMatchObject({ input: '-dash.jpg', ok: true, objects: [0, 4] })
    const refused = await rc2(['solve', '-q', 'car', '--endpoint', hostile.url, '-dash.jpg'], {
      cwd: dir,
    })
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain("unknown option '-dash.jpg'")
    expect(refused.stderr).toContain('put it after --')
    expect(hostile.requests).toHaveLength(1)
  })

  it('an animated WebP: the first frame is sent and the warning is in the JSON and on stderr', async () => {
    const sharp = (await import('sharp')).default
    const frame = (r: number, b: number) =>
      sharp({ create: { width: 300, height: 300, channels: 3, background: { r, g: 20, b } } })
        .png()
        .toBuffer()
    const file = join(root, 'anim.webp')
    await writeFile(
      file,
      await sharp([await frame(230, 20), await frame(20, 230)], { join: { animated: true } })
        .webp({ loop: 0, lossless: true })
        .toBuffer(),
    )
    const json = await rc2(['solve', file, '-q', 'car', '--endpoint', hostile.url, '--json'])
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      warnings: [`${file} is animated (2 frames): only the first frame is used`],
    })
    const table = await rc2(['solve', file, '-q', 'car', '--endpoint', hostile.url])
    expect(table.stderr).toContain('is animated (2 frames): only the first frame is used')
  })

  it('a fully transparent PNG is refused with exit 4 before anything is sent', async () => {
    const sharp = (await import('sharp')).default
    const file = join(root, 'clear.png')
    await writeFile(
      file,
      await sharp({
        create: {
          width: 300,
          height: 300,
          channels: 4,
          background: { r: 0, g: 0, b: 0, alpha: 0 },
        },
      })
        .png()
        .toBuffer(),
    )
    const run = await rc2(['solve', file, '-q', 'car', '--endpoint', hostile.url])
    expect(run.code).toBe(4)
    expect(run.stderr).toContain('is fully transparent')
    expect(hostile.requests).toHaveLength(0)
  })
})
