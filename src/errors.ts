/**
 * Error classes and exit codes. Every failure rc2 reports is an Rc2Error with a `kind`
 * (docs/json-and-exit-codes.md); the exit code follows from the kind. Only src/cli.ts turns an
 * error into a process exit code.
 */

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 3,
  input: 4,
  provider: 5,
  partial: 6,
  interrupted: 130,
} as const
export type ExitCode = (typeof EXIT)[keyof typeof EXIT]

export type ErrorKind =
  | 'usage'
  | 'config'
  | 'input'
  | 'auth'
  | 'balance'
  | 'rate_limit'
  | 'unsolvable'
  | 'provider'
  | 'network'
  | 'timeout'
  | 'budget'

/**
 * Exit code per kind. A bad or missing key is a configuration problem the user fixes (3). A budget
 * stop is the user's own --max-points at work, not a service failure: usage (2), like
 * `--max-points 0`.
 */
const KIND_EXIT: Record<ErrorKind, ExitCode> = {
  usage: EXIT.usage,
  config: EXIT.config,
  auth: EXIT.config,
  input: EXIT.input,
  balance: EXIT.provider,
  rate_limit: EXIT.provider,
  unsolvable: EXIT.provider,
  provider: EXIT.provider,
  network: EXIT.provider,
  timeout: EXIT.provider,
  budget: EXIT.usage,
}

export function exitCodeForKind(kind: ErrorKind): ExitCode {
  return KIND_EXIT[kind]
}

/** The kinds of rc2's own failures; every other kind is a service's (or the way to it). */
const OWN_KINDS: ReadonlySet<ErrorKind> = new Set(['usage', 'config', 'input', 'budget'])

/**
 * Whether a failure of this kind names its input in its message. An `input` failure is about one
 * input and says which ("x.png is empty", "https://…/a.png: the server answered 404"); any other
 * (a refused key, a lost connection) reads the same for every input, so output names the input
 * beside it.
 */
export function messageNamesInput(kind: ErrorKind): boolean {
  return kind === 'input'
}

/**
 * Whether a failure of this kind carries its code in its message: a service's failure is worded
 * `yescaptcha: ERROR_ZERO_BALANCE: …` (providers/error-map.ts), while rc2's own codes (an errno,
 * HTTP_404, NO_IMAGES) stay out of its sentences, so output shows them beside it as `[code]`.
 */
export function messageNamesCode(kind: ErrorKind): boolean {
  return !OWN_KINDS.has(kind)
}

export interface Rc2ErrorOptions {
  /** The provider's own error code, verbatim (ERROR_ZERO_BALANCE, invalid_token, …). */
  code?: string | undefined
  /** One sentence the user can act on. */
  hint?: string | undefined
  cause?: unknown
  /** True when retrying the same request may succeed (429, 5xx, network resets). */
  retryable?: boolean | undefined
  /** Seconds the service asked us to wait (Retry-After), when it said so. */
  retryAfterSec?: number | undefined
  /** The request may have reached the service and been charged although no answer arrived. */
  mayHaveCharged?: boolean | undefined
  /** The service whose failure this is, where one is to blame. */
  provider?: string | undefined
  /** The account has too many tasks in flight (send fewer at once), unlike a plain rate limit. */
  tooManyInFlight?: boolean | undefined
}

/** A provider that failed on an input before the next one was tried (failover, `-p a,b`). */
export interface AttemptRecord {
  provider: string
  kind: string
  code: string | null
}

export class Rc2Error extends Error {
  readonly kind: ErrorKind
  readonly code: string | undefined
  readonly hint: string | undefined
  readonly retryable: boolean
  readonly retryAfterSec: number | undefined
  readonly mayHaveCharged: boolean
  readonly provider: string | undefined
  readonly tooManyInFlight: boolean
  /** Providers that failed on this input before the one whose failure this is (failover). */
  attempts: AttemptRecord[] | undefined
  /** Calls of the failed input that may have been charged: set where a failure leaves the engine (the library's solve()), from the input's account. */
  paidCalls: number | undefined

  constructor(kind: ErrorKind, message: string, options: Rc2ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = 'Rc2Error'
    this.kind = kind
    this.code = options.code
    this.hint = options.hint
    this.retryable = options.retryable ?? false
    this.retryAfterSec = options.retryAfterSec
    this.mayHaveCharged = options.mayHaveCharged ?? false
    this.provider = options.provider
    this.tooManyInFlight = options.tooManyInFlight ?? false
  }

  get exitCode(): ExitCode {
    return exitCodeForKind(this.kind)
  }

  /** The `error` object of the JSON output contract (docs/json-and-exit-codes.md). */
  toJSON(): { kind: ErrorKind; code: string | null; message: string; hint: string | null } {
    return {
      kind: this.kind,
      code: this.code ?? null,
      message: this.message,
      hint: this.hint ?? null,
    }
  }
}

export class UsageError extends Rc2Error {
  constructor(message: string, options?: Rc2ErrorOptions) {
    super('usage', message, options)
    this.name = 'UsageError'
  }
}

export class ConfigError extends Rc2Error {
  constructor(message: string, options?: Rc2ErrorOptions) {
    super('config', message, options)
    this.name = 'ConfigError'
  }
}

export class InputError extends Rc2Error {
  constructor(message: string, options?: Rc2ErrorOptions) {
    super('input', message, options)
    this.name = 'InputError'
  }
}

/** Any failure of the remote service or the way to it (auth, balance, network, …). */
export class ProviderError extends Rc2Error {
  constructor(
    kind: Exclude<ErrorKind, 'usage' | 'config' | 'input'>,
    message: string,
    options?: Rc2ErrorOptions,
  ) {
    super(kind, message, options)
    this.name = 'ProviderError'
  }
}

/**
 * A request the run refused to send: the --max-points budget (kind `budget`), or the batch stopped
 * after an account-level failure (the kind and code of that failure). No service is to blame, so
 * failover does not move on and nothing is dropped. `resend`: the request had gone out once and
 * its reply was lost (so the input was sent, and that call may have been charged).
 */
export class RefusedError extends Rc2Error {
  constructor(
    kind: ErrorKind,
    message: string,
    readonly resend: boolean,
    options?: Rc2ErrorOptions,
  ) {
    super(kind, message, options)
    this.name = 'RefusedError'
  }
}

/** Raised when the user interrupts (SIGINT); maps to exit 130. */
export class InterruptedError extends Error {
  constructor() {
    super('interrupted')
    this.name = 'InterruptedError'
  }
}

/**
 * How reading a path failed, from the operating system's error code: the one errno mapping every
 * reader shares (each words it for its moment: listing the inputs, loading one, reading it later).
 * Undefined for any other failure, which readers report with its code.
 */
export type ReadFailure = 'missing' | 'denied' | 'directory' | 'loop'

export function readFailure(error: unknown): ReadFailure | undefined {
  switch ((error as NodeJS.ErrnoException | undefined)?.code) {
    case 'ENOENT':
      return 'missing'
    case 'EACCES':
    case 'EPERM':
      return 'denied'
    case 'EISDIR':
      return 'directory'
    case 'ELOOP':
      return 'loop'
    default:
      return undefined
  }
}

/** Why a path cannot be written, in words, from the operating system's error. */
export function writeFailureReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  switch (code) {
    case 'ELOOP':
      return 'it is a symbolic link (rc2 never writes through a link at an output path)'
    case 'ENOSPC':
      return 'no space left on the device'
    case 'EDQUOT':
      return 'disk quota exceeded'
    case 'ENOENT':
      return 'its directory does not exist'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'it is a directory'
    case 'EEXIST':
    case 'ENOTDIR':
      return 'a file is in the way (a directory is needed there)'
    default:
      return code ?? (error instanceof Error ? error.message : String(error))
  }
}

/**
 * The one way a write fails (README, exit codes): an output you named (`--output`, `--annotate`,
 * `-o`, `--overlay`, `--split`) that cannot be written is a usage error, exit 2, whether it is
 * found before anything is sent or `--output` fails mid-batch (a full disk: the batch stops
 * submitting and the file keeps whole lines). Exit 2 because the contract's codes have none for a
 * write, and usage is "what you named on the command line". `why` is the operating system's error
 * (worded by writeFailureReason) or the reason in words; the message names the flag, the path and
 * why, and `options.hint` replaces the default advice.
 */
export function writeFailure(
  flag: string,
  path: string,
  why: unknown,
  options: { verb?: string; after?: string; hint?: string } = {},
): Rc2Error {
  const reason = typeof why === 'string' ? why : writeFailureReason(why)
  const message = `cannot ${options.verb ?? 'write'} ${flag} ${path}: ${reason}${options.after ?? ''}`
  const linked = (why as NodeJS.ErrnoException | undefined)?.code === 'ELOOP'
  const hint =
    options.hint ??
    (linked
      ? `give ${flag} the real file, or remove the link`
      : `choose a writable path for ${flag}`)
  return new UsageError(message, { hint, ...(typeof why === 'string' ? {} : { cause: why }) })
}
