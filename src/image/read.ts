/**
 * Reading inputs with a bound that holds while reading, whatever the file is: a regular file, a
 * FIFO with a slow writer, a device such as /dev/zero, or standard input. No sharp here, so the
 * batch can read ahead without loading the image library.
 */
import { constants, open as openFd } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { Socket } from 'node:net'
import { promisify } from 'node:util'
import { InputError } from '../errors.js'

const READ_CHUNK = 1024 * 1024

/**
 * Read a file of any kind (regular file, FIFO, device such as /dev/zero) and refuse it as soon as
 * it passes `maxBytes`, while reading: a size from stat() covers regular files only, and a file
 * may grow after it. System errors are thrown as they are, for the caller to name.
 */
export async function readFileBounded(path: string, name: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
  // A FIFO is opened without blocking and read through the event loop: a blocking open() waits for
  // a writer in a thread that nothing can interrupt, and keeps even process.exit() from finishing.
  const kind = await stat(path)
  if (kind.isFIFO()) {
    // A bare descriptor (not a FileHandle, which would close it when collected): the socket owns it.
    const fd = await promisify(openFd)(path, constants.O_RDONLY | constants.O_NONBLOCK)
    const socket = new Socket({ fd, readable: true, writable: false })
    try {
      return await readStreamBounded(socket, name, maxBytes, signal)
    } finally {
      socket.destroy()
    }
  }
  const handle = await open(path, 'r')
  try {
    const info = await handle.stat()
    if (info.isDirectory()) throw Object.assign(new Error(`${name} is a directory`), { code: 'EISDIR' })
    // Refuse a regular file that is too large before reading any of it.
    if (info.isFile() && info.size > maxBytes) throw tooLarge(name, info.size, maxBytes)
    const chunks: Buffer[] = []
    let total = 0
    // A regular file is read in one call (its size plus one byte, to notice growth).
    let want = info.isFile() ? Math.min(info.size + 1, maxBytes + 1) : READ_CHUNK
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(want, maxBytes + 1 - total)))
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null)
      if (bytesRead === 0) break
      total += bytesRead
      if (total > maxBytes) throw tooLargeWhileReading(name, maxBytes)
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead))
      want = READ_CHUNK
    }
    return chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total)
  } finally {
    await handle.close()
  }
}

/**
 * Read a stream (standard input, a FIFO) and refuse it as soon as it passes `maxBytes`. An abort
 * (an interrupt) destroys the stream and rejects with the signal's reason: a writer that never
 * writes cannot hold rc2 open.
 */
export async function readStreamBounded(stream: NodeJS.ReadableStream, name: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
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
  return new InputError(`${name} is over the ${formatMegabytes(maxBytes)} MB limit (rc2 stopped reading it there)`, {
    hint: 'pass the challenge image or a screenshot, not a larger file or a device',
  })
}

function tooLarge(name: string, size: number, maxBytes: number): InputError {
  return new InputError(`${name} is ${formatMegabytes(size)} MB, over the ${formatMegabytes(maxBytes)} MB limit`, {
    hint: 'pass the challenge image or a screenshot, not a larger file',
  })
}

function formatMegabytes(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1).replace(/\.0$/, '')
}
