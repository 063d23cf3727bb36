/**
 * rc2 as a library: the same steps the CLI runs, as functions.
 *
 *   import { solve } from 'recaptcha-rc2'
 *   const result = await solve('captcha.png', { question: 'cars', apiKey: process.env.RC2_API_KEY })
 *   console.log(result.objects, result.clicks)
 *
 * Each call builds its settings and providers as the CLI does (src/engine/settings.ts) and runs the
 * same engine (src/engine/engine.ts); docs/library.md is the user's guide.
 */
import { Rc2Error, UsageError } from './errors.js'
import { DEFAULT_MAX_BYTES } from './limits.js'
import type { PrepareOptions } from './image/prepare.js'
import type { PreparedImage } from './image/types.js'
import { createProvider as createAdapter } from './providers/index.js'
import { PROVIDER_NAMES } from './providers/types.js'
import type {
  BalanceResult,
  Provider,
  ProviderName,
  ProviderOptions as AdapterOptions,
} from './providers/types.js'
import { providerNames } from './engine/provider-names.js'
import { lookupQuestion } from './questions/lookup.js'
import type { BalanceOptions, SolveHost, SolveRunOptions } from './engine/engine.js'
import type { NamedBytes } from './inputs/list.js'
import type { ReportOutcome, ReportRequest } from './report/report.js'
import type { DryRunResult, SolveResult, SolveSuccess } from './engine/result.js'
import type { EngineHost } from './engine/settings.js'

export { lookupQuestion }

/** The services rc2 speaks to, by the names `provider` (and `rc2 solve -p`) takes, in any case. */
export const providers: readonly ProviderName[] = PROVIDER_NAMES

/**
 * One service's adapter, named in any case ("CapSolver"): recognize, balance, describeRequest,
 * pointsFor. An unknown name is a UsageError naming the known ones; for a failover list use solve().
 */
export function createProvider(
  name: ProviderName | (string & {}),
  options: AdapterOptions,
): Provider {
  const names = providerNames(name)
  if (names.length !== 1)
    throw new UsageError(`createProvider makes one provider, but ${names.join(', ')} are named`, {
      hint: 'pass a failover list as solve({ provider: [...] })',
    })
  return createAdapter(names[0] as ProviderName, options)
}
export { checkQuestion, QuestionLookupError } from './questions/lookup.js'
export {
  Rc2Error,
  UsageError,
  ConfigError,
  InputError,
  ProviderError,
  InterruptedError,
  EXIT,
  type ErrorKind,
} from './errors.js'
export type { QuestionSuggestion } from './questions/lookup.js'
export type { Grid, Rect, TileRect, Click } from './types.js'
export type { Layout, PreparedImage, InputKind } from './image/types.js'
export type {
  Provider,
  ProviderName,
  ProviderOptions,
  RecognitionRequest,
  RecognitionResult,
  BalanceResult,
  RequestParts,
  DescribedRequest,
} from './providers/types.js'
export type { QuestionEntry, QuestionMatch, Lang } from './questions/types.js'
export type {
  SolveResult,
  SolveSuccess,
  SolveFailure,
  DryRunResult,
  ErrorInfo,
} from './engine/result.js'
export type { ReportOutcome } from './report/report.js'
export type { BalanceOptions } from './engine/engine.js'

/**
 * Every solve setting the CLI has, as one object. Optional fields take `undefined` as absent (so
 * `apiKey: process.env.X` type-checks under exactOptionalPropertyTypes). Keys and endpoints resolve
 * as in the CLI: the option, then RC2_<NAME>_API_KEY / RC2_<NAME>_ENDPOINT, then RC2_API_KEY /
 * RC2_ENDPOINT (one provider only), then the config file named by `config` or RC2_CONFIG.
 */
export interface SolveOptions extends Omit<
  SolveRunOptions,
  'annotate' | 'output' | 'resume' | 'recursive' | 'shard' | 'format' | 'concurrency'
> {
  /** What a Buffer input is called in results and errors (default "image"). */
  name?: string | undefined
  /** Write a PNG of the input with the chosen tiles marked. */
  annotatePath?: string | undefined
  /** Cancels the solve, which then rejects with the signal's reason. */
  signal?: AbortSignal | undefined
  /** Warnings about the setup (a config file readable by others); results carry their own `warnings`. */
  onWarning?: ((message: string) => void) | undefined
}

/** An input of solveMany: a path, a directory, an http(s) URL, or an image's bytes (with a name). */
export type SolveInput = string | Buffer | { name: string; bytes: Buffer }

/** solve()'s settings, plus those of a batch. */
export interface SolveManyOptions extends Omit<SolveOptions, 'name' | 'annotatePath'> {
  /** Images in flight at once (default 4). */
  concurrency?: number | undefined
  /** A directory for an annotated PNG of each input. */
  annotate?: string | undefined
  /** Append each result to this NDJSON file as it finishes; with `resume`, skip what it holds solved. */
  output?: string | undefined
  resume?: boolean | undefined
  /** Descend into subdirectories of a directory input. */
  recursive?: boolean | undefined
}

/** Options of report(): the provider (for bare task ids) or a results file to read them from. */
export interface ReportOptions extends Omit<ReportRequest, 'taskIds'> {
  signal?: AbortSignal | undefined
  onWarning?: ((message: string) => void) | undefined
}

/** Options of prepareImage; `name` (used in messages) defaults to the path, or "image" for bytes. */
export type PrepareImageOptions = Omit<PrepareOptions, 'name' | 'gridSource'> & {
  name?: string | undefined
}

/**
 * Find the challenge in an image (a path or its bytes) and prepare it as the services take it.
 * sharp is loaded here, on first use, so that `import 'recaptcha-rc2'` stays quick for question lookups.
 */
export async function prepareImage(
  input: string | Buffer,
  options: PrepareImageOptions = {},
): Promise<PreparedImage> {
  const { prepareImage: prepare } = await import('./image/prepare.js')
  const { name, grid, ...rest } = options
  return prepare(input, {
    ...rest,
    name: name ?? (typeof input === 'string' ? input : 'image'),
    ...(grid !== undefined ? { grid, gridSource: 'flag' as const } : {}),
  })
}

/**
 * Solve one challenge image (a path, an http(s) URL, or its bytes). Throws an Rc2Error on
 * failure; when `options.signal` aborts, rejects with its reason, as fetch does.
 */
export function solve(
  input: string | Buffer,
  options: SolveOptions & { dryRun: true },
): Promise<DryRunResult>
export function solve(
  input: string | Buffer,
  options: SolveOptions & { dryRun?: false | undefined },
): Promise<SolveSuccess>
export function solve(
  input: string | Buffer,
  options: SolveOptions,
): Promise<SolveSuccess | DryRunResult>
export async function solve(
  input: string | Buffer,
  options: SolveOptions,
): Promise<SolveSuccess | DryRunResult> {
  const signal = options.signal
  signal?.throwIfAborted()
  try {
    return await solveWith(input, options)
  } catch (error) {
    // Inside, an abort ends waits and requests as a deadline would; the caller asked for it, so
    // the caller's reason is what they get (their own error, or an AbortError DOMException).
    if (signal?.aborted === true) throw signal.reason
    throw error
  }
}

async function solveWith(
  input: string | Buffer,
  options: SolveOptions,
): Promise<SolveSuccess | DryRunResult> {
  const { name, annotatePath, signal, onWarning, ...settings } = options
  if (typeof input === 'string') await refuseDirectory(input)
  const { startSolveRun } = await import('./engine/engine.js')
  const engine = await startSolveRun(
    { ...settings, annotate: annotatePath },
    libraryHost(signal, onWarning),
  )
  let result: SolveResult | undefined
  let failure: unknown
  const shown = typeof input === 'string' ? input : (name ?? 'image')
  await engine.run([typeof input === 'string' ? input : { name: shown, bytes: input }], {
    onResult: (r) => {
      result = r
    },
    onFailure: (error) => (failure = error),
  })
  signal?.throwIfAborted()
  if (result === undefined)
    throw new UsageError(`${shown} was not solved: nothing was sent`, { code: 'NOT_SENT' })
  if (result.ok) return result
  // The error itself (its class, its `suggestions`), not only the result's copy of it.
  if (failure instanceof Rc2Error) failure.paidCalls = result.paidCalls ?? 0
  if (failure instanceof Error) throw failure
  throw new Rc2Error(result.error.kind, result.error.message, {
    code: result.error.code ?? undefined,
    hint: result.error.hint ?? undefined,
  })
}

/** solve() takes one image: a directory is for solveMany(). */
async function refuseDirectory(input: string): Promise<void> {
  if (/^https?:\/\//i.test(input) || input === '-') return
  const { stat } = await import('node:fs/promises')
  const info = await stat(input).catch(() => undefined)
  if (info?.isDirectory() === true)
    throw new UsageError(`${input} is a directory; solve() takes one image`, {
      hint: 'use solveMany() for every image in a directory',
    })
}

/**
 * Solve many images, as `rc2 solve` does a batch: `concurrency` at once, a `maxPoints` budget,
 * failover, `output`/`resume`. Results come in completion order; a failed input is an `ok: false`
 * result, never a throw. A setting that cannot work (no key, an unknown provider) throws before
 * anything is sent; when `signal` aborts, sending stops, inputs in flight are cut, and the
 * iteration ends by throwing the signal's reason. Leaving the loop early stops the batch too.
 */
/** Results solveMany keeps for a caller that has not taken them before it stops starting inputs. */
const UNREAD_RESULTS = 64

export async function* solveMany(
  inputs: Iterable<SolveInput>,
  options: SolveManyOptions,
): AsyncGenerator<SolveResult, void, undefined> {
  const { signal, onWarning, ...settings } = options
  signal?.throwIfAborted()
  // Stops the batch when the caller aborts or leaves the loop.
  const cut = new AbortController()
  const onAbort = (): void => cut.abort(signal?.reason)
  signal?.addEventListener('abort', onAbort, { once: true })
  const { startSolveRun } = await import('./engine/engine.js')
  const queue: SolveResult[] = []
  let wake: (() => void) | undefined
  // Inputs whose result waits for the caller to take some: a slow reader holds the batch back
  // (no new input starts), not its memory.
  const waiting: (() => void)[] = []
  const release = (): void => waiting.splice(0).forEach((resume) => resume())
  let ended: { error?: unknown } | undefined
  try {
    const engine = await startSolveRun(settings, libraryHost(cut.signal, onWarning))
    const running = engine.run(namedInputs(inputs), {
      onResult: (result) => {
        queue.push(result)
        wake?.()
        if (queue.length < UNREAD_RESULTS) return
        return new Promise<void>((resume) => waiting.push(resume))
      },
    })
    void running
      .then(
        (outcome) => (ended = { error: outcome.outputError }),
        (error: unknown) => (ended = { error }),
      )
      .finally(() => wake?.())
    try {
      for (;;) {
        const next = queue.shift()
        if (queue.length < UNREAD_RESULTS) release()
        if (next !== undefined) yield next
        else if (ended !== undefined) break
        else await new Promise<void>((resolve) => (wake = resolve))
      }
    } finally {
      if (ended === undefined) {
        cut.abort(new Error('solveMany: the caller stopped reading'))
        release()
        await running.catch(() => undefined)
      }
    }
    signal?.throwIfAborted()
    if (ended?.error !== undefined) throw ended.error
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
}

/** The inputs as the engine takes them: a Buffer without a name is called "image-<n>" (1-based position). */
function namedInputs(inputs: Iterable<SolveInput>): (string | NamedBytes)[] {
  return [...inputs].map((input, k) =>
    typeof input === 'string'
      ? input
      : Buffer.isBuffer(input)
        ? { name: `image-${k + 1}`, bytes: input }
        : input,
  )
}

/** The provider's remaining balance (points or credits), where it has such a call. */
export async function balance(
  options: BalanceOptions & {
    signal?: AbortSignal | undefined
    onWarning?: ((message: string) => void) | undefined
  } = {},
): Promise<BalanceResult> {
  const { checkBalance } = await import('./engine/engine.js')
  return checkBalance(options, libraryHost(options.signal, options.onWarning))
}

/**
 * Tell the service that answers were wrong (or, with `correct`, right): the task ids with
 * `provider`, or `from` a results file. Resolves with one outcome per report; a report the service
 * refused is an outcome with `ok: false`. A service with no such call is a UsageError.
 */
export async function report(
  taskIds: readonly string[],
  options: ReportOptions = {},
): Promise<ReportOutcome[]> {
  const { reportAnswers } = await import('./report/report.js')
  return reportAnswers({ ...options, taskIds }, libraryHost(options.signal, options.onWarning))
}

/**
 * The library as the engine's host: this process's environment and directory; a config file only
 * when named (`config`, RC2_CONFIG), never one found by searching; nothing printed. An abort cuts
 * what is in flight at once (the caller asked for it).
 */
function libraryHost(
  signal: AbortSignal | undefined,
  onWarning: ((message: string) => void) | undefined,
): SolveHost & EngineHost {
  return {
    env: process.env,
    cwd: process.cwd(),
    searchConfig: false,
    warn: onWarning ?? (() => undefined),
    signal,
    graceMs: 0,
    readStdin: async () => {
      const { readStreamBounded } = await import('./image/read.js')
      return readStreamBounded(process.stdin, 'stdin', DEFAULT_MAX_BYTES, signal)
    },
  }
}
