/**
 * The engine every front end shares: a solve run's options (the same object whether they came
 * from the command line or a library call) -> settings and providers -> the batch runner ->
 * results. Balance and report, the other calls that talk to a service, are here too.
 */
import { type ResolvedConfig } from '../config/resolve.js'
import { UsageError } from '../errors.js'
import type { BalanceResult, ProviderName } from '../providers/types.js'
import type { QuestionMatch } from '../questions/types.js'
import type { Grid } from '../types.js'
import type { NamedBytes, Shard } from '../inputs/list.js'
import type { SolveInputsCallbacks, SolveInputsOutcome } from './solve-inputs.js'
import type { SolveSettings } from './solve-one.js'
import {
  createNamedProvider,
  createProviderFor,
  type EngineHost,
  imageTimeoutSec,
  loadRunConfig,
  type ProviderOptions,
  proxyRouteFor,
  type RunOptions,
  withKeyOrigin,
} from './settings.js'

/** Every setting of a solve run, as the CLI's flags give them and a library caller passes them. */
export interface SolveRunOptions extends RunOptions {
  /** `/m/` id, a name in any supported language, or the instruction sentence. */
  question: string | QuestionMatch
  grid?: Grid | undefined
  /** Send even when the services are not known to accept the question for the grid. */
  force?: boolean | undefined
  /** Prepare and describe the requests without sending them (no key needed). */
  dryRun?: boolean | undefined
  /** Dynamic round: classify only these tiles (0-based, row-major), each as a 100x100 task. */
  tiles?: readonly number[] | undefined
  /** Dynamic round: classify the tiles that changed since this earlier capture (a path or its bytes). */
  since?: string | Buffer | undefined
  /** Write a PNG of each input with the chosen tiles marked: a file for one input, a directory for several. */
  annotate?: string | undefined
  /** Append each result to this NDJSON file as it finishes. */
  output?: string | undefined
  /** Skip inputs already solved in the `output` file (same content and question). */
  resume?: boolean | undefined
  /** Descend into subdirectories of a directory input. */
  recursive?: boolean | undefined
  /** Follow symbolic links in a directory input that lead outside it (off: a folder's links are not trusted). */
  followLinks?: boolean | undefined
  /** Only the k-th of n shares of the sorted inputs. */
  shard?: Shard | undefined
  /** Output format the CLI renders (the config file may set it too). */
  format?: ResolvedConfig['format'] | undefined
}

/** What runs a solve: the host's signals and standard input. */
export interface SolveHost extends EngineHost {
  /** Stops sending; in-flight inputs get `graceMs` (the CLI's first Ctrl-C, the library's signal). */
  signal?: AbortSignal | undefined
  /** Cuts in-flight inputs at once (the CLI's second Ctrl-C). */
  stopNow?: AbortSignal | undefined
  graceMs?: number | undefined
  readStdin: () => Promise<Buffer>
}

/** A run whose settings and providers are built, ready to take its inputs. */
export interface SolveRun {
  config: ResolvedConfig
  question: QuestionMatch
  run(
    inputs: readonly (string | NamedBytes)[],
    callbacks: SolveInputsCallbacks,
  ): Promise<SolveInputsOutcome>
}

/**
 * Check the question, resolve the config and build the providers (every key checked): what can
 * be refused is refused here, before any input is read or anything sent.
 */
export async function startSolveRun(options: SolveRunOptions, host: SolveHost): Promise<SolveRun> {
  checkSolveOptions(options)
  const { lookupQuestion } = await import('../questions/lookup.js')
  const question =
    typeof options.question === 'string' ? lookupQuestion(options.question) : options.question
  const config = await loadRunConfig(options, host, { format: options.format })
  const provider = options.dryRun === true ? undefined : await createProviderFor(config, host)
  // Images given by URL go through the same proxies as the services (the top-level settings).
  const proxy = await proxyRouteFor(config, host)
  const { solveInputs } = await import('./solve-inputs.js')
  const settings: SolveSettings = {
    question,
    grid: options.grid,
    force: options.force,
    providerName: config.provider,
    provider,
    endpoint: config.endpoint,
    region: config.region,
    confidence: config.confidence,
    timeoutMs: imageTimeoutSec(config) * 1000,
    dryRun: options.dryRun,
    image: config.image,
  }
  // The batch gets the options and host as given, and what was resolved and built from them.
  const { concurrency, maxPoints } = config
  const failover = config.providerList.length > 1
  return {
    config,
    question,
    run: (inputs, callbacks) =>
      solveInputs(
        { ...options, ...host, inputs, settings, concurrency, maxPoints, proxy, failover },
        callbacks,
      ),
  }
}

/** Settings that cannot go together, refused before anything is read or sent. */
export function checkSolveOptions(options: SolveRunOptions): void {
  if (options.tiles !== undefined && options.since !== undefined)
    throw new UsageError('choose one of tiles and since (--tiles, --since)')
  const tiles = options.tiles
  if (
    tiles !== undefined &&
    (tiles.length === 0 || tiles.some((t) => !Number.isInteger(t) || t < 0))
  )
    throw new UsageError(`tiles: expected tile numbers from 0, got [${tiles.join(', ')}]`, {
      hint: 'tiles are numbered from 0, row by row (0 to 8 in a 3x3 grid)',
    })
  if (options.resume === true && options.output === undefined)
    throw new UsageError('resume (--resume) needs output (--output <file>) to know what was solved')
}

/** What balance() needs: the provider (one) and how long to wait for it. */
export interface BalanceOptions extends ProviderOptions {
  /** Deadline of the call in ms (default: the config's timeout). */
  timeoutMs?: number | undefined
}

/** The provider's remaining balance; one provider at a time, and only where it has such a call. */
export async function checkBalance(
  options: BalanceOptions,
  host: EngineHost & { signal?: AbortSignal | undefined },
): Promise<BalanceResult> {
  const config = await loadRunConfig(options, host)
  if (config.providerList.length > 1) {
    throw new UsageError(
      `balance asks one provider at a time, but ${config.providerList.join(', ')} are named`,
      { hint: 'run rc2 balance -p <name> for each' },
    )
  }
  return balanceOf(config, config.provider, host)
}

/** One provider's balance from a resolved config (the CLI asks each of a list in turn). */
export async function balanceOf(
  config: ResolvedConfig,
  name: ProviderName,
  host: EngineHost & { signal?: AbortSignal | undefined },
): Promise<BalanceResult> {
  if (name === 'acedata') {
    // A documented limitation, not a failure of the service: asked for something that does not exist (exit 2).
    throw new UsageError('acedata has no balance call: Ace Data Cloud documents none', {
      hint: 'see the remaining quota at https://platform.acedata.cloud/console/applications',
    })
  }
  const provider = await createNamedProvider(config, host, name)
  const { withDeadline } = await import('../providers/deadline.js')
  try {
    return await withDeadline(config.timeout * 1000, host.signal, (signal) =>
      provider.balance(signal),
    )
  } catch (error) {
    throw withKeyOrigin(error, config)
  }
}
