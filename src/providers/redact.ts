import { ConfigError, InputError, ProviderError, Rc2Error, UsageError } from '../errors.js'

const MASK = '***'
/** Shorter "secrets" are not masked: replacing one or two characters would garble every message. */
const MIN_SECRET_LENGTH = 4

/** Replace every occurrence of each secret in `text` with `***`. */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text
  for (const secret of secrets) {
    if (secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(MASK)
  }
  return out
}

/** The most characters of one text from a reply (a status, a description, an id) rc2 passes on. */
const MAX_REPLY_TEXT = 300

/**
 * `text` as it may be passed on: up to MAX_REPLY_TEXT characters, the rest replaced by a mark
 * saying how long it was ("…(cut, 3145728 chars)"). Secrets are masked first, so a cut never
 * leaves part of one visible.
 */
export function capText(text: string, redact: (text: string) => string = (t) => t): string {
  if (text.length <= MAX_REPLY_TEXT) return text
  const masked = redact(text)
  if (masked.length <= MAX_REPLY_TEXT) return masked
  return `${masked.slice(0, MAX_REPLY_TEXT)}…(cut, ${text.length} chars)`
}

/** Every string in a parsed reply capped (capText), keys included; other values as they are. */
export function capReplyTexts(value: unknown, redact?: (text: string) => string): unknown {
  // A reply is a few short fields: copied only in the rare case that one is long.
  if (!hasLongText(value)) return value
  if (typeof value === 'string') return capText(value, redact)
  if (Array.isArray(value)) return value.map((item) => capReplyTexts(item, redact))
  if (typeof value !== 'object' || value === null) return value
  const capped: Record<string, unknown> = {}
  for (const [key, item] of Object.entries(value))
    capped[capText(key, redact)] = capReplyTexts(item, redact)
  return capped
}

function hasLongText(value: unknown): boolean {
  if (typeof value === 'string') return value.length > MAX_REPLY_TEXT
  if (typeof value !== 'object' || value === null) return false
  if (Array.isArray(value)) return value.some(hasLongText)
  return Object.entries(value).some(
    ([key, item]) => key.length > MAX_REPLY_TEXT || hasLongText(item),
  )
}

/** A proxy URL as it may be shown: its login masked, no path. */
export function renderProxy(proxy: string | URL): string {
  const url = typeof proxy === 'string' ? new URL(proxy) : proxy
  const login = url.username !== '' || url.password !== '' ? '***@' : ''
  return `${url.protocol}//${login}${url.host}`
}

/** A URL as it may be shown: no user:password, no query string. */
export function renderSafeUrl(url: URL): string {
  return capText(`${url.protocol}//${url.host}${url.pathname}`)
}

/**
 * The same error with every secret masked in its message, hint and code. Errors are rebuilt rather than
 * edited because the stack captured at construction already contains the message.
 */
export function redactError(error: unknown, secrets: readonly string[]): unknown {
  if (!(error instanceof Rc2Error)) return error
  const message = redactSecrets(error.message, secrets)
  const hint = error.hint === undefined ? undefined : redactSecrets(error.hint, secrets)
  const code = error.code === undefined ? undefined : redactSecrets(error.code, secrets)
  if (message === error.message && hint === error.hint && code === error.code) return error
  const options = {
    code,
    hint,
    cause: error.cause,
    retryable: error.retryable,
    retryAfterSec: error.retryAfterSec,
    mayHaveCharged: error.mayHaveCharged,
    provider: error.provider,
    tooManyInFlight: error.tooManyInFlight,
  }
  switch (error.kind) {
    case 'usage':
      return new UsageError(message, options)
    case 'config':
      return new ConfigError(message, options)
    case 'input':
      return new InputError(message, options)
    default:
      return new ProviderError(error.kind, message, options)
  }
}
