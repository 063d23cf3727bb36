import { UsageError } from '../errors.js'
import { PROVIDER_NAMES, type ProviderName } from '../providers/types.js'

// Apart from settings.ts so that the CLI's flag parser can use it without loading the config code.

/** The names given (a string in any case, a comma list, or an array), lower-case; an unknown one is a usage error. */
export function providerNames(value: string | readonly string[]): ProviderName[] {
  const names = (typeof value === 'string' ? value.split(',') : [...value]).map((name) =>
    String(name).trim().toLowerCase(),
  )
  for (const name of names) {
    if (!(PROVIDER_NAMES as readonly string[]).includes(name))
      throw new UsageError(
        `unknown provider "${name}"; choose from ${PROVIDER_NAMES.join(', ')}, or a list of them (a failover order)`,
      )
  }
  if (new Set(names).size !== names.length)
    throw new UsageError(`"${names.join(',')}" names a provider twice`)
  return names as ProviderName[]
}
