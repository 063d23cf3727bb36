import type { ProviderFacts } from '../types.js'

/** What a service's facts say where it differs from most: the rest is filled in by defineFacts. */
export type FactsSpec = Partial<Omit<ProviderFacts, 'endpoint'>> &
  Pick<ProviderFacts, 'label' | 'pollIntervalMs' | 'recognition'> & {
    endpoint: string | ProviderFacts['endpoint']
  }

/**
 * A service's facts, with what most services share: a 30 s reply timeout, no published price, the
 * `/m/` id rather than text, no confidence threshold.
 */
export function defineFacts(spec: FactsSpec): ProviderFacts {
  const { endpoint } = spec
  return {
    requestTimeoutMs: 30_000,
    price: () => null,
    takesInstruction: false,
    confidence: 'none',
    ...spec,
    endpoint: typeof endpoint === 'string' ? () => endpoint : endpoint,
  }
}
