import { Rc2Error, type ErrorKind } from '../errors.js'
import type { SolveResult } from './result.js'

/** Account-level failures: after one, the batch sends nothing more. */
const STOP_KINDS: ReadonlySet<ErrorKind> = new Set(['auth', 'balance'])

/**
 * A refusal because the batch stopped (bad key, no balance). `resend` tells a resend after a lost
 * reply (sent once already, so not an input left unsent) from a first send.
 */
export class BatchStoppedError extends Rc2Error {
  constructor(
    reason: Rc2Error,
    readonly resend: boolean,
  ) {
    const what = resend
      ? 'not resent after its reply was lost (that call may have been charged)'
      : 'not sent'
    super(reason.kind, `${what}: the batch stopped after "${reason.message}"`, {
      code: reason.code,
      hint: reason.hint,
    })
  }
}

/**
 * The batch's spending: points spent (answers plus calls that may have been charged without one),
 * points reserved by inputs in flight, and the --max-points limit both must stay under. Also the
 * stop: once an input fails with a bad key or an empty balance, nothing more is sent.
 */
export class BatchBudget {
  spent = 0
  reserved = 0
  /** Requests that may have been charged without giving an answer (lost replies, retried or not). */
  extraPaidCalls = 0
  /** Inputs not sent because --max-points would have been exceeded. */
  unsentBudget = 0
  private stopReason: Rc2Error | undefined

  constructor(private readonly maxPoints: number | undefined) {}

  /** Remember the first account-level failure; every later reservation is refused with it. */
  noteFailure(error: Rc2Error): void {
    if (STOP_KINDS.has(error.kind) && this.stopReason === undefined && error.code !== 'MAX_POINTS')
      this.stopReason = error
  }

  /** Throws when `points` more would go over --max-points, or when the batch stopped. */
  check(points: number, resend: boolean): void {
    if (this.stopReason !== undefined) throw new BatchStoppedError(this.stopReason, resend)
    if (this.maxPoints === undefined || this.spent + this.reserved + points <= this.maxPoints)
      return
    // A refused resend was sent once already: it is not an input left unsent.
    if (!resend) this.unsentBudget++
    const what = resend
      ? 'not resent after its reply was lost (that call may have been charged)'
      : 'not sent'
    throw new Rc2Error(
      'balance',
      `${what}: it would take the batch past --max-points ${this.maxPoints} (${this.spent} spent, ${this.reserved} in flight)`,
      {
        code: 'MAX_POINTS',
        hint: 'raise --max-points, or run again with --resume to continue where this stopped',
      },
    )
  }

  /** One input's account: what it reserved, and what one call of it costs. */
  open(): InputAccount {
    return new InputAccount(this)
  }
}

/** The budget as one input sees it: reservations before sending, settled when the input ends. */
export class InputAccount {
  private reservedHere = 0
  // What one call of this input costs: the first reservation (resends reserve the same again).
  private perCall = 0

  constructor(private readonly budget: BatchBudget) {}

  reserve(points: number, resend = false): void {
    this.budget.check(points, resend)
    if (this.perCall === 0) this.perCall = points
    this.budget.reserved += points
    this.reservedHere += points
  }

  /** Points spent by `calls` requests that gave no answer before another provider was asked (failover). */
  spend(points: number, calls: number): void {
    this.budget.spent += points
    this.budget.extraPaidCalls += calls
  }

  /** From now on a call of this input costs `points` (failover moved it to another provider). */
  priceAs(points: number): void {
    this.perCall = points
  }

  /** Calls of a failed input that may have been charged: only when it had reserved, so was sent. */
  chargedCalls(error: unknown): number {
    if (!(error instanceof Rc2Error) || this.reservedHere === 0) return 0
    return error.paidCalls > 0 ? error.paidCalls : error.mayHaveCharged ? 1 : 0
  }

  /** Give back what is reserved (the input ended) without spending anything. */
  release(): void {
    this.budget.reserved -= this.reservedHere
  }

  /** The input ended with `result`: release its reservation and count what it cost. */
  settle(result: SolveResult, chargedCalls: number): void {
    this.release()
    if (result.ok && !('dryRun' in result)) {
      const paid = result.paidCalls ?? 1
      this.budget.spent += (result.points ?? this.perCall) * Math.max(1, paid)
      if (paid > 1) this.budget.extraPaidCalls += paid - 1
    } else if (chargedCalls > 0) {
      // Requests reached the service but no usable answer came back: assume each was charged.
      this.budget.spent += this.perCall * chargedCalls
      this.budget.extraPaidCalls += chargedCalls
    }
  }
}
