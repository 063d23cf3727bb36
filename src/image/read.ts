/**
 * Reading inputs with a bound that holds while reading, whatever the file is: a regular file, a
 * FIFO with a slow writer, a device such as /dev/zero, or standard input. No sharp here, so the
 * batch can read ahead without loading the image library.
 */
import { close, constants, fstat, open, read } from 'node:fs'
import { Socket } from 'node:net'
import { promisify } from 'node:util'
import { InputError } from '../errors.js'

const READ_CHUNK = 1024 * 1024

/**
 * Read a file of any kind (regular file, FIFO, device such as /dev/zero) and refuse it as soon as
 * it passes `maxBytes`, while reading: a size from stat() covers regular files only, and a file
 * may grow after it. System errors are thrown as they are, for the caller to name.
 */
export async function readFileBounded(
  path: string | Buffer,
  name: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  // Opened without blocking, so that a FIFO cannot hold the open: a blocking open() waits for a
  // writer in a thread that nothing can interrupt, and keeps even process.exit() from finishing.
  // (O_NONBLOCK means nothing to a regular file, and saves a stat() of the path per input.) A bare
  // descriptor, not a FileHandle (which closes itself when collected): a FIFO's goes to a socket.
  const fd = await openAsync(path, constants.O_RDONLY | constants.O_NONBLOCK)
  let owned = true
  try {
    const info = await fstatAsync(fd)
    if (info.isFile()) return await readRegularFile(fd, info.size, name, maxBytes)
    if (info.isDirectory())
      throw Object.assign(new Error(`${name} is a directory`), { code: 'EISDIR' })
    if (info.isFIFO()) {
      // The same descriptor: closing it and opening again would let a writer that has just found
      // its reader see none, and stop (EPIPE) before writing anything.
      owned = false
      return await readFifoBounded(fd, name, maxBytes, signal)
    }
  } finally {
    if (owned) await closeAsync(fd)
  }
  // A device (/dev/zero, a terminal): opened again as before, blocking, and read in chunks.
  const device = await openAsync(path, constants.O_RDONLY)
  try {
    return await readChunks(device, [], 0, name, maxBytes)
  } finally {
    await closeAsync(device)
  }
}

const openAsync = promisify(open)
const fstatAsync = promisify(fstat)
const readAsync = promisify(read)
const closeAsync = promisify(close)

/**
 * A regular file in one read of its size plus one byte: a short read is its end, a full one means
 * it grew since fstat(), and the rest is read in chunks up to the limit. Too large from the start is
 * refused before reading any of it.
 */
async function readRegularFile(
  fd: number,
  size: number,
  name: string,
  maxBytes: number,
): Promise<Buffer> {
  if (size > maxBytes) throw tooLarge(name, size, maxBytes)
  const first = Buffer.allocUnsafe(Math.min(size + 1, maxBytes + 1))
  const { bytesRead } = await readAsync(fd, first, 0, first.length, null)
  if (bytesRead > maxBytes) throw tooLargeWhileReading(name, maxBytes)
  if (bytesRead < first.length) return first.subarray(0, bytesRead)
  return readChunks(fd, [first], bytesRead, name, maxBytes)
}

/** Read on until the end, refusing the file as soon as it passes `maxBytes`. */
async function readChunks(
  fd: number,
  chunks: Buffer[],
  total: number,
  name: string,
  maxBytes: number,
): Promise<Buffer> {
  for (;;) {
    const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(READ_CHUNK, maxBytes + 1 - total)))
    const { bytesRead } = await readAsync(fd, chunk, 0, chunk.length, null)
    if (bytesRead === 0) break
    total += bytesRead
    if (total > maxBytes) throw tooLargeWhileReading(name, maxBytes)
    chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead))
  }
  return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total)
}

/** A FIFO, read through the event loop so that an abort or the limit ends it whatever the writer does. */
async function readFifoBounded(
  fd: number,
  name: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  // The socket owns the descriptor from here: destroying it closes it.
  const socket = new Socket({ fd, readable: true, writable: false })
  try {
    return await readStreamBounded(socket, name, maxBytes, signal)
  } finally {
    socket.destroy()
  }
}

/**
 * Read a stream (standard input, a FIFO) and refuse it as soon as it passes `maxBytes`. An abort
 * (an interrupt) destroys the stream and rejects with the signal's reason: a writer that never
 * writes cannot hold rc2 open.
 */
export async function readStreamBounded(
  stream: NodeJS.ReadableStream,
  name: string,
  maxBytes: number,
  signal?: AbortSignal,
): Promise<Buffer> {
  signal?.throwIfAborted()
  const onAbort = (): void => {
    const destroyable = stream as NodeJS.ReadableStream & { destroy?: (error?: Error) => void }
    destroyable.destroy?.(signal?.reason as Error)
  }
  signal?.addEventListener('abort', onAbort, { once: true })
  const chunks: Buffer[] = []
  let total = 0
  try {
    // Leaving the loop early (the throw) destroys the stream: the writer gets EPIPE, nothing more is read.
    for await (const piece of stream) {
      const chunk = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer)
      total += chunk.length
      if (total > maxBytes) throw tooLargeWhileReading(name, maxBytes)
      chunks.push(chunk)
    }
  } catch (error) {
    if (signal?.aborted === true) throw signal.reason
    throw error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  signal?.throwIfAborted()
  return Buffer.concat(chunks, total)
}

function tooLargeWhileReading(name: string, maxBytes: number): InputError {
  return new InputError(
    `${name} is over the ${formatMegabytes(maxBytes)} MB limit (rc2 stopped reading it there)`,
    {
      hint: 'pass the challenge image or a screenshot, not a larger file or a device',
    },
  )
}

function tooLarge(name: string, size: number, maxBytes: number): InputError {
  return new InputError(
    `${name} is ${formatMegabytes(size)} MB, over the ${formatMegabytes(maxBytes)} MB limit`,
    {
      hint: 'pass the challenge image or a screenshot, not a larger file',
    },
  )
}

function formatMegabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')
}
