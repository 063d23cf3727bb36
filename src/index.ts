/**
 * rc2 as a library: the same steps the CLI runs, as functions.
 *
 *   import { solve } from 'recaptcha-rc2'
 *   const result = await solve('captcha.png', { question: 'cars', apiKey: process.env.RC2_API_KEY })
 *   console.log(result.objects, result.clicks)
 */
import { ConfigError } from './errors.js'
import type { PrepareOptions } from './image/prepare.js'
import type { PreparedImage } from './image/types.js'
import { attemptTimeoutMs, createProvider } from './providers/index.js'
import type { ProviderName } from './providers/types.js'
import { lookupQuestion } from './questions/lookup.js'
import type { QuestionMatch } from './questions/types.js'
import type { DryRunResult, SolveSuccess } from './solve/result.js'
import { solveOne, type SolveSettings } from './solve/solve-one.js'
import type { Grid } from './types.js'

export { createProvider, lookupQuestion }
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
export type { SolveResult, SolveSuccess, SolveFailure, DryRunResult } from './solve/result.js'

/** Optional fields take `undefined` as absent (so `apiKey: process.env.RC2_API_KEY` type-checks under exactOptionalPropertyTypes). */
export interface SolveOptions {
  /** `/m/` id, a name in any supported language, or the instruction sentence. */
  question: string | QuestionMatch
  provider?: ProviderName | undefined
  /** Defaults to RC2_API_KEY from the environment. */
  apiKey?: string | undefined
  endpoint?: string | undefined
  region?: 'intl' | 'cn' | undefined
  grid?: Grid | undefined
  confidence?: number | undefined
  /** Overall deadline in ms (default 120 000). */
  timeoutMs?: number | undefined
  retries?: number | undefined
  /** Prepare and describe the request without sending it (no key needed). */
  dryRun?: boolean | undefined
  /** Write a PNG of the input with the chosen tiles marked. */
  annotatePath?: string | undefined
  /** Send even when the services are not known to accept the question for the grid. */
  force?: boolean | undefined
  allowInsecure?: boolean | undefined
  signal?: AbortSignal | undefined
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
 * Solve one challenge image (a path or its bytes). Throws an Rc2Error on failure; when
 * `options.signal` aborts, rejects with its reason, as fetch does.
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
  const question =
    typeof options.question === 'string' ? lookupQuestion(options.question) : options.question
  const providerName = options.provider ?? 'yescaptcha'
  let provider
  if (options.dryRun !== true) {
    const apiKey = options.apiKey ?? process.env.RC2_API_KEY
    if (apiKey === undefined || apiKey === '') {
      throw new ConfigError(`no API key for ${providerName}`, {
        hint: 'pass apiKey, or set RC2_API_KEY',
      })
    }
    provider = createProvider(providerName, {
      apiKey,
      endpoint: options.endpoint,
      region: options.region,
      retries: options.retries,
      allowInsecure: options.allowInsecure,
      requestTimeoutMs: attemptTimeoutMs(providerName, options.timeoutMs ?? 120_000),
    })
  }
  const settings: SolveSettings = {
    question,
    grid: options.grid,
    force: options.force,
    providerName,
    provider,
    endpoint: options.endpoint,
    region: options.region,
    confidence: options.confidence,
    timeoutMs: options.timeoutMs ?? 120_000,
    dryRun: options.dryRun,
  }
  return solveOne({
    ...settings,
    source: input,
    input: typeof input === 'string' ? input : '-',
    annotatePath: options.annotatePath,
    signal: options.signal,
  })
}
