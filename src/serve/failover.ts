/**
 * Asking the configured services in order, through the library's solve(): the next service is
 * tried when one fails with a kind that another may not share (unsolvable, provider, network,
 * timeout, rate_limit); a refused key or an empty account drops that service for the gateway's
 * life; a service that keeps failing is set aside by the circuit breaker for a while.
 */
import { Rc2Error, solve, type SolveOptions, type SolveSuccess } from '../index.js'
import type { QuestionMatch } from '../questions/types.js'
import type { ProviderName } from '../providers/types.js'
import type { Grid } from '../types.js'

/** One configured service: its key and endpoint stay here, never in a reply, a log or a metric. */
export interface Route {
  name: ProviderName
  apiKey: string
  endpoint?: string | undefined
  region?: 'intl' | 'cn' | undefined
  timeoutMs: number
}

export interface Attempt {
  provider: ProviderName
  kind: string
  code: string | null
  /** Calls of this attempt that may have been charged (as the batch budget counts them). */
  paidCalls: number
}

const FAILOVER_KINDS = new Set(['unsolvable', 'provider', 'network', 'timeout', 'rate_limit'])
const DROP_KINDS = new Set(['auth', 'balance'])
/** Kinds that say the service is unwell (not the image's fault): they count toward the breaker. */
const BREAKER_KINDS = new Set(['provider', 'network', 'timeout', 'rate_limit'])

/**
 * Per service: `failures` in a row open the circuit for `cooldownMs`; then one task may try it
 * (half-open): a success closes it, a failure opens it again.
 */
export class CircuitBreaker {
  private readonly state = new Map<
    string,
    { failures: number; openUntil: number; trial: boolean }
  >()

  constructor(
    private readonly failures: number,
    private readonly cooldownMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a task may ask this service now (taking the one half-open trial if it is due). */
  allow(name: string): boolean {
    const entry = this.state.get(name)
    if (entry === undefined || entry.openUntil === 0) return true
    if (this.now() < entry.openUntil || entry.trial) return false
    entry.trial = true
    return true
  }

  success(name: string): void {
    this.state.delete(name)
  }

  failure(name: string): void {
    const entry = this.state.get(name) ?? { failures: 0, openUntil: 0, trial: false }
    entry.failures++
    if (entry.trial || entry.failures >= this.failures) {
      entry.openUntil = this.now() + this.cooldownMs
      entry.trial = false
    }
    this.state.set(name, entry)
  }

  /** The service asked for a pause (Retry-After): no task asks it before then, whichever client sent it. */
  pushBack(name: string, ms: number): void {
    const entry = this.state.get(name) ?? { failures: 0, openUntil: 0, trial: false }
    entry.openUntil = Math.max(entry.openUntil, this.now() + ms)
    entry.trial = false
    this.state.set(name, entry)
  }

  /** The trial ended without telling whether the service is well (the image was at fault): free it for another. */
  release(name: string): void {
    const entry = this.state.get(name)
    if (entry !== undefined) entry.trial = false
  }

  /** Services currently set aside (for /healthz and the metrics). */
  open(): string[] {
    const now = this.now()
    return [...this.state.entries()]
      .filter(([, entry]) => entry.openUntil > now)
      .map(([name]) => name)
  }
}

/** The library's solve for one image and one service. */
export type SolveFn = (
  input: Buffer,
  options: SolveOptions & { dryRun?: false },
) => Promise<SolveSuccess>

export interface FailoverContext {
  routes: readonly Route[]
  breaker: CircuitBreaker
  /** Services dropped for a bad key or an empty account (shared by every task). */
  dropped: Set<ProviderName>
  retries: number
  allowInsecure: boolean
  /** The library's solve unless replaced (the bench measures the gateway alone with a stand-in). */
  solveImpl?: SolveFn | undefined
  /** Told of every attempt: the service, 'ok' or the error kind, and its duration. */
  onAttempt?: (provider: ProviderName, outcome: string, ms: number) => void
}

export interface FailoverTask {
  image: Buffer
  question: QuestionMatch
  grid?: Grid | undefined
  confidence?: number | undefined
  signal?: AbortSignal | undefined
}

export class FailoverError extends Error {
  constructor(
    readonly last: Rc2Error | undefined,
    readonly attempts: Attempt[],
    message: string,
  ) {
    super(message)
    this.name = 'FailoverError'
  }
}

/**
 * Solve one task with the first service that answers. Kept to this one function so that the
 * engine's own failover (a provider list given to solve) can replace it.
 */
export async function solveWithFailover(
  task: FailoverTask,
  context: FailoverContext,
): Promise<{ result: SolveSuccess; attempts: Attempt[] }> {
  const attempts: Attempt[] = []
  let last: Rc2Error | undefined
  const solveFn: SolveFn = context.solveImpl ?? ((input, options) => solve(input, options))
  for (const route of context.routes) {
    if (context.dropped.has(route.name) || !context.breaker.allow(route.name)) continue
    const options: SolveOptions & { dryRun?: false } = {
      question: task.question,
      provider: route.name,
      apiKey: route.apiKey,
      endpoint: route.endpoint,
      region: route.region,
      grid: task.grid,
      confidence: task.confidence,
      timeoutMs: route.timeoutMs,
      retries: context.retries,
      allowInsecure: context.allowInsecure,
      signal: task.signal,
    }
    const started = performance.now()
    try {
      const result = await solveFn(task.image, options)
      context.breaker.success(route.name)
      context.onAttempt?.(route.name, 'ok', performance.now() - started)
      return { result, attempts }
    } catch (error) {
      if (!(error instanceof Rc2Error)) {
        context.breaker.release(route.name)
        throw error
      }
      last = error
      attempts.push({
        provider: route.name,
        kind: error.kind,
        code: error.code ?? null,
        paidCalls: error.paidCalls ?? (error.mayHaveCharged ? 1 : 0),
      })
      context.onAttempt?.(route.name, error.kind, performance.now() - started)
      // A Retry-After holds for the service across every client's tasks, not only this one's retries.
      if (error.kind === 'rate_limit' && error.retryAfterSec !== undefined)
        context.breaker.pushBack(route.name, error.retryAfterSec * 1000)
      if (DROP_KINDS.has(error.kind)) context.dropped.add(route.name)
      else if (BREAKER_KINDS.has(error.kind)) context.breaker.failure(route.name)
      else if (!FAILOVER_KINDS.has(error.kind))
        throw new FailoverError(error, attempts, error.message)
      if (task.signal?.aborted === true) break
    }
  }
  const message =
    last === undefined
      ? 'every configured service is set aside (bad key, empty account or failing)'
      : `no service answered (last: ${last.message})`
  throw new FailoverError(last, attempts, message)
}
