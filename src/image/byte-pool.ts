/**
 * Byte buffers lent for one picture's work and taken back for the next. Every new typed array of
 * a picture's size is memory the allocator zeroes and V8 counts towards its next collection: a
 * batch of 100 captures allocated 420 MB of masks and joined tiles (three quarters of its decoded
 * pixels again), 60 MB with the pool. A buffer taken is the caller's until given back; its bytes
 * are whatever the last borrower left.
 */

/** Largest buffer kept for reuse; a larger one is left to the collector. */
const KEEP_MAX_BYTES = 16 * 1024 * 1024
/** At most this much kept idle at once (a batch prepares a few pictures at a time). */
const IDLE_MAX_BYTES = 48 * 1024 * 1024
/** New buffers are rounded up to this, so that slightly larger pictures reuse them. */
const GRAIN = 256 * 1024
/** Idle buffers are let go after this long without a borrower (`rc2 serve`, a library process). */
const IDLE_MS = 30_000

const idle: Uint8Array[] = []
let idleBytes = 0
/**
 * The arrays lent now, each the very view takeBytes returned: only these are taken back (never a
 * caller's own array, nor a stale view of a buffer lent again since).
 */
const lent = new WeakSet<Uint8Array>()
/** Buffers lent so far, and the timer that lets the idle ones go once that stops growing. */
let taken = 0
let trim: NodeJS.Timeout | undefined

/** A buffer of exactly `length` bytes (a view of a kept one when one is free), contents unspecified. */
export function takeBytes(length: number): Uint8Array {
  taken++
  let best = -1
  for (let k = 0; k < idle.length; k++) {
    const size = idle[k]!.length
    if (size >= length && (best < 0 || size < idle[best]!.length)) best = k
  }
  let whole: Uint8Array
  if (best >= 0) {
    whole = idle.splice(best, 1)[0]!
    idleBytes -= whole.length
  } else {
    whole = new Uint8Array(length <= KEEP_MAX_BYTES ? Math.ceil(length / GRAIN) * GRAIN : length)
  }
  const bytes = whole.subarray(0, length)
  lent.add(bytes)
  return bytes
}

/** Give back a buffer from takeBytes; the caller must not touch it after. */
export function giveBytes(bytes: Uint8Array): void {
  if (!lent.delete(bytes)) return
  const whole = new Uint8Array(bytes.buffer, 0, bytes.buffer.byteLength)
  if (whole.length > KEEP_MAX_BYTES || idleBytes + whole.length > IDLE_MAX_BYTES) return
  idle.push(whole)
  idleBytes += whole.length
  if (trim === undefined) trimWhenUnused(taken)
}

/** Let the idle buffers go if nothing was borrowed for IDLE_MS; never keeps the process alive. */
function trimWhenUnused(seen: number): void {
  trim = setTimeout(() => {
    trim = undefined
    if (taken !== seen) trimWhenUnused(taken)
    else letIdleGo()
  }, IDLE_MS)
  trim.unref()
}

/** Let every idle buffer go now (what the timer does after IDLE_MS; the tests start from it). */
export function letIdleGo(): void {
  if (trim !== undefined) clearTimeout(trim)
  trim = undefined
  idle.length = 0
  idleBytes = 0
}

/**
 * Run synchronous `work` with a borrowed buffer of `length` bytes, given back however it ends.
 * Work that returns a promise is refused: the buffer would go back while it still ran.
 */
export function withBytes<T>(length: number, work: (bytes: Uint8Array) => T): T {
  const bytes = takeBytes(length)
  try {
    const result = work(bytes)
    if (typeof (result as { then?: unknown } | null)?.then === 'function')
      throw new TypeError('withBytes lends for synchronous work only')
    return result
  } finally {
    giveBytes(bytes)
  }
}
