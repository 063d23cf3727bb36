/**
 * What the commands that talk to a provider (solve, balance, report) hand the engine: the
 * provider flags as engine options, and the CLI as the engine's host (environment, directory,
 * stderr for warnings and --verbose, the writer that scrubs keys, the interrupt signal).
 */
import type { EngineHost, ProviderOptions } from '../engine/settings.js'
import type { CliContext } from './context.js'
import type { ProviderFlags } from './options.js'

export function providerOptionsOf(flags: ProviderFlags, ctx: CliContext): ProviderOptions {
  return {
    provider: flags.provider,
    apiKey: flags.key,
    endpoint: flags.endpoint,
    allowInsecure: flags.allowInsecure,
    proxy: flags.proxy,
    config: ctx.globalOptions().config,
  }
}

export function engineHost(ctx: CliContext): EngineHost & { signal: AbortSignal } {
  return {
    env: ctx.env,
    cwd: ctx.cwd,
    searchConfig: true,
    warn: (message) => ctx.out.warn(message),
    verbose: ctx.out.verboseEnabled ? (line: string) => ctx.out.verbose(line) : undefined,
    secret: (value) => ctx.out.addSecret(value),
    signal: ctx.signal,
  }
}
