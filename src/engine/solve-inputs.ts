import { stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { InputError, Rc2Error, writeFailure } from '../errors.js'
import { linkDeadline } from '../providers/deadline.js'
import type { ProxyRoute } from '../providers/transport.js'
import { type BatchHooks, type BatchSummary, type RunContext, runBatch } from '../batch/runner.js'
import {
  expandInputs,
  type InputItem,
  type NamedBytes,
  takeShard,
  unusableError,
} from '../inputs/list.js'
import { ResultJournal, readSolvedKeys, sha256, solvedKey } from '../batch/journal.js'
import type { SolveResult } from './result.js'
import { distinctOutputs, prepareOutputTarget } from '../batch/out-names.js'
import { prepareFor, solveOne, type SolveSettings } from './solve-one.js'
import type { PreparedImage } from '../image/types.js'
import { type PreparedRound, prepareRound, type RoundSpec, solveRound } from './rounds.js'
import { outputPathProblem } from '../image/write.js'
import { isUrlInput } from '../inputs/fetch.js'
import { type ReadInputOptions, readInputBytes } from '../inputs/read.js'
import { answerOncePerRun } from './shared-answers.js'
import type { SolveHost, SolveRunOptions } from './engine.js'

/**
 * Everything `rc2 solve` does between parsed flags and rendered output: the run's options and its
 * host as they were given, and what the engine resolved from them.
 */
export type SolveInputsOptions = Pick<
  SolveRunOptions,
  'recursive' | 'followLinks' | 'shard' | 'annotate' | 'output' | 'resume' | 'tiles' | 'since'
> &
  Pick<SolveHost, 'cwd' | 'signal' | 'stopNow' | 'graceMs' | 'readStdin'> & {
    /** Paths, directories, URLs, "-" (standard input), or images given as bytes with a name. */
    inputs: readonly (string | NamedBytes)[]
    /** What every input is solved with, passed on to each as it is. */
    settings: SolveSettings
    concurrency: number
    maxPoints?: number | undefined
    /** More than one provider named (failover): the summary counts answers per provider. */
    failover?: boolean | undefined
    /** The proxies for images given by URL. */
    proxy?: ProxyRoute | undefined
  }

export interface SolveInputsCallbacks extends Pick<
  BatchHooks<InputItem>,
  'onProgress' | 'onNotice'
> {
  /**
   * `repeated`: the input's name comes more than once in this run (a failure it names may be said
   * already). A promise holds the input's slot until it settles: the caller's output is not keeping up.
   */
  onResult(result: SolveResult, index: number, repeated: boolean): void | Promise<void>
  /** The error behind a failed input's result, before its result is reported (the library rethrows it). */
  onFailure?(error: unknown, index: number): void
  onSkipped?(path: string, reason: string): void
  /** Said once: links in a directory that lead outside it and were not followed. */
  onOutsideLinks?(paths: readonly string[]): void
}

export interface SolveInputsOutcome {
  /** Totals; `summary.skipped` counts inputs --resume found solved already and `notImages`, files left out. */
  summary: BatchSummary & { notImages: number }
  /** How many inputs this run took on (this shard's share), for renderers that print at the end. */
  count: number
  /** --output could not be written (disk full, /dev/full): the batch stopped submitting; report it last. */
  outputError?: Rc2Error | undefined
}

export async function solveInputs(
  options: SolveInputsOptions,
  callbacks: SolveInputsCallbacks,
): Promise<SolveInputsOutcome> {
  const { all, items, skipped, stdinCount } = await selectInputs(options, callbacks)
  // Judged on every input, not this shard's share: --annotate means the same on every machine.
  const roundSpec = await roundSpecFor(options, all.length > 1, stdinCount)
  // Every output target is checked before anything is sent: a paid answer must have somewhere to go.
  const annotatePaths = await annotateTargets(options, items)
  // Never write over an input: not the results file, not an annotated picture.
  // Their paths are kept only where something is written (a set of a million paths is tens of MB).
  const writes = options.output !== undefined || options.annotate !== undefined
  const inputPaths = new Set(writes ? all.flatMap((i) => (i.path === null ? [] : [i.path])) : [])
  const outputFile = outputFileFor(options, inputPaths)

  const journal = outputFile === undefined ? undefined : ResultJournal.open(outputFile)
  // A results file that cannot be written stops the batch like an interrupt (nothing more is sent).
  const stop = new AbortController()
  const signal =
    options.signal === undefined ? stop.signal : AbortSignal.any([options.signal, stop.signal])
  const solvedBefore = await solvedInEarlierRuns(options, outputFile, callbacks)
  const context = {
    options,
    stop,
    signal,
    journal,
    hashes: new Map<number, string>(),
    solvedBefore,
    annotatePaths,
    inputPaths,
    roundSpec,
  }
  try {
    const { summary, outputError } = await sendInputs(items, context, callbacks)
    return {
      summary: { ...summary, skipped: summary.skipped + skipped.length, notImages: skipped.length },
      count: items.length,
      outputError,
    }
  } finally {
    journal?.close()
  }
}

/**
 * The batch itself: each input read ahead and prepared, sent in its slot, and recorded (counted
 * per provider, kept in --output, then handed to the caller).
 */
async function sendInputs(
  items: InputItem[],
  context: BatchContext,
  callbacks: SolveInputsCallbacks,
): Promise<{ summary: BatchSummary; outputError: Rc2Error | undefined }> {
  const { options, signal, journal, hashes, stop } = context
  // In place: the listed items are not kept beside their copies.
  items.forEach((item, index) => (items[index] = toWork(item, index)))
  const work = items as Work[]
  const prepare = preparer(context)
  const nextPrepared = readAhead(work, prepare, Math.min(8, Math.max(1, options.concurrency)))
  const repeated = repeatedNames(items)
  // With failover: answers per provider, for the summary.
  const byProvider: Record<string, number> | undefined = options.failover === true ? {} : undefined
  // --output could not be written: the batch was stopped with this error.
  let outputError: Rc2Error | undefined
  const onResult = (result: SolveResult, index: number): void | Promise<void> => {
    if (byProvider !== undefined && result.ok && !('dryRun' in result))
      byProvider[result.provider] = (byProvider[result.provider] ?? 0) + 1
    try {
      // An input never sent is not a result to keep: --resume sends it next time.
      if (outputError === undefined && !(!result.ok && result.sent === false))
        journal?.append(result, hashes.get(index))
    } catch (error) {
      outputError = error as Rc2Error
      stop.abort(outputError)
    }
    hashes.delete(index)
    return callbacks.onResult(result, index, repeated.has(result.input))
  }
  const run = inputRunner(context, nextPrepared, callbacks)
  const summary = await runBatch(work, { ...callbacks, run, onResult }, { ...options, signal })
  if (byProvider !== undefined) summary.byProvider = byProvider
  return { summary, outputError }
}

/** With --resume, what the --output file holds solved already (content hash and question). */
async function solvedInEarlierRuns(
  options: SolveInputsOptions,
  outputFile: string | undefined,
  callbacks: SolveInputsCallbacks,
): Promise<ReadonlySet<string>> {
  if (options.resume !== true || outputFile === undefined) return new Set()
  const { keys, unreadable } = await readSolvedKeys(outputFile)
  if (unreadable > 0)
    callbacks.onNotice?.(
      `--output ${options.output}: ${unreadable} line(s) are not results and were skipped (their inputs are solved again)`,
    )
  return keys
}

/**
 * Runs one input in its batch slot: waits for it to be read and prepared, then sends it (a whole
 * challenge or a dynamic round) with the input's account.
 */
function inputRunner(
  { options, annotatePaths }: BatchContext,
  nextPrepared: (item: Work) => Promise<Settled<ReadyInput | null>>,
  callbacks: SolveInputsCallbacks,
): (item: Work, ctx: RunContext) => Promise<SolveResult | null> {
  // The same image with the same question is paid once per run; every input asking it gets the answer.
  const { provider } = options.settings
  const settings =
    provider === undefined
      ? options.settings
      : { ...options.settings, provider: answerOncePerRun(provider) }
  return async (item, ctx) => {
    try {
      // A read that never ends (a FIFO nobody writes to) must not outlive an interrupt's grace.
      const interrupt = linkDeadline(ctx.signal)
      const outcome = await interrupt.race(nextPrepared(item)).finally(interrupt.dispose)
      if (!outcome.ok) throw outcome.error
      if (outcome.value === null) return null
      const { bytes, prepared, round } = outcome.value
      const common = {
        ...settings,
        source: bytes,
        input: item.input,
        annotatePath: annotatePaths?.[item.index],
        signal: ctx.signal,
        account: ctx.account,
      }
      return await (round !== undefined
        ? solveRound({ ...common, round })
        : solveOne({ ...common, prepared }))
    } catch (error) {
      callbacks.onFailure?.(error, item.index)
      throw error
    }
  }
}

/** The inputs named, expanded and checked; `items` is this shard's share of `all`. */
async function selectInputs(
  options: SolveInputsOptions,
  callbacks: SolveInputsCallbacks,
): Promise<{ all: InputItem[]; items: InputItem[]; skipped: string[]; stdinCount: number }> {
  const expanded = await expandInputs(options.inputs, {
    recursive: options.recursive === true,
    cwd: options.cwd,
    followLinks: options.followLinks,
  })
  const { skipped, unvisitedDirs, outsideLinks } = expanded
  for (const path of skipped) callbacks.onSkipped?.(path, 'not an image file')
  if (outsideLinks.length > 0) callbacks.onOutsideLinks?.(outsideLinks)
  if (expanded.items.length === 0) {
    const sub = unvisitedDirs.length
    throw new InputError(
      `no images to solve in ${options.inputs.map((i) => (typeof i === 'string' ? i : i.name)).join(', ')}${sub > 0 ? ` (${sub} subdirector${sub === 1 ? 'y was' : 'ies were'} not searched)` : ''}`,
      {
        code: 'NO_IMAGES',
        hint:
          sub > 0
            ? 'add --recursive (-r) to solve the images in subdirectories'
            : 'pass image files, a directory of images, or - for standard input',
      },
    )
  }
  if (options.shard !== undefined && expanded.items.some((i) => isStdin(i))) {
    throw new Rc2Error('usage', '--shard cannot split standard input ("-")', {
      hint: 'pass files or directories, the same on every machine',
    })
  }
  // A share may be empty (more machines than inputs): that run solves nothing and succeeds.
  const items =
    options.shard === undefined ? expanded.items : takeShard(expanded.items, options.shard)
  const stdinCount = items.filter(isStdin).length
  if (stdinCount > 1) throw new Rc2Error('usage', '"-" (standard input) can be given only once')
  return { all: expanded.items, items, skipped, stdinCount }
}

/** Input names that come more than once (usually none): only their failures need remembering. */
function repeatedNames(items: readonly InputItem[]): Set<string> {
  const seen = new Set<string>()
  const repeated = new Set<string>()
  for (const { input } of items) (seen.has(input) ? repeated : seen).add(input)
  return repeated
}

function isStdin(item: InputItem): boolean {
  return item.path === null && item.url === undefined && item.bytes === undefined
}

/** The dynamic round asked for (--tiles, or --since with the earlier capture read now). */
async function roundSpecFor(
  options: SolveInputsOptions,
  several: boolean,
  stdinCount: number,
): Promise<RoundSpec | undefined> {
  if (options.tiles !== undefined) return { tiles: options.tiles }
  if (options.since === undefined) return undefined
  if (several)
    throw new Rc2Error(
      'usage',
      '--since compares one capture with the previous one: give exactly one input',
    )
  const since = options.since
  if (typeof since !== 'string') return { since: { bytes: since, input: 'the earlier capture' } }
  if (since === '-' && stdinCount > 0)
    throw new Rc2Error(
      'usage',
      '"-" (standard input) can be given only once, not as both the input and --since',
    )
  const url = isUrlInput(since) ? since : undefined
  const path = since === '-' || url !== undefined ? null : resolve(options.cwd, since)
  const bytes = await readInputBytes({ input: since, path, url }, readOptions(options)).catch(
    (error: unknown) => {
      // Never there (not "disappeared"): say which argument names it.
      if (error instanceof InputError && error.code === 'ENOENT')
        throw new InputError(`--since ${since} does not exist`, {
          code: 'ENOENT',
          hint: 'give the earlier capture of the same widget (a file, a URL or -)',
        })
      throw error
    },
  )
  return { since: { bytes, input: since === '-' ? 'stdin' : since } }
}

/** Where each input's annotated picture goes (by position), or undefined without --annotate. */
async function annotateTargets(
  options: SolveInputsOptions,
  items: readonly InputItem[],
): Promise<string[] | undefined> {
  if (options.annotate === undefined) return undefined
  const annotate = options.annotate
  const kind = await prepareOutputTarget('--annotate', annotate, items.length, options.cwd)
  return kind === 'file'
    ? items.map(() => annotate)
    : distinctOutputs(
        items.map((i) => i.input),
        (_input, stem) => join(annotate, `${stem}.annotated.png`),
        options.cwd,
      )
}

/** The --output file, resolved; refused when it is one of the inputs. */
function outputFileFor(
  options: SolveInputsOptions,
  inputPaths: ReadonlySet<string>,
): string | undefined {
  // Relative to the caller's directory (runCli in-process, the library), not this process's.
  const outputFile = options.output === undefined ? undefined : resolve(options.cwd, options.output)
  if (outputFile !== undefined && inputPaths.has(outputFile)) {
    throw new Rc2Error(
      'usage',
      `--output ${options.output} is one of the inputs; rc2 never writes over an input`,
      { hint: 'give --output a file of its own' },
    )
  }
  return outputFile
}

type Work = InputItem & { index: number }

/** An input as the batch holds it: every one of one shape (a spread copy gives each its own hidden class, a few hundred bytes). */
function toWork(item: InputItem, index: number): Work {
  const { input, path, rawPath, url, bytes, unusable } = item
  return { input, path, rawPath, url, bytes, unusable, index }
}

/** What the batch's inputs are read, prepared, sent and recorded with. */
interface BatchContext {
  options: SolveInputsOptions
  /** Aborted when the results file cannot be written, with the error. */
  stop: AbortController
  /** The batch's stop: the caller's interrupt (with its reason), or `stop`. */
  signal: AbortSignal
  journal: ResultJournal | undefined
  /** Content hash per work index, for the journal. */
  hashes: Map<number, string>
  solvedBefore: ReadonlySet<string>
  annotatePaths: readonly string[] | undefined
  inputPaths: ReadonlySet<string>
  roundSpec: RoundSpec | undefined
}

/** Reads one input and prepares it for the service; null when --resume finds it solved already. */
function preparer(c: BatchContext): (item: Work) => Promise<ReadyInput | null> {
  const { options } = c
  const questionId = options.settings.question.entry.id
  return async (item) => {
    if (item.unusable !== undefined) throw unusableError(item.input, item.unusable)
    const bytes = await readInputBytes(item, readOptions(options), c.signal)
    // The content hash is what --output records and --resume compares: without them, no hashing.
    if (c.journal !== undefined) {
      const hash = sha256(bytes)
      c.hashes.set(item.index, hash)
      if (c.solvedBefore.has(solvedKey(hash, questionId))) return null
    }
    // Checked before anything is sent: the answer would be paid for and the picture not written.
    const annotatePath = c.annotatePaths?.[item.index]
    if (annotatePath !== undefined) await checkAnnotateTarget(annotatePath, item, c.inputPaths)
    const what = { ...options.settings, input: item.input }
    if (c.roundSpec !== undefined)
      return { bytes, round: await prepareRound(bytes, c.roundSpec, what) }
    return { bytes, prepared: await prepareFor({ ...what, source: bytes }) }
  }
}

/**
 * The prepared input for `item`, reading and preparing a few inputs ahead so the next image is
 * ready when a slot frees up. At most `lookahead` inputs are held beyond those in flight: memory stays flat.
 */
function readAhead(
  work: readonly Work[],
  prepare: (item: Work) => Promise<ReadyInput | null>,
  lookahead: number,
): (item: Work) => Promise<Settled<ReadyInput | null>> {
  const early = new Map<number, Promise<Settled<ReadyInput | null>>>()
  return (item) => {
    // The input in its slot first: preparation takes turns, first come first served.
    const ready = early.get(item.index) ?? settle(prepare(item))
    early.delete(item.index)
    for (let k = item.index + 1; k <= item.index + lookahead && k < work.length; k++) {
      if (!early.has(k)) early.set(k, settle(prepare(work[k]!)))
    }
    return ready
  }
}

/** An input read and prepared, ready to send: a whole challenge (`prepared`) or a dynamic round (`round`). */
type ReadyInput = { bytes: Buffer } & (
  { prepared: PreparedImage; round?: undefined } | { prepared?: undefined; round: PreparedRound }
)

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** A promise that never rejects, so work started ahead cannot become an unhandled rejection. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  )
}

/** How the run reads its inputs' bytes. */
function readOptions(options: SolveInputsOptions): ReadInputOptions {
  return {
    maxBytes: options.settings.image?.maxBytes,
    timeoutMs: options.settings.timeoutMs,
    proxy: options.proxy,
    signal: options.signal,
    readStdin: options.readStdin,
  }
}

/** Refuse an --annotate target that is an input, a link, or not writable (a usage error for this input). */
async function checkAnnotateTarget(
  shown: string,
  item: InputItem,
  inputPaths: ReadonlySet<string>,
): Promise<void> {
  // Resolved as the write will resolve it (from the process's directory, like the write itself).
  const target = resolve(shown)
  const hint = 'give --annotate a new file name, or a directory of its own'
  if (inputPaths.has(target))
    throw new Rc2Error(
      'usage',
      `--annotate ${shown} is one of the inputs; rc2 never writes over an input`,
      { hint },
    )
  const problem = await outputPathProblem(target)
  if (problem !== undefined) throw writeFailure('--annotate', shown, problem, { hint })
  // The same file under another name (a hard link, a path through a linked directory).
  if (item.path !== null) {
    const [a, b] = await Promise.all([
      stat(target).catch(() => undefined),
      stat(item.rawPath ?? item.path).catch(() => undefined),
    ])
    if (a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino) {
      throw new Rc2Error(
        'usage',
        `--annotate ${shown} is the input ${item.input} itself; rc2 never writes over an input`,
        { hint },
      )
    }
  }
}
