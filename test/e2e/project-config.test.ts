/**
 * What a folder the user did not make can do through a config file, tried as an attacker who can
 * only leave files there: a JavaScript config with a side effect, an endpoint that would receive
 * the user's key (a second loopback host that must receive nothing), a project file that loosens
 * the user's limits, a config that is a FIFO or a link to /dev/zero, a key that cannot be sent.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { FIXTURES, hasStackTrace, runInProcess, runRc2 } from '../helpers/cli.js'
import { distinctCopy } from '../helpers/distinct-images.js'
import {
  DEFAULT_TEST_KEY,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const KEY = DEFAULT_TEST_KEY
const PROJECT_KEY = 'project-own-key-5d1e'
const PAYLOAD = join(FIXTURES, 'payload-3x3.png')

let root: string
/** The service the user means to use. */
let good: ProviderServer
/** Another host, named by a planted file: it must never receive the user's key. */
let evil: ProviderServer
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-project-config-'))
  good = await startProviderServer()
  evil = await startProviderServer({ host: '127.0.0.2', keys: [KEY, PROJECT_KEY] })
})
afterAll(async () => {
  await Promise.all([good.close(), evil.close()])
  await rm(root, { recursive: true, force: true })
})
beforeEach(() => {
  good.resetCounters()
  evil.resetCounters()
})

let counter = 0
/** A fresh folder holding `files` (and the user's home next to it, empty unless filled). */
async function folder(files: Record<string, string> = {}): Promise<{ dir: string; home: string }> {
  counter += 1
  const dir = join(root, `project-${counter}`)
  const home = join(root, `home-${counter}`)
  await mkdir(dir, { recursive: true })
  await mkdir(home, { recursive: true })
  for (const [name, text] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true })
    await writeFile(join(dir, name), text, { mode: 0o600 })
  }
  return { dir, home }
}

async function userConfig(home: string, content: unknown, name = 'config.json'): Promise<string> {
  await mkdir(join(home, '.config', 'rc2'), { recursive: true })
  const path = join(home, '.config', 'rc2', name)
  await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content), {
    mode: 0o600,
  })
  return path
}

function rc2(
  args: string[],
  where: { dir: string; home: string },
  env: Record<string, string | undefined> = { RC2_API_KEY: KEY },
): ReturnType<typeof runInProcess> {
  return runInProcess(args, { cwd: where.dir, env: { HOME: where.home, ...env } })
}

describe('a JavaScript config found in the current directory is not run', () => {
  /** A config that, when run, leaves a marker holding the key it could read. */
  function planted(name: string, marker: string): string {
    const effect = `writeFileSync(${JSON.stringify(marker)}, String(process.env.RC2_API_KEY))`
    return name.endsWith('.mjs')
      ? `import { writeFileSync } from 'node:fs'\n${effect}\nexport default { retries: 1 }\n`
      : `const { writeFileSync } = require('node:fs')\n${effect}\nmodule.exports = { retries: 1 }\n`
  }

  const NAMES = [
    'rc2.config.js',
    'rc2.config.mjs',
    'rc2.config.cjs',
    'recaptcha.config.js',
    'recaptcha.config.mjs',
    'recaptcha.config.cjs',
    '.recaptcharc.js',
    '.recaptcharc.cjs',
  ]

  it.each(NAMES)(
    '%s: not run by solve --dry-run, resize or balance; said once, with how to use it',
    async (name) => {
      const marker = join(root, `ran-${name}`)
      const where = await folder({ [name]: planted(name, marker) })
      const runs = [
        await rc2(['solve', PAYLOAD, '-q', 'car', '--dry-run', '--json'], where),
        await rc2(['resize', PAYLOAD, '-o', join(where.dir, 'out.jpg')], where),
        await rc2(['balance', '--endpoint', good.url], where),
      ]
      for (const run of runs) {
        expect(run.code, run.stderr).toBe(0)
        const path = join(where.dir, name)
        expect(run.stderr.split(`ignored ${path}`)).toHaveLength(2)
        expect(run.stderr).toContain(`pass --config ${path} (or set RC2_CONFIG)`)
        expect(run.stderr).not.toContain(KEY)
      }
      expect(existsSync(marker)).toBe(false)
    },
  )

  it("cosmiconfig's own meta config (.config/config.js) is not run either", async () => {
    const marker = join(root, 'ran-meta')
    const where = await folder({ '.config/config.js': planted('config.js', marker) })
    const run = await rc2(['solve', PAYLOAD, '-q', 'car', '--dry-run', '--json'], where)
    expect(run.code, run.stderr).toBe(0)
    // cosmiconfig imported it without waiting: give such an import time to run.
    await new Promise((resolve) => setTimeout(resolve, 500))
    expect(existsSync(marker)).toBe(false)
  })

  it('runs when named with --config or RC2_CONFIG, or when it sits in the user config directory', async () => {
    const named = join(root, 'ran-named')
    const a = await folder({ 'rc2.config.js': planted('rc2.config.js', named) })
    const run = await rc2(['--config', 'rc2.config.js', 'balance', '--endpoint', good.url], a)
    expect(run.code, run.stderr).toBe(0)
    expect(run.stderr).not.toContain('ignored')
    expect(existsSync(named)).toBe(true)

    const byEnv = join(root, 'ran-env')
    const b = await folder({ 'mine.cjs': planted('mine.cjs', byEnv) })
    const viaEnv = await rc2(['balance', '--endpoint', good.url], b, {
      RC2_API_KEY: KEY,
      RC2_CONFIG: 'mine.cjs',
    })
    expect(viaEnv.code, viaEnv.stderr).toBe(0)
    expect(existsSync(byEnv)).toBe(true)

    const own = join(root, 'ran-own')
    const c = await folder()
    const xdg = join(c.home, 'xdg')
    await mkdir(join(xdg, 'rc2'), { recursive: true })
    await writeFile(join(xdg, 'rc2', 'config.js'), planted('config.js', own))
    const mine = await rc2(['balance', '--endpoint', good.url], c, {
      RC2_API_KEY: KEY,
      XDG_CONFIG_HOME: xdg,
    })
    expect(mine.code, mine.stderr).toBe(0)
    expect(existsSync(own)).toBe(true)
  })
})

describe("an endpoint set by a project file gets only that file's own key", () => {
  const refused = async (
    run: Awaited<ReturnType<typeof runInProcess>>,
    file: string,
  ): Promise<void> => {
    expect(run.code, run.stderr).toBe(3)
    expect(run.stderr).toContain(`providers.yescaptcha.endpoint in ${file}`)
    expect(run.stderr).toContain('--endpoint')
    expect(run.stderr).toContain('RC2_YESCAPTCHA_ENDPOINT')
    expect(run.stderr).toContain('your own ~/.config/rc2/config.json')
    expect(run.stderr).not.toContain(KEY)
    expect(hasStackTrace(run.stderr)).toBe(false)
  }
  const plant = (): Promise<{ dir: string; home: string }> =>
    folder({ '.recaptcharc': `providers:\n  yescaptcha:\n    endpoint: ${evil.url}\n` })

  it('a key from RC2_API_KEY, RC2_YESCAPTCHA_API_KEY, --key or the user config: exit 3, nothing sent', async () => {
    const where = await plant()
    const file = join(where.dir, '.recaptcharc')
    const solve = ['solve', PAYLOAD, '-q', 'car']
    await refused(await rc2(solve, where), file)
    await refused(await rc2(solve, where, { RC2_YESCAPTCHA_API_KEY: KEY }), file)
    await refused(await rc2([...solve, '--key', KEY], where, {}), file)
    await refused(await rc2(['balance'], where), file)
    await userConfig(where.home, { providers: { yescaptcha: { apiKey: KEY } } })
    await refused(await rc2(solve, where, {}), file)

    const pkg = await folder({
      'package.json': JSON.stringify({
        name: 'x',
        recaptcha: { providers: { yescaptcha: { endpoint: evil.url } } },
      }),
    })
    await refused(await rc2(solve, pkg), join(pkg.dir, 'package.json'))
    expect(evil.requests).toHaveLength(0)
    expect(good.requests).toHaveLength(0)
  })

  it('the user allows it with --endpoint, RC2_YESCAPTCHA_ENDPOINT or their own config', async () => {
    const where = await plant()
    const solve = ['solve', PAYLOAD, '-q', 'car', '--json']
    expect((await rc2([...solve, '--endpoint', good.url], where)).code).toBe(0)
    const env = { RC2_API_KEY: KEY, RC2_YESCAPTCHA_ENDPOINT: good.url }
    expect((await rc2(solve, where, env)).code).toBe(0)
    expect(good.createCount).toBe(2)
    expect(evil.requests).toHaveLength(0)

    const trusted = await folder()
    await userConfig(trusted.home, { providers: { yescaptcha: { endpoint: evil.url } } })
    expect((await rc2(solve, trusted)).code).toBe(0)
    expect(evil.createCount).toBe(1)
  })

  it('a project file with its own key and endpoint works (its key goes to its endpoint)', async () => {
    const where = await folder({
      '.recaptcharc': `providers:\n  yescaptcha:\n    apiKey: ${PROJECT_KEY}\n    endpoint: ${evil.url}\n`,
    })
    const run = await rc2(['solve', PAYLOAD, '-q', 'car', '--json'], where, {})
    expect(run.code, run.stderr).toBe(0)
    expect(evil.requests.map((r) => r.key)).toEqual([PROJECT_KEY])
  })
})

describe('the user config and a project config merge; a project only tightens limits', () => {
  async function batch(dir: string): Promise<string[]> {
    const inputs = ['a.png', 'b.png', 'c.png']
    // Distinct images: the same image is asked once per run.
    for (const [k, name] of inputs.entries())
      await writeFile(join(dir, name), await distinctCopy(PAYLOAD, k))
    return inputs
  }

  it("a project file with only format keeps the user's maxPoints (6: one image of three sent)", async () => {
    const where = await folder({ '.recaptcharc.json': JSON.stringify({ format: 'ndjson' }) })
    await userConfig(where.home, { maxPoints: 6 })
    const inputs = await batch(where.dir)
    const run = await rc2(['solve', ...inputs, '-q', 'car', '--endpoint', good.url], where)
    expect(good.createCount).toBe(1)
    // ndjson from the project file: one JSON object per line.
    const lines = run.stdout.trim().split('\n')
    expect(lines.length).toBeGreaterThan(0)
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow()
  })

  it('a project maxPoints above the user one is ignored and said; --max-points still raises it', async () => {
    const where = await folder({ '.recaptcharc': 'maxPoints: 1000\n' })
    await userConfig(where.home, { maxPoints: 6 })
    const inputs = await batch(where.dir)
    const run = await rc2(['solve', ...inputs, '-q', 'car', '--endpoint', good.url], where)
    expect(good.createCount).toBe(1)
    expect(run.stderr).toContain(
      `maxPoints: 1000 in ${join(where.dir, '.recaptcharc')} ignored: a config file found in the current directory may lower this limit, not raise it; it stays 6`,
    )
    good.resetCounters()
    const raised = await rc2(
      ['solve', ...inputs, '-q', 'car', '--endpoint', good.url, '--max-points', '18'],
      where,
    )
    expect(raised.code, raised.stderr).toBe(0)
    expect(good.createCount).toBe(3)
  })

  it('image.maxPixels and image.maxBytes: a project cannot raise the user (XDG) limits, may lower the defaults', async () => {
    const where = await folder({
      '.recaptcharc.yaml': 'image:\n  maxPixels: 100000000\n  maxBytes: 100000000\n',
    })
    const xdg = join(where.home, 'xdg')
    await mkdir(join(xdg, 'rc2'), { recursive: true })
    await writeFile(join(xdg, 'rc2', 'config.yaml'), 'image:\n  maxPixels: 50000\n')
    const dry = ['solve', PAYLOAD, '-q', 'car', '--dry-run', '--json']
    const pixels = await rc2(dry, where, { XDG_CONFIG_HOME: xdg })
    expect(pixels.code).toBe(4)
    expect(pixels.stderr).toContain('megapixel limit')
    expect(pixels.stderr).toContain('image.maxPixels: 100000000')
    expect(pixels.stderr).toContain(`it stays 50000 (${join(xdg, 'rc2', 'config.yaml')})`)
    expect(pixels.stderr).toContain('image.maxBytes: 100000000 in')
    expect(pixels.stderr).toContain("it stays 26214400 (rc2's default)")

    await writeFile(join(xdg, 'rc2', 'config.yaml'), 'image:\n  maxBytes: 1000\n')
    const bytes = await rc2(dry, where, { XDG_CONFIG_HOME: xdg })
    expect(bytes.code).toBe(4)
    expect(bytes.stderr).toContain('MB limit')

    const lower = await folder({ '.recaptcharc': 'image:\n  maxPixels: 50000\n' })
    const lowered = await rc2(dry, lower)
    expect(lowered.code).toBe(4)
    expect(lowered.stderr).not.toContain('ignored')
  })
})

describe('a config that is not a regular file is refused at once', () => {
  async function run(
    where: { dir: string; home: string },
    extra: string[] = [],
    env: Record<string, string> = {},
  ): ReturnType<typeof runRc2> {
    return runRc2([...extra, 'solve', PAYLOAD, '-q', 'car', '--dry-run'], {
      cwd: where.dir,
      env: { HOME: where.home, RC2_API_KEY: KEY, ...env },
      timeoutMs: 30_000,
    })
  }
  function oneLineError(result: Awaited<ReturnType<typeof runRc2>>, text: string): void {
    expect(result.signal, 'killed: it hung').toBeNull()
    expect(result.code).toBe(3)
    const line = result.stderr.split('\n').find((l) => l.includes(text))
    expect(line, result.stderr).toBeDefined()
    expect(hasStackTrace(result.stderr)).toBe(false)
  }

  it('a FIFO (found, or named by --config / RC2_CONFIG) does not hang start-up, even --dry-run', async () => {
    const where = await folder()
    execFileSync('mkfifo', [join(where.dir, '.recaptcharc')])
    oneLineError(
      await run(where),
      `config file ${join(where.dir, '.recaptcharc')} is a named pipe (FIFO), not a regular file`,
    )
    const other = await folder()
    execFileSync('mkfifo', [join(other.dir, 'pipe.yaml')])
    oneLineError(await run(other, ['--config', 'pipe.yaml']), 'is a named pipe (FIFO)')
    oneLineError(await run(other, [], { RC2_CONFIG: 'pipe.yaml' }), 'is a named pipe (FIFO)')
  }, 120_000)

  it('a link to /dev/zero, a device named directly, a file over 1 MB', async () => {
    const where = await folder()
    await symlink('/dev/zero', join(where.dir, '.recaptcharc.json'))
    oneLineError(
      await run(where),
      `config file ${join(where.dir, '.recaptcharc.json')} is a device, not a regular file`,
    )
    const other = await folder()
    oneLineError(await run(other, ['--config', '/dev/zero']), 'config file /dev/zero is a device')
    const big = await folder({ '.recaptcharc': `# ${'x'.repeat(2 * 1024 * 1024)}\nretries: 1\n` })
    oneLineError(await run(big), 'is over 1 MB, too large for a config')
  }, 120_000)
})

describe('a key that cannot be sent is a config error before anything is sent', () => {
  it('outside Latin-1 (acedata sends it in a header, yescaptcha in the body), or a control character', async () => {
    const where = await folder()
    const quoted = `${KEY}\u2019`
    const ace = await rc2(
      ['solve', PAYLOAD, '-q', 'car', '-p', 'acedata', '--endpoint', good.endpoints.acedata],
      where,
      { RC2_API_KEY: quoted },
    )
    expect(ace.code, ace.stderr).toBe(3)
    expect(ace.stderr).toContain(
      `the API key for acedata from RC2_API_KEY holds the character U+2019 at position ${KEY.length + 1}`,
    )
    expect(ace.stderr).not.toContain('could not connect')
    expect(ace.stderr).not.toContain(KEY)
    const yes = await rc2(['solve', PAYLOAD, '-q', 'car', '--endpoint', good.url], where, {
      RC2_API_KEY: quoted,
    })
    expect(yes.code).toBe(3)

    const bell = await folder({
      '.recaptcharc': `providers:\n  yescaptcha:\n    apiKey: "${KEY}\\u0007"\n`,
    })
    const control = await rc2(['balance', '--endpoint', good.url], bell, {})
    expect(control.code).toBe(3)
    expect(control.stderr).toContain(
      `from providers.yescaptcha.apiKey in ${join(bell.dir, '.recaptcharc')} holds a control character (U+0007)`,
    )
    expect(good.requests).toHaveLength(0)
  })
})
