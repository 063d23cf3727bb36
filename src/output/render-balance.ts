import type { BalanceResult } from '../providers/types.js'

/** Epoch seconds as a UTC date a person reads: 2026-12-07 14:05 UTC. */
function utc(seconds: number): string {
  return `${new Date(seconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}

/** A duration in seconds as `3h 20m` (or `45s`). */
function span(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h ${m}m` : `${m}m`
}

/**
 * The extra figures of a balance as words. NopeCHA's quota resets on a schedule it gives as epoch
 * seconds (`lastreset`) and seconds left (`ttl`): shown as dates, the next one with the time left.
 */
function describeDetails(details: Record<string, number>, nowMs: number): string[] {
  const parts: string[] = []
  for (const [key, value] of Object.entries(details)) {
    if (key === 'lastreset') parts.push(`last reset ${utc(value)}`)
    else if (key === 'ttl')
      parts.push(`next reset ${utc(nowMs / 1000 + value)} (in ${span(value)})`)
    else if (key === 'duration') parts.push(`period ${span(value)}`)
    else parts.push(`${key} ${value}`)
  }
  return parts
}

/** One provider's balance on one line: `nopecha: 1200 credits · quota 5000 · next reset …`. */
export function renderBalance(
  result: BalanceResult,
  separator: string,
  nowMs = Date.now(),
): string {
  return [
    `${result.provider}: ${result.balance} ${result.unit}`,
    ...describeDetails(result.details, nowMs),
  ].join(separator)
}
