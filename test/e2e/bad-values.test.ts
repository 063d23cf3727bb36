/**
 * Exit codes and shapes at the edges of the command line: a malformed value given as a flag is a
 * usage error (2) while the same value from the environment is a config error (3); an empty
 * --files-from list is an empty batch, so --json still prints its array.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, hasStackTrace, runInProcess } from '../helpers/cli.js'
import { DEFAULT_TEST_KEY } from '../helpers/provider-server.js'

const PAYLOAD = join(FIXTURES, 'payload-3x3.png')
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-bad-values-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const rc2 = (args: string[], env: Record<string, string> = {}) =>
  runInProcess(args, { cwd: dir, env: { HOME: dir, RC2_API_KEY: DEFAULT_TEST_KEY, ...env } })

describe('a malformed endpoint or proxy', () => {
  it.each([
    ['--endpoint', 'notaurl', /--endpoint: "notaurl" is not a URL/],
    [
      '--endpoint',
      'ftp://127.0.0.1/',
      /--endpoint: "ftp:\/\/127\.0\.0\.1\/" must start with https/,
    ],
    ['--proxy', 'socks5://127.0.0.1:1080', /set by --proxy uses socks5/],
  ])('as the flag %s %s: usage error, exit 2', async (flag, value, message) => {
    const r = await rc2(['solve', PAYLOAD, '-q', 'cars', flag, value])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toMatch(message)
    expect(r.stderr.trim().split('\n')[0]).toMatch(/^rc2: error: /)
    expect(hasStackTrace(r.stderr)).toBe(false)
    expect(r.stdout).toBe('')
  })

  it.each([
    ['RC2_ENDPOINT', 'notaurl', /RC2_ENDPOINT: "notaurl" is not a URL/],
    ['HTTPS_PROXY', 'socks5://127.0.0.1:1080', /set by HTTPS_PROXY uses socks5/],
  ])('from the environment (%s=%s): config error, exit 3', async (name, value, message) => {
    const r = await rc2(['solve', PAYLOAD, '-q', 'cars'], { [name]: value })
    expect(r.code, r.stderr).toBe(3)
    expect(r.stderr).toMatch(message)
  })
})

describe('an empty --files-from list', () => {
  it('prints [] with --json and says the list is empty (exit 4, as an empty directory)', async () => {
    const list = join(dir, 'empty.txt')
    await writeFile(list, '# nothing yet\n\n')
    const r = await rc2(['solve', '--files-from', list, '-q', 'cars', '--json'])
    expect(r.code, r.stderr).toBe(4)
    expect(JSON.parse(r.stdout)).toEqual([])
    expect(r.stderr).toContain(`--files-from ${list} lists no inputs`)
    const ndjson = await rc2(['solve', '--files-from', list, '-q', 'cars', '--ndjson'])
    expect(ndjson.code).toBe(4)
    expect(ndjson.stdout).toBe('')
  })
})

describe('arguments that name the wrong thing', () => {
  it('--since naming no file says so, as --since (exit 4)', async () => {
    const r = await rc2(['solve', PAYLOAD, '--since', 'nothere.png', '-q', 'cars', '--dry-run'])
    expect(r.code, r.stderr).toBe(4)
    expect(r.stderr).toContain('--since nothere.png does not exist')
    expect(r.stderr).not.toContain('disappeared')
  })

  it('rc2 grid - is refused as grid reads files (exit 2)', async () => {
    const r = await rc2(['grid', '-'])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain('rc2 grid reads a file or an http(s) URL, not standard input')
  })

  it('--split naming a file says a directory is needed there (exit 2)', async () => {
    const file = join(dir, 'a-file')
    await writeFile(file, 'x')
    const r = await rc2(['grid', PAYLOAD, '--split', file])
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`cannot write --split ${file}: a file is in the way`)
  })
})
