/** The provider registry: one factory per service, and what each call costs where known. */
import { UsageError } from '../errors.js'
import { createAceDataProvider } from './acedata.js'
import { createCapMonsterProvider } from './capmonster.js'
import { createCapSolverProvider } from './capsolver.js'
import { createNopechaProvider } from './nopecha.js'
import { createTwoCaptchaProvider } from './twocaptcha.js'
import { PROVIDER_NAMES } from './types.js'
import type { Provider, ProviderName, ProviderOptions } from './types.js'
import { createYesCaptchaProvider } from './yescaptcha.js'

const FACTORIES: Record<ProviderName, (options: ProviderOptions) => Provider> = {
  yescaptcha: createYesCaptchaProvider,
  acedata: createAceDataProvider,
  capsolver: createCapSolverProvider,
  '2captcha': createTwoCaptchaProvider,
  nopecha: createNopechaProvider,
  capmonster: createCapMonsterProvider,
}

/** Which services take feedback on an answer (`rc2 report`): wrong answers, right answers. */
export const PROVIDER_REPORTS: Readonly<
  Record<ProviderName, { wrong: boolean; right: boolean; call: string | null }>
> = {
  yescaptcha: { wrong: false, right: false, call: null },
  acedata: { wrong: false, right: false, call: null },
  capsolver: { wrong: true, right: true, call: 'POST /feedbackTask' },
  '2captcha': { wrong: true, right: true, call: 'POST /reportIncorrect, /reportCorrect' },
  nopecha: { wrong: false, right: false, call: null },
  capmonster: { wrong: true, right: false, call: 'POST /reportIncorrectImageCaptcha' },
}

function isProviderName(value: unknown): value is ProviderName {
  return typeof value === 'string' && (PROVIDER_NAMES as readonly string[]).includes(value)
}

/**
 * Create the adapter for `name`. Throws ConfigError for a bad or insecure endpoint and a
 * ProviderError (auth) for an empty key, before anything is sent.
 */
export function createProvider(name: ProviderName, options: ProviderOptions): Provider {
  if (!isProviderName(name)) {
    throw new UsageError(`unknown provider "${String(name)}"`, {
      hint: `choose one of: ${PROVIDER_NAMES.join(', ')}`,
    })
  }
  return FACTORIES[name](options)
}

export { attemptTimeoutMs } from './facts/index.js'
export type * from './types.js'
