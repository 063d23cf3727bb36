/**
 * A reader slower than the batch (`rc2 solve … --ndjson | slow-consumer`): rc2 waits for stdout to
 * take its lines before it starts more inputs, instead of holding every result in memory until the
 * reader catches up (200,000 lines to a stalled pipe took 429 MB where /dev/null took 187 MB).
 * In process: a stdout whose reader is held shows what was written while it was held.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough, Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { BIN } from '../helpers/cli.js'

let root: string

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'rc2-slow-reader-'))
})

afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

/** A stdout whose reader takes nothing until released; counts the lines rc2 handed it. */
class HeldReader extends Writable {
  lines = 0
  taken = 0
  private held: (() => void)[] = []
  private holding = true

  constructor() {
    super({ highWaterMark: 4096 })
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.lines += chunk.toString('utf8').split('\n').length - 1
    if (this.holding) this.held.push(done)
    else done()
  }

  countWrite(): void {
    this.taken++
  }

  release(): void {
    this.holding = false
    for (const done of this.held.splice(0)) done()
  }
}

it('waits for a slow reader of stdout before starting more inputs, and loses no line', async () => {
  const count = 3000
  const list = join(root, 'list.txt')
  const paths = Array.from({ length: count }, (_, k) => `gone/challenge-${k}.png`)
  await writeFile(list, paths.join('\n') + '\n')
  const stdout = new HeldReader()
  const write = stdout.write.bind(stdout)
  stdout.write = ((...args: Parameters<typeof write>) => {
    stdout.countWrite()
    return write(...args)
  }) as typeof stdout.write
  const stderr = new PassThrough()
  stderr.resume()
  const stdin = new PassThrough()
  stdin.end()
  const { runCli } = await import('../../src/cli.js')
  const run = runCli(
    ['node', BIN, 'solve', '--files-from', list, '-q', 'cars', '--dry-run', '--ndjson'],
    { stdout, stderr, stdin, env: { PATH: process.env.PATH ?? '', NO_COLOR: '1' }, cwd: root },
  )
  // Until the first lines come, then until they stop growing: the batch is waiting for the reader.
  while (stdout.taken === 0) await sleep(50)
  let before = -1
  while (stdout.taken !== before) {
    before = stdout.taken
    await sleep(500)
  }
  // A 4 KB buffer holds about 40 results; each input in flight may add its own.
  expect(stdout.taken).toBeLessThan(200)
  stdout.release()
  expect(await run).toBe(4) // every path is missing: input errors
  expect(stdout.lines).toBe(count)
})
