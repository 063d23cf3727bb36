import { type Command, InvalidArgumentError, Option } from 'commander'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  EXIT,
  type ErrorKind,
  exitCodeForKind,
  InputError,
  InterruptedError,
  Rc2Error,
  UsageError,
} from '../errors.js'
import type { ResolvedConfig } from '../config/resolve.js'
import type { Progress, SummaryOptions } from '../output/progress.js'
import type { ResultSink } from '../output/sink.js'
import type { BatchSummary } from '../batch/runner.js'
import type { SolveRun, SolveRunOptions } from '../engine/engine.js'
import type { ProviderOptions } from '../engine/settings.js'
import type { ProviderFacts, ProviderName } from '../providers/types.js'
import type { SolveResult } from '../engine/result.js'
import type { Grid } from '../types.js'
import type { CliContext } from './context.js'
import { providerOptionsOf } from './provider-setup.js'
import { parseTiles } from './grid.js'
import {
  gridOption,
  parseIntInRange,
  parseNumberInRange,
  parsePositiveSeconds,
  parseShard,
  providerOptions,
  type ProviderFlags,
  toGrid,
} from './options.js'

interface SolveFlags extends ProviderFlags {
  question?: string
  grid?: string
  confidence?: number
  json?: boolean
  ndjson?: boolean
  format?: 'table' | 'json' | 'ndjson' | 'csv'
  annotate?: string
  concurrency?: number
  timeout?: number
  retries?: number
  maxPoints?: number
  output?: string
  resume?: boolean
  dryRun?: boolean
  recursive?: boolean
  followLinks?: boolean
  force?: boolean
  tiles?: number[]
  since?: string
  shard?: { index: number; count: number }
  filesFrom?: string
}

/** What `rc2 solve` is asked to do, from its flags: the inputs and the engine's options. */
export interface SolveCommand {
  /** The arguments; the --files-from list is read when the run starts. */
  inputs: string[]
  filesFrom: string | undefined
  /** The engine's options: the same object a library caller passes. */
  options: SolveRunOptions
}

export function register(program: Command, ctx: CliContext, run = runSolve): void {
  const command = program
    .command('solve')
    .description(
      'Ask the recognition service which tiles to click, for one image, several, a directory, or - (stdin).',
    )
    .argument('[input...]', 'image files, directories, http(s) URLs, or - for standard input')
    .requiredOption(
      '-q, --question <text>',
      '/m/ id, a name in any supported language, or the instruction sentence',
    )
    .addOption(gridOption(true))
  for (const option of [...providerOptions(), ...answerOptions(), ...batchOptions()])
    command.addOption(option)
  command
    .addHelpText('after', EXAMPLES)
    .action((inputs: string[], flags: SolveFlags) => run(solveCommand(inputs, flags, ctx), ctx))
}

const EXAMPLES = `
Examples:
  $ rc2 solve captcha.png -q car
  $ rc2 solve shot.png -q "Select all squares with traffic lights" --json
  $ rc2 solve shots/ -q /m/0k4j --confidence 0.5 --ndjson --output results.ndjson --resume
  $ cat tile.png | rc2 solve - -q "fire hydrant" --grid 1x1
  $ rc2 solve captcha.png -q bus --dry-run
  $ rc2 solve shot2.png --since shot1.png -q car --json
  $ rc2 solve shots/ -q car --shard 2/4 --output part-2.ndjson
  $ rc2 solve https://example.com/payload.jpg -q bus --json
  $ find shots -name '*.png' | rc2 solve --files-from - -q car --ndjson`

/** How each answer is asked for and printed. */
function answerOptions(): Option[] {
  return [
    new Option(
      '--confidence <0..1>',
      'threshold 0..1: tiles scoring above it (YesCaptcha 3x3: sent, default top three; Ace: applied by rc2; CapSolver, 2Captcha, NopeCHA, CapMonster: none)',
    ).argParser(parseNumberInRange(0, 1, 'a number')),
    new Option('--json', 'print JSON (one object for one named file or -, else an array)'),
    new Option('--ndjson', 'print one JSON object per line as each input finishes'),
    new Option('--format <format>', 'output format (default: table)').choices([
      'table',
      'json',
      'ndjson',
      'csv',
    ]),
    new Option(
      '--annotate <path>',
      'write a PNG of the input with the chosen tiles marked (a directory for several inputs)',
    ),
    new Option('--concurrency <n>', 'images in flight at once (default: 4)').argParser(
      parseIntInRange(1, 256),
    ),
    new Option(
      '--timeout <seconds>',
      'deadline per image and provider, polling included (default: 120; 2captcha 180)',
    ).argParser(parsePositiveSeconds),
    new Option(
      '--retries <n>',
      'retries of transient failures: 429, 5xx, network, lost or garbled replies (default: 3)',
    ).argParser(parseIntInRange(0, 20)),
    new Option(
      '--max-points <n>',
      "stop submitting once the batch would spend more than this: YesCaptcha's points (6 a grid, 2 a tile); a service without a published price counts 1 a call; failover counts every provider asked",
    ).argParser(parseMaxPoints),
  ]
}

/** Which inputs a run takes, what it keeps, and the dynamic rounds. */
function batchOptions(): Option[] {
  return [
    new Option('--output <file>', 'append each result to this NDJSON file as it finishes'),
    new Option(
      '--resume',
      'skip inputs already solved in the --output file (same content and question)',
    ),
    new Option('-r, --recursive', 'descend into subdirectories'),
    new Option(
      '--follow-links',
      'in a directory, also follow symbolic links that lead outside it (left out by default)',
    ),
    new Option(
      '--shard <k/n>',
      'solve only the k-th of n shares of the sorted inputs (one per machine; n shards cover each input once)',
    ).argParser(parseShard),
    new Option(
      '--force',
      'send even when the services are not known to accept this question for this grid',
    ),
    new Option(
      '--files-from <file>',
      'read inputs from this file (- for standard input), one per line; # comments and blank lines skipped',
    ),
    new Option(
      '--tiles <list>',
      'dynamic round: classify only these tiles (e.g. 1,4,7), each as a 100x100 image',
    ).argParser(parseTiles),
    new Option(
      '--since <capture>',
      'dynamic round: classify only the tiles that changed since this earlier capture of the widget',
    ),
    new Option(
      '--dry-run',
      'prepare and validate everything, print what would be sent (key redacted), send nothing',
    ),
  ]
}

/** The flags as solve's inputs and engine options; combinations that cannot work are refused. */
function solveCommand(args: string[], flags: SolveFlags, ctx: CliContext): SolveCommand {
  checkSolveFlags(args, flags)
  const format =
    flags.format ?? (flags.ndjson === true ? 'ndjson' : flags.json === true ? 'json' : undefined)
  return {
    inputs: args,
    filesFrom: flags.filesFrom,
    options: solveOptions(flags, providerOptionsOf(flags, ctx), format),
  }
}

async function runSolve(command: SolveCommand, ctx: CliContext): Promise<void> {
  const { options } = command
  // An image (or a list) cannot be typed: waiting silently on a terminal looks like a hang.
  if ((command.inputs.includes('-') || command.filesFrom === '-') && ctx.stdin.isTTY === true)
    throw new UsageError(
      '"-" reads an image from standard input, but standard input is a terminal',
      {
        hint: 'pipe or redirect the image: rc2 solve - -q car < captcha.png',
      },
    )
  const [{ engineHost }, { checkSolveOptions, startSolveRun }] = await Promise.all([
    import('./provider-setup.js'),
    import('../engine/engine.js'),
  ])
  checkSolveOptions(options)
  // The question is checked before anything else is read or sent.
  const { lookupQuestion } = await import('../questions/lookup.js')
  options.question = lookupQuestion(options.question as string)
  const inputs = await listInputs(command, ctx)
  const engine = await startSolveRun(options, {
    ...engineHost(ctx),
    stopNow: ctx.stopNow,
    readStdin: () => readStdin(ctx.stdin, engine.config.image.maxBytes, ctx.signal),
  })
  if (inputs.length === 0) {
    // An empty list is an empty batch, as an empty directory is: --json still gets its array.
    if (engine.config.format === 'json') ctx.out.result('[]')
    throw new InputError(`--files-from ${command.filesFrom} lists no inputs`, {
      code: 'NO_IMAGES',
      hint: 'list one image file, directory or URL per line',
    })
  }
  // The JSON shape follows the command line alone: one object only for exactly one file or "-".
  // A --shard run prints an array whatever its share holds.
  const single =
    options.shard === undefined &&
    command.filesFrom === undefined &&
    inputs.length === 1 &&
    (inputs[0] === '-' || !(await isDirectory(resolve(ctx.cwd, inputs[0] as string))))
  ctx.exitCode = await renderRun(engine, inputs, { options, ctx, single })
}

/** Run the engine over the inputs, rendering each result as it comes, then the batch line; the exit code. */
async function renderRun(
  engine: SolveRun,
  inputs: string[],
  view: { options: SolveRunOptions; ctx: CliContext; single: boolean },
): Promise<number> {
  const { options, ctx, single } = view
  const { config } = engine
  const [{ ResultSink }, { startProgress, renderBatchSummary }] = await Promise.all([
    import('../output/sink.js'),
    import('../output/progress.js'),
  ])
  const sink = new ResultSink(ctx.out, config.format, { single })
  const progress = await startProgress(ctx.out, ctx.env, inputs.length)
  let outcome
  try {
    outcome = await engine.run(inputs, await runCallbacks(config, ctx, sink, progress))
  } catch (error) {
    // Nothing to solve in a directory: a script reading --json still gets the array it expects.
    if (
      config.format === 'json' &&
      !single &&
      error instanceof InputError &&
      error.code === 'NO_IMAGES'
    )
      ctx.out.result('[]')
    throw error
  } finally {
    progress.stop()
  }
  const { summary, count } = outcome
  sink.finish()
  // A reader that left hears nothing more; a stdout that failed gets the summary on stderr.
  if (ctx.stdoutClosed() && ctx.stdoutFailed?.() !== true) return EXIT.ok
  if (count > 1 || options.shard !== undefined || summary.skipped > 0 || summary.interrupted > 0)
    printBatchSummary(summary, options, config, ctx, renderBatchSummary)
  // Results on stdout are all printed; the results file that failed is said last, with its exit code.
  if (outcome.outputError !== undefined) throw outcome.outputError
  if (ctx.signal.aborted) throw new InterruptedError()
  return exitCodeFor(summary)
}

/** What the engine tells the command as it goes: each result to the sink, notes to stderr. */
async function runCallbacks(
  config: ResolvedConfig,
  ctx: CliContext,
  sink: ResultSink,
  progress: Progress,
): Promise<Parameters<SolveRun['run']>[1]> {
  const [{ PROVIDER_FACTS }, { keyOriginHint }] = await Promise.all([
    import('../providers/facts/index.js'),
    import('../engine/settings.js'),
  ])
  const confidenceNote = confidenceNotes(
    config.confidence,
    config.providerList,
    PROVIDER_FACTS,
    (text) => ctx.out.warn(text),
  )
  // A refused key: say which key was sent (flag, environment or which config file). The error
  // (with the provider that refused it) comes just before its result.
  const keyHints = new Map<number, string | null>()
  return {
    onFailure: (error, index) => {
      if (error instanceof Rc2Error && error.kind === 'auth')
        keyHints.set(index, keyOriginHint(error, config) ?? null)
    },
    onResult: (result, index, repeated) => {
      confidenceNote(result)
      if (!result.ok && keyHints.has(index)) {
        result.error.hint = keyHints.get(index) ?? null
        keyHints.delete(index)
      }
      sink.add(result, index, repeated)
      return ctx.out.drained(ctx.signal)
    },
    onSkipped: (path, reason) => ctx.out.warn(`skipped ${path}: ${reason}`),
    onOutsideLinks: (paths) => ctx.out.warn(outsideLinksNote(paths)),
    onNotice: (text) => ctx.out.warn(text),
    onProgress: (state) => progress.update(state),
  }
}

/** The engine's options, from the flags: the same object a library caller passes. */
function solveOptions(
  flags: SolveFlags,
  providers: ProviderOptions,
  format: SolveRunOptions['format'],
): SolveRunOptions {
  return {
    ...providers,
    question: flags.question as string,
    grid: toGrid(flags.grid) as Grid | undefined,
    force: flags.force,
    confidence: flags.confidence,
    timeoutMs: flags.timeout === undefined ? undefined : flags.timeout * 1000,
    retries: flags.retries,
    concurrency: flags.concurrency,
    maxPoints: flags.maxPoints,
    format,
    dryRun: flags.dryRun,
    tiles: flags.tiles,
    since: flags.since,
    annotate: flags.annotate,
    output: flags.output,
    resume: flags.resume,
    recursive: flags.recursive,
    followLinks: flags.followLinks,
    shard: flags.shard,
  }
}

/** One line for every link left out: how many, the first few, and how to take them. */
function outsideLinksNote(paths: readonly string[]): string {
  const shown = paths.slice(0, 3).join(', ')
  const more = paths.length > 3 ? `, and ${paths.length - 3} more` : ''
  const what = paths.length === 1 ? 'symbolic link that leads' : 'symbolic links that lead'
  return `skipped ${paths.length} ${what} outside the directory given (${shown}${more}): name a file to read it, or pass --follow-links`
}

/** Flag combinations that cannot work, refused before anything is read or sent. */
function checkSolveFlags(args: string[], flags: SolveFlags): void {
  if (args.length === 0 && flags.filesFrom === undefined)
    throw new UsageError(
      'no input: give image files, directories, URLs or -, or --files-from <file>',
    )
  if (flags.filesFrom === '-' && args.includes('-'))
    throw new UsageError('standard input cannot carry both the --files-from list and an image')
  if (flags.json === true && flags.ndjson === true)
    throw new UsageError('choose one of --json and --ndjson')
}

/** The inputs: the arguments, then the --files-from list. */
async function listInputs(command: SolveCommand, ctx: CliContext): Promise<string[]> {
  const { inputs, filesFrom } = command
  if (filesFrom === undefined) return inputs
  const { readInputList } = await import('../inputs/list.js')
  const listed = await readInputList(filesFrom, { cwd: ctx.cwd, stdin: ctx.stdin })
  if (filesFrom === '-' && listed.includes('-'))
    throw new UsageError(
      'the --files-from list on standard input cannot name - (standard input) as an image',
    )
  return [...inputs, ...listed]
}

/** The batch line on stderr (JSON: the summary object); the --max-points stop is said once, here. */
function printBatchSummary(
  summary: BatchSummary,
  options: SolveRunOptions,
  config: ResolvedConfig,
  ctx: CliContext,
  renderBatchSummary: (summary: BatchSummary, options: SummaryOptions) => string,
): void {
  // The --max-points stop is said once, in the summary; --resume helps only with --output.
  const budgetHint =
    options.output === undefined
      ? 'raise --max-points to send them'
      : 'run again with --resume and a higher --max-points to send them'
  if (config.format === 'json') {
    if (summary.unsentBudget > 0)
      ctx.out.info(
        `${summary.unsentBudget} not sent: --max-points ${config.maxPoints} reached (${budgetHint})`,
      )
    ctx.out.info(JSON.stringify({ summary }))
  } else {
    ctx.out.info(
      renderBatchSummary(summary, {
        dryRun: options.dryRun,
        maxPoints: config.maxPoints,
        budgetHint,
      }),
    )
  }
}

/**
 * What --confidence does with the service (its facts say), said once on stderr where it does
 * nothing: CapSolver takes none; YesCaptcha uses it for 3x3 images only (a 4x4 image or a 100x100
 * tile ignores it). Ace Data Cloud scores every tile and rc2 applies the threshold itself, so there
 * is nothing to say.
 */
function confidenceNotes(
  confidence: number | undefined,
  providers: readonly ProviderName[],
  factsOf: Readonly<Record<ProviderName, ProviderFacts>>,
  warn: (text: string) => void,
): (result: SolveResult) => void {
  const said = new Set<string>()
  const once = (text: string): void => {
    if (said.has(text)) return
    said.add(text)
    warn(text)
  }
  for (const provider of providers) {
    const facts = factsOf[provider]
    if (confidence !== undefined && facts.confidence === 'none')
      once(`--confidence is ignored: ${facts.label} takes no threshold and returns no scores`)
  }
  return (result) => {
    // The provider that answered (with failover, not always the first named).
    if (confidence === undefined || !result.ok || factsOf[result.provider].confidence !== 'sent3x3')
      return
    const grid = result.checked !== undefined ? '1x1' : result.grid
    if (grid !== '3x3')
      once(
        `--confidence means nothing for a ${grid === '1x1' ? '100x100 tile' : '4x4 image'} at ${factsOf[result.provider].label} (3x3 only): not sent`,
      )
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}

/** --max-points: a positive number; 0 would send nothing, which is what --dry-run is for. */
function parseMaxPoints(value: string): number {
  const n = parseNumberInRange(0, 1e12, 'a number')(value)
  if (n === 0)
    throw new InvalidArgumentError(
      '0 would send nothing; use --dry-run to prepare and check without sending',
    )
  return n
}

/**
 * 0 all solved; 6 some failed; when all failed, the most serious cause: a bad key or
 * config (3) before usage (2), the service or network (5), and a bad file (4).
 */
function exitCodeFor(summary: {
  solved: number
  failed: number
  failedByKind: Partial<Record<ErrorKind, number>>
}): number {
  if (summary.failed === 0) return EXIT.ok
  if (summary.solved > 0) return EXIT.partial
  const codes = new Set((Object.keys(summary.failedByKind) as ErrorKind[]).map(exitCodeForKind))
  for (const code of [EXIT.config, EXIT.usage, EXIT.provider, EXIT.input])
    if (codes.has(code)) return code
  return EXIT.provider
}

/** Standard input, refused as soon as it passes the input limit (never read whole first); an interrupt ends the read. */
async function readStdin(
  stream: NodeJS.ReadableStream,
  maxBytes: number,
  signal: AbortSignal,
): Promise<Buffer> {
  const { readStreamBounded } = await import('../image/read.js')
  return readStreamBounded(stream, 'stdin', maxBytes, signal)
}
