import type { Output } from '../output/io.js'

/** What every command gets from cli.ts: the writer, the environment, and the interrupt signal. */
export interface CliContext {
  readonly out: Output
  readonly env: Readonly<Record<string, string | undefined>>
  readonly cwd: string
  readonly stdin: NodeJS.ReadableStream & { isTTY?: boolean }
  /** Aborted on the first Ctrl-C, or when stdout is closed by its reader. */
  readonly signal: AbortSignal
  /** Aborted on the second Ctrl-C: cut work in flight at once (answers received are still written). */
  readonly stopNow?: AbortSignal | undefined
  /** True once stdout was closed by its reader (`| head -1`): stop quietly. */
  stdoutClosed(): boolean
  /** True when stdout failed other than by its reader leaving (a full disk): said, exit 2. */
  stdoutFailed?(): boolean
  globalOptions(): { config?: string; verbose?: boolean }
  /** A command that finished without throwing but wants a non-zero exit (e.g. 6 for a partial batch). */
  exitCode?: number
}
