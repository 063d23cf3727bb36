/**
 * readFileBounded on real files of each kind: a FIFO whose writer is already waiting, regular files
 * at and just past the limit, and a file whose size from fstat() is wrong.
 */
import { execFileSync, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InputError } from '../../src/errors.js'
import { readFileBounded } from '../../src/image/read.js'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-read-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('readFileBounded', () => {
  it('reads a FIFO whose writer was already waiting in open(): every byte, and the writer is not killed', async () => {
    const data = Buffer.alloc(40_000)
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) & 0xff
    const source = join(dir, 'source.bin')
    await writeFile(source, data)
    for (let round = 0; round < 5; round++) {
      const fifo = join(dir, `waiting-${round}.fifo`)
      execFileSync('mkfifo', [fifo])
      // cat blocks in open() until rc2 opens the FIFO, then writes everything at once and leaves.
      const writer = spawn('sh', ['-c', 'exec cat "$1" > "$2"', 'sh', source, fifo], {
        stdio: 'ignore',
      })
      const exited = new Promise<number | string | null>((resolve) =>
        writer.on('close', (code, signal) => resolve(code ?? signal)),
      )
      await new Promise((resolve) => setTimeout(resolve, 100))
      // A read that never ends fails here instead of hanging the suite.
      const bytes = await readFileBounded(
        fifo,
        'waiting.fifo',
        1024 * 1024,
        AbortSignal.timeout(10_000),
      )
      expect(await exited).toBe(0)
      expect(bytes.equals(data)).toBe(true)
    }
  })

  it('reads a file of exactly the limit and refuses one byte more before reading it', async () => {
    const limit = 64 * 1024
    const exact = join(dir, 'exact.bin')
    await writeFile(exact, Buffer.alloc(limit, 3))
    const bytes = await readFileBounded(exact, 'exact.bin', limit)
    expect(bytes.length).toBe(limit)
    expect(bytes.every((value) => value === 3)).toBe(true)

    const over = join(dir, 'over.bin')
    await writeFile(over, Buffer.alloc(limit + 1, 3))
    const refused = await readFileBounded(over, 'over.bin', limit).catch((error: unknown) => error)
    expect(refused).toBeInstanceOf(InputError)
    expect((refused as InputError).message).toBe('over.bin is 0.1 MB, over the 0.1 MB limit')
  })

  it('reads a zero-byte file as empty', async () => {
    const empty = join(dir, 'empty.bin')
    await writeFile(empty, Buffer.alloc(0))
    expect((await readFileBounded(empty, 'empty.bin', 1024)).length).toBe(0)
  })

  it('reads past the size fstat() gave when the file is longer (a /proc file says 0 bytes)', async () => {
    const bytes = await readFileBounded('/proc/self/status', 'status', 1024 * 1024)
    // The same file read by fs, up to the line that changes between reads.
    const expected = await readFile('/proc/self/status', 'utf8')
    expect(bytes.length).toBeGreaterThan(100)
    expect(bytes.toString('utf8').split('\n')[0]).toBe(expected.split('\n')[0])
    await expect(readFileBounded('/proc/self/status', 'status', 10)).rejects.toThrow(
      /status is over the 0 MB limit/,
    )
  })
})
