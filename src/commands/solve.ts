import { type Command, InvalidArgumentError, Option } from './commander.js'
import { stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import {
  EXIT,
  type ErrorKind,
  exitCodeForKind,
  InputError,
  InterruptedError,
  UsageError,
} from '../errors.js'
import type { ResolvedConfig } from '../config/resolve.js'
import type { SummaryOptions } from '../output/progress.js'
import type { BatchSummary } from '../batch/runner.js'
import type { SolveRun, SolveRunOptions } from '../engine/engine.js'
import type { ProviderOptions } from '../engine/settings.js'
import type { ProviderFacts, ProviderName } from '../providers/types.js'
import type { SolveResult } from '../engine/result.js'
import type { Grid } from '../types.js'
import type { CliContext } from './context.js'
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

export function register(program: Command, ctx: CliContext): void {
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
  for (const option of providerOptions()) command.addOption(option)
  command
    .option(
      '--confidence <0..1>',
      'threshold 0..1: tiles scoring above it (YesCaptcha 3x3: sent, default top three; Ace: applied by rc2; CapSolver, 2Captcha, NopeCHA, CapMonster: none)',
      parseNumberInRange(0, 1, 'a number'),
    )
    .option('--json', 'print JSON (one object for one named file or -, else an array)')
    .option('--ndjson', 'print one JSON object per line as each input finishes')
    .addOption(
      new Option('--format <format>', 'output format (default: table)').choices([
        'table',
        'json',
        'ndjson',
        'csv',
      ]),
    )
    .option(
      '--annotate <path>',
      'write a PNG of the input with the chosen tiles marked (a directory for several inputs)',
    )
    .option('--concurrency <n>', 'images in flight at once (default: 4)', parseIntInRange(1, 256))
    .option(
      '--timeout <seconds>',
      'deadline per image and provider, polling included (default: 120; 2captcha 180)',
      parsePositiveSeconds,
    )
    .option(
      '--retries <n>',
      'retries of transient failures: 429, 5xx, network, lost or garbled replies (default: 3)',
      parseIntInRange(0, 20),
    )
    .option(
      '--max-points <n>',
      "stop submitting once the batch would spend more than this: YesCaptcha's points (6 a grid, 2 a tile); a service without a published price counts 1 a call; failover counts every provider asked",
      parseMaxPoints,
    )
    .option('--output <file>', 'append each result to this NDJSON file as it finishes')
    .option(
      '--resume',
      'skip inputs already solved in the --output file (same content and question)',
    )
    .option('-r, --recursive', 'descend into subdirectories')
    .option(
      '--follow-links',
      'in a directory, also follow symbolic links that lead outside it (left out by default)',
    )
    .option(
      '--shard <k/n>',
      'solve only the k-th of n shares of the sorted inputs (one per machine; n shards cover each input once)',
      parseShard,
    )
    .option(
      '--force',
      'send even when the services are not known to accept this question for this grid',
    )
    .option(
      '--files-from <file>',
      'read inputs from this file (- for standard input), one per line; # comments and blank lines skipped',
    )
    .option(
      '--tiles <list>',
      'dynamic round: classify only these tiles (e.g. 1,4,7), each as a 100x100 image',
      parseTiles,
    )
    .option(
      '--since <capture>',
      'dynamic round: classify only the tiles that changed since this earlier capture of the widget',
    )
    .option(
      '--dry-run',
      'prepare and validate everything, print what would be sent (key redacted), send nothing',
    )
    .addHelpText(
      'after',
      `
Examples:
  $ rc2 solve captcha.png -q car
  $ rc2 solve shot.png -q "Select all squares with traffic lights" --json
  $ rc2 solve shots/ -q /m/0k4j --confidence 0.5 --ndjson --output results.ndjson --resume
  $ cat tile.png | rc2 solve - -q "fire hydrant" --grid 1x1
  $ rc2 solve captcha.png -q bus --dry-run
  $ rc2 solve shot2.png --since shot1.png -q car --json
  $ rc2 solve shots/ -q car --shard 2/4 --output part-2.ndjson
  $ rc2 solve https://example.com/payload.jpg -q bus --json
  $ find shots -name '*.png' | rc2 solve --files-from - -q car --ndjson`,
    )
    .action(async (inputs: string[], flags: SolveFlags) => {
      ctx.exitCode = await runSolve(inputs, flags, ctx)
    })
}

async function runSolve(args: string[], flags: SolveFlags, ctx: CliContext): Promise<number> {
  checkSolveFlags(args, flags, ctx)
  const format =
    flags.format ?? (flags.ndjson === true ? 'ndjson' : flags.json === true ? 'json' : undefined)
  const [{ providerOptionsOf, engineHost }, { checkSolveOptions, startSolveRun }] =
    await Promise.all([import('./provider-setup.js'), import('../engine/engine.js')])
  const options = solveOptions(flags, providerOptionsOf(flags, ctx), format)
  checkSolveOptions(options)

  // The question is checked before anything else is read or sent.
  const { lookupQuestion } = await import('../questions/lookup.js')
  options.question = lookupQuestion(flags.question as string)
  const inputs = await listInputs(args, flags, ctx)
  const engine = await startSolveRun(options, {
    ...engineHost(ctx),
    stopNow: ctx.stopNow,
    readStdin: () => readStdin(ctx.stdin, engine.config.image.maxBytes, ctx.signal),
  })
  // The JSON shape follows the command line alone: one object only for exactly one file or "-".
  // A --shard run prints an array whatever its share holds.
  const single =
    flags.shard === undefined &&
    flags.filesFrom === undefined &&
    inputs.length === 1 &&
    (inputs[0] === '-' || !(await isDirectory(resolve(ctx.cwd, inputs[0] as string))))
  return renderRun(engine, inputs, { flags, ctx, single })
}

/** Run the engine over the inputs, rendering each result as it comes, then the batch line; the exit code. */
async function renderRun(
  engine: SolveRun,
  inputs: string[],
  view: { flags: SolveFlags; ctx: CliContext; single: boolean },
): Promise<number> {
  const { flags, ctx, single } = view
  const { config } = engine
  const [
    { ResultSink },
    { startProgress, renderBatchSummary },
    { PROVIDER_FACTS },
    { keyOriginHint },
  ] = await Promise.all([
    import('../output/sink.js'),
    import('../output/progress.js'),
    import('../providers/facts/index.js'),
    import('../engine/settings.js'),
  ])
  const sink = new ResultSink(ctx.out, config.format, { single })
  const confidenceNote = confidenceNotes(
    config.confidence,
    config.providerList,
    PROVIDER_FACTS,
    (text) => ctx.out.warn(text),
  )
  const progress = await startProgress(ctx.out, ctx.env, inputs.length)
  let outcome
  try {
    outcome = await engine.run(inputs, {
      onResult: (result, index, repeated) => {
        confidenceNote(result)
        // A refused key: say which key was sent (flag, environment or which config file).
        if (!result.ok && result.error.kind === 'auth')
          result.error.hint = keyOriginHint(result.error, config) ?? null
        sink.add(result, index, repeated)
      },
      onSkipped: (path, reason) => ctx.out.warn(`skipped ${path}: ${reason}`),
      onOutsideLinks: (paths) => ctx.out.warn(outsideLinksNote(paths)),
      onNotice: (text) => ctx.out.warn(text),
      onProgress: (state) => progress.update(state),
    })
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
  if (count > 1 || flags.shard !== undefined || summary.skipped > 0 || summary.interrupted > 0)
    printBatchSummary(summary, flags, config, ctx, renderBatchSummary)
  // Results on stdout are all printed; the results file that failed is said last, with its exit code.
  if (outcome.outputError !== undefined) throw outcome.outputError
  if (ctx.signal.aborted) throw new InterruptedError()
  return exitCodeFor(summary)
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
function checkSolveFlags(args: string[], flags: SolveFlags, ctx: CliContext): void {
  if (args.length === 0 && flags.filesFrom === undefined)
    throw new UsageError(
      'no input: give image files, directories, URLs or -, or --files-from <file>',
    )
  if (flags.filesFrom === '-' && args.includes('-'))
    throw new UsageError('standard input cannot carry both the --files-from list and an image')
  if (flags.json === true && flags.ndjson === true)
    throw new UsageError('choose one of --json and --ndjson')
  // An image (or a list) cannot be typed: waiting silently on a terminal looks like a hang.
  if ((args.includes('-') || flags.filesFrom === '-') && ctx.stdin.isTTY === true) {
    throw new UsageError(
      '"-" reads an image from standard input, but standard input is a terminal',
      {
        hint: 'pipe or redirect the image: rc2 solve - -q car < captcha.png',
      },
    )
  }
}

/** The inputs: the arguments, then the --files-from list. */
async function listInputs(args: string[], flags: SolveFlags, ctx: CliContext): Promise<string[]> {
  if (flags.filesFrom === undefined) return args
  const { readInputList } = await import('../inputs/list.js')
  const listed = await readInputList(flags.filesFrom, { cwd: ctx.cwd, stdin: ctx.stdin })
  if (flags.filesFrom === '-' && listed.includes('-'))
    throw new UsageError(
      'the --files-from list on standard input cannot name - (standard input) as an image',
    )
  if (listed.length === 0 && args.length === 0)
    throw new UsageError(`--files-from ${flags.filesFrom} lists no inputs`)
  return [...args, ...listed]
}

/** The batch line on stderr (JSON: the summary object); the --max-points stop is said once, here. */
function printBatchSummary(
  summary: BatchSummary,
  flags: SolveFlags,
  config: ResolvedConfig,
  ctx: CliContext,
  renderBatchSummary: (summary: BatchSummary, options: SummaryOptions) => string,
): void {
  // The --max-points stop is said once, in the summary; --resume helps only with --output.
  const budgetHint =
    flags.output === undefined
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
        dryRun: flags.dryRun,
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
