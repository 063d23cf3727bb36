/**
 * `rc2 report`: which answers to report (task ids given, or read from a results file), and
 * sending each to the service that gave it. A service without a feedback call, or without the
 * asked direction, is refused before anything is sent.
 */
import { Rc2Error, UsageError } from '../errors.js'
import { PROVIDER_NAMES } from '../providers/types.js'
import { readResultsFile } from './results-file.js'
import type { Provider, ProviderName } from '../providers/types.js'

export interface ReportTarget {
  provider: ProviderName
  taskId: string
  /** The input the answer was for, when read from a results file. */
  input?: string | undefined
}

export interface ReportOutcome {
  schemaVersion: 1
  provider: ProviderName
  taskId: string
  input?: string
  correct: boolean
  ok: boolean
  /** The service's words on success. */
  message?: string | null
  error?: ReturnType<Rc2Error['toJSON']>
}

/**
 * The answers recorded in a results file (`rc2 solve --output` / `--ndjson`, or what `--json`
 * printed): every successful result with a task id, optionally only those of `inputs` and of
 * `provider`.
 */
export async function readReportTargets(
  path: string,
  options: { inputs?: readonly string[] | undefined; provider?: ProviderName | undefined } = {},
): Promise<{ targets: ReportTarget[]; warnings: string[] }> {
  const file = await readResultsFile(path)
  const warnings: string[] = []
  const targets: ReportTarget[] = []
  const wanted =
    options.inputs === undefined || options.inputs.length === 0
      ? undefined
      : new Set(options.inputs)
  const seenInputs = new Set<string>()
  const unreadable = file.unreadable
  for (const r of file.records) {
    if (r.ok !== true || r.dryRun === true) continue
    const provider = r.provider
    if (typeof provider !== 'string' || !(PROVIDER_NAMES as readonly string[]).includes(provider))
      continue
    const input = typeof r.input === 'string' ? r.input : undefined
    if (input !== undefined) seenInputs.add(input)
    if (wanted !== undefined && (input === undefined || !wanted.has(input))) continue
    if (options.provider !== undefined && provider !== options.provider) continue
    // A dynamic round has one task per checked tile.
    const ids = Array.isArray(r.taskIds) ? r.taskIds : [r.taskId]
    for (const id of ids) {
      if (typeof id === 'string' && id !== '')
        targets.push({ provider: provider as ProviderName, taskId: id, input })
    }
  }
  if (unreadable > 0)
    warnings.push(`${path}: ${unreadable} line(s) are not JSON results and were skipped`)
  for (const input of wanted ?? []) {
    if (!seenInputs.has(input)) warnings.push(`${path} has no answer for --input ${input}`)
  }
  // The same task named twice (a file appended to by --resume runs) is reported once.
  const unique = new Map(targets.map((t) => [`${t.provider}\u0000${t.taskId}`, t]))
  return { targets: [...unique.values()], warnings }
}

/** Refuse, before sending anything, a service that takes no report in this direction. */
export function checkReportable(
  names: Iterable<ProviderName>,
  correct: boolean,
  support: Readonly<Record<ProviderName, { wrong: boolean; right: boolean }>>,
): void {
  const takers = PROVIDER_NAMES.filter((name) =>
    correct ? support[name].right : support[name].wrong,
  )
  for (const name of names) {
    const s = support[name]
    if (!s.wrong && !s.right) {
      throw new UsageError(
        `${name} has no call to report answers, so rc2 cannot tell it an answer was ${correct ? 'right' : 'wrong'}`,
        {
          hint: `services that take reports: ${takers.join(', ')}`,
        },
      )
    }
    if (correct && !s.right) {
      throw new UsageError(
        `${name} only takes reports of wrong answers: it has no call for a correct one`,
        { hint: 'drop --correct' },
      )
    }
  }
}

/** Send each report, one at a time (they are few and cheap); a failure is recorded, not thrown. */
export async function sendReports(
  targets: readonly ReportTarget[],
  providers: ReadonlyMap<ProviderName, Provider>,
  correct: boolean,
  signal: AbortSignal,
  onOutcome: (outcome: ReportOutcome) => void,
): Promise<ReportOutcome[]> {
  const outcomes: ReportOutcome[] = []
  for (const target of targets) {
    if (signal.aborted) break
    const base = {
      schemaVersion: 1 as const,
      provider: target.provider,
      taskId: target.taskId,
      ...(target.input === undefined ? {} : { input: target.input }),
      correct,
    }
    let outcome: ReportOutcome
    try {
      const provider = providers.get(target.provider)
      if (provider?.report === undefined)
        throw new UsageError(`${target.provider} has no call to report answers`)
      const reply = await provider.report(target.taskId, correct, signal)
      outcome = { ...base, ok: true, message: reply.message }
    } catch (error) {
      if (!(error instanceof Rc2Error)) throw error
      outcome = { ...base, ok: false, error: error.toJSON() }
    }
    outcomes.push(outcome)
    onOutcome(outcome)
  }
  return outcomes
}
