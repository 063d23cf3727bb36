import type { ErrorKind } from '../errors.js'
import type { FailedAttempt, ProviderName } from '../providers/types.js'
import type { Click, Grid } from '../types.js'

/** What an answer and a dry run both say: the input, what was asked, and the capture's tiles. */
interface Answered {
  schemaVersion: 1
  input: string
  ok: true
  question: { id: string; name: string }
  grid: Grid
  size: number
  provider: ProviderName
  /** Dynamic round (--tiles/--since): the tiles sent (or that would be), each as its own 100x100 task. */
  checked?: number[]
  /** Tiles already selected in the capture (their pictures were restored to full size before sending). */
  selected?: number[]
  /** Tiles that looked still fading in (pale or blank); a dynamic round never sends them. */
  loading?: number[]
  warnings?: string[]
}

/** The JSON output contract, schemaVersion 1 (docs/json-and-exit-codes.md). */
export interface SolveSuccess extends Answered {
  type: 'multi' | 'single'
  objects: number[]
  hasObject: boolean | null
  confidences: number[] | null
  clicks: Click[]
  taskId: string | null
  points: number | null
  elapsedMs: number
  /** Requests of this input that may have been charged, when more than its answers (a reply was lost, then retried or another provider asked). */
  paidCalls?: number
  /** Providers that failed on this input before `provider` answered (failover, `-p a,b`). */
  attempts?: FailedAttempt[]
  /** Where --annotate wrote the marked picture. */
  annotated?: string
  /** Dynamic round: each checked tile's task id, in the order of `checked`. */
  taskIds?: (string | null)[]
}

export interface ErrorInfo {
  kind: ErrorKind
  code: string | null
  message: string
  hint: string | null
}

export interface SolveFailure {
  schemaVersion: 1
  input: string
  ok: false
  error: ErrorInfo
  elapsedMs?: number
  /** Requests that reached the service and may have been charged although no answer came back. */
  paidCalls?: number
  /** Providers that failed on this input before the last one (failover, `-p a,b`). */
  attempts?: FailedAttempt[]
  /**
   * `false` when nothing was sent for this input (the --max-points budget or a batch stop refused
   * it): a results file does not keep it, so --resume sends it later.
   */
  sent?: false
}

/** What --dry-run prints instead of sending: everything but the secret and the image bytes. */
export interface DryRunResult extends Answered {
  dryRun: true
  request: { method: 'POST'; url: string; headers: Record<string, string>; body: unknown }
  image: { format: string; bytes: number; width: number; height: number; inputKind: string }
  clicksIfChosen: Click[]
}

export type SolveResult = SolveSuccess | SolveFailure | DryRunResult
