import { Rc2Error, type ErrorKind } from '../errors.js'
import { isTooManyInFlight } from '../providers/error-map.js'
import type { SolveFailure, SolveResult } from './result.js'

/**
 * The batch runner: many inputs, a bounded and adaptive number in flight, a spending budget, a
 * stop on account-level failures, and a graceful stop on interrupt. It knows nothing of images or
 * HTTP: the caller supplies `run` (one input end to end) and gets each result as it finishes.
 */

export interface BatchItem {
  input: string
}

export interface BatchHooks<T extends BatchItem> {
  /**
   * Solve one input; throw an Rc2Error for its failure; return null to skip it (already solved in
   * an earlier run). `ctx.reserve` is called once the cost is known, before sending.
   */
  run(item: T, ctx: RunContext): Promise<SolveResult | null>
  /** Called once per finished input, in completion order. Awaited (so writes are flushed in order). */
  onResult(result: SolveResult, index: number): void | Promise<void>
  /** Called when an input starts or ends, for progress. */
  onProgress?(state: BatchProgress): void
}

export interface RunContext {
  signal: AbortSignal
  /**
   * Ask the budget for `points` before sending a paid request (`retry`: resending one whose reply
   * was lost). Throws an Rc2Error when the batch would go over --max-points, or when the batch was
   * stopped (bad key, no balance).
   */
  reserve(points: number, retry?: boolean): void
  /**
   * Tell the runner the service pushed back. `overLimit` (too many tasks in flight for the account)
   * lowers concurrency at once; a plain 429 only counts towards sustained push-back: its
   * Retry-After is waited out by that input alone (see `whileWaiting`).
   */
  pushedBack(retryAfterSec?: number, overLimit?: boolean): void
  /**
   * Run `wait` (an input's pause before retrying) with its slot lent to another input; resolves
   * once the slot is back. Retries waiting their turn go before new inputs.
   */
  whileWaiting<R>(wait: () => Promise<R>): Promise<R>
  /** Count `points` spent by `calls` requests that gave no answer before another provider was asked (failover). */
  spend(points: number, calls: number): void
}

export interface BatchOptions {
  /** Most inputs in flight at once. */
  concurrency: number
  /** Budget in points; undefined = no limit. */
  maxPoints?: number | undefined
  /** Aborted on interrupt: stop starting new inputs, let in-flight ones finish within the grace period. */
  signal?: AbortSignal | undefined
  /**
   * Aborted on a second interrupt: in-flight inputs get only `stopNowGraceMs` more (answers already
   * on their way are still written; each was paid for), then are cut.
   */
  stopNow?: AbortSignal | undefined
  stopNowGraceMs?: number | undefined
  /** How long in-flight inputs may still run after an interrupt (ms). */
  graceMs?: number | undefined
  now?: () => number
}

export interface BatchProgress {
  total: number
  done: number
  ok: number
  failed: number
  inFlight: number
  limit: number
  points: number
}

export interface BatchSummary {
  total: number
  solved: number
  failed: number
  /** Inputs skipped because an earlier run solved them (--resume). */
  skipped: number
  failedByKind: Partial<Record<ErrorKind, number>>
  /** Points spent (what the answers said they cost, plus calls that may have been charged without an answer). */
  points: number
  /** Inputs not sent because --max-points would have been exceeded. */
  unsentBudget: number
  /** Inputs not sent because the batch stopped (bad key, zero balance). */
  unsentStopped: number
  /** Inputs not finished because of an interrupt. */
  interrupted: number
  /** Requests that may have been charged without giving an answer (lost replies, retried or not). */
  extraPaidCalls: number
  /** Answers per provider, when more than one was named (failover). */
  byProvider?: Record<string, number>
  latencyMs: { p50: number | null; p95: number | null }
  wallMs: number
}

const STOP_KINDS: ReadonlySet<ErrorKind> = new Set(['auth', 'balance'])

/**
 * Rate push-backs (429) among the recent events (push-backs and answers) that count as sustained:
 * a third of a window of twice the concurrency (at least 3). A sporadic 429 (a few percent of
 * calls) stays far below it; a service refusing most calls reaches it within a round.
 */
const SUSTAINED_SHARE = 1 / 3
const MIN_SUSTAINED = 3

export async function runBatch<T extends BatchItem>(items: readonly T[], hooks: BatchHooks<T>, options: BatchOptions): Promise<BatchSummary> {
  const now = options.now ?? Date.now
  const started = now()
  const maxLimit = Math.max(1, Math.floor(options.concurrency))
  let limit = maxLimit
  let successStreak = 0
  // Recent outcomes for telling sustained push-back from sporadic: true = a 429, false = an answer.
  const recent: boolean[] = []
  const windowSize = Math.max(8, 2 * maxLimit)
  let next = 0
  // Inputs started and not finished, and of those the ones holding a slot (not waiting to retry).
  let inFlight = 0
  let active = 0
  // Inputs whose retry wait is over, waiting for a slot (served before new inputs start).
  const resumeQueue: (() => void)[] = []
  let done = 0
  let ok = 0
  let failed = 0
  let spent = 0
  let reserved = 0
  let extraPaidCalls = 0
  let unsentBudget = 0
  let unsentStopped = 0
  let interrupted = 0
  let skipped = 0
  let stopReason: Rc2Error | undefined
  const latencies: number[] = []
  const failedByKind: Partial<Record<ErrorKind, number>> = {}
  const inflightControllers = new Set<AbortController>()
  const interrupt = options.signal

  const noteOutcome = (pushBack: boolean): number => {
    recent.push(pushBack)
    if (recent.length > windowSize) recent.shift()
    return recent.reduce((n, x) => n + (x ? 1 : 0), 0)
  }
  const slowDown = (): void => {
    limit = Math.max(1, Math.floor(limit / 2))
    successStreak = 0
    recent.length = 0
  }
  // Set once the pump exists; slots freed by a waiting retry are handed on through it.
  let pumpRef: () => void = () => undefined

  const progress = (): void =>
    hooks.onProgress?.({ total: items.length, done, ok, failed, inFlight, limit, points: spent })

  const record = async (result: SolveResult, index: number, elapsed: number): Promise<void> => {
    done++
    if (result.ok) {
      ok++
      latencies.push(elapsed)
    } else {
      failed++
      failedByKind[result.error.kind] = (failedByKind[result.error.kind] ?? 0) + 1
    }
    await hooks.onResult(result, index)
    progress()
  }

  const runOne = async (index: number, slot: { held: boolean }): Promise<void> => {
    const item = items[index] as T
    const controller = new AbortController()
    inflightControllers.add(controller)
    let myReservation = 0
    // What one call of this input costs: the first reservation (resends reserve the same again).
    let perCall = 0
    const ctx: RunContext = {
      signal: controller.signal,
      reserve(points: number, retry = false) {
        if (stopReason !== undefined) throw stoppedError(stopReason, retry)
        if (options.maxPoints !== undefined && spent + reserved + points > options.maxPoints) {
          // A refused resend was sent once already: it is not an input left unsent.
          if (!retry) unsentBudget++
          const what = retry ? 'not resent after its reply was lost (that call may have been charged)' : 'not sent'
          throw new Rc2Error('balance', `${what}: it would take the batch past --max-points ${options.maxPoints} (${spent} spent, ${reserved} in flight)`, {
            code: 'MAX_POINTS',
            hint: 'raise --max-points, or run again with --resume to continue where this stopped',
          })
        }
        if (perCall === 0) perCall = points
        reserved += points
        myReservation += points
      },
      spend(points: number, calls: number) {
        spent += points
        extraPaidCalls += calls
      },
      pushedBack(_retryAfterSec?: number, overLimit = false) {
        // Too many in flight is about concurrency itself: halve at once. A 429 halves only when
        // sustained; its Retry-After delays the input that got it, not the batch.
        if (overLimit) slowDown()
        else if (noteOutcome(true) >= Math.max(MIN_SUSTAINED, Math.ceil(windowSize * SUSTAINED_SHARE))) slowDown()
      },
      async whileWaiting<R>(wait: () => Promise<R>): Promise<R> {
        if (!slot.held) return wait()
        slot.held = false
        active--
        pumpRef()
        const value = await wait()
        await new Promise<void>((resume) => {
          resumeQueue.push(resume)
          pumpRef()
        })
        slot.held = true
        return value
      },
    }
    const t0 = now()
    let result: SolveResult
    let chargedCalls = 0
    try {
      const outcome = await hooks.run(item, ctx)
      if (outcome === null) {
        inflightControllers.delete(controller)
        skipped++
        return
      }
      result = outcome
    } catch (error) {
      if (interrupt?.aborted === true && controller.signal.aborted) {
        // Cut off by the interrupt's grace period: not finished, so not written (resume will redo it).
        reserved -= myReservation
        inflightControllers.delete(controller)
        interrupted++
        return
      }
      result = toFailure(item.input, error, now() - t0)
      if (error instanceof Rc2Error && myReservation > 0) chargedCalls = error.paidCalls > 0 ? error.paidCalls : error.mayHaveCharged ? 1 : 0
      if (error instanceof Rc2Error && STOP_KINDS.has(error.kind) && stopReason === undefined && error.code !== 'MAX_POINTS') stopReason = error
      if (error instanceof Rc2Error && error.kind === 'rate_limit') ctx.pushedBack(error.retryAfterSec, isTooManyInFlight(error))
      if (error instanceof Rc2Error && error.message.startsWith('not sent: the batch stopped')) unsentStopped++
    }
    inflightControllers.delete(controller)
    reserved -= myReservation
    if (result.ok && !('dryRun' in result)) {
      const paid = result.paidCalls ?? 1
      spent += (result.points ?? perCall) * Math.max(1, paid)
      if (paid > 1) extraPaidCalls += paid - 1
      noteOutcome(false)
      successStreak++
      // Speed up again once a full window of answers came back without push-back.
      if (limit < maxLimit && successStreak >= limit) {
        limit++
        successStreak = 0
      }
    } else if (chargedCalls > 0) {
      // Requests reached the service but no usable answer came back: assume each was charged.
      spent += perCall * chargedCalls
      extraPaidCalls += chargedCalls
    }
    await record(result, index, now() - t0)
  }

  await new Promise<void>((resolveAll) => {
    const running = new Set<Promise<void>>()
    let graceTimer: NodeJS.Timeout | undefined

    const onInterrupt = (): void => {
      const grace = options.graceMs ?? 5000
      graceTimer = setTimeout(() => {
        for (const c of inflightControllers) c.abort(interrupt?.reason)
      }, grace)
      graceTimer.unref?.()
      pump()
    }
    interrupt?.addEventListener('abort', onInterrupt, { once: true })
    let stopNowTimer: NodeJS.Timeout | undefined
    const onStopNow = (): void => {
      stopNowTimer = setTimeout(() => {
        for (const c of inflightControllers) c.abort(interrupt?.reason ?? options.stopNow?.reason)
      }, options.stopNowGraceMs ?? 1000)
      stopNowTimer.unref?.()
    }
    options.stopNow?.addEventListener('abort', onStopNow, { once: true })

    const finish = (): void => {
      interrupt?.removeEventListener('abort', onInterrupt)
      options.stopNow?.removeEventListener('abort', onStopNow)
      if (stopNowTimer !== undefined) clearTimeout(stopNowTimer)
      if (graceTimer !== undefined) clearTimeout(graceTimer)
      resolveAll()
    }

    const pump = (): void => {
      if (interrupt?.aborted === true) {
        interrupted += items.length - next
        next = items.length
      }
      // Retries whose wait is over go first: their deadline is running.
      while (resumeQueue.length > 0 && active < limit) {
        active++
        resumeQueue.shift()?.()
      }
      while (next < items.length && active < limit && resumeQueue.length === 0) {
        const index = next++
        inFlight++
        active++
        progress()
        // Whether this input holds a slot: it lends it while waiting to retry.
        const slot = { held: true }
        const task = runOne(index, slot).finally(() => {
          inFlight--
          if (slot.held) active--
          running.delete(task)
          pump()
        })
        running.add(task)
      }
      if (inFlight === 0 && next >= items.length) finish()
    }
    pumpRef = pump
    if (items.length === 0) finish()
    else pump()
  })

  latencies.sort((a, b) => a - b)
  return {
    total: items.length,
    solved: ok,
    failed,
    skipped,
    failedByKind,
    points: spent,
    unsentBudget,
    unsentStopped,
    interrupted,
    extraPaidCalls,
    latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95) },
    wallMs: Math.round(now() - started),
  }
}

function stoppedError(reason: Rc2Error, retry = false): Rc2Error {
  // A resend was sent once already: it is not one of the inputs left unsent.
  const what = retry ? 'not resent after its reply was lost (that call may have been charged)' : 'not sent'
  return new Rc2Error(reason.kind, `${what}: the batch stopped after "${reason.message}"`, {
    code: reason.code,
    hint: reason.hint,
  })
}

function toFailure(input: string, error: unknown, elapsedMs?: number): SolveFailure {
  const err =
    error instanceof Rc2Error
      ? error
      : new Rc2Error('provider', `internal error: ${error instanceof Error ? error.message : String(error)}`, {
          hint: 'this is a bug in rc2; run again with --verbose and report it',
        })
  const failure: SolveFailure = { schemaVersion: 1, input, ok: false, error: err.toJSON() }
  if (elapsedMs !== undefined) failure.elapsedMs = Math.round(elapsedMs)
  if (err.paidCalls > 0) failure.paidCalls = err.paidCalls
  if (err.attempts !== undefined && err.attempts.length > 0) failure.attempts = err.attempts as NonNullable<SolveFailure['attempts']>
  return failure
}

function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const index = Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)
  return Math.round(sorted[Math.max(0, index)] as number)
}
