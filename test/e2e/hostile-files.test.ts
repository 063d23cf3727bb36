/**
 * Hostile text and files, in process through runCli: a service whose errors carry escape
 * sequences, file names that do, output paths planted with symlinks or naming the input, broken
 * config files holding a key, a project file that tries to send the key elsewhere.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runCli } from '../../src/cli.js'
import { FIXTURES } from '../helpers/cli.js'
import { json, startHostileServer, type HostileServer } from '../helpers/hostile-server.js'
import { DEFAULT_TEST_KEY } from '../helpers/provider-server.js'

const KEY = DEFAULT_TEST_KEY
const PAYLOAD = join(FIXTURES, 'payload-3x3.png')
const ANSWER = { errorId: 0, status: 'ready', taskId: 'task-1', solution: { type: 'multi', objects: [0, 4] } }
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

async function rc2(args: string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const stdin = new PassThrough()
  stdin.end()
  const code = await runCli(['node', 'rc2', ...args], {
    stdout,
    stderr,
    stdin,
    env: { HOME: root, RC2_API_KEY: KEY, NO_COLOR: '1', CI: '1', ...options.env },
    cwd: options.cwd ?? root,
  })
  return { code, stdout: out, stderr: err }
}

// eslint-disable-next-line no-control-regex -- what must never reach the terminal raw
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/

describe('a service or a file name cannot drive the terminal', () => {
  it("a service's errorDescription with ESC, OSC and CR\\LF is shown escaped, on one line", async () => {
    hostile.setHandler(json(200, { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: ESCAPES }))
    const run = await rc2(['solve', PAYLOAD, '-q', 'car', '--endpoint', hostile.url, '--retries', '0'])
    expect(run.code).toBe(5)
    expect(run.stderr).not.toMatch(RAW_CONTROL)
    expect(run.stderr).toContain('\\u001b[2J\\u001b]0;owned\\u0007\\u000d\\u000arc2: ok: all solved')
    expect(run.stderr.split('\n').some((line) => line.startsWith('rc2: ok'))).toBe(false)
  })

  it('the same error in --ndjson stays JSON: parsed back, the message is what the service said', async () => {
    hostile.setHandler(json(200, { errorId: 1, errorCode: 'ERROR_CAPTCHA_UNSOLVABLE', errorDescription: ESCAPES }))
    const run = await rc2(['solve', PAYLOAD, '-q', 'car', '--endpoint', hostile.url, '--retries', '0', '--ndjson'])
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
      const run = await rc2(['solve', dir, '-q', 'car', '--endpoint', hostile.url, '--format', format])
      expect(run.code).toBe(6)
      expect(run.stdout + run.stderr).not.toMatch(RAW_CONTROL)
      expect(run.stdout + run.stderr).toContain('a\\u001b]0;title\\u0007.png')
      expect(run.stderr).toContain('b\\u001b[2J\\u000d.png')
    }
  })
})
