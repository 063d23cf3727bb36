/**
 * Run `work` with a signal that aborts when `timeoutMs` passes (a TimeoutError) or when `outer`
 * aborts (with its reason). A timer cleared with the answer, not AbortSignal.timeout: that one
 * lives for the whole --timeout after the answer, so a fast batch would hold thousands of them.
 * The outer signal reaches ours through a listener, not AbortSignal.any: a composite signal is only
 * weakly held by its sources, and a collected one never aborts (the deadline must hold).
 */
export async function withDeadline<T>(
  timeoutMs: number,
  outer: AbortSignal | undefined,
  work: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const deadline = new AbortController()
  const timer = setTimeout(
    () => deadline.abort(new DOMException('the overall deadline was reached', 'TimeoutError')),
    timeoutMs,
  )
  const onOuterAbort = (): void => deadline.abort(outer?.reason)
  if (outer?.aborted === true) onOuterAbort()
  else outer?.addEventListener('abort', onOuterAbort, { once: true })
  try {
    return await work(deadline.signal)
  } finally {
    clearTimeout(timer)
    outer?.removeEventListener('abort', onOuterAbort)
  }
}
