/**
 * A folder the user did not make, and outputs that fail, attacked as a hostile folder would: links
 * planted to lead out of the directory, a file name that is not UTF-8, a name that is a
 * spreadsheet formula, a JPEG carrying EXIF GPS and comments, stdout on /dev/full, a SIGHUP
 * mid-batch, tile numbers written as 0x1 or 1e0. The service is a loopback server that logs every
 * request with its body.
 */
import type { ChildProcess } from 'node:child_process'
import { spawn } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp, { type OutputInfo } from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { parseTiles } from '../../src/commands/grid.js'
import { BIN, FIXTURES, hasStackTrace, runInProcess, type RunResult } from '../helpers/cli.js'
import { json, startHostileServer, type HostileServer } from '../helpers/hostile-server.js'
import { DEFAULT_TEST_KEY } from '../helpers/provider-server.js'
import { distinctCopy } from '../helpers/distinct-images.js'

const PAYLOAD = join(FIXTURES, 'payload-3x3.png')
const ANSWER = {
  errorId: 0,
  status: 'ready',
  taskId: 'task-1',
  solution: { type: 'multi', objects: [0, 4] },
}

let root: string
let service: HostileServer

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-folder-io-'))
  service = await startHostileServer(json(200, ANSWER))
})
afterAll(async () => {
  await service.close()
  await rm(root, { recursive: true, force: true })
})
beforeEach(() => {
  service.requests.length = 0
  service.setHandler(json(200, ANSWER))
})

/**
 * The payload with its `k`th pixel's red channel flipped: inputs that must each be their own call
 * differ, since a run asks the same image with the same question only once.
 */
function payloadCopy(k: number): Promise<Buffer> {
  return distinctCopy(PAYLOAD, k)
}

function solveArgs(...rest: string[]): string[] {
  return ['solve', ...rest, '-q', 'car', '--endpoint', service.url, '--retries', '0']
}

function solveIn(cwd: string, args: string[]): Promise<RunResult> {
  return runInProcess(args, { cwd, env: { RC2_API_KEY: DEFAULT_TEST_KEY, HOME: root } })
}

function inputsOf(stdout: string): string[] {
  return (JSON.parse(stdout) as { input: string; ok: boolean }[]).map((r) => r.input).sort()
}

describe('links in a directory that lead out of it', () => {
  let cwd: string
  beforeAll(async () => {
    cwd = join(root, 'links')
    await mkdir(join(cwd, 'private'), { recursive: true })
    await mkdir(join(cwd, 'shots', 'sub'), { recursive: true })
    // The private image is the payload negated, so that what was sent can be told from it.
    await writeFile(
      join(cwd, 'private', 'secret.png'),
      await sharp(PAYLOAD).negate().png().toBuffer(),
    )
    await writeFile(join(cwd, 'shots', 'mine.png'), await payloadCopy(1))
    await writeFile(join(cwd, 'shots', 'sub', 'deep.png'), await payloadCopy(2))
    // Planted: a file link and a directory link out of shots/, and a link that stays inside.
    await symlink(join(cwd, 'private', 'secret.png'), join(cwd, 'shots', 'leak.png'))
    await symlink('../private', join(cwd, 'shots', 'leakdir'))
    await symlink('mine.png', join(cwd, 'shots', 'alias.png'))
  })

  it('are not followed: the private image is never sent, and stderr says which were skipped', async () => {
    const run = await solveIn(cwd, solveArgs('shots', '-r', '--json'))
    expect(run.code).toBe(0)
    expect(inputsOf(run.stdout)).toEqual([
      'shots/alias.png',
      'shots/mine.png',
      'shots/sub/deep.png',
    ])
    // alias.png is mine.png: the same image, asked once. Each image sent (as a JPEG) is the
    // payload's pixels, not the private image's.
    expect(service.requests).toHaveLength(2)
    const [mine, secret] = await Promise.all(
      ['shots/mine.png', 'private/secret.png'].map(async (name) =>
        rawPixels(await readFile(join(cwd, name))),
      ),
    )
    for (const request of service.requests) {
      const body = JSON.parse(request.body) as { task: { image: string } }
      const sent = await rawPixels(Buffer.from(body.task.image, 'base64'))
      expect(meanDifference(sent, mine!)).toBeLessThan(meanDifference(sent, secret!))
    }
    const notes = run.stderr.split('\n').filter((line) => line.includes('outside the directory'))
    expect(notes).toHaveLength(1)
    expect(notes[0]).toContain('skipped 2 symbolic links')
    expect(notes[0]).toContain('shots/leak.png')
    expect(notes[0]).toContain('shots/leakdir')
    expect(notes[0]).toContain('--follow-links')
  })

  it('--dry-run lists only what stays inside', async () => {
    const run = await solveIn(cwd, solveArgs('shots', '-r', '--dry-run', '--json'))
    expect(run.code).toBe(0)
    expect(run.stdout).not.toContain('secret.png')
    expect(run.stdout).not.toContain('leak')
    expect(service.requests).toHaveLength(0)
  })

  it('--follow-links takes them', async () => {
    const run = await solveIn(cwd, solveArgs('shots', '-r', '--json', '--follow-links'))
    expect(run.code).toBe(0)
    expect(inputsOf(run.stdout)).toEqual([
      'shots/alias.png',
      'shots/leak.png',
      'shots/leakdir/secret.png',
      'shots/mine.png',
      'shots/sub/deep.png',
    ])
    expect(run.stderr).not.toContain('outside the directory')
  })

  it('a link the user names is read', async () => {
    const run = await solveIn(cwd, solveArgs('shots/leak.png', '--json'))
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, input: 'shots/leak.png' })
    expect(service.requests).toHaveLength(1)
  })
})

describe('a file name that is not UTF-8', () => {
  it('is read, and shown with the bad byte escaped', async () => {
    const dir = join(root, 'latin1')
    await mkdir(dir, { recursive: true })
    await writeFile(join(dir, 'good.png'), await payloadCopy(0))
    const bad = Buffer.concat([
      Buffer.from(join(dir, 'caf')),
      Buffer.from([0xe9]),
      Buffer.from('.png'),
    ])
    await writeFile(bad, await payloadCopy(1))
    // A directory whose name is not UTF-8 either, entered with -r.
    const badDir = Buffer.concat([Buffer.from(join(dir, 'sub')), Buffer.from([0xff])])
    await mkdir(badDir)
    await writeFile(Buffer.concat([badDir, Buffer.from('/deep.png')]), await payloadCopy(2))
    const run = await solveIn(root, solveArgs('latin1', '-r', '--json'))
    expect(run.stderr).not.toContain('disappeared')
    expect(run.code).toBe(0)
    const results = JSON.parse(run.stdout) as { input: string; ok: boolean }[]
    expect(results.map((r) => [r.input, r.ok]).sort()).toEqual([
      ['latin1/caf\\xe9.png', true],
      ['latin1/good.png', true],
      ['latin1/sub\\xff/deep.png', true],
    ])
    expect(service.requests).toHaveLength(3)
  })
})

describe('CSV cells that a spreadsheet would run', () => {
  it('a file named =2+5*cmd.jpg and a task id starting with @ get a leading quote; numbers stay numbers', async () => {
    const dir = join(root, 'csv')
    await mkdir(dir, { recursive: true })
    await copyFile(join(FIXTURES, 'payload-4x4.jpg'), join(dir, '=2+5*cmd.jpg'))
    service.setHandler(json(200, { ...ANSWER, taskId: '@SUM(1+1)*cmd' }))
    const run = await solveIn(dir, solveArgs('=2+5*cmd.jpg', '--format', 'csv'))
    expect(run.code).toBe(0)
    const [header, row] = run.stdout.trim().split('\n')
    const cells = Object.fromEntries(
      (header ?? '').split(',').map((name, k) => [name, (row ?? '').split(',')[k]]),
    )
    expect(cells.input).toBe("'=2+5*cmd.jpg")
    expect(cells.task_id).toBe("'@SUM(1+1)*cmd")
    expect(cells.ok).toBe('true')
    expect(cells.points).toBe('6')
    expect(cells.objects).toBe('0 4')
  })
})

describe('--tiles takes plain tile numbers only', () => {
  for (const value of ['0x1', '1e0', ' 1', '+1', '1.0', '1,', '-1']) {
    it(`--tiles "${value}" is a usage error`, async () => {
      const run = await solveIn(root, solveArgs(PAYLOAD, '--tiles', value))
      expect(run.code).toBe(2)
      expect(run.stderr).toContain('expected tile numbers 0-15')
      expect(service.requests).toHaveLength(0)
    })
  }

  it('commas, spaces, or both still separate them', () => {
    expect(parseTiles('1,4,7')).toEqual([1, 4, 7])
    expect(parseTiles('1 4 7')).toEqual([1, 4, 7])
    expect(parseTiles('1, 4, 8')).toEqual([1, 4, 8])
  })
})

describe('a JPEG payload sent as it is carries no metadata', () => {
  it('EXIF GPS, a camera serial, XMP and a comment are dropped; the pixels are those of the file', async () => {
    const dir = join(root, 'exif')
    await mkdir(dir, { recursive: true })
    const withExif = await sharp(PAYLOAD)
      .jpeg({ quality: 90 })
      .withExif({
        IFD0: { Artist: 'Jane Private', Copyright: 'camera-serial-SN998877' },
        IFD3: { GPSLatitudeRef: 'N', GPSLatitude: '48/1 51/1 2964/100' },
      })
      .toBuffer()
    const comment = segment(0xfe, Buffer.from('comment: taken at 12 Home Street'))
    const xmp = segment(
      0xe1,
      Buffer.from('http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>owner</x:xmpmeta>'),
    )
    const planted = Buffer.concat([withExif.subarray(0, 2), comment, xmp, withExif.subarray(2)])
    expect(planted.includes('Exif\0\0')).toBe(true)
    const file = join(dir, 'holiday.jpg')
    await writeFile(file, planted)

    const run = await solveIn(dir, solveArgs('holiday.jpg', '--json'))
    expect(run.code).toBe(0)
    expect(service.requests).toHaveLength(1)
    const body = JSON.parse(service.requests[0]!.body) as { task: { image: string } }
    const sent = Buffer.from(body.task.image, 'base64')
    for (const text of ['Exif', 'GPS', 'Jane Private', 'SN998877', 'Home Street', 'xmpmeta'])
      expect(sent.includes(text), text).toBe(false)
    const meta = await sharp(sent).metadata()
    expect(meta.exif).toBeUndefined()
    expect(meta.comments).toBeUndefined()
    // Not re-encoded: every decoded pixel is the file's own.
    const [a, b] = await Promise.all([pixels(planted), pixels(sent)])
    expect(b.info).toEqual(a.info)
    expect(b.data.equals(a.data)).toBe(true)
  })
})

function segment(marker: number, payload: Buffer): Buffer {
  const head = Buffer.from([0xff, marker, 0, 0])
  head.writeUInt16BE(payload.length + 2, 2)
  return Buffer.concat([head, payload])
}

function rawPixels(image: Buffer): Promise<Buffer> {
  return sharp(image).removeAlpha().raw().toBuffer()
}

/** The mean absolute difference of two images' channel values (Infinity if their sizes differ). */
function meanDifference(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) return Infinity
  let sum = 0
  for (let k = 0; k < a.length; k++) sum += Math.abs(a[k]! - b[k]!)
  return sum / a.length
}

function pixels(jpeg: Buffer): Promise<{ data: Buffer; info: OutputInfo }> {
  return sharp(jpeg).raw().toBuffer({ resolveWithObject: true })
}

/** The built binary with stdout where the test says (a file descriptor), stderr collected. */
function spawnRc2(
  args: string[],
  stdout: number | 'pipe',
  onSpawn?: (child: ChildProcess) => void,
  stderr: number | 'pipe' = 'pipe',
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        NO_COLOR: '1',
        CI: '1',
        HOME: root,
        RC2_API_KEY: DEFAULT_TEST_KEY,
      },
      stdio: ['ignore', stdout, stderr],
    })
    let out = ''
    let err = ''
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout: out, stderr: err })
    })
    onSpawn?.(child)
  })
}

async function payloadDir(name: string, count: number): Promise<string> {
  const dir = join(root, name)
  await mkdir(dir, { recursive: true })
  for (let k = 0; k < count; k++)
    await writeFile(join(dir, `p${String(k).padStart(2, '0')}.png`), await payloadCopy(k))
  return dir
}

async function linesOf(file: string): Promise<{ ok: boolean; input: string }[]> {
  const text = await readFile(file, 'utf8')
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { ok: boolean; input: string })
}

describe('stdout that fails (not a reader that left)', () => {
  for (const format of ['--ndjson', '--json']) {
    it(`${format} > /dev/full: exit 2 with the reason, --output keeps every paid answer`, async () => {
      const dir = await payloadDir(`full${format}`, 6)
      const out = join(root, `full${format}.ndjson`)
      const full = openSync('/dev/full', 'w')
      let run: RunResult
      try {
        run = await spawnRc2(solveArgs(dir, '--concurrency', '1', format, '--output', out), full)
      } finally {
        closeSync(full)
      }
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(
        'cannot write the results to standard output: no space left on the device',
      )
      expect(hasStackTrace(run.stderr)).toBe(false)
      const written = await linesOf(out)
      // Every call made was paid for and is in the file.
      expect(written).toHaveLength(service.requests.length)
      expect(written.every((r) => r.ok)).toBe(true)
      // The batch's summary is still said on stderr, before the error.
      expect(run.stderr).toContain(
        format === '--json' ? `"solved":${written.length}` : `${written.length}/6 solved`,
      )
      // Streamed results fail at the first line: the batch stops submitting.
      if (format === '--ndjson') expect(service.requests.length).toBeLessThan(6)
      else expect(service.requests).toHaveLength(6)
    }, 90_000)
  }
})

describe('stderr that fails', () => {
  it('2> /dev/full: the batch carries on, every answer reaches stdout and --output', async () => {
    const dir = await payloadDir('stderr-full', 4)
    // A file that is not an image: its warning is the first write to stderr.
    await writeFile(join(dir, 'notes.txt'), 'not an image')
    const out = join(root, 'stderr-full.ndjson')
    const full = openSync('/dev/full', 'w')
    let run: RunResult
    try {
      run = await spawnRc2(solveArgs(dir, '--ndjson', '--output', out), 'pipe', undefined, full)
    } finally {
      closeSync(full)
    }
    expect(run.code).toBe(0)
    expect(run.stdout.trim().split('\n')).toHaveLength(4)
    expect(await linesOf(out)).toHaveLength(4)
    expect(service.requests).toHaveLength(4)
  }, 90_000)
})

describe('SIGHUP mid-batch', () => {
  it('is handled as SIGTERM: the answers already paid for are written, exit 130', async () => {
    const dir = await payloadDir('hangup', 10)
    const out = join(root, 'hangup.ndjson')
    let answered = 0
    service.setHandler((_req, res) => {
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(ANSWER), () => answered++)
      }, 800)
    })
    const run = await spawnRc2(
      solveArgs(dir, '--concurrency', '2', '--ndjson', '--output', out),
      'pipe',
      (child) => {
        const wait = setInterval(() => {
          if (answered >= 2 && service.requests.length >= 3) {
            clearInterval(wait)
            child.kill('SIGHUP')
          }
        }, 20)
      },
    )
    expect(run.signal).toBeNull()
    expect(run.code).toBe(130)
    expect(run.stderr).toContain('interrupted')
    expect(hasStackTrace(run.stderr)).toBe(false)
    const written = await linesOf(out)
    expect(written.length).toBeGreaterThanOrEqual(2)
    expect(written).toHaveLength(service.requests.length)
    expect(written.every((r) => r.ok)).toBe(true)
    expect(service.requests.length).toBeLessThan(10)
    const streamed = run.stdout.split('\n').filter((line) => line !== '')
    expect(streamed).toHaveLength(written.length)
  }, 90_000)
})
