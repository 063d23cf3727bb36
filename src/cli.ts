import { Command, CommanderError } from 'commander'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import {
  EXIT,
  InterruptedError,
  messageNamesCode,
  Rc2Error,
  UsageError,
  writeFailureReason,
} from './errors.js'
import { loadColour, Output } from './output/io.js'
import { safeBlock } from './output/safe-text.js'
import type { CliContext } from './commands/context.js'
import type { ProgramSpec } from './output/program-spec.js'
import * as balance from './commands/balance.js'
import * as completion from './commands/completion.js'
import * as grid from './commands/grid.js'
import * as questions from './commands/questions.js'
import * as report from './commands/report.js'
import * as resize from './commands/resize.js'
import * as serve from './commands/serve.js'
import * as solve from './commands/solve.js'
import * as view from './commands/view.js'
// The version the build bundles with the code: nothing to read or resolve at start-up.
import pkg from '../package.json' with { type: 'json' }

/** Every command, in the order `rc2 --help` lists them; each loads its heavy modules in its action. */
const COMMANDS = [solve, resize, questions, grid, balance, report, serve, view, completion]

export interface CliIo {
  stdout: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean })
  stderr: NodeJS.WriteStream | (NodeJS.WritableStream & { isTTY?: boolean })
  stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  env: Readonly<Record<string, string | undefined>>
  cwd: string
}

/** Build the program, run it, and turn whatever happened into an exit code (the only place that does). */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  signal?: AbortSignal,
): Promise<number> {
  const stdoutWatch = watchStdout(io)
  const isStdoutClosed = (): boolean => stdoutWatch.closed.signal.aborted
  const program = new Command('rc2')
  const writer = outputWriter(program, io, isStdoutClosed)
  const ctx: CliContext = {
    get out() {
      return writer.get()
    },
    env: io.env,
    cwd: io.cwd,
    stdin: io.stdin,
    signal:
      signal === undefined
        ? stdoutWatch.closed.signal
        : AbortSignal.any([signal, stdoutWatch.closed.signal]),
    stopNow: signal === undefined ? undefined : stopNowOf.get(signal),
    stdoutClosed: isStdoutClosed,
    stdoutFailed: () => stdoutWatch.failure() !== undefined,
    globalOptions: () => program.opts<{ config?: string; verbose?: boolean }>(),
  }
  configureProgram(program, io, isStdoutClosed)
  for (const command of COMMANDS) command.register(program, ctx)
  program.hook('preAction', writer.load)
  try {
    await program.parseAsync(argv)
    // A write to a file fails on the next tick (stdout on /dev/full): wait for it before deciding.
    await nextTurn()
    if (stdoutWatch.failure() !== undefined)
      return await failedStdout(undefined, stdoutWatch, writer)
    return isStdoutClosed() ? EXIT.ok : (ctx.exitCode ?? EXIT.ok)
  } catch (error) {
    await nextTurn()
    if (stdoutWatch.failure() !== undefined) return await failedStdout(error, stdoutWatch, writer)
    return await exitCodeOf(error, { argv, io, writer, stdoutClosed: isStdoutClosed() })
  } finally {
    stdoutWatch.settled = true
  }
}

/** The writer of a run: made on first use, after chalk is loaded where colour may show. */
interface OutputWriter {
  load: () => Promise<void>
  get: () => Output
  verbose: () => boolean
}

function outputWriter(program: Command, io: CliIo, isStdoutClosed: () => boolean): OutputWriter {
  let output: Output | undefined
  const options = (): { color?: boolean; verbose?: boolean } =>
    program.opts<{ color?: boolean; verbose?: boolean }>()
  return {
    // Colour is only ever shown on a terminal (or when forced); elsewhere chalk need not load.
    load: async () => {
      if (io.stdout.isTTY === true || io.stderr.isTTY === true || (io.env.FORCE_COLOR ?? '') !== '')
        await loadColour()
    },
    get: () => {
      output ??= new Output({
        stdout: io.stdout as Output['stdout'],
        stderr: io.stderr as Output['stderr'],
        color: options().color,
        verbose: options().verbose,
        env: io.env,
        stdoutClosed: isStdoutClosed,
      })
      return output
    },
    verbose: () => options().verbose === true,
  }
}

/** The exit code of a run that threw: commander's own, quiet for a reader that left, else said. */
async function exitCodeOf(
  error: unknown,
  run: { argv: readonly string[]; io: CliIo; writer: OutputWriter; stdoutClosed: boolean },
): Promise<number> {
  // The reader went away: what was written stays written, and nobody is left to tell.
  if (run.stdoutClosed && (error instanceof InterruptedError || !(error instanceof Rc2Error)))
    return EXIT.ok
  // Commander already printed its message (help, version, or a parse error).
  if (error instanceof CommanderError) {
    if (error.code === 'commander.unknownOption') hintDashFile(run.argv, run.io)
    return error.exitCode === 0 ||
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version'
      ? EXIT.ok
      : EXIT.usage
  }
  await run.writer.load()
  return reportError(error, run.writer.get(), run.writer.verbose())
}

/** stdout failed (not a reader that left): results were lost, so exit 2 with the reason, last. */
async function failedStdout(
  error: unknown,
  watch: StdoutWatch,
  writer: OutputWriter,
): Promise<number> {
  await writer.load()
  const failure = watch.failure() as Rc2Error
  // Another failure of the run (--output full too) is said first.
  if (error instanceof Rc2Error && !(error instanceof InterruptedError) && error !== failure)
    reportError(error, writer.get(), writer.verbose())
  return reportError(failure, writer.get(), writer.verbose())
}

/**
 * Every command and option as data (the man page is made from it at build time): the program
 * as runCli configures it. Nothing runs, so nothing is written.
 */
export async function describeCli(): Promise<ProgramSpec> {
  const { programSpec } = await import('./commands/program-spec.js')
  // Not at the top: node:stream loads a dozen modules of its own, which `rc2 --help` never needs.
  const { PassThrough } = await import('node:stream')
  const program = new Command('rc2')
  const io: CliIo = {
    stdout: new PassThrough(),
    stderr: new PassThrough(),
    stdin: new PassThrough(),
    env: {},
    cwd: process.cwd(),
  }
  configureProgram(program, io, () => false)
  const unused = (): never => {
    throw new Error('describeCli runs no command')
  }
  const ctx: CliContext = {
    get out(): never {
      return unused()
    },
    env: {},
    cwd: io.cwd,
    stdin: io.stdin,
    signal: new AbortController().signal,
    stdoutClosed: () => false,
    globalOptions: unused,
  }
  for (const command of COMMANDS) command.register(program, ctx)
  return programSpec(program, pkg.version)
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}

interface StdoutWatch {
  /** Aborted on any stdout error: stop writing results, stop submitting (as an interrupt does). */
  closed: AbortController
  /** Set when stdout failed other than by its reader leaving: the run exits 2 with it. */
  failure(): Rc2Error | undefined
  /** runCli has decided its exit code: a failure after that can only be said. */
  settled: boolean
}

/**
 * A closed stdout (`rc2 … | head -1`) ends rc2 quietly: stop writing, stop submitting, exit 0.
 * Any other failure of stdout (a full disk, /dev/full, an I/O error) loses results:
 * it stops the batch the same way, and is an error, exit 2.
 */
function watchStdout(io: CliIo): StdoutWatch {
  const closed = new AbortController()
  let failure: Rc2Error | undefined
  const watch: StdoutWatch = { closed, failure: () => failure, settled: false }
  io.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (failure === undefined && !readerLeft(error, io.stdout)) {
      failure = new UsageError(
        `cannot write the results to standard output: ${writeFailureReason(error)}`,
        {
          code: error.code,
          hint: 'nothing more was sent; answers already received are in the --output file if one was given',
          cause: error,
        },
      )
      if (watch.settled)
        io.stderr.write(`rc2: standard output failed: ${error.code ?? error.message}\n`)
    }
    if (!closed.signal.aborted) closed.abort(new InterruptedError())
  })
  // stderr that fails (a terminal that hung up, 2>/dev/full) leaves nowhere to say anything; left
  // unheard, its error would end rc2 at once and lose the answers on their way.
  io.stderr.on('error', () => undefined)
  return watch
}

/** The reader went away (a closed pipe or socket, a terminal hung up), or a write after that. */
function readerLeft(error: NodeJS.ErrnoException, stdout: CliIo['stdout']): boolean {
  if (error.code === 'EIO') return stdout.isTTY === true
  return ['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED'].includes(error.code ?? '')
}

/** The global flags, commander's behaviour (no exit of its own, output through our streams) and the help text. */
function configureProgram(program: Command, io: CliIo, isStdoutClosed: () => boolean): void {
  program
    .description(
      'Solve reCAPTCHA v2 image challenges with a recognition service: prepare the image, ask, get the tiles to click.',
    )
    .version(pkg.version, '-V, --version')
    .addOption(
      program
        .createOption(
          '--config <path>',
          'config file to use (default: .recaptcharc* here, then ~/.config/rc2/config.json)',
        )
        .env('RC2_CONFIG'),
    )
    .option('--no-color', 'no colours (NO_COLOR works too)')
    .option('--verbose', 'log each request to stderr (secrets redacted)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => {
        if (!isStdoutClosed()) io.stdout.write(text)
      },
      // Commander echoes arguments (a file name from a glob may hold escape sequences).
      writeErr: (text) => io.stderr.write(safeBlock(text)),
      // Help wraps to the stream written to (commander would ask process.stdout): a pipe gets 80
      // columns.
      getOutHelpWidth: () => columnsOf(io.stdout) ?? 80,
      getErrHelpWidth: () => columnsOf(io.stderr) ?? 80,
    })
    .addHelpText('after', GLOBAL_HELP)
}

/** After the command list in `rc2 --help`. */
const GLOBAL_HELP = `
Examples:
  $ rc2 solve captcha.png --question car
  $ rc2 solve shots/ -q "Select all squares with traffic lights" --ndjson > results.ndjson
  $ rc2 resize screenshot.png -o payload.jpg
  $ rc2 questions hydrant
  $ rc2 grid screenshot.png --overlay check.png
  $ rc2 solve shots/ -q bus -p yescaptcha,capsolver      # failover: the next one when one cannot answer
  $ rc2 report --from results.ndjson --input shots/a.png  # tell the service an answer was wrong

Providers (-p, any case; a comma list is a failover order). All take 3x3, 4x4 and 1x1:
  yescaptcha  default; /m/ id; --confidence sent (3x3); 6 points a grid, 2 a tile; balance; no report
  acedata     /m/ id; --confidence applied by rc2 to its scores; price not published; no balance, no report
  capsolver   /m/ id; no --confidence; price not published; balance; report (wrong or right)
  2captcha    English instruction, human workers (180 s); no --confidence; price not published; balance; report (wrong or right)
  nopecha     English instruction; no --confidence; credits, price per call not published; balance; no report
  capmonster  English instruction, images over 50,000 bytes re-encoded; no --confidence; price not published; balance; report (wrong only)
--max-points counts 1 point a call where no price is published.

Environment: RC2_API_KEY, RC2_PROVIDER, RC2_ENDPOINT, RC2_CONFIG, NO_COLOR; per provider
RC2_<NAME>_API_KEY and RC2_<NAME>_ENDPOINT (RC2_2CAPTCHA_API_KEY, RC2_CAPSOLVER_API_KEY, ...).
Exit codes: 0 ok, 1 bug, 2 usage, 3 config/key, 4 input, 5 provider/network, 6 some inputs failed, 130 interrupted.`

/** A terminal's width; undefined for a pipe or a file (commander then wraps help at 80 columns). */
function columnsOf(stream: CliIo['stdout']): number | undefined {
  return stream.isTTY === true ? (stream as NodeJS.WriteStream).columns : undefined
}

/** "unknown option '-dash.jpg'" where a file of that name exists: say how to pass it. */
function hintDashFile(argv: readonly string[], io: CliIo): void {
  const end = argv.indexOf('--')
  const args = argv.slice(2, end === -1 ? undefined : end)
  const name = args.find((a) => /^-[^-]|^--./.test(a) && existsSync(resolve(io.cwd, a)))
  if (name === undefined) return
  io.stderr.write(
    safeBlock(
      `hint: ${name} is a file: put it after -- (rc2 solve -q car -- ${name}) or write ./${name}\n`,
    ),
  )
}

function reportError(error: unknown, out: Output, verbose: boolean): number {
  if (error instanceof InterruptedError) {
    out.info('rc2: interrupted')
    return EXIT.interrupted
  }
  if (error instanceof Rc2Error) {
    out.error(
      error.code !== undefined && !messageNamesCode(error.kind)
        ? `${error.message} [${error.code}]`
        : error.message,
      error.hint,
    )
    if (verbose && error.cause !== undefined)
      out.verbose(`cause: ${String((error.cause as Error).stack ?? error.cause)}`)
    return error.exitCode
  }
  const message = error instanceof Error ? error.message : String(error)
  out.error(
    `internal error: ${message}`,
    'this is a bug in rc2; run again with --verbose and report what it prints',
  )
  if (verbose && error instanceof Error && error.stack !== undefined) out.verbose(error.stack)
  return EXIT.internal
}

/** The second-stage signal of a signal made by installSignalHandlers (aborted on the second Ctrl-C). */
const stopNowOf = new WeakMap<AbortSignal, AbortSignal>()

/** After the first signal, the batch has a few seconds' grace to finish; this is the hard limit. */
const FIRST_SIGNAL_EXIT_MS = 15_000
/** After the second signal, answers on their way get a second (batch.ts) and are written; then this. */
const SECOND_SIGNAL_EXIT_MS = 3_000

/**
 * A closed terminal or SSH session sends SIGHUP: left to its default, it would end rc2 at once and
 * lose the answers already paid for, so it stops a batch as SIGTERM does.
 */
const HANDLED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

/**
 * First Ctrl-C (or SIGTERM, SIGHUP): abort the signal (stop submitting, let in-flight work finish
 * briefly, write results). Second: give what is in flight one more second (answers on their
 * way were paid for), write them, and leave with 130. Each stage also arms a timer that ends the
 * process whatever is stuck (a read that never returns, a lost abort): a signal always ends rc2.
 */
export function installSignalHandlers(): AbortSignal {
  const controller = new AbortController()
  const stopNow = new AbortController()
  stopNowOf.set(controller.signal, stopNow.signal)
  // The last resort is the signal itself, with its default action: process.exit() runs libuv's
  // clean-up, which waits for a thread stuck in a blocking call (an open() of a device) for ever.
  let received: NodeJS.Signals = 'SIGINT'
  const dieBySignal = (): void => {
    for (const name of HANDLED_SIGNALS) process.removeAllListeners(name)
    process.kill(process.pid, received)
  }
  const forceExitAfter = (ms: number): void => {
    setTimeout(dieBySignal, ms).unref()
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    received = signal
    if (!controller.signal.aborted) {
      controller.abort(new InterruptedError())
      forceExitAfter(FIRST_SIGNAL_EXIT_MS)
    } else if (!stopNow.signal.aborted) {
      stopNow.abort(new InterruptedError())
      forceExitAfter(SECOND_SIGNAL_EXIT_MS)
    } else {
      dieBySignal()
    }
  }
  for (const name of HANDLED_SIGNALS) process.on(name, onSignal)
  return controller.signal
}
