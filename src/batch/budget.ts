import { type Rc2Error, RefusedError, type ErrorKind } from '../errors.js'
import { pointsFor } from '../providers/facts/index.js'
import type { CallAccount, ProviderName } from '../providers/types.js'
import type { Grid } from '../types.js'

/** Account-level failures: after one, the batch sends nothing more. */
const STOP_KINDS: ReadonlySet<ErrorKind> = new Set(['auth', 'balance'])

/**
 * The batch's spending: points spent (every call that may have been charged, as it happens),
 * points reserved by calls in flight, and the --max-points limit both must stay under. Also the
 * stop: once an input fails with a bad key or an empty balance, nothing more is sent.
 */
export class BatchBudget {
  spent = 0
  reserved = 0
  /** Requests that may have been charged without giving an answer (lost replies, retried or not). */
  extraPaidCalls = 0
  private stopReason: Rc2Error | undefined

  constructor(private readonly maxPoints: number | undefined) {}

  /** Remember the first account-level failure; every later reservation is refused with it. */
  noteFailure(error: Rc2Error): void {
    if (STOP_KINDS.has(error.kind) && !(error instanceof RefusedError)) this.stopReason ??= error
  }

  /** Throws a RefusedError when `points` more would go over --max-points, or when the batch stopped. */
  check(points: number, what: string, resend: boolean): void {
    const stop = this.stopReason
    if (stop !== undefined)
      throw new RefusedError(
        stop.kind,
        `${what}: the batch stopped after "${stop.message}"`,
        resend,
        {
          code: stop.code,
          hint: stop.hint,
        },
      )
    if (this.maxPoints === undefined || this.spent + this.reserved + points <= this.maxPoints)
      return
    throw new RefusedError(
      'budget',
      `${what}: it would take the batch past --max-points ${this.maxPoints} (${this.spent} spent, ${this.reserved} in flight)`,
      resend,
      { hint: 'raise --max-points to send it' },
    )
  }
}

/** What the run does for an input besides its budget: slots, push-back, notices. */
export type AccountRun = Pick<CallAccount, 'pushedBack' | 'whileWaiting' | 'notice'>

/**
 * One input's account (the CallAccount every paid call of it goes through): reservations at the
 * price of the provider asked, held while a call may be charged, and what its calls may have cost,
 * spent in the batch as it happens (failover, retries and the tiles of a round alike).
 */
export class InputAccount implements CallAccount {
  private held = 0
  /** Calls of this input that may have been charged (answered or not). */
  calls = 0
  /** Whether any call of this input was let through (a refusal then is not an input left unsent). */
  sent = false
  readonly pushedBack: AccountRun['pushedBack']
  readonly whileWaiting: AccountRun['whileWaiting']
  readonly notice: AccountRun['notice']

  constructor(
    private readonly budget: BatchBudget,
    run: AccountRun,
  ) {
    this.pushedBack = run.pushedBack
    this.whileWaiting = run.whileWaiting
    this.notice = run.notice
  }

  reserve(provider: ProviderName, grid: Grid, resend: boolean): void {
    const price = pointsFor(provider, grid)
    const what = resend
      ? 'not resent after its reply was lost (that call may have been charged)'
      : this.sent
        ? `${provider} not asked`
        : 'not sent'
    this.budget.check(price, what, resend || this.sent)
    this.sent = true
    this.held += price
    this.budget.reserved += price
  }

  charged(provider: ProviderName, grid: Grid): void {
    const price = pointsFor(provider, grid)
    this.unhold(price)
    this.calls += 1
    this.budget.spent += price
  }

  release(provider: ProviderName, grid: Grid): void {
    this.unhold(pointsFor(provider, grid))
  }

  /** The input ended (`answers` calls gave an answer): give back what is still held, count the extra calls. */
  close(answers: number): void {
    this.unhold(this.held)
    this.budget.extraPaidCalls += Math.max(0, this.calls - answers)
  }

  private unhold(points: number): void {
    const given = Math.min(points, this.held)
    this.held -= given
    this.budget.reserved -= given
  }
}
