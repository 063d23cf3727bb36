/**
 * `rc2 report`: which answers to report (task ids given, or read from a results file), and
 * sending each to the service that gave it. A service without a feedback call, or without the
 * asked direction, is refused before anything is sent.
 */
import { InputError, Rc2Error, UsageError } from '../errors.js'
import { PROVIDER_NAMES } from '../providers/types.js'
import { readResultsFile } from './results-file.js'
import type { Provider, ProviderName } from '../providers/types.js'
import {
  createNamedProvider,
  type EngineHost,
  loadRunConfig,
  type ProviderOptions,
} from '../engine/settings.js'
import { providerNames } from '../engine/provider-names.js'

/** An answer to report; `input` when read from a results file. */
type ReportTarget = Pick<ReportOutcome, 'provider' | 'taskId'> & { input?: string | undefined }

export interface ReportOutcome {
  schemaVersion: 1
  provider: ProviderName
  taskId: string
  /** The input the answer was for, when read from a results file. */
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
 * `only` (a provider).
 */
async function readReportTargets(
  path: string,
  inputs: readonly string[] | undefined,
  only: ProviderName | undefined,
  warn: (message: string) => void,
): Promise<ReportTarget[]> {
  const file = await readResultsFile(path)
  const targets: ReportTarget[] = []
  const wanted = inputs === undefined || inputs.length === 0 ? undefined : new Set(inputs)
  const seenInputs = new Set<string>()
  for (const r of file.records) {
    if (r.ok !== true || r.dryRun === true) continue
    const provider = r.provider
    if (typeof provider !== 'string' || !(PROVIDER_NAMES as readonly string[]).includes(provider))
      continue
    const input = typeof r.input === 'string' ? r.input : undefined
    if (input !== undefined) seenInputs.add(input)
    if (wanted !== undefined && (input === undefined || !wanted.has(input))) continue
    if (only !== undefined && provider !== only) continue
    // A dynamic round has one task per checked tile.
    const ids = Array.isArray(r.taskIds) ? r.taskIds : [r.taskId]
    for (const id of ids) {
      if (typeof id === 'string' && id !== '')
        targets.push({ provider: provider as ProviderName, taskId: id, input })
    }
  }
  if (file.unreadable > 0)
    warn(`${path}: ${file.unreadable} line(s) are not JSON results and were skipped`)
  for (const input of wanted ?? []) {
    if (!seenInputs.has(input)) warn(`${path} has no answer for --input ${input}`)
  }
  // The same task named twice (a file appended to by --resume runs) is reported once.
  const unique = new Map(targets.map((t) => [`${t.provider}\u0000${t.taskId}`, t]))
  return [...unique.values()]
}

/** Refuse, before sending anything, a service that takes no report in this direction. */
function checkReportable(
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
async function sendReports(
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

/** What to report: task ids given (with the provider that gave them), or the answers in a results file. */
export interface ReportRequest extends ProviderOptions {
  taskIds?: readonly string[] | undefined
  /** A results file (`rc2 solve --output` / `--ndjson`) to take the task ids and providers from. */
  from?: string | undefined
  /** With `from`: only the answers for these inputs. */
  inputs?: readonly string[] | undefined
  /** Report the answers as right instead of wrong. */
  correct?: boolean | undefined
}

/**
 * Tell the services the answers were wrong (or right): refused before any key is needed or
 * anything sent when a service has no such call; each report's outcome as it comes.
 */
export async function reportAnswers(
  request: ReportRequest,
  host: EngineHost & { signal?: AbortSignal | undefined },
  onOutcome: (outcome: ReportOutcome) => void = () => undefined,
): Promise<ReportOutcome[]> {
  const correct = request.correct === true
  const targets = await reportTargets(request, host)
  const providersNeeded = [...new Set(targets.map((t) => t.provider))]
  const { PROVIDER_REPORTS } = await import('../providers/index.js')
  // A service with no such call is the user's mistake: said before any key is needed or anything sent.
  checkReportable(providersNeeded, correct, PROVIDER_REPORTS)
  const config = await loadRunConfig({ ...request, provider: providersNeeded }, host)
  const providers = new Map(
    await Promise.all(
      providersNeeded.map(
        async (name) => [name, await createNamedProvider(config, host, name)] as const,
      ),
    ),
  )
  return sendReports(
    targets,
    providers,
    correct,
    host.signal ?? new AbortController().signal,
    onOutcome,
  )
}

/** The answers to report: the task ids given, or those read from the results file. */
async function reportTargets(request: ReportRequest, host: EngineHost): Promise<ReportTarget[]> {
  const taskIds = request.taskIds ?? []
  if (request.from === undefined && taskIds.length === 0)
    throw new UsageError('name the task ids to report, or --from <results.ndjson>', {
      hint: 'rc2 report <taskId...> -p <provider>',
    })
  if (request.from !== undefined && taskIds.length > 0)
    throw new UsageError('give task ids or --from, not both')
  if (request.inputs !== undefined && request.from === undefined)
    throw new UsageError('--input picks answers from a results file: it needs --from')
  const named = request.provider === undefined ? undefined : providerNames(request.provider)
  if (named !== undefined && named.length > 1)
    throw new UsageError('report to one provider at a time: -p takes one name here')
  if (request.from === undefined) {
    if (named === undefined)
      throw new UsageError('say which service gave these task ids: -p <provider>', {
        hint: 'or use --from <results.ndjson>, which records it',
      })
    return taskIds.map((taskId) => ({ provider: named[0] as ProviderName, taskId }))
  }
  const { resolve } = await import('node:path')
  const targets = await readReportTargets(
    resolve(host.cwd, request.from),
    request.inputs,
    named?.[0],
    (warning) => host.warn(warning),
  )
  if (targets.length === 0) {
    throw new InputError(
      `${request.from} holds no answer with a task id${request.inputs === undefined ? '' : ' for the inputs named'}`,
      { hint: 'pass the NDJSON file that rc2 solve --output wrote' },
    )
  }
  return targets
}
