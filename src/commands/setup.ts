import type { FlagValues, ResolvedConfig } from '../config/resolve.js'
import type { Provider, ProviderName } from '../providers/types.js'
import type { Grid } from '../types.js'
import type { CliContext } from './context.js'
import type { ProviderFlags } from './options.js'

/** Shared by the commands that talk to a provider: config from flags/env/file, then the provider. */

export async function loadSolveConfig(ctx: CliContext, flags: ProviderFlags, extra: Omit<FlagValues, 'provider' | 'key' | 'endpoint' | 'allowInsecure'> = {}): Promise<ResolvedConfig> {
  const { loadConfig } = await import('../config/load.js')
  const config = await loadConfig({
    configPath: ctx.globalOptions().config,
    cwd: ctx.cwd,
    env: ctx.env,
    flags: { provider: flags.provider, key: flags.key, endpoint: flags.endpoint, allowInsecure: flags.allowInsecure, ...extra },
    warn: (message) => ctx.out.warn(message),
  })
  // From here on, the key is scrubbed from anything rc2 prints.
  ctx.out.addSecret(config.apiKey)
  if (flags.key !== undefined) ctx.out.addSecret(flags.key)
  return config
}

export async function createProviderFor(config: ResolvedConfig, ctx: CliContext, onPushBack?: (retryAfterSec?: number, overLimit?: boolean) => void): Promise<Provider> {
  const [{ requireApiKey }, { createProvider, attemptTimeoutMs }] = await Promise.all([import('../config/resolve.js'), import('../providers/index.js')])
  const apiKey = requireApiKey(config)
  return createProvider(config.provider, {
    apiKey,
    endpoint: config.endpoint,
    region: config.region,
    requestTimeoutMs: attemptTimeoutMs(config.provider, config.timeout * 1000, config.requestTimeout === undefined ? undefined : config.requestTimeout * 1000),
    retries: config.retries,
    allowInsecure: config.allowInsecure,
    log: ctx.out.verboseEnabled ? (line) => ctx.out.verbose(line) : undefined,
    onPushBack,
  })
}

/** Points one call costs, for the --max-points budget: YesCaptcha's published prices; unknown prices count 1 a call. */
export function pointsFor(provider: ProviderName, grid: Grid): number {
  if (provider === 'yescaptcha') return grid === '1x1' ? 2 : 6
  return 1
}
