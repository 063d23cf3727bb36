import { createHash } from 'node:crypto'
import {
  closeSync,
  constants,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs'
import { readFile } from 'node:fs/promises'
import { ConfigError, readFailure, UsageError, writeFailure } from '../errors.js'
import type { SolveResult } from '../engine/result.js'

/**
 * --output / --resume: every finished result is appended to an NDJSON file as one whole line,
 * written with a single write() on an O_APPEND descriptor, so a crash or Ctrl-C never leaves half
 * a result behind. Lines carry `inputSha256` so a resumed run skips inputs already solved with the
 * same content and question.
 */
export class ResultJournal {
  private constructor(
    readonly path: string,
    private readonly fd: number,
    private readonly lock: string,
  ) {}

  /** Opens `path` for appending, first taking its lock (`<path>.lock`): one run at a time writes there. */
  static open(path: string): ResultJournal {
    const fd = openForAppend(path)
    let lock: string | undefined
    try {
      lock = takeLock(path)
      startOnFreshLine(fd, path)
      return new ResultJournal(path, fd, lock)
    } catch (error) {
      closeSync(fd)
      if (lock !== undefined) rmSync(lock, { force: true })
      throw error
    }
  }

  /** Append one result as a whole line; throws the write failure (exit 2, after removing any part written) when it cannot. */
  append(result: SolveResult, inputSha256: string | undefined): void {
    const line =
      JSON.stringify(inputSha256 === undefined ? result : { ...result, inputSha256 }) + '\n'
    writeAll(this.fd, Buffer.from(line), this.path)
  }

  close(): void {
    closeSync(this.fd)
    rmSync(this.lock, { force: true })
  }
}

/**
 * Two runs appending to one results file would both pay for every input (neither sees the other's
 * answers in time for --resume): the second refuses before sending. The lock is created with
 * O_EXCL and holds the owner's pid; a lock whose process is gone (killed) is taken over.
 */
function takeLock(path: string): string {
  const lock = `${path}.lock`
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(
        lock,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o644,
      )
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return lock
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0)
        throw writeFailure('--output', path, error, { verb: 'lock' })
    }
    const owner = lockOwner(lock)
    if (owner !== undefined && isAlive(owner))
      throw new UsageError(
        `--output ${path} is being written by another rc2 run (process ${owner}): two runs on one results file would both pay for its inputs`,
        {
          hint: `wait for it to end, or give this run its own --output; if no rc2 is running, remove ${lock}`,
        },
      )
    // Left by a run that was killed: take it over.
    rmSync(lock, { force: true })
  }
}

function lockOwner(lock: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10)
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it exists, it is another user's.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** The results file opened for appending. */
function openForAppend(path: string): number {
  try {
    // O_NOFOLLOW: a link planted at the name is refused, never appended through.
    return openSync(
      path,
      constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      0o644,
    )
  } catch (error) {
    throw writeFailure('--output', path, error, { verb: 'open' })
  }
}

/** A line torn by a crash must not glue itself to the next result. */
function startOnFreshLine(fd: number, path: string): void {
  const size = fstatSync(fd).size
  if (size === 0) return
  const last = Buffer.alloc(1)
  readSync(fd, last, 0, 1, size - 1)
  if (last[0] !== 0x0a) writeAll(fd, Buffer.from('\n'), path)
}

/**
 * write() until every byte is out (it may write less than asked, e.g. as a disk fills). On failure
 * the part of the line already written is cut off again when nothing else was appended since, so
 * the file keeps whole lines only; the error names the file and the cause.
 */
function writeAll(fd: number, bytes: Buffer, path: string): void {
  let before: number | undefined
  try {
    before = fstatSync(fd).size
  } catch {
    before = undefined
  }
  let done = 0
  try {
    while (done < bytes.length) {
      const wrote = writeSync(fd, bytes, done, bytes.length - done)
      if (wrote <= 0) throw Object.assign(new Error('the write made no progress'), { code: 'EIO' })
      done += wrote
    }
  } catch (error) {
    if (done > 0 && before !== undefined) {
      try {
        if (fstatSync(fd).size === before + done) ftruncateSync(fd, before)
      } catch {
        // not a regular file, or gone: nothing more can be done
      }
    }
    throw writeFailure('--output', path, error, {
      after: '; results from here on are not recorded there',
      hint: 'free some space or choose another --output; results written so far are whole, and --resume skips them',
    })
  }
}

/**
 * Keys (content hash + question id) of inputs already solved in an earlier run's output file, and
 * how many lines were not results (torn by a crash, or anything but a JSON object): those are skipped.
 */
export async function readSolvedKeys(
  path: string,
): Promise<{ keys: Set<string>; unreadable: number }> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (readFailure(error) === 'missing') return { keys: new Set(), unreadable: 0 }
    throw new ConfigError(`cannot read --output ${path} to resume: ${(error as Error).message}`)
  }
  const keys = new Set<string>()
  let unreadable = 0
  for (const r of resultLines(text)) {
    // A torn line from an interrupted run, or a line that is no result: that input is solved again.
    if (r === undefined) {
      unreadable++
      continue
    }
    const id = (r.question as { id?: unknown } | null | undefined)?.id
    if (
      r.ok === true &&
      r.dryRun !== true &&
      typeof r.inputSha256 === 'string' &&
      typeof id === 'string'
    )
      keys.add(solvedKey(r.inputSha256, id))
  }
  return { keys, unreadable }
}

/** Each non-blank line of a results file as a record; undefined for one that is not a JSON object (a torn write). */
export function* resultLines(text: string): Generator<Record<string, unknown> | undefined> {
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    let value: unknown
    try {
      value = JSON.parse(line)
    } catch {
      // not JSON: left undefined
    }
    yield asRecord(value)
  }
}

/** `value` when it is a JSON object (not an array), else undefined. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined
}

export function solvedKey(sha256: string, questionId: string): string {
  return `${sha256} ${questionId}`
}

export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex')
}
