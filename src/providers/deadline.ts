/**
 * The one way rc2 links an abort to a deadline: a controller of its own, aborted by a timer (with
 * a TimeoutError) or by the outer signal (with its reason). Not AbortSignal.any or
 * AbortSignal.timeout: a composite signal is only weakly held by its sources and can be collected
 * mid-call, which silently loses the abort; and a timeout signal lives on after the work is done,
 * so a fast batch would hold thousands of timers.
 */
export interface LinkedDeadline {
  readonly signal: AbortSignal
  /** True once the timer (not the outer signal) ended it. */
  timedOut(): boolean
  /** `promise`, or this signal's reason as soon as it aborts (the promise is left to settle). */
  race<T>(promise: Promise<T>): Promise<T>
  /** Stop the timer and stop listening to the outer signal. */
  dispose(): void
}

/** `timeoutMs` undefined: no timer, only the outer signal. */
export function linkDeadline(
  outer: AbortSignal | undefined,
  timeoutMs?: number,
  what = 'the deadline was reached',
): LinkedDeadline {
  if (timeoutMs === undefined && outer !== undefined) return outerDeadline(outer)
  const controller = new AbortController()
  let timedOut = false
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true
          controller.abort(new DOMException(what, 'TimeoutError'))
        }, timeoutMs)
  const onOuterAbort = (): void => controller.abort(outer?.reason)
  if (outer?.aborted === true) onOuterAbort()
  else outer?.addEventListener('abort', onOuterAbort, { once: true })
  const { race, stop } = racer(controller.signal)
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    race,
    dispose: () => {
      clearTimeout(timer)
      outer?.removeEventListener('abort', onOuterAbort)
      stop()
    },
  }
}

/**
 * No timer: the outer signal is the deadline itself, with no controller of its own (a signal made
 * per call outlives the call on Node 20, a few KB each over a batch of a million inputs).
 */
function outerDeadline(signal: AbortSignal): LinkedDeadline {
  const { race, stop } = racer(signal)
  return { signal, timedOut: () => false, race, dispose: stop }
}

/** The `race` of a deadline on `signal`, and `stop` to remove its listener (the signal may live on). */
function racer(signal: AbortSignal): { race: LinkedDeadline['race']; stop: () => void } {
  let fail: (() => void) | undefined
  let aborted: Promise<never> | undefined
  return {
    race: <T>(promise: Promise<T>): Promise<T> => {
      aborted ??= new Promise<never>((_resolve, reject) => {
        fail = (): void => reject(signal.reason as Error)
        if (signal.aborted) fail()
        else signal.addEventListener('abort', fail, { once: true })
      })
      aborted.catch(() => undefined)
      // The abort first: an already aborted signal wins over an already settled promise.
      return Promise.race([aborted, promise])
    },
    stop: () => {
      if (fail !== undefined) signal.removeEventListener('abort', fail)
    },
  }
}

/** Run `work` under a deadline linked to `outer`, disposed when it settles. */
export async function withDeadline<T>(
  timeoutMs: number | undefined,
  outer: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
  what = 'the overall deadline was reached',
): Promise<T> {
  const deadline = linkDeadline(outer, timeoutMs, what)
  try {
    return await work(deadline.signal)
  } finally {
    deadline.dispose()
  }
}
