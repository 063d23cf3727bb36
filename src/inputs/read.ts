/**
 * The bytes of one input, whatever it is: given as bytes (the library), an http(s) URL, standard
 * input, or a file. Every way refuses an input over the size limit while reading it.
 */
import { InputError, type ReadFailure, readFailure } from '../errors.js'
import { readFileBounded } from '../image/read.js'
import { DEFAULT_MAX_BYTES } from '../limits.js'
import type { ProxyRoute } from '../providers/transport.js'
import { fetchInput } from './fetch.js'
import type { InputItem } from './list.js'

export interface ReadInputOptions {
  /** The size limit (the config's `image.maxBytes`; the default otherwise). */
  maxBytes?: number | undefined
  /** The deadline of a URL's fetch (ms). */
  timeoutMs: number
  /** The proxies for a URL. */
  proxy?: ProxyRoute | undefined
  /** Ends a URL's fetch (the run's interrupt). */
  signal?: AbortSignal | undefined
  readStdin: () => Promise<Buffer>
}

/** Reads `item`; `stop` ends a file read that never finishes (a FIFO nobody writes to). */
export async function readInputBytes(
  item: InputItem,
  options: ReadInputOptions,
  stop?: AbortSignal,
): Promise<Buffer> {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES
  if (item.bytes !== undefined) return item.bytes
  if (item.url !== undefined) return fetchInput(item.url, { ...options, maxBytes })
  // Standard input is read once, when its turn comes.
  if (item.path === null) return options.readStdin()
  try {
    // Refused past the limit while reading, whatever the file is (a FIFO, /dev/zero, a growing file).
    return await readFileBounded(item.rawPath ?? item.path, item.input, maxBytes, stop)
  } catch (error) {
    if (error instanceof InputError) throw error
    // Stopped by an interrupt: the batch counts it as not finished.
    if (stop?.aborted === true && error === stop.reason) throw error
    const code = (error as NodeJS.ErrnoException).code
    const kind = readFailure(error)
    const reason =
      kind === undefined ? (code ?? (error as Error).message) : READ_FAILURE_REASONS[kind]
    throw new InputError(`${item.input}: cannot read it: ${reason}`, {
      code,
      hint: 'check the path and its permissions',
    })
  }
}

/** Why an input listed earlier could not be read when its turn came. */
const READ_FAILURE_REASONS: Record<ReadFailure, string> = {
  missing: 'it disappeared before it could be read',
  denied: 'permission denied',
  directory: 'it is a directory',
  loop: 'too many levels of symbolic links (a link loop)',
}
