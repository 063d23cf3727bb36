import { describe, expect, it } from 'vitest'
import { ProviderError } from '../../src/errors.js'
import {
  ERROR_CODE_RULES,
  isTooManyInFlight,
  mapProviderError,
} from '../../src/providers/error-map.js'

describe('mapProviderError', () => {
  it.each([
    ['yescaptcha', 'ERROR_KEY_DOES_NOT_EXIST', undefined, 'auth', false, 'RC2_API_KEY'],
    ['capsolver', 'ERROR_KEY_DENIED_ACCESS', 401, 'auth', false, 'providers.capsolver.apiKey'],
    ['yescaptcha', 'ERROR_WRONG_USER_KEY', undefined, 'auth', false, 'providers.yescaptcha.apiKey'],
    ['acedata', 'invalid_token', 401, 'auth', false, 'platform.acedata.cloud'],
    ['acedata', 'token_expired', 401, 'auth', false, 'RC2_API_KEY'],
    ['acedata', 'no_token', 401, 'auth', false, 'providers.acedata.apiKey'],
    [
      'yescaptcha',
      'ERROR_ZERO_BALANCE',
      undefined,
      'balance',
      false,
      'top up the yescaptcha account',
    ],
    ['acedata', 'used_up', 403, 'balance', false, 'top up the acedata account'],
    ['capsolver', 'ERROR_RATE_LIMIT', 400, 'rate_limit', true, '--concurrency'],
    ['yescaptcha', 'ERROR_NO_SLOT_AVAILABLE', undefined, 'rate_limit', true, '--concurrency'],
    ['yescaptcha', 'ERROR_THREADS_MAXIMUM', undefined, 'rate_limit', true, 'lower --concurrency'],
    ['acedata', 'too_many_requests', 429, 'rate_limit', true, '--retries'],
    ['capsolver', 'ERROR_CAPTCHA_UNSOLVABLE', 400, 'unsolvable', false, 'fresh capture'],
    ['yescaptcha', 'ERROR_GARBAGE_SAMPLE', undefined, 'unsolvable', false, 'fresh capture'],
    ['capsolver', 'ERROR_TASK_TIMEOUT', 400, 'timeout', false, 'try again'],
    ['yescaptcha', 'ERROR_UNKNOWN_QUESTION', undefined, 'provider', false, 'rc2 questions'],
    [
      'yescaptcha',
      'ERROR_UNKNOW_450x450_QUESTION',
      undefined,
      'unsolvable',
      false,
      'not accepted as 4x4',
    ],
    ['yescaptcha', 'ERROR_ILLEGAL_IMAGE', undefined, 'provider', false, 'rc2 resize'],
    ['capsolver', 'ERROR_INVALID_IMAGE', 400, 'provider', false, 'rc2 resize'],
    ['capsolver', 'ERROR_PARSE_IMAGE_FAIL', 400, 'provider', false, 'rc2 resize'],
    ['yescaptcha', 'ERROR_INTERNAL_SERVER_ERROR', undefined, 'provider', true, 'try again later'],
    ['capsolver', 'ERROR_SERVICE_UNAVALIABLE', 400, 'provider', true, 'try again later'],
    ['acedata', 'api_error', 500, 'provider', true, 'try again later'],
  ] as const)('%s %s -> %s', (provider, code, status, kind, retryable, hint) => {
    const error = mapProviderError({ provider, code, status })
    expect(error).toBeInstanceOf(ProviderError)
    expect(error).toMatchObject({ kind, code, retryable })
    expect(error.hint).toContain(hint)
    expect(error.message.startsWith(`${provider}: ${code}`)).toBe(true)
  })

  it('writes the message as provider: CODE: meaning', () => {
    expect(mapProviderError({ provider: 'yescaptcha', code: 'ERROR_ZERO_BALANCE' }).message).toBe(
      'yescaptcha: ERROR_ZERO_BALANCE: the account has no points left',
    )
    expect(
      mapProviderError({
        provider: 'capsolver',
        code: 'ERROR_ZERO_BALANCE',
        status: 400,
        description: 'no funds',
      }).message,
    ).toBe(
      'capsolver: ERROR_ZERO_BALANCE (HTTP 400): the account has no points left (service said: no funds)',
    )
  })

  it.each([
    [401, 'auth', false],
    [429, 'rate_limit', true],
    [500, 'provider', true],
    [502, 'provider', true],
    [503, 'provider', true],
    [400, 'provider', false],
    [404, 'provider', false],
  ] as const)('maps a bare HTTP %i to %s', (status, kind, retryable) => {
    const error = mapProviderError({ provider: 'yescaptcha', status })
    expect(error).toMatchObject({ kind, retryable, code: undefined })
    expect(error.message).toMatch(new RegExp(`^yescaptcha: HTTP ${status}: `))
  })

  it('maps Ace 504 to an unretried timeout, but another provider 504 to a retryable provider error', () => {
    expect(mapProviderError({ provider: 'acedata', status: 504 })).toMatchObject({
      kind: 'timeout',
      retryable: false,
    })
    expect(mapProviderError({ provider: 'yescaptcha', status: 504 })).toMatchObject({
      kind: 'provider',
      retryable: true,
    })
  })

  it('passes an unknown code through verbatim with the service words', () => {
    const error = mapProviderError({
      provider: 'capsolver',
      code: 'ERROR_NEW_THING',
      description: 'details here',
      status: 400,
    })
    expect(error).toMatchObject({ kind: 'provider', code: 'ERROR_NEW_THING', retryable: false })
    expect(error.message).toBe('capsolver: ERROR_NEW_THING (HTTP 400): details here')
    expect(error.hint).toContain('ERROR_NEW_THING')
  })

  it('treats "too many threads" in a description as a rate limit', () => {
    expect(
      mapProviderError({
        provider: 'yescaptcha',
        code: 'ERROR_X',
        description: 'Too many threads for this key',
      }),
    ).toMatchObject({
      kind: 'rate_limit',
      retryable: true,
      code: 'ERROR_X',
    })
  })

  it('treats "" and "null" as no code, and keeps Retry-After and the trace id', () => {
    const error = mapProviderError({
      provider: 'acedata',
      code: '',
      description: 'null',
      status: 429,
      retryAfterSec: 4,
      traceId: 'abc',
    })
    expect(error).toMatchObject({ kind: 'rate_limit', code: undefined, retryAfterSec: 4 })
    expect(error.message).toBe('acedata: HTTP 429: too many requests (trace_id abc)')
  })

  it('has a hint for every known code', () => {
    for (const [code, rule] of Object.entries(ERROR_CODE_RULES)) {
      const hint = typeof rule.hint === 'string' ? rule.hint : rule.hint('yescaptcha')
      expect(hint.length, code).toBeGreaterThan(10)
    }
  })

  it('tells "too many tasks in flight" from a rate limit by the rule, not by the words', () => {
    const threads = mapProviderError({ provider: 'yescaptcha', code: 'ERROR_THREADS_MAXIMUM' })
    const described = mapProviderError({
      provider: 'capsolver',
      code: 'ERROR_SOMETHING_NEW',
      description: 'Too many threads for this key',
    })
    // A rate limit whose service words merely quote the THREADS text is still a rate limit.
    const rate = mapProviderError({
      provider: 'yescaptcha',
      code: 'ERROR_RATE_LIMIT',
      description: 'too many tasks in flight for this account',
    })
    expect([threads, described, rate].map((e) => e.kind)).toEqual([
      'rate_limit',
      'rate_limit',
      'rate_limit',
    ])
    expect([threads, described, rate].map((e) => isTooManyInFlight(e))).toEqual([true, true, false])
  })
})
