import type { BatchProgress, BatchSummary } from '../batch/runner.js'
import type { Output } from './io.js'

/** A spinner line on stderr while a batch runs; only on a terminal, never on stdout. */
export interface Progress {
  update(state: BatchProgress): void
  /** Stop the spinner and clear its line (before the summary and any final message). */
  stop(): void
}

export async function startProgress(
  out: Output,
  env: Readonly<Record<string, string | undefined>>,
  total: number,
): Promise<Progress> {
  // A terminal that reports no width (a pty opened by `script` without one) would make ora divide by
  // zero when it counts lines to clear, and loop: no spinner there either.
  const columns = (out.stderr as { columns?: number }).columns ?? 0
  const enabled = out.stderrIsTTY && env.CI === undefined && total > 0 && columns > 0
  if (!enabled) return { update() {}, stop() {} }
  const { default: ora } = await import('ora')
  const started = Date.now()
  // ora colours by its own terminal check, which does not know NO_COLOR or --no-color: tell it.
  const spinner = ora({
    stream: out.stderr,
    text: 'starting',
    discardStdin: false,
    ...(out.colorErr.level === 0 ? { color: false } : {}),
  }).start()
  return {
    update(state) {
      spinner.text = progressLine(state, Date.now() - started)
    },
    stop() {
      spinner.stop()
    },
  }
}

/**
 * The spinner's text: counts, rate, and an estimate of the time left at the rate so far (none
 * before the first input finishes).
 */
export function progressLine(state: BatchProgress, elapsedMs: number): string {
  const seconds = Math.max(0.001, elapsedMs / 1000)
  const rate = state.done / seconds
  const left = state.total - state.done
  const eta = state.done === 0 ? 'time left unknown' : `about ${duration(left / rate)} left`
  return `${state.done}/${state.total} done · ${state.ok} ok · ${state.failed} failed · ${state.points} points · ${rate.toFixed(1)}/s · ${state.inFlight} in flight · ${eta}`
}

/** Seconds as `45s`, `3m 05s` or `2h 10m`. */
function duration(seconds: number): string {
  const s = Math.max(0, Math.ceil(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

/** What the summary line needs beyond the counts. */
export interface SummaryOptions {
  /** --dry-run: nothing was sent, so nothing was solved, spent or timed. */
  dryRun?: boolean | undefined
  maxPoints?: number | undefined
  /** What to do about inputs the budget left unsent. */
  budgetHint?: string | undefined
}

/** One line for stderr after a batch: what was solved, what failed and why, what it cost, how fast. */
export function renderBatchSummary(
  summary: BatchSummary & { notImages?: number },
  options: SummaryOptions = {},
): string {
  const failed = Object.entries(summary.failedByKind)
    .map(([kind, n]) => `${n} ${kind}`)
    .join(', ')
  const dry = options.dryRun === true
  const parts = [
    dry
      ? `${summary.solved}/${summary.total} prepared (dry run: nothing sent)`
      : `${summary.solved}/${summary.total} solved`,
    summary.failed > 0 ? `${summary.failed} failed (${failed})` : '0 failed',
    dry ? undefined : `${summary.points} points`,
    dry || summary.latencyMs.p50 === null
      ? undefined
      : `p50 ${summary.latencyMs.p50} ms, p95 ${summary.latencyMs.p95} ms`,
    `${(summary.wallMs / 1000).toFixed(1)} s`,
  ]
  if (summary.byProvider !== undefined) {
    const answers = Object.entries(summary.byProvider).map(([name, n]) => `${name} ${n}`)
    parts.push(`answers: ${answers.length > 0 ? answers.join(', ') : 'none'}`)
  }
  const notImages = summary.notImages ?? 0
  const resumed = summary.skipped - notImages
  if (resumed > 0) parts.push(`${resumed} already solved (--resume)`)
  if (notImages > 0) parts.push(`${notImages} skipped (not images)`)
  if (summary.unsentBudget > 0) {
    const hint = options.budgetHint === undefined ? '' : ` (${options.budgetHint})`
    parts.push(
      options.maxPoints === undefined
        ? `${summary.unsentBudget} not sent (--max-points)${hint}`
        : `${summary.unsentBudget} not sent: --max-points ${options.maxPoints} reached${hint}`,
    )
  }
  if (summary.unsentStopped > 0) parts.push(`${summary.unsentStopped} not sent (batch stopped)`)
  if (summary.interrupted > 0) parts.push(`${summary.interrupted} not finished (interrupted)`)
  if (summary.extraPaidCalls > 0)
    parts.push(
      `${summary.extraPaidCalls} call(s) may have been charged without an answer (lost replies)`,
    )
  return parts.filter((p) => p !== undefined).join(' · ')
}
