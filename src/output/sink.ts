import { messageNamesCode, messageNamesInput } from '../errors.js'
import type { SolveFailure, SolveResult } from '../engine/result.js'
import type { Output } from './io.js'
import {
  type OutputFormat,
  renderCsvHeader,
  renderCsvRow,
  renderFailureLine,
  renderJson,
  renderNdjsonLine,
  renderResultTable,
} from './render.js'

export interface SinkOptions {
  /** The command line named exactly one file (or -): JSON prints one object, not an array. */
  single: boolean
}

/**
 * Where solve results go as they finish. NDJSON and CSV stream a line per input at once; JSON and
 * the table print at the end, in input order. Failures and warnings are also said on stderr, and a
 * batch says a batch-wide condition once: a bad key, an empty balance or a network
 * failure shared by every input is one line, inputs left unsent by a stop are counted, not listed.
 */
export class ResultSink {
  private readonly held: { index: number; result: SolveResult; repeated: boolean }[] = []
  private headerWritten = false
  /**
   * Failure texts already said on stderr: the ones shared by inputs, and those naming an input that
   * comes again. A failure naming an input that comes once is not kept (a list of a million stays small).
   */
  private readonly said = new Set<string>()
  /** Warning text -> how many inputs it came with and the first few (all a message names). */
  private readonly warnings = new Map<string, { count: number; first: string[] }>()
  private results = 0

  constructor(
    private readonly out: Output,
    private readonly format: OutputFormat,
    private readonly options: SinkOptions = { single: false },
  ) {}

  /** `repeated`: the input's name comes again in this batch (unknown: assume it may). */
  add(result: SolveResult, index: number, repeated = true): void {
    this.results++
    if (result.ok && result.warnings !== undefined) {
      for (const warning of result.warnings) {
        const seen = this.warnings.get(warning) ?? { count: 0, first: [] }
        seen.count++
        if (seen.first.length < 3) seen.first.push(result.input)
        this.warnings.set(warning, seen)
      }
    }
    if (!result.ok && this.format !== 'table') this.tell(result, repeated)
    if (this.format === 'ndjson') {
      this.out.result(renderNdjsonLine(result))
    } else if (this.format === 'csv') {
      if (!this.headerWritten) {
        this.out.result(renderCsvHeader())
        this.headerWritten = true
      }
      this.out.result(renderCsvRow(result))
    } else {
      this.held.push({ index, result, repeated })
    }
  }

  /** Print what was held: one object for a single named file, else an array. */
  finish(): void {
    const held = this.held.sort((a, b) => a.index - b.index)
    const results = held.map((h) => h.result)
    const single = this.options.single
    if (this.format === 'json') {
      if (single && results.length === 1) this.out.result(renderJson(results[0]))
      else this.out.result(renderJson(results))
    } else if (this.format === 'table') {
      const blocks: string[] = []
      for (const { result, repeated } of held) {
        if (result.ok)
          blocks.push(renderResultTable(result, this.out.color, { showInput: !single }))
        else this.tell(result, repeated)
      }
      if (blocks.length > 0) this.out.result(blocks.join('\n\n'))
    } else if (this.format === 'csv' && !this.headerWritten) {
      this.out.result(renderCsvHeader())
    }
    // JSON and NDJSON carry warnings in each result; table and csv readers only see stderr.
    if (this.format === 'table' || this.format === 'csv') this.sayWarnings()
  }

  private sayWarnings(): void {
    for (const [warning, { count, first }] of this.warnings) {
      // A warning every input shares is said once, as is; otherwise name the inputs it concerns.
      const all = this.options.single || count === this.results
      const names = count <= 3 ? first.join(', ') : `${first.join(', ')} and ${count - 3} more`
      this.out.warn(all ? warning : `${warning} (${names})`)
    }
  }

  /** Say one failure on stderr, unless the batch already said it. */
  private tell(result: SolveFailure, repeated: boolean): void {
    const { error } = result
    // Counted in the summary line ("24 not sent: --max-points 40 reached", "26 not sent (batch stopped)").
    if (!this.options.single && result.sent === false) return
    // A failure whose words do not name the input (a bad key, a refused connection) is the same for
    // every input: say it once. One that names its input (a bad file) is said for that input.
    const namesInput = messageNamesInput(error.kind)
    const accountWide = error.kind === 'auth' || error.kind === 'balance'
    const key = namesInput
      ? `${result.input}\u0000${error.message}`
      : `${error.kind}\u0000${error.code ?? ''}\u0000${error.message}`
    if (this.said.has(key)) return
    // Said once per input: the key of an input that never comes again need not be kept.
    if (!namesInput || repeated) this.said.add(key)
    if (this.format === 'table' && !this.single) {
      this.out.info(
        renderFailureLine(accountWide ? { ...result, input: '' } : result, this.out.colorErr),
      )
      return
    }
    const message =
      namesInput || accountWide || this.single ? error.message : `${result.input}: ${error.message}`
    this.out.error(
      error.code !== null && !messageNamesCode(error.kind) ? `${message} [${error.code}]` : message,
      error.hint,
    )
  }

  private get single(): boolean {
    return this.options.single
  }
}
