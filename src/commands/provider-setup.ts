/**
 * What the commands that talk to a provider (solve, balance, report) share before sending: the config
 * from flags, environment and file; each provider's adapter with its key, endpoint and deadlines; and
 * a refused key's hint saying where that key came from.
 */
import { ConfigError, ProviderError, Rc2Error } from '../errors.js'
import { envKeyName, type FlagValues, type ResolvedConfig } from '../config/resolve.js'
import { PROVIDER_FACTS } from '../providers/facts/index.js'
import type { ProxyRoute } from '../providers/transport.js'
import type { Provider, ProviderName } from '../providers/types.js'
import type { CliContext } from './context.js'
import type { ProviderFlags } from './options.js'

export async function loadSolveConfig(
  ctx: CliContext,
  flags: ProviderFlags,
  extra: Omit<FlagValues, 'provider' | 'key' | 'endpoint' | 'allowInsecure'> = {},
): Promise<ResolvedConfig> {
  const { loadConfig } = await import('../config/load.js')
  const config = await loadConfig({
    configPath: ctx.globalOptions().config,
    cwd: ctx.cwd,
    env: ctx.env,
    flags: {
      provider: flags.provider,
      key: flags.key,
      endpoint: flags.endpoint,
      allowInsecure: flags.allowInsecure,
      ...extra,
    },
    warn: (message) => ctx.out.warn(message),
  })
  // From here on, the keys are scrubbed from anything rc2 prints.
  for (const name of config.providerList) ctx.out.addSecret(config.credentials[name]?.apiKey)
  if (flags.key !== undefined) ctx.out.addSecret(flags.key)
  // --proxy wins over every proxy in the files, the per-provider ones too.
  if (flags.proxy === undefined) return config
  const providers = Object.fromEntries(
    Object.entries(config.providers).map(([name, settings]) => [
      name,
      settings === null || settings === undefined ? settings : { ...settings, proxy: undefined },
    ]),
  )
  const overridden = { ...config, proxy: flags.proxy, providers } as ResolvedConfig
  proxyFromFlag.add(overridden)
  return overridden
}

/** Configs whose `proxy` is the --proxy flag's (for the messages that name where a proxy was set). */
const proxyFromFlag = new WeakSet<ResolvedConfig>()

/**
 * The proxies for `name` (a provider; undefined: images fetched by URL): --proxy, else
 * providers.<name>.proxy, else proxy, else the environment's; their logins masked from here on.
 */
export async function proxyRouteFor(
  config: ResolvedConfig,
  ctx: CliContext,
  name?: ProviderName,
): Promise<ProxyRoute> {
  const { describeProxyRoute, proxySecrets, resolveProxyRoute } =
    await import('../providers/proxy.js')
  const own = name === undefined ? undefined : config.providers[name]?.proxy
  const fromFlag = proxyFromFlag.has(config)
  const explicit =
    own !== undefined
      ? { url: own, from: `providers.${name}.proxy in the config` }
      : config.proxy !== undefined
        ? { url: config.proxy, from: fromFlag ? '--proxy' : 'proxy in the config' }
        : undefined
  for (const value of [own, config.proxy]) {
    if (value === undefined) continue
    // Masked before checking, so that even the error about a malformed one cannot show its login.
    const login = /^[^/]*\/\/([^@/]*)@/.exec(value)?.[1]
    for (const part of login?.split(':') ?? []) ctx.out.addSecret(part)
  }
  const route = resolveProxyRoute(explicit, ctx.env)
  for (const secret of proxySecrets(route)) ctx.out.addSecret(secret)
  const described = describeProxyRoute(route)
  if (described !== undefined) ctx.out.verbose(`${name ?? 'image URLs'}: ${described}`)
  return route
}

/** The deadline of one provider's attempt at an image, in seconds: --timeout, else the provider's default (2Captcha's is longer). */
function providerTimeoutSec(config: ResolvedConfig, name: ProviderName): number {
  return config.timeoutGiven
    ? config.timeout
    : (PROVIDER_FACTS[name].imageTimeoutSec ?? config.timeout)
}

/** The deadline for one image: every provider in a failover list gets its own attempt. */
export function imageTimeoutSec(config: ResolvedConfig): number {
  return config.providerList.reduce((sum, name) => sum + providerTimeoutSec(config, name), 0)
}

/**
 * The provider to ask: the one named, or for a comma list a failover over all of them. Every key
 * is checked here, before anything is sent.
 */
export async function createProviderFor(
  config: ResolvedConfig,
  ctx: CliContext,
): Promise<Provider> {
  const providers = await Promise.all(
    config.providerList.map((name) => createNamedProvider(config, ctx, name)),
  )
  if (providers.length === 1) return providers[0] as Provider
  const { createFailoverProvider } = await import('../providers/failover.js')
  const log = ctx.out.verboseEnabled ? (line: string) => ctx.out.verbose(line) : undefined
  return createFailoverProvider({
    providers,
    attemptTimeoutMs: (name) => providerTimeoutSec(config, name) * 1000,
    log,
  })
}

/** One provider's adapter with its own key, endpoint and deadlines (throws ConfigError without a key). */
export async function createNamedProvider(
  config: ResolvedConfig,
  ctx: CliContext,
  name: ProviderName,
): Promise<Provider> {
  const [{ requireApiKey }, { createProvider, attemptTimeoutMs }, { isLoopbackHost }] =
    await Promise.all([
      import('../config/resolve.js'),
      import('../providers/index.js'),
      import('../providers/http.js'),
    ])
  const apiKey = requireApiKey(config, name)
  const credentials = config.credentials[name]
  checkEndpointSource(config, name, isLoopbackHost, ctx)
  const deadlineMs = providerTimeoutSec(config, name) * 1000
  return createProvider(name, {
    apiKey,
    endpoint: credentials?.endpoint,
    region: credentials?.region,
    requestTimeoutMs: attemptTimeoutMs(
      name,
      deadlineMs,
      config.requestTimeout === undefined ? undefined : config.requestTimeout * 1000,
    ),
    // A service with a long documented deadline (2Captcha) polls for as long as its deadline allows; the others keep their own poll limits.
    maxPollMs: PROVIDER_FACTS[name].imageTimeoutSec === undefined ? undefined : deadlineMs,
    retries: config.retries,
    allowInsecure: config.allowInsecure,
    proxy: await proxyRouteFor(config, ctx, name),
    log: ctx.out.verboseEnabled ? (line: string) => ctx.out.verbose(line) : undefined,
  })
}

/**
 * Say where a non-default endpoint came from, and refuse plain http to another host unless the
 * command line or the user's own config allowed it: a project file (package.json#recaptcha, a
 * .recaptcharc one `cd` away) must not be able to send the key elsewhere unencrypted.
 */
function checkEndpointSource(
  config: ResolvedConfig,
  name: ProviderName,
  isLoopbackHost: (host: string) => boolean,
  ctx: CliContext,
): void {
  const credentials = config.credentials[name]
  const endpoint = credentials?.endpoint
  if (endpoint === undefined) return
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return // reported with its origin by resolveConfig / the provider
  }
  const origin = config.endpointOrigins[name] ?? 'the config'
  const shown = `${url.protocol}//${url.host}${url.pathname}`
  ctx.out.verbose(`${name}: endpoint ${shown} (set by ${origin})`)
  if (isLoopbackHost(url.hostname)) return
  if (url.protocol === 'http:' && config.allowInsecure !== true) {
    const ignored =
      config.insecureIgnoredFrom === undefined
        ? ''
        : `; allowInsecure in ${config.insecureIgnoredFrom} is not honoured (a file found in the current directory cannot allow it)`
    throw new ConfigError(
      `${name}: endpoint ${shown}, set by ${origin}, uses plain http, which would send the API key unencrypted${ignored}`,
      {
        hint: 'use https, or pass --allow-insecure (or set allowInsecure in your own ~/.config/rc2/config.json) if this network is trusted',
      },
    )
  }
  // A project file pointing your key (from elsewhere) at another host: say so, every time.
  const fromProjectFile =
    origin.includes(' in ') &&
    config.origin !== undefined &&
    origin.endsWith(config.origin) &&
    config.fileTrusted !== true
  if (fromProjectFile && credentials?.keySource !== 'file') {
    ctx.out.warn(`${name}: sending your key to ${url.host}, the endpoint set by ${origin}`)
  }
}

/** Where the key of `name` came from, in words a user can act on ("RC2_API_KEY", "--key", "providers.x.apiKey in /p/.recaptcharc"). */
function keyOrigin(
  config: ResolvedConfig,
  name: ProviderName,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const source = config.credentials[name]?.keySource
  if (source === 'flag') return '--key'
  if (source === 'env')
    return (env[envKeyName(name)] ?? '').trim() !== '' ? envKeyName(name) : 'RC2_API_KEY'
  if (source === 'file') return `providers.${name}.apiKey in ${config.origin ?? 'the config file'}`
  return undefined
}

/**
 * A hint for a refused key that says which key was sent: the one the user is looking at may not be
 * it. The provider is read from the message ("capsolver: …"), for a failover list.
 */
export function keyOriginHint(
  error: { message: string; hint?: string | null | undefined },
  config: ResolvedConfig,
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const named = /^([a-z0-9]+):/.exec(error.message)?.[1]
  const name = config.providerList.find((p) => p === named) ?? config.provider
  const origin = keyOrigin(config, name, env)
  if (origin === undefined) return error.hint ?? undefined
  return `${error.hint ?? 'check the key'} (the key rc2 sent came from ${origin})`
}

/** The same error, its hint saying where the refused key came from (auth errors only). */
export function withKeyOrigin(
  error: unknown,
  config: ResolvedConfig,
  env: Readonly<Record<string, string | undefined>>,
): unknown {
  if (!(error instanceof Rc2Error) || error.kind !== 'auth') return error
  return new ProviderError('auth', error.message, {
    code: error.code,
    hint: keyOriginHint(error, config, env),
    cause: error,
  })
}
