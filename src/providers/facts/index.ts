/**
 * Every service's facts (`ProviderFacts`), and the rules built on them: what a call counts against
 * --max-points, how long one attempt may take, and the request a dry run shows. Free of HTTP code,
 * so a dry run and the budget can ask without loading the adapters.
 */
import type { Grid } from '../../types.js'
import type { DescribedRequest, ProviderFacts, ProviderName, RequestParts } from '../types.js'
import { acedataFacts } from './acedata.js'
import { capmonsterFacts } from './capmonster.js'
import { capsolverFacts } from './capsolver.js'
import { nopechaFacts } from './nopecha.js'
import { twocaptchaFacts } from './twocaptcha.js'
import { yescaptchaFacts } from './yescaptcha.js'

export const PROVIDER_FACTS: Readonly<Record<ProviderName, ProviderFacts>> = {
  yescaptcha: yescaptchaFacts,
  acedata: acedataFacts,
  capsolver: capsolverFacts,
  '2captcha': twocaptchaFacts,
  nopecha: nopechaFacts,
  capmonster: capmonsterFacts,
}

/** What --max-points counts for a call to a service that publishes no price. */
const UNPRICED_CALL_POINTS = 1

/**
 * Points one call for `grid` counts against --max-points: the published price, else 1 a call. (A
 * result's `points` is the published price alone: null where unknown.)
 */
export function pointsFor(name: ProviderName, grid: Grid): number {
  return PROVIDER_FACTS[name].price(grid) ?? UNPRICED_CALL_POINTS
}

/**
 * The deadline of one attempt: a third of the overall one, so that a hung connection is abandoned
 * with time left for two more attempts, or the provider's default when that is shorter. A
 * configured value wins, but never exceeds the overall deadline.
 */
export function attemptTimeoutMs(
  name: ProviderName,
  overallMs: number,
  configuredMs?: number,
): number {
  if (configuredMs !== undefined) return Math.min(configuredMs, overallMs)
  return Math.min(PROVIDER_FACTS[name].requestTimeoutMs, Math.ceil(overallMs / 3))
}

const REDACTED = '***'

/** The recognition request `name` would receive at `endpoint` (else its default), the key redacted. */
export function describeRequest(
  name: ProviderName,
  parts: RequestParts,
  where: { endpoint?: string | undefined; region?: 'intl' | 'cn' | undefined } = {},
): DescribedRequest {
  const facts = PROVIDER_FACTS[name]
  const base = (where.endpoint ?? facts.endpoint(where.region)).replace(/\/+$/, '')
  const { path, body } = facts.recognition(parts, REDACTED)
  return {
    method: 'POST',
    url: `${base}${path}`,
    headers: { 'content-type': 'application/json', ...facts.headers?.(REDACTED) },
    body,
  }
}
