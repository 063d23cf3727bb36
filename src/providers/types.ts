import type { Rc2Error } from '../errors.js'
import type { ProxyRoute } from './transport.js'
import type { Grid } from '../types.js'

export const PROVIDER_NAMES = [
  'yescaptcha',
  'acedata',
  'capsolver',
  '2captcha',
  'nopecha',
  'capmonster',
] as const
export type ProviderName = (typeof PROVIDER_NAMES)[number]

/** One recognition request, already prepared: the image is the standard size for its grid. */
export interface RecognitionRequest {
  /** Bare base64 of the image (no data: prefix). */
  image: string
  grid: Grid
  /** Side in pixels of the image (100, 300, 450). */
  size: number
  /** The `/m/` question id. */
  question: string
  /**
   * The English instruction for the id and grid ("Select all images with buses"), for the services
   * that take text instead of an id (2Captcha, NopeCHA, CapMonster).
   */
  instruction?: string | undefined
  /** 3x3 threshold 0..1 (YesCaptcha semantics); ignored where the provider has none. */
  confidence?: number | undefined
  /** Aborts the whole call (polling included); the overall deadline comes in through here. */
  signal?: AbortSignal | undefined
  /** This input's account with whoever runs it (a batch): every paid call goes through it. */
  account?: CallAccount | undefined
  /**
   * Re-encode the image so that it takes at most `maxBytes` bytes (CapMonster's 50,000-byte limit);
   * supplied by the caller, which owns the pixels. Without it an oversized image is an input error.
   */
  fitImage?: ((maxBytes: number) => Promise<FittedImage>) | undefined
}

/**
 * One input's account with the run that sends it: passed whole with the request down to every call
 * the service may charge, through failover, retries and the tiles of a round. The run reserves
 * before a paid call (at the price of the provider actually asked), counts what each call may have
 * cost, and hears of push-back; a library caller may pass none.
 */
export interface CallAccount {
  /**
   * Before a request `provider` may charge for (one call for `grid`). Throws a RefusedError when
   * the run's budget or a stop forbids it. `resend`: the same request again after its reply was
   * lost (that one may have been charged too).
   */
  reserve(provider: ProviderName, grid: Grid, resend: boolean): void
  /** A reserved call reached `provider` and may have been charged (answered or not). */
  charged(provider: ProviderName, grid: Grid): void
  /** A reserved call ended without a charge (refused before any work): its reservation is given back. */
  release(provider: ProviderName, grid: Grid): void
  /** The service pushed back on this request (429, too many in flight), before a retry. */
  pushedBack(error: Rc2Error): void
  /** Runs the wait before a retry (a batch lends the input's slot to another input meanwhile). */
  whileWaiting<R>(wait: () => Promise<R>): Promise<R>
  /** A condition that holds for the rest of the run (a provider dropped), to say once. */
  notice(text: string): void
}

/** An image re-encoded to fit a provider's size limit. */
export interface FittedImage {
  /** Bare base64. */
  image: string
  bytes: number
  /** JPEG quality used. */
  quality: number
}

/** One provider that failed before another answered (failover). */
export interface FailedAttempt {
  provider: ProviderName
  kind: string
  code: string | null
}

/** The normalised answer of every provider. */
export interface RecognitionResult {
  type: 'multi' | 'single'
  /** Tiles to click, 0-based, row-major, validated against the grid. Empty for "single". */
  objects: number[]
  /** For "single" (1x1): whether the tile shows the object; null for "multi". */
  hasObject: boolean | null
  /** Per-tile scores where the provider gives them. */
  confidences: number[] | null
  taskId: string | null
  /** What the call cost in the provider's unit, where known. */
  points: number | null
  /** How many requests that may have been charged were sent for this answer (1 normally). */
  paidCalls: number
  /** The provider that answered, when it differs from the one asked (failover). */
  provider?: ProviderName | undefined
  /** Providers that failed on this input before the one that answered (failover). */
  attempts?: FailedAttempt[] | undefined
  /** Things the caller should know about this answer (e.g. the image was re-encoded to fit). */
  warnings?: string[] | undefined
}

/** What `rc2 report` got back for one task id. */
export interface ReportResult {
  provider: ProviderName
  taskId: string
  correct: boolean
  /** The service's own words, where it gave any. */
  message: string | null
}

export interface BalanceResult {
  provider: ProviderName
  balance: number
  unit: string
  /** Extra fields the provider returned (softBalance, …), numbers only. */
  details: Record<string, number>
}

/** Called for each HTTP exchange, for --verbose; never receives a secret. */
export type RequestLogger = (line: string) => void

export interface ProviderOptions {
  apiKey: string
  /** The proxies to go through (providers/proxy.ts resolves them); none: direct. */
  proxy?: ProxyRoute | undefined
  /** Base URL; defaults to the provider's international node. */
  endpoint?: string | undefined
  /** YesCaptcha only: 'cn' selects https://cn.yescaptcha.com when no endpoint is given. */
  region?: 'intl' | 'cn' | undefined
  /** Per-request timeout in milliseconds. */
  requestTimeoutMs?: number | undefined
  /** Retries of transient failures (429, 5xx, network errors before a reply). */
  retries?: number | undefined
  /** Permit http:// to non-loopback hosts. */
  allowInsecure?: boolean | undefined
  log?: RequestLogger | undefined
  /**
   * Called when the service pushes back (429, rate limit, too many threads), before a retry, so a
   * batch can adapt; `overLimit` when the account has too many tasks in flight.
   */
  onPushBack?: ((retryAfterSec?: number, overLimit?: boolean) => void) | undefined
  /** Poll interval for providers that answer asynchronously, in ms (tests shorten it). */
  pollIntervalMs?: number | undefined
  /** Most result polls per task (default 120, the YesCaptcha/CapSolver limit). */
  maxPolls?: number | undefined
  /** Longest time spent polling one task, in ms (default 5 minutes). */
  maxPollMs?: number | undefined
  /** Backoff tuning and injectable clock/randomness for retries (tests make them instant). */
  retry?: RetryTuning | undefined
}

/** Waits `ms` milliseconds; rejects when `signal` aborts. */
export type SleepFunction = (ms: number, signal?: AbortSignal) => Promise<void>

export interface RetryTuning {
  /** First backoff ceiling in ms (default 500); doubles per attempt. */
  baseDelayMs?: number | undefined
  /** Largest backoff in ms (default 8000). */
  maxDelayMs?: number | undefined
  /** Longest Retry-After honoured, in ms (default 60000); a longer wait is not retried. */
  maxRetryAfterMs?: number | undefined
  /** Uniform [0, 1) source for the jitter (default Math.random). */
  random?: (() => number) | undefined
  sleep?: SleepFunction | undefined
}

/** What a recognition request carries, whatever the service: the image as sent (a summary in a dry run). */
export interface RequestParts {
  /** Bare base64 of the image, or what stands in for it in a description. */
  image: string
  /** The `/m/` question id. */
  question: string
  /** The English instruction, for the services that take text. */
  instruction?: string | undefined
  grid: Grid
  confidence?: number | undefined
}

/** A recognition call as a service takes it: the path under the endpoint and the JSON body. */
export interface RecognitionCall {
  path: string
  body: Record<string, unknown>
}

/** The request a provider would send (--dry-run): the key redacted, the image summarised. */
export interface DescribedRequest {
  method: 'POST'
  url: string
  headers: Record<string, string>
  body: unknown
}

/**
 * What rc2 knows about a service without talking to it (`providers/facts/`): where it is, how long
 * it takes, what it costs and what its recognition request looks like. The adapter and a dry run
 * both build the request from here, so they cannot drift apart.
 */
export interface ProviderFacts {
  /** The service's name as it writes it, for messages ("CapSolver"). */
  label: string
  /**
   * What `--confidence` does there: `sent3x3`, the service takes a threshold for 3x3 images only;
   * `applied`, it scores every tile and rc2 applies the threshold; `none`, it takes none.
   */
  confidence: 'sent3x3' | 'applied' | 'none'
  /** Base URL of the service (YesCaptcha has a China node). */
  endpoint(region?: 'intl' | 'cn'): string
  /** Longest wait for one reply, in ms. */
  requestTimeoutMs: number
  /** Pause before each result poll, in ms. */
  pollIntervalMs: number
  /**
   * Default deadline for one image in seconds, where the service documents a longer one than rc2's
   * (2Captcha's human workers); such a service is polled for as long as its deadline allows.
   */
  imageTimeoutSec?: number | undefined
  /** Points one call costs where the service publishes it; null where it does not. */
  price(grid: Grid): number | null
  /** Whether the service takes the English instruction instead of the `/m/` id (it must be there). */
  takesInstruction: boolean
  /** Headers that carry the key, besides the JSON ones. */
  headers?(apiKey: string): Record<string, string>
  /** The recognition call for these parts and this key. */
  recognition(parts: RequestParts, apiKey: string): RecognitionCall
}

export interface Provider {
  readonly name: ProviderName
  /** Normalised recognition; throws Rc2Error (ProviderError) on every failure. */
  recognize(request: RecognitionRequest): Promise<RecognitionResult>
  /** Remaining balance; throws a ProviderError of kind 'provider' where the service has no such call. */
  balance(signal?: AbortSignal): Promise<BalanceResult>
  /**
   * Tell the service an answer was wrong (or right). Absent where the service has no such call;
   * throws a UsageError for a direction the service does not take (CapMonster: only wrong answers).
   */
  report?(taskId: string, correct: boolean, signal?: AbortSignal): Promise<ReportResult>
  /** The recognition request this provider would send for `parts`, key redacted (failover: the first provider's). */
  describeRequest(parts: RequestParts): DescribedRequest
  /**
   * What one call for `grid` counts against --max-points: the published price, else 1 point a call
   * (`pointsFor` in providers/facts). Results still say `points: null` where the price is unknown.
   */
  pointsFor(grid: Grid): number
}
