/**
 * Failover between services (`-p yescaptcha,capsolver`): one Provider that asks each in turn until
 * one answers. Per input, the next one is asked when the current one cannot answer (unsolvable,
 * provider, network, timeout, or rate_limit once its own retries are spent). A bad key or an empty
 * account (auth, balance) drops that provider for the rest of the batch; to learn that without
 * sending every input in flight to it, the first call to each provider goes alone and the others
 * wait for it (a few seconds at most). Each provider gets its own deadline.
 */
import { setTimeout as delay } from 'node:timers/promises'
import { linkDeadline } from './deadline.js'
import { Rc2Error, RefusedError } from '../errors.js'
import type { ErrorKind } from '../errors.js'
import type {
  FailedAttempt,
  Provider,
  ProviderName,
  RecognitionRequest,
  RecognitionResult,
  RequestLogger,
} from './types.js'

const FAILOVER_KINDS: ReadonlySet<ErrorKind> = new Set([
  'unsolvable',
  'provider',
  'network',
  'timeout',
  'rate_limit',
])
const DROP_KINDS: ReadonlySet<ErrorKind> = new Set(['auth', 'balance'])

export interface FailoverOptions {
  /** In failover order. */
  providers: readonly Provider[]
  /** Deadline of one provider's attempt, polling included, in ms. */
  attemptTimeoutMs: (name: ProviderName) => number
  /** Longest wait for a provider's first call before others are sent to it (default 3000 ms). */
  probeWaitMs?: number | undefined
  log?: RequestLogger | undefined
}

export interface FailoverProvider extends Provider {
  /** Providers dropped for the rest of the batch, with why. */
  readonly dropped: ReadonlyMap<ProviderName, Rc2Error>
}

export function createFailoverProvider(options: FailoverOptions): FailoverProvider {
  const { providers } = options
  if (providers[0] === undefined) throw new Error('failover needs at least one provider')
  const first: Provider = providers[0]
  const state: FailoverState = {
    providers,
    first,
    dropped: new Map(),
    gate: new ProbeGate(options.probeWaitMs ?? 3000),
    options,
  }
  return {
    name: first.name,
    dropped: state.dropped,
    recognize: (request) => recognize(state, request),
    balance: (signal) => first.balance(signal),
    // A dry run and the budget's first guess describe the first provider; later ones are priced as they are asked.
    describeRequest: (parts) => first.describeRequest(parts),
    pointsFor: (grid) => first.pointsFor(grid),
  }
}

/** What every input of a batch shares: the order, who was dropped and why, and the probe gate. */
interface FailoverState {
  providers: readonly Provider[]
  first: Provider
  dropped: Map<ProviderName, Rc2Error>
  gate: ProbeGate
  options: FailoverOptions
}

/**
 * The first call to a provider goes alone; later ones wait for it (or `waitMs`). Decided
 * synchronously, so that inputs starting together cannot all be first.
 */
class ProbeGate {
  private readonly probes = new Map<ProviderName, Promise<unknown>>()

  constructor(private readonly waitMs: number) {}

  claim(name: ProviderName): {
    first: boolean
    settled: (done: Promise<unknown>) => void
    wait: Promise<unknown> | undefined
  } {
    const probe = this.probes.get(name)
    if (probe !== undefined) return { first: false, settled: () => undefined, wait: probe }
    let release: () => void = () => undefined
    this.probes.set(name, new Promise<void>((resolve) => (release = resolve)))
    return { first: true, settled: (done) => void done.then(release, release), wait: undefined }
  }

  async wait(probe: Promise<unknown> | undefined, signal: AbortSignal | undefined): Promise<void> {
    if (probe === undefined) return
    try {
      await Promise.race([
        probe,
        delay(this.waitMs, undefined, signal === undefined ? undefined : { signal }),
      ])
    } catch {
      // Aborted while waiting: the attempt below sees the signal.
    }
  }
}

async function recognize(
  state: FailoverState,
  request: RecognitionRequest,
): Promise<RecognitionResult> {
  const { providers, dropped, gate, options } = state
  const attempts: FailedAttempt[] = []
  let lastError: Rc2Error | undefined
  for (const provider of providers) {
    const { name } = provider
    if (dropped.has(name)) continue
    if (request.signal?.aborted === true) break
    if (lastError !== undefined)
      options.log?.(
        `failover: asking ${name} after ${attempts.at(-1)?.provider} failed (${lastError.kind})`,
      )
    const probe = gate.claim(name)
    await gate.wait(probe.wait, request.signal)
    if (dropped.has(name)) continue
    const deadline = linkDeadline(
      request.signal,
      options.attemptTimeoutMs(name),
      `the ${name} deadline was reached`,
    )
    // The adapter reserves its own price with the input's account before it sends.
    const attempt = provider.recognize({ ...request, signal: deadline.signal })
    // Released only after this attempt's own handling below, so a drop is seen by those waiting.
    const handled = attempt.then(
      () => undefined,
      () => undefined,
    )
    try {
      const result = await attempt
      return { ...result, provider: name, ...(attempts.length > 0 ? { attempts } : {}) }
    } catch (error) {
      if (!(error instanceof Rc2Error)) throw error
      // An interrupt or the caller's own deadline ends the input, not just this provider.
      if (isAborted(request.signal)) throw withAttempts(error, attempts)
      if (error instanceof RefusedError) {
        // The run would not pay for this provider (budget, stop): the input ends with what it had.
        options.log?.(`failover: not asking ${name}: ${error.message}`)
        if (lastError === undefined) throw withAttempts(error, attempts)
        break
      }
      if (DROP_KINDS.has(error.kind)) drop(state, request, name, error)
      else if (!FAILOVER_KINDS.has(error.kind)) throw withAttempts(error, attempts)
      attempts.push({ provider: name, kind: error.kind, code: error.code ?? null })
      lastError = error
    } finally {
      deadline.dispose()
      probe.settled(handled)
    }
  }
  if (lastError !== undefined) {
    // The last failure is the result; the ones before it are its attempts.
    throw withAttempts(lastError, attempts.slice(0, -1))
  }
  throw allDropped(state)
}

/** Every provider was dropped earlier in the batch: the first reason stands for all. */
function allDropped(state: FailoverState): Rc2Error {
  const reason = state.dropped.get(state.first.name) ?? [...state.dropped.values()][0]
  if (reason === undefined) return new Rc2Error('usage', 'no provider left to ask')
  return new Rc2Error(reason.kind, reason.message, {
    code: reason.code,
    hint: reason.hint,
    provider: reason.provider,
  })
}

/** A bad key or an empty account: no input asks `name` again, and the run hears it once, with why. */
function drop(
  state: FailoverState,
  request: RecognitionRequest,
  name: ProviderName,
  error: Rc2Error,
): void {
  if (state.dropped.has(name)) return
  state.dropped.set(name, error)
  const left = state.providers.filter((p) => !state.dropped.has(p.name)).map((p) => p.name)
  const rest = left.length > 0 ? `asking ${left.join(', ')} instead` : 'no provider left'
  const text = `${name} dropped for the rest of the batch (${error.kind}): ${error.message}; ${rest}`
  state.options.log?.(`failover: ${text}`)
  request.account?.notice(text)
}

/** Read through a function so TypeScript does not keep an earlier narrowing of `aborted`. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true
}

function withAttempts(error: Rc2Error, attempts: FailedAttempt[]): Rc2Error {
  if (attempts.length > 0) error.attempts = [...attempts]
  return error
}
