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

/** A URL as it may be shown: no user:password, no query string. */
export function renderSafeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
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
