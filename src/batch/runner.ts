import { setMaxListeners } from 'node:events'
import { Rc2Error, RefusedError, type ErrorKind } from '../errors.js'
import { isTooManyInFlight } from '../providers/error-map.js'
import type { CallAccount } from '../providers/types.js'
import { type AccountRun, BatchBudget, InputAccount } from './budget.js'
import { AdaptiveLimit } from './limit.js'
import type { SolveFailure, SolveResult } from '../engine/result.js'

/**
 * The batch runner: many inputs, a bounded and adaptive number in flight, a spending budget, a
 * stop on account-level failures, and a graceful stop on interrupt. It knows nothing of images or
 * HTTP: the caller supplies `run` (one input end to end) and gets each result as it finishes.
 */

export interface BatchHooks<T extends { input: string }> {
  /**
   * Solve one input; throw an Rc2Error for its failure; return null to skip it (already solved in
   * an earlier run). Every paid call goes through `ctx.account`.
   */
  run(item: T, ctx: RunContext): Promise<SolveResult | null>
  /** Called once per finished input, in completion order. Awaited (so writes are flushed in order). */
  onResult(result: SolveResult, index: number): void | Promise<void>
  /** Called when an input starts or ends, for progress. */
  onProgress?(state: BatchProgress): void
  /** A condition that holds for the rest of the batch (a provider dropped), said once. */
  onNotice?(text: string): void
}

export interface RunContext {
  signal: AbortSignal
  /** The input's account: passed whole to the provider call, which reserves, charges and reports through it. */
  account: CallAccount
}

interface BatchOptions {
  /** Most inputs in flight at once. */
  concurrency: number
  /** Budget in points; undefined = no limit. */
  maxPoints?: number | undefined
  /** Aborted on interrupt: stop starting new inputs, let in-flight ones finish within the grace period. */
  signal?: AbortSignal | undefined
  /**
   * Aborted on a second interrupt: in-flight inputs get only a second more (answers already on
   * their way are still written; each was paid for), then are cut.
   */
  stopNow?: AbortSignal | undefined
  /** How long in-flight inputs may still run after an interrupt (ms). */
  graceMs?: number | undefined
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

/** What becomes the summary: inputs by outcome, failures by kind, and answer latencies. */
class BatchTally {
  done = 0
  ok = 0
  failed = 0
  skipped = 0
  interrupted = 0
  unsentBudget = 0
  unsentStopped = 0
  /** Answer latencies in ms (a typed array: a million inputs stay a few MB). */
  private latencies = new Float64Array(64)
  private answered = 0
  readonly failedByKind: Partial<Record<ErrorKind, number>> = {}

  record(result: SolveResult, elapsedMs: number): void {
    this.done++
    if (result.ok) {
      this.ok++
      if (this.answered === this.latencies.length) {
        const grown = new Float64Array(this.latencies.length * 2)
        grown.set(this.latencies)
        this.latencies = grown
      }
      this.latencies[this.answered++] = elapsedMs
    } else {
      this.failed++
      this.failedByKind[result.error.kind] = (this.failedByKind[result.error.kind] ?? 0) + 1
    }
  }

  summary(total: number, budget: BatchBudget, wallMs: number): BatchSummary {
    const sorted = this.latencies.slice(0, this.answered).sort()
    return {
      total,
      solved: this.ok,
      failed: this.failed,
      skipped: this.skipped,
      failedByKind: this.failedByKind,
      points: budget.spent,
      unsentBudget: this.unsentBudget,
      unsentStopped: this.unsentStopped,
      interrupted: this.interrupted,
      extraPaidCalls: budget.extraPaidCalls,
      latencyMs: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95) },
      wallMs: Math.round(wallMs),
    }
  }
}

export async function runBatch<T extends { input: string }>(
  items: readonly T[],
  hooks: BatchHooks<T>,
  options: BatchOptions,
): Promise<BatchSummary> {
  const started = Date.now()
  const run = new BatchRun(items, hooks, options)
  await run.start()
  return run.tally.summary(items.length, run.budget, Date.now() - started)
}

/** One batch in progress: the pump that starts inputs as slots free up, and each input's run. */
class BatchRun<T extends { input: string }> {
  readonly budget: BatchBudget
  readonly tally = new BatchTally()
  private readonly limit: AdaptiveLimit
  private next = 0
  // Inputs started and not finished, and of those the ones holding a slot (not waiting to retry).
  private inFlight = 0
  private active = 0
  // Inputs whose retry wait is over, waiting for a slot (served before new inputs start).
  private readonly resumeQueue: (() => void)[] = []
  // One signal shared by every input in flight, replaced once it is used: a signal per input
  // outlives its input on Node 20 (it survives young collections), a few KB each over a million.
  private cut = sharedController()
  // Batch-wide conditions already said (a dropped provider): each once.
  private readonly notices = new Set<string>()
  private readonly interrupt: AbortSignal | undefined
  private finished: () => void = () => undefined

  constructor(
    private readonly items: readonly T[],
    private readonly hooks: BatchHooks<T>,
    private readonly options: BatchOptions,
  ) {
    this.budget = new BatchBudget(options.maxPoints)
    this.limit = new AdaptiveLimit(options.concurrency)
    this.interrupt = options.signal
  }

  /** Resolves once every input has ended (or was left unstarted by an interrupt). */
  start(): Promise<void> {
    return new Promise<void>((resolveAll) => {
      const unwatch = this.watchInterrupts()
      this.finished = () => {
        unwatch()
        resolveAll()
      }
      if (this.items.length === 0) this.finished()
      else this.pump()
    })
  }

  /** First signal: after the grace period, cut what is still in flight. Second: cut sooner. */
  private watchInterrupts(): () => void {
    const { options, interrupt } = this
    let graceTimer: NodeJS.Timeout | undefined
    let stopNowTimer: NodeJS.Timeout | undefined
    const abortAllAfter = (ms: number, reason: () => unknown): NodeJS.Timeout => {
      const timer = setTimeout(() => {
        // Inputs started after the cut get a fresh signal (only a stop-now without an interrupt starts any).
        const cut = this.cut
        this.cut = sharedController()
        cut.abort(reason())
      }, ms)
      timer.unref?.()
      return timer
    }
    const onInterrupt = (): void => {
      graceTimer = abortAllAfter(options.graceMs ?? 5000, () => interrupt?.reason)
      this.pump()
    }
    const onStopNow = (): void => {
      stopNowTimer = abortAllAfter(1000, () => interrupt?.reason ?? options.stopNow?.reason)
    }
    interrupt?.addEventListener('abort', onInterrupt, { once: true })
    options.stopNow?.addEventListener('abort', onStopNow, { once: true })
    return () => {
      interrupt?.removeEventListener('abort', onInterrupt)
      options.stopNow?.removeEventListener('abort', onStopNow)
      if (stopNowTimer !== undefined) clearTimeout(stopNowTimer)
      if (graceTimer !== undefined) clearTimeout(graceTimer)
    }
  }

  private readonly pump = (): void => {
    if (this.interrupt?.aborted === true) {
      this.tally.interrupted += this.items.length - this.next
      this.next = this.items.length
    }
    // Retries whose wait is over go first: their deadline is running.
    while (this.resumeQueue.length > 0 && this.active < this.limit.current) {
      this.active++
      this.resumeQueue.shift()?.()
    }
    while (
      this.next < this.items.length &&
      this.active < this.limit.current &&
      this.resumeQueue.length === 0
    ) {
      const index = this.next++
      this.inFlight++
      this.active++
      this.progress()
      // Whether the input holds a slot: it lends it while waiting to retry.
      const slot = { held: true }
      void this.runOne(index, slot).finally(() => {
        this.inFlight--
        if (slot.held) this.active--
        this.pump()
      })
    }
    if (this.inFlight === 0 && this.next >= this.items.length) this.finished()
  }

  private progress(): void {
    const { done, ok, failed } = this.tally
    this.hooks.onProgress?.({
      total: this.items.length,
      done,
      ok,
      failed,
      inFlight: this.inFlight,
      limit: this.limit.current,
      points: this.budget.spent,
    })
  }

  private async runOne(index: number, slot: { held: boolean }): Promise<void> {
    const item = this.items[index] as T
    const signal = this.cut.signal
    const account = new InputAccount(this.budget, this.accountRun(slot))
    const t0 = Date.now()
    let result: SolveResult
    try {
      const outcome = await this.hooks.run(item, { signal, account })
      if (outcome === null) {
        this.tally.skipped++
        return
      }
      result = outcome
      // The calls that gave an answer: one, or one per checked tile of a round.
      const answered = outcome.ok && !('dryRun' in outcome) ? outcome : undefined
      const answers = answered === undefined ? 0 : (answered.checked?.length ?? 1)
      account.close(answers)
      // More calls than answers (a lost reply, retried or failed over) may each have cost: say so.
      if (answered !== undefined && account.calls > answers) answered.paidCalls = account.calls
    } catch (error) {
      account.close(0)
      if (this.interrupt?.aborted === true && (signal.aborted || error === this.interrupt.reason)) {
        // Cut off by the interrupt (its grace period ended, or the read it waited on was stopped):
        // not finished, so not written (resume will redo it). What its calls cost is counted.
        this.tally.interrupted++
        return
      }
      result = toFailure(item.input, error, Date.now() - t0, account)
      this.classifyFailure(error, account)
    }
    if (result.ok && !('dryRun' in result)) this.limit.answered()
    this.tally.record(result, Date.now() - t0)
    await this.hooks.onResult(result, index)
    this.progress()
  }

  /** What a failure means for the whole batch: a stop, push-back, or an input left unsent. */
  private classifyFailure(error: unknown, account: InputAccount): void {
    if (!(error instanceof Rc2Error)) return
    this.budget.noteFailure(error)
    if (error.kind === 'rate_limit') this.limit.pushedBack(isTooManyInFlight(error))
    if (error instanceof RefusedError && !account.sent) {
      if (error.kind === 'budget') this.tally.unsentBudget++
      else this.tally.unsentStopped++
    }
  }

  /** What an input's account asks of the batch: push-back, its slot lent while it waits, notices. */
  private accountRun(slot: { held: boolean }): AccountRun {
    const { notices } = this
    return {
      pushedBack: (error) => this.limit.pushedBack(isTooManyInFlight(error)),
      notice: (text) => {
        if (notices.has(text)) return
        notices.add(text)
        this.hooks.onNotice?.(text)
      },
      whileWaiting: async <R>(wait: () => Promise<R>): Promise<R> => {
        if (!slot.held) return wait()
        slot.held = false
        this.active--
        this.pump()
        const value = await wait()
        await new Promise<void>((resume) => {
          this.resumeQueue.push(resume)
          this.pump()
        })
        slot.held = true
        return value
      },
    }
  }
}

/** Every input in flight listens to it: as many listeners as inputs, none of them a leak. */
function sharedController(): AbortController {
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  return controller
}

function toFailure(
  input: string,
  error: unknown,
  elapsedMs: number,
  account: InputAccount,
): SolveFailure {
  const err =
    error instanceof Rc2Error
      ? error
      : new Rc2Error(
          'provider',
          `internal error: ${error instanceof Error ? error.message : String(error)}`,
          {
            hint: 'this is a bug in rc2; run again with --verbose and report it',
          },
        )
  const failure: SolveFailure = { schemaVersion: 1, input, ok: false, error: err.toJSON() }
  failure.elapsedMs = Math.round(elapsedMs)
  if (account.calls > 0) failure.paidCalls = account.calls
  if (err.attempts !== undefined && err.attempts.length > 0)
    failure.attempts = err.attempts as NonNullable<SolveFailure['attempts']>
  // Refused before anything went out: the summary and stdout say it; a results file does not keep it.
  if (err instanceof RefusedError && !account.sent) failure.sent = false
  return failure
}

function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null
  const index = Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)
  return Math.round(sorted[Math.max(0, index)] as number)
}
