/**
 * Reading a results file as `rc2 solve` writes it: NDJSON (`--output`, `--ndjson`), or what
 * `--json` printed (an array, or one object over several lines). Read by `rc2 report --from` and
 * `rc2 view`.
 */
import { readFile, stat } from 'node:fs/promises'
import { InputError, Rc2Error, readFailure } from '../errors.js'
import { asRecord, resultLines } from '../batch/journal.js'

/** Results files are far smaller than this in practice. */
const MAX_RESULTS_BYTES = 256 * 1024 * 1024

const HINT = 'pass the NDJSON file that rc2 solve --output wrote (or what --json printed)'

interface ResultsFile {
  /** Each record that is a JSON object, in file order. */
  records: Record<string, unknown>[]
  /** Lines (or array items) that are not JSON objects. */
  unreadable: number
}

export async function readResultsFile(path: string, name = path): Promise<ResultsFile> {
  let text: string
  try {
    const info = await stat(path)
    if (info.size > MAX_RESULTS_BYTES)
      throw new InputError(
        `${name} is ${(info.size / 1048576).toFixed(0)} MB, more than a results file can be`,
        { hint: HINT },
      )
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (error instanceof Rc2Error) throw error
    const reason = readFailure(error)
    const code = (error as NodeJS.ErrnoException).code
    throw new InputError(
      `cannot read ${name}: ${reason === 'missing' ? 'no such file' : reason === 'directory' ? 'it is a directory' : (code ?? String(error))}`,
      { hint: HINT },
    )
  }
  return parseResults(text)
}

/** NDJSON, or one JSON document (an array of results, or a single result over several lines). */
function parseResults(text: string): ResultsFile {
  const whole = parseWhole(text)
  const all =
    whole === undefined
      ? resultLines(text)
      : (Array.isArray(whole) ? (whole as unknown[]) : [whole]).map(asRecord)
  const records: Record<string, unknown>[] = []
  let unreadable = 0
  for (const record of all) {
    if (record === undefined) unreadable++
    else records.push(record)
  }
  return { records, unreadable }
}

/** The text as one JSON document when it is an array or an object spread over lines, else undefined. */
function parseWhole(text: string): unknown {
  const start = text.trimStart()
  if (!start.startsWith('[') && !(start.startsWith('{') && /\n\s*\S/.test(text.trim())))
    return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}
