/**
 * What one call costs, the one answer for results and for the --max-points budget. Pure and free of
 * HTTP code, so a dry run and the budget can ask without loading the adapters.
 */
import type { Grid } from '../types.js'
import type { ProviderName } from './types.js'

/** Points one call costs where the service publishes it (YesCaptcha: 6 a grid, 2 a tile); null where it does not. */
export function providerPoints(name: ProviderName, grid: Grid): number | null {
  if (name === 'yescaptcha') return grid === '1x1' ? 2 : 6
  return null
}
