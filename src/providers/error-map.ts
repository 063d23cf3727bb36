/**
 * The one table that turns a provider's error reply into a ProviderError: the provider's code
 * verbatim in `code`, an error kind (errors.ts), a message that says what happened and a hint a person
 * can act on. Codes are matched across providers because YesCaptcha, CapSolver and their clones
 * share one vocabulary.
 */
import { ProviderError } from '../errors.js'
import type { ErrorKind } from '../errors.js'
import type { ProviderName } from './types.js'

export type ProviderErrorKind = Exclude<ErrorKind, 'usage' | 'config' | 'input'>

export interface ErrorRule {
  kind: ProviderErrorKind
  /** What the error means, in a few words (used when the code is known). */
  text: string
  retryable: boolean
  /** What to do: fixed words, or words that name the provider. */
  hint: string | ((provider: ProviderName) => string)
}

/** One failure as the service reported it. */
export interface ProviderFailure {
  provider: ProviderName
  /** The provider's own code (errorCode, error.code); '' and 'null' count as absent. */
  code?: string | undefined
  /** The provider's own words (errorDescription, error.message, detail). */
  description?: string | undefined
  /** HTTP status, when the reply was not a plain 200. */
  status?: number | undefined
  retryAfterSec?: number | undefined
  /** Ace's trace_id, worth quoting to their support. */
  traceId?: string | undefined
}

/** RC2_2CAPTCHA_API_KEY, RC2_YESCAPTCHA_API_KEY, … */
const keyEnvName = (provider: ProviderName): string => `RC2_${provider.toUpperCase()}_API_KEY`
const hintKey = (provider: ProviderName): string =>
  provider === 'acedata'
    ? `get a token at https://platform.acedata.cloud/console/applications and set it in ${keyEnvName(provider)} (or RC2_API_KEY) or providers.acedata.apiKey in the config file`
    : `set a valid key in ${keyEnvName(provider)} (or RC2_API_KEY) or providers.${provider}.apiKey in the config file`
const hintTopUp = (provider: ProviderName): string =>
  provider === 'acedata'
    ? // Ace documents no balance call, so `rc2 balance` cannot check it: send the user to the console.
      'top up the acedata account and check what is left at https://platform.acedata.cloud/console/applications'
    : `top up the ${provider} account, then check it with \`rc2 balance --provider ${provider}\``
const hintRateLimit =
  'wait a moment or lower --concurrency; rc2 retries this with backoff up to --retries times'
const hintThreads = 'lower --concurrency: the account allows fewer tasks in flight at once'
const hintRetake = 'take a fresh capture (after the tiles have finished fading in) and try again'
const hintOverload = 'try again; if it keeps happening the service is overloaded'
const hintQuestions = 'run `rc2 questions` to see the question ids the services accept'
const hint450 =
  'this question is not accepted as 4x4; run `rc2 questions` to see which grids each question supports'
const hintResize =
  'run `rc2 resize`: the image must be a 100x100, 300x300 or 450x450 square, sent as bare base64'
const hintLater =
  'the service had a problem; try again later (rc2 retries this up to --retries times)'
const hintResubmit = 'the task expired or is unknown to the service; submit the image again'
const hintBug =
  'this looks like an rc2 bug or a protocol change; rerun with --verbose and report it'
const hintAccess = (provider: ProviderName): string =>
  `the ${provider} account may not have access to this API; check it in the provider's console`

const hintWait = 'wait before trying again, and fix the cause of the earlier errors'
const hintIpBanned =
  'wait about 30 minutes before trying again, and fix the cause of the earlier errors'
const hintTooBig =
  'lower image.quality in the config (or use --grid to send a smaller grid); rc2 already re-encodes for CapMonster'
const hintIpNotAllowed = (provider: ProviderName): string =>
  `add this IP address to the trusted list in the ${provider} account settings, or use another key`

/** A rule whose error a retry cannot help. */
function fixed(kind: ProviderErrorKind, text: string, hint: ErrorRule['hint']): ErrorRule {
  return { kind, text, retryable: false, hint }
}
/** A rule whose error may pass: retried with backoff. */
const passing = (kind: ProviderErrorKind, text: string, hint: string): ErrorRule => ({
  ...fixed(kind, text, hint),
  retryable: true,
})
/** `base` in other words (and, given one, another hint). */
const like = (base: ErrorRule, text: string, hint = base.hint): ErrorRule => ({
  ...base,
  text,
  hint,
})

const SIZES = '100x100, 300x300 or 450x450'
const AUTH = fixed('auth', 'the API key is not valid', hintKey)
const BALANCE = fixed('balance', 'the account has no points left', hintTopUp)
const RATE = passing('rate_limit', 'too many requests', hintRateLimit)
const THREADS = passing('rate_limit', 'too many tasks in flight for this account', hintThreads)
const UNSOLVABLE = fixed('unsolvable', 'the service could not recognise this image', hintRetake)
const SERVER = passing('provider', 'internal error at the service', hintLater)
const BAD_IMAGE = fixed('provider', `the image size is not accepted (${SIZES} only)`, hintResize)
const TASK_LOST = fixed('provider', 'the task id is unknown', hintResubmit)
const BAD_REQUEST = fixed('provider', 'the service rejected the request', hintBug)
const DENIED = fixed('provider', 'access denied', hintAccess)
const TASK_TIMEOUT = fixed('timeout', 'the service did not finish the task in time', hintOverload)

/** Known codes of every supported provider (and of the YesCaptcha family they share). */
export const ERROR_CODE_RULES: Readonly<Record<string, ErrorRule>> = {
  ERROR_KEY_DOES_NOT_EXIST: AUTH,
  ERROR_KEY_DENIED_ACCESS: AUTH,
  ERROR_WRONG_USER_KEY: AUTH,
  ERROR_KEY_BANNED: like(AUTH, 'the API key has been banned'),
  invalid_token: AUTH,
  token_expired: like(AUTH, 'the API token has expired'),
  no_token: like(AUTH, 'no API token was sent'),
  token_mismatched: like(AUTH, 'the API token is not valid for this API'),

  ERROR_ZERO_BALANCE: BALANCE,
  used_up: like(BALANCE, 'the account quota is used up'),

  ERROR_RATE_LIMIT: RATE,
  ERROR_NO_SLOT_AVAILABLE: like(RATE, 'no worker slot available'),
  ERROR_THREADS_MAXIMUM: THREADS,
  too_many_requests: RATE,

  ERROR_CAPTCHA_UNSOLVABLE: UNSOLVABLE,
  ERROR_GARBAGE_SAMPLE: like(UNSOLVABLE, 'the image was rejected as unusable'),

  ERROR_TASK_TIMEOUT: TASK_TIMEOUT,

  ERROR_UNKNOWN_QUESTION: like(BAD_REQUEST, 'the question id is not accepted', hintQuestions),
  // The service cannot answer this one, another may (failover moves on).
  ERROR_UNKNOW_450x450_QUESTION: like(
    UNSOLVABLE,
    'this question is not supported on a 450x450 (4x4) image',
    hint450,
  ),
  ERROR_ILLEGAL_IMAGE: BAD_IMAGE,
  ERROR_INVALID_IMAGE: BAD_IMAGE,
  ERROR_PARSE_IMAGE_FAIL: like(BAD_IMAGE, 'the service could not decode the image'),

  ERROR_INTERNAL_SERVER_ERROR: SERVER,
  ERROR_SERVICE_UNAVALIABLE: like(SERVER, 'the service is unavailable'),
  ERROR_SERVICE_UNAVAILABLE: like(SERVER, 'the service is unavailable'),
  api_error: SERVER,

  ERROR_NO_SUCH_CAPCHA_ID: TASK_LOST,
  ERROR_TASKID_INVALID: TASK_LOST,
  not_found: like(TASK_LOST, 'the API or task was not found'),

  ERROR_BAD_REQUEST: BAD_REQUEST,
  ERROR_REQUIRED_FIELDS: like(BAD_REQUEST, 'a required field is missing'),
  ERROR_TASK_NOT_SUPPORTED: like(BAD_REQUEST, 'the task type is not supported'),
  bad_request: BAD_REQUEST,
  api_not_implemented: like(BAD_REQUEST, 'the API is not implemented'),

  ERROR_IP_BANNED: like(DENIED, 'this IP address is banned after too many errors', hintIpBanned),
  ERROR_IP_BLOCKED: like(DENIED, 'this IP address is blocked', hintWait),
  ERROR_KEY_TEMP_BLOCKED: like(
    DENIED,
    'the key is blocked for a few minutes after too many errors',
    'wait about 5 minutes before trying again',
  ),
  forbidden: DENIED,
  disabled: like(DENIED, 'the application is disabled'),

  // 2Captcha (API v2) and CapMonster Cloud.
  ERROR_ZERO_CAPTCHA_FILESIZE: like(
    BAD_IMAGE,
    'the image is too small (under 100 bytes)',
    'check the input file: the image sent was empty or nearly so',
  ),
  ERROR_TOO_BIG_CAPTCHA_FILESIZE: like(
    BAD_IMAGE,
    'the image is too large for the service',
    hintTooBig,
  ),
  ERROR_IMAGE_TYPE_NOT_SUPPORTED: like(
    BAD_IMAGE,
    'the image type is not supported or the file is corrupt',
  ),
  ERROR_IP_NOT_ALLOWED: like(
    AUTH,
    'requests from this IP address are not allowed for this key',
    hintIpNotAllowed,
  ),
  ERROR_BAD_DUPLICATES: like(UNSOLVABLE, 'the workers could not agree on an answer'),
  ERROR_NO_SUCH_METHOD: like(BAD_REQUEST, 'the service does not know this method'),
  ERROR_TASK_ABSENT: like(BAD_REQUEST, 'the task is missing from the request'),
  ERROR_TOO_MUCH_REQUESTS: like(RATE, 'too many requests (or too many polls of one task)'),
}

/** Codes that only one service uses, or that mean something else elsewhere (NopeCHA's numbers). */
const PROVIDER_CODE_RULES: Readonly<
  Partial<Record<ProviderName, Readonly<Record<string, ErrorRule>>>>
> = {
  nopecha: {
    '9': like(SERVER, 'unknown error at the service'),
    '10': like(BAD_REQUEST, 'the service rejected the request as invalid'),
    '11': RATE,
    '12': like(DENIED, 'this IP address is banned', hintWait),
    '13': like(TASK_LOST, 'the job id is unknown'),
    '14': like(TASK_TIMEOUT, 'the job is not finished', 'raise --timeout'),
    '15': AUTH,
    '16': like(BALANCE, 'the account has no credit left'),
    '17': like(BAD_REQUEST, 'the service asks for a newer client'),
    '18': like(BAD_REQUEST, 'this feature is not available to the account', hintAccess),
  },
}

/** 2Captcha API v2 reports its error as a number in `errorId`; the names are its own. */
export const TWOCAPTCHA_ERROR_IDS: Readonly<Record<number, string>> = {
  1: 'ERROR_KEY_DOES_NOT_EXIST',
  2: 'ERROR_NO_SLOT_AVAILABLE',
  3: 'ERROR_ZERO_CAPTCHA_FILESIZE',
  4: 'ERROR_TOO_BIG_CAPTCHA_FILESIZE',
  10: 'ERROR_ZERO_BALANCE',
  11: 'ERROR_IP_NOT_ALLOWED',
  12: 'ERROR_CAPTCHA_UNSOLVABLE',
  13: 'ERROR_BAD_DUPLICATES',
  14: 'ERROR_NO_SUCH_METHOD',
  15: 'ERROR_IMAGE_TYPE_NOT_SUPPORTED',
  16: 'ERROR_NO_SUCH_CAPCHA_ID',
  21: 'ERROR_IP_BLOCKED',
  22: 'ERROR_TASK_ABSENT',
  23: 'ERROR_TASK_NOT_SUPPORTED',
}

/** The rule for a bare HTTP status, when the body carries no code we know. */
function ruleForStatus(status: number, provider: ProviderName): ErrorRule | undefined {
  if (status === 401) return AUTH
  if (status === 402) return BALANCE
  if (status === 403) return DENIED
  if (status === 404) return like(TASK_LOST, 'the API or task was not found', hintBug)
  if (status === 408) return passing('timeout', 'the service timed out', hintLater)
  if (status === 429) return RATE
  // Ace ends tasks that miss its 120 s deadline with an (uncharged) 504.
  if (status === 504 && provider === 'acedata')
    return like(TASK_TIMEOUT, TASK_TIMEOUT.text, 'try again later; the task was not charged')
  if (status >= 500) return like(SERVER, `the service failed (HTTP ${status})`)
  if (status >= 400) return like(BAD_REQUEST, `the service rejected the request (HTTP ${status})`)
  return undefined
}

function cleanCode(code: string | undefined): string | undefined {
  const trimmed = code?.trim()
  return trimmed === undefined || trimmed === '' || trimmed === 'null' ? undefined : trimmed
}

/** True when the provider's words say "too many threads" without a code we know. */
function mentionsThreads(description: string | undefined): boolean {
  return (
    description !== undefined && /too many (threads|concurrent)|threads? maximum/i.test(description)
  )
}

/**
 * True for "too many tasks in flight for this account": a statement about concurrency (send fewer
 * at once), unlike a 429, which is about rate (wait, then send again).
 */
export function isTooManyInFlight(error: { kind: string; tooManyInFlight: boolean }): boolean {
  return error.kind === 'rate_limit' && error.tooManyInFlight
}

function hintOf(rule: ErrorRule | undefined, provider: ProviderName): string | undefined {
  return typeof rule?.hint === 'function' ? rule.hint(provider) : rule?.hint
}

/** Map one provider failure to a ProviderError (message: `yescaptcha: ERROR_ZERO_BALANCE: …`). */
export function mapProviderError(failure: ProviderFailure): ProviderError {
  const code = cleanCode(failure.code)
  const description = cleanCode(failure.description)
  const status = failure.status
  const known =
    code === undefined
      ? undefined
      : (PROVIDER_CODE_RULES[failure.provider]?.[code] ?? ERROR_CODE_RULES[code])
  const rule =
    known ??
    (mentionsThreads(description) ? THREADS : undefined) ??
    (status === undefined ? undefined : ruleForStatus(status, failure.provider))
  const label = code ?? (status === undefined ? 'error' : `HTTP ${status}`)
  const statusNote =
    code !== undefined && status !== undefined && status !== 200 ? ` (HTTP ${status})` : ''
  // A known code gets our wording (plus the service's words, which may name the bad field);
  // an unknown one keeps the provider's own words.
  const ours = known?.text ?? (code === undefined ? rule?.text : undefined)
  const text =
    ours === undefined
      ? (description ?? 'the service reported an error without a description')
      : description === undefined || description.toLowerCase() === ours.toLowerCase()
        ? ours
        : `${ours} (service said: ${description})`
  const trace = failure.traceId === undefined ? '' : ` (trace_id ${failure.traceId})`
  const message = `${failure.provider}: ${label}${statusNote}: ${text}${trace}`
  // An unknown code is best explained by the provider's own list, whatever the status says.
  const unknownCodeHint =
    code !== undefined && known === undefined && rule !== THREADS
      ? `see the ${failure.provider} documentation for ${code}; rc2 passes unknown codes through verbatim`
      : undefined
  const hint =
    unknownCodeHint ??
    hintOf(rule, failure.provider) ??
    `see the ${failure.provider} documentation for ${label}; rc2 passes unknown codes through verbatim`
  const error = new ProviderError(rule?.kind ?? 'provider', message, {
    code,
    hint,
    retryable: rule?.retryable ?? false,
    retryAfterSec: failure.retryAfterSec,
    provider: failure.provider,
    tooManyInFlight: rule === THREADS,
  })
  return error
}
