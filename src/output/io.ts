import type { ChalkInstance } from 'chalk'
import type { Writable } from 'node:stream'
import { safeBlock, safeText } from './safe-text.js'

/**
 * chalk itself is loaded (`loadColour`) only when some stream may show colour: output to a pipe or
 * a file, or with NO_COLOR, gets `plain`, which is what chalk does at level 0, for less start-up.
 */
let ChalkClass: (new (options: { level: 0 | 1 }) => ChalkInstance) | undefined
export async function loadColour(): Promise<void> {
  ChalkClass ??= (await import('chalk')).Chalk
}

/** Every style is the text unchanged (as chalk at level 0: arguments joined with a space). */
const plain: ChalkInstance = new Proxy(() => undefined, {
  get: (_target, property) => (property === 'level' ? 0 : plain),
  apply: (_target, _self, args: unknown[]) => args.join(' '),
}) as unknown as ChalkInstance

/**
 * The one place that writes to stdout and stderr. stdout carries results only; warnings, progress,
 * verbose logs and errors go to stderr. Colour is decided per stream.
 */
export interface OutputOptions {
  stdout: Writable & { isTTY?: boolean }
  stderr: Writable & { isTTY?: boolean }
  /** false for --no-color / NO_COLOR; undefined = decide from the terminal. */
  color?: boolean | undefined
  verbose?: boolean | undefined
  env?: Readonly<Record<string, string | undefined>>
  /** True once the reader closed stdout: results are dropped instead of written. */
  stdoutClosed?: () => boolean
}

export class Output {
  readonly stdout: OutputOptions['stdout']
  readonly stderr: OutputOptions['stderr']
  /** Colours for what goes to stdout / stderr (level 0 when not a colour terminal). */
  readonly color: ChalkInstance
  readonly colorErr: ChalkInstance
  readonly verboseEnabled: boolean
  private secrets: string[] = []
  private readonly stdoutClosed: () => boolean
  /** Colour allowed at all (not --no-color, not NO_COLOR): for things that do their own terminal checks. */
  readonly colorAllowed: boolean

  constructor(options: OutputOptions) {
    this.stdout = options.stdout
    this.stderr = options.stderr
    const env = options.env ?? {}
    const forced =
      env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== ''
    const allowed =
      options.color !== false &&
      (env.NO_COLOR === undefined || env.NO_COLOR === '') &&
      env.FORCE_COLOR !== '0'
    const level = (tty: boolean | undefined): 0 | 1 => (allowed && (tty === true || forced) ? 1 : 0)
    const chalk = (wanted: 0 | 1): ChalkInstance =>
      wanted === 0 || ChalkClass === undefined ? plain : new ChalkClass({ level: wanted })
    this.color = chalk(level(this.stdout.isTTY))
    this.colorErr = chalk(level(this.stderr.isTTY))
    this.verboseEnabled = options.verbose === true
    this.stdoutClosed = options.stdoutClosed ?? (() => false)
    this.colorAllowed = allowed
  }

  /** Columns of the terminal stdout is on; undefined when stdout is not a terminal. */
  get stdoutColumns(): number | undefined {
    const columns = (this.stdout as { columns?: number }).columns
    return this.stdoutIsTTY && columns !== undefined && columns > 0 ? columns : undefined
  }

  get stdoutIsTTY(): boolean {
    return this.stdout.isTTY === true
  }

  get stderrIsTTY(): boolean {
    return this.stderr.isTTY === true
  }

  /** Values that must never be printed (API keys); every stderr/stdout line is scrubbed of them. */
  addSecret(secret: string | undefined): void {
    if (secret !== undefined && secret.length >= 4 && !this.secrets.includes(secret))
      this.secrets.push(secret)
  }

  redact(text: string): string {
    let out = text
    for (const secret of this.secrets) out = out.split(secret).join('***')
    return out
  }

  /** A result line or block for stdout (a newline is added). */
  result(text: string): void {
    if (this.stdoutClosed()) return
    this.stdout.write(safeBlock(this.redact(text)) + '\n')
  }

  /**
   * Resolves once stdout has taken what was written: at once, unless a slow reader left it full.
   * A batch waits here before it starts more inputs, so results never pile up in memory. A reader
   * that goes away (close, error) or a stop (`signal`) ends the wait too.
   */
  async drained(signal?: AbortSignal): Promise<void> {
    const stdout = this.stdout
    if (!stdout.writableNeedDrain || this.stdoutClosed() || signal?.aborted === true) return
    await new Promise<void>((resolve) => {
      const done = (): void => {
        stdout.off('drain', done).off('close', done).off('error', done)
        signal?.removeEventListener('abort', done)
        resolve()
      }
      stdout.once('drain', done).once('close', done).once('error', done)
      signal?.addEventListener('abort', done, { once: true })
    })
  }

  /** A line for stderr. */
  info(text: string): void {
    this.stderr.write(safeBlock(this.redact(text)) + '\n')
  }

  warn(text: string): void {
    this.stderr.write(this.redact(`${this.colorErr.yellow('warning:')} ${safeText(text)}`) + '\n')
  }

  verbose(text: string): void {
    // Multi-line (a stack with --verbose): newlines kept, every other control character escaped.
    if (this.verboseEnabled)
      this.stderr.write(
        this.redact(
          this.colorErr.dim(`[verbose] ${safeBlock(text.split('\u001b').join('\\u001b'))}`),
        ) + '\n',
      )
  }

  /** An error for the user: one line, then its hint. */
  error(message: string, hint?: string | null): void {
    // Messages carry outside text (a service's errorDescription, a file name): one safe line each.
    this.stderr.write(
      this.redact(`${this.colorErr.red('rc2: error:')} ${safeText(message)}`) + '\n',
    )
    if (hint !== undefined && hint !== null && hint !== '') {
      this.stderr.write(this.redact(`${this.colorErr.dim('hint:')} ${safeText(hint)}`) + '\n')
    }
  }
}
