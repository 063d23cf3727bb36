/**
 * README truth: every shell example in README.md and docs/*.md runs as written, against the
 * loopback server. The examples are read from the files themselves (fenced `sh` blocks), so an
 * example that changes is tested as it now reads; the README's run first, then each doc's in name
 * order, in one working directory (a doc's example may use what the README's made). `rc2` is the built binary on PATH; `npm …` steps are what the test
 * run itself does, so they are left out. The few commands an example leaves to the reader are
 * given here: `capture` (the next screenshot of a round), `click`, and `parallel` where GNU
 * parallel is not installed (it runs each share here; remote hosts run locally).
 */
import { spawn } from 'node:child_process'
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  symlink,
  writeFile,
  chmod,
} from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, FIXTURES, REPO } from '../helpers/cli.js'
import { renderCapture } from '../helpers/captures.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let work: string
let binDir: string

/** The user docs: the README, then docs/*.md in name order. */
async function docFiles(): Promise<string[]> {
  const docs = (await readdir(join(REPO, 'docs'))).filter((f) => f.endsWith('.md')).sort()
  return ['README.md', ...docs.map((f) => join('docs', f))]
}

/** The fenced sh blocks of the README and the docs, in order. */
async function readmeShellBlocks(): Promise<string[]> {
  const blocks: string[] = []
  for (const file of await docFiles()) {
    const text = await readFile(join(REPO, file), 'utf8')
    blocks.push(
      ...[...text.matchAll(/^```(?:sh|bash|shell)\n([\s\S]*?)^```/gm)].map((m) => m[1] as string),
    )
  }
  return blocks
}

/** Each service's key and endpoint, for the failover examples (`-p a,b` needs one per service). */
function perProviderEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, url] of Object.entries(server.endpoints)) {
    env[`RC2_${name.toUpperCase()}_API_KEY`] = KEY
    env[`RC2_${name.toUpperCase()}_ENDPOINT`] = url
  }
  return env
}

/** A block without its `npm …` steps (installing, building and testing are this run). */
function withoutNpm(block: string): string {
  return block
    .split('\n')
    .map((line) =>
      line
        .split(' && ')
        .filter((part) => !/^\s*npm /.test(part))
        .join(' && '),
    )
    .filter((line) => line.trim() !== '')
    .join('\n')
}

function runBlock(
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'bash',
      [
        '-c',
        `set -e -o pipefail\nexport QUESTION=cars\ncapture() { cp "$FRAMES/$1" "$1"; echo "$1" >> captured.txt; }\nclick() { :; }\n${script}`,
      ],
      {
        cwd: work,
        env: {
          PATH: `${binDir}:${process.env.PATH ?? ''}`,
          HOME: work,
          NO_COLOR: '1',
          CI: '1',
          RC2_API_KEY: KEY,
          RC2_ENDPOINT: server.url,
          ...perProviderEnv(),
          FRAMES: join(work, 'frames'),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  )
}

beforeAll(async () => {
  server = await startProviderServer()
  work = await mkdtemp(join(tmpdir(), 'rc2-readme-'))
  binDir = join(work, '.bin')
  await mkdir(binDir)
  await symlink(BIN, join(binDir, 'rc2'))
  if (!(await hasCommand('parallel'))) {
    // GNU parallel's simplest form: `parallel [options] 'command {}' ::: args`, each run here.
    const shim = `#!/usr/bin/env bash
cmd=''
while [ $# -gt 0 ]; do
  case "$1" in
    -S|--workdir|--return) shift 2 ;;
    :::) shift; break ;;
    *) cmd="$1"; shift ;;
  esac
done
for arg in "$@"; do bash -c "\${cmd//\\{\\}/$arg}" || exit $?; done
`
    await writeFile(join(binDir, 'parallel'), shim)
    await chmod(join(binDir, 'parallel'), 0o755)
  }
  // What the examples name: the repository's bin and fixtures, a challenge, a folder of them, a screenshot.
  await symlink(join(REPO, 'bin'), join(work, 'bin'))
  await symlink(FIXTURES, join(work, 'fixtures'))
  await writeFile(join(work, 'captcha.png'), await renderRedGrid('3x3', [0, 4, 8]))
  await mkdir(join(work, 'shots'))
  for (let k = 0; k < 6; k++)
    await writeFile(
      join(work, 'shots', `shot-${k}.png`),
      await renderRedGrid('3x3', [k, (k + 3) % 9]),
    )
  await copyFile(join(FIXTURES, 'widget-3x3-1x.png'), join(work, 'screenshot.png'))
  // A dynamic round: red tiles first, then the clicked ones replaced by grey ones.
  await mkdir(join(work, 'frames'))
  for (const [name, red] of [
    ['shot-0.png', [1, 5]],
    ['shot-1.png', []],
  ] as const) {
    const capture = await renderCapture({
      payload: await renderRedGrid('3x3', red),
      grid: '3x3',
      kind: 'widget',
      seed: 11,
    })
    await writeFile(join(work, 'frames', name), capture.buffer)
  }
})

afterAll(async () => {
  await server.close()
  await rm(work, { recursive: true, force: true })
})

async function hasCommand(name: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':'))
    if (await exists(join(dir, name))) return true
  return false
}

describe('README examples', () => {
  it('has the examples this test knows how to check', async () => {
    const blocks = await readmeShellBlocks()
    expect(blocks.length).toBeGreaterThanOrEqual(2)
    expect(blocks.join('\n')).toContain('rc2 solve captcha.png -q car')
  })

  it('runs every shell example as written, each exiting 0 with no error', async () => {
    const blocks = (await readmeShellBlocks())
      .map(withoutNpm)
      .filter((b) => /\brc2(\.js)?\b/.test(b))
    expect(blocks.length).toBeGreaterThanOrEqual(3)
    for (const block of blocks) {
      const r = await runBlock(block)
      // On failure, show which block and what it said.
      expect({ block, code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({
        block,
        code: 0,
        stderr: '',
      })
      expect(r.stderr).not.toMatch(/rc2: error|internal error/)
      expect(r.stdout + r.stderr).not.toContain(KEY)
    }
    // What the examples promise to leave behind.
    const results = (await readFile(join(work, 'results.ndjson'), 'utf8')).trim().split('\n')
    expect(results.length).toBeGreaterThanOrEqual(6)
    for (const line of results)
      expect(JSON.parse(line)).toMatchObject({ schemaVersion: 1, ok: true })
    for (const file of ['payload.jpg', 'check.png', 'answer.json'])
      expect(await exists(join(work, file))).toBe(true)
    // The round clicked, captured again, and ended with nothing left to click.
    expect((await readFile(join(work, 'captured.txt'), 'utf8')).trim().split('\n')).toEqual([
      'shot-0.png',
      'shot-1.png',
    ])
    expect(JSON.parse(await readFile(join(work, 'answer.json'), 'utf8'))).toMatchObject({
      ok: true,
      objects: [],
    })
  }, 300_000)

  it('links only to files that exist', async () => {
    const broken: string[] = []
    for (const file of await docFiles()) {
      const text = await readFile(join(REPO, file), 'utf8')
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue
        const path = join(dirname(file), target as string)
        if (!(await exists(join(REPO, path)))) broken.push(`${file}: ${target}`)
      }
    }
    expect(broken).toEqual([])
  })

  it('resize writes where the docs say: beside the input, shot.png -> shot.payload.jpg', async () => {
    const readme = await readFile(join(REPO, 'docs', 'commands.md'), 'utf8')
    expect(readme).toContain('`shot.png` → `shot.payload.jpg`')
    await copyFile(join(FIXTURES, 'widget-3x3-1x.png'), join(work, 'shot.png'))
    const r = await runBlock('rc2 resize shot.png')
    expect(r.code).toBe(0)
    expect((await readdir(work)).filter((f) => f.startsWith('shot.'))).toEqual(
      expect.arrayContaining(['shot.png', 'shot.payload.jpg']),
    )
  })
})
