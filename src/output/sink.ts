import type { SolveResult } from '../solve/result.js'
import type { Output } from './io.js'
import { type OutputFormat, renderCsvHeader, renderCsvRow, renderJson, renderNdjsonLine, renderResultTable } from './render.js'

/**
 * Where solve results go as they finish. NDJSON and CSV stream a line per input at once; JSON and
 * the table print at the end, in input order. Failures are also reported on stderr.
 */
export class ResultSink {
  private readonly held: { index: number; result: SolveResult }[] = []
  private headerWritten = false

  constructor(
    private readonly out: Output,
    private readonly format: OutputFormat,
  ) {}

  add(result: SolveResult, index: number): void {
    if (!result.ok && this.format !== 'table') {
      // Input errors already name the file; say it once.
      const { message } = result.error
      this.out.error(message.includes(result.input) ? message : `${result.input}: ${message}`, result.error.hint)
    }
    if (this.format === 'ndjson') {
      this.out.result(renderNdjsonLine(result))
    } else if (this.format === 'csv') {
      if (!this.headerWritten) {
        this.out.result(renderCsvHeader())
        this.headerWritten = true
      }
      this.out.result(renderCsvRow(result))
    } else {
      this.held.push({ index, result })
    }
  }

  /** Print what was held; `single` prints one object instead of an array (design §2). */
  finish(single: boolean): void {
    const results = this.held.sort((a, b) => a.index - b.index).map((h) => h.result)
    if (this.format === 'json') {
      if (single && results.length === 1) this.out.result(renderJson(results[0]))
      else this.out.result(renderJson(results))
    } else if (this.format === 'table') {
      const blocks: string[] = []
      for (const result of results) {
        if (result.ok) blocks.push(renderResultTable(result, this.out.color, { showInput: !single }))
        else if (single) this.out.error(result.error.message, result.error.hint)
        else this.out.info(renderResultTable(result, this.out.colorErr))
      }
      if (blocks.length > 0) this.out.result(blocks.join('\n\n'))
    } else if (this.format === 'csv' && !this.headerWritten) {
      this.out.result(renderCsvHeader())
    }
  }
}
