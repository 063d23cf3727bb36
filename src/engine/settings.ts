/**
 * The one place a run's settings and providers are built, for every front end (the CLI, the
 * library): an options object in; the resolved config (options > environment > config file >
 * defaults) and each provider's adapter with its key, endpoint and deadlines out (a failover over
 * several). A refused key's hint says where that key came from.
 */
import { ConfigError, ProviderError, Rc2Error } from '../errors.js'
import {
  describeSource,
  envKeyName,
  type FlagValues,
  type ResolvedConfig,
} from '../config/resolve.js'
import { PROVIDER_FACTS } from '../providers/facts/index.js'
import type { ProxyRoute } from '../providers/transport.js'
import type { Provider, ProviderName } from '../providers/types.js'
import { providerNames } from './provider-names.js'

/** Which services to ask and how to reach them: the same fields for solve, balance and report. */
export interface ProviderOptions {
  /** A name in any case, a comma list or an array: several are a failover order. */
  provider?: string | readonly string[] | undefined
  /** The key, for one provider (else RC2_<NAME>_API_KEY, RC2_API_KEY, the config file). */
  apiKey?: string | undefined
  /** The service's base URL, for one provider (else RC2_<NAME>_ENDPOINT, RC2_ENDPOINT, the config file). */
  endpoint?: string | undefined
  /** YesCaptcha's node: 'cn' for https://cn.yescaptcha.com. */
  region?: 'intl' | 'cn' | undefined
  /** Allow an http:// endpoint that is not on this machine. */
  allowInsecure?: boolean | undefined
  /** A config file to read (else the one RC2_CONFIG names). */
  config?: string | undefined
  /**
   * Send every request through this proxy, http://[user:password@]host:port (else
   * providers.<name>.proxy, proxy in the config, then HTTPS_PROXY / HTTP_PROXY; NO_PROXY applies).
   */
  proxy?: string | undefined
}

/** The settings of a run that the config file may also set. */
export interface RunOptions extends ProviderOptions {
  confidence?: number | undefined
  /** Deadline per image and provider, polling and retries included, in ms. */
  timeoutMs?: number | undefined
  retries?: number | undefined
  concurrency?: number | undefined
  /** Stop sending once the run would spend more than this many points. */
  maxPoints?: number | undefined
}

/** Where a run happens and where what it has to say goes (the CLI's terminal, or a library caller). */
export interface EngineHost {
  env: Readonly<Record<string, string | undefined>>
  cwd: string
  /**
   * Look for a config file in the current directory and the user's config directory when none is
   * named (the CLI does); the library reads only a file named by `config` or RC2_CONFIG.
   */
  searchConfig: boolean
  warn(message: string): void
  verbose?: ((line: string) => void) | undefined
  /** Each key as soon as it is known, so that the front end scrubs it from what it prints. */
  secret?: ((value: string) => void) | undefined
}

/** The resolved config of a run: its options over the environment over the config file. */
export async function loadRunConfig(
  options: RunOptions,
  host: EngineHost,
  extra: Omit<FlagValues, 'provider' | 'key' | 'endpoint' | 'allowInsecure'> = {},
): Promise<ResolvedConfig> {
  const flags: FlagValues = {
    provider:
      options.provider === undefined ? undefined : providerNames(options.provider).join(','),
    key: options.apiKey,
    endpoint: options.endpoint,
    allowInsecure: options.allowInsecure,
    confidence: options.confidence,
    timeout: options.timeoutMs === undefined ? undefined : options.timeoutMs / 1000,
    retries: options.retries,
    concurrency: options.concurrency,
    maxPoints: options.maxPoints,
    ...extra,
  }
  const fromEnv = host.env.RC2_CONFIG
  const configPath = options.config ?? (fromEnv?.trim() ? fromEnv : undefined)
  let config: ResolvedConfig
  if (configPath === undefined && !host.searchConfig) {
    const { resolveConfig } = await import('../config/resolve.js')
    config = resolveConfig({ env: host.env, flags })
  } else {
    const { loadConfig } = await import('../config/load.js')
    config = await loadConfig({ configPath, cwd: host.cwd, env: host.env, flags, warn: host.warn })
  }
  if (options.region !== undefined) {
    for (const name of config.providerList) {
      const own = config.credentials[name]
      if (own !== undefined) own.region = options.region
    }
    config.region = options.region
  }
  // From here on, the keys are scrubbed from anything the front end prints.
  for (const name of config.providerList) {
    const key = config.credentials[name]?.apiKey
    if (key !== undefined) host.secret?.(key)
  }
  if (options.apiKey !== undefined) host.secret?.(options.apiKey)
  // The proxy option wins over every proxy in the files, the per-provider ones too.
  if (options.proxy === undefined) return config
  const providers = Object.fromEntries(
    Object.entries(config.providers).map(([name, settings]) => [
      name,
      settings === null || settings === undefined ? settings : { ...settings, proxy: undefined },
    ]),
  )
  const overridden = { ...config, proxy: options.proxy, providers } as ResolvedConfig
  proxyFromOption.add(overridden)
  return overridden
}

/** Configs whose `proxy` is the proxy option's (--proxy), for the messages that say where a proxy was set. */
const proxyFromOption = new WeakSet<ResolvedConfig>()

/**
 * The proxies for `name` (a provider; undefined: images fetched by URL): the proxy option, else
 * providers.<name>.proxy, else proxy, else the environment's; their logins masked from here on.
 */
export async function proxyRouteFor(
  config: ResolvedConfig,
  host: EngineHost,
  name?: ProviderName,
): Promise<ProxyRoute> {
  const { describeProxyRoute, proxySecrets, resolveProxyRoute } =
    await import('../providers/proxy.js')
  const own = name === undefined ? undefined : config.providers[name]?.proxy
  const fromOption = proxyFromOption.has(config)
  const explicit =
    own !== undefined
      ? { url: own, from: `providers.${name}.proxy in the config` }
      : config.proxy !== undefined
        ? { url: config.proxy, from: fromOption ? '--proxy' : 'proxy in the config' }
        : undefined
  for (const value of [own, config.proxy]) {
    // Masked before checking, so that even the error about a malformed one cannot show its login.
    const login = /^[^/]*\/\/([^@/]*)@/.exec(value ?? '')?.[1]
    for (const part of login?.split(':') ?? []) host.secret?.(part)
  }
  const route = resolveProxyRoute(explicit, host.env)
  for (const secret of proxySecrets(route)) host.secret?.(secret)
  const described = describeProxyRoute(route)
  if (described !== undefined) host.verbose?.(`${name ?? 'image URLs'}: ${described}`)
  return route
}

/** The deadline of one provider's attempt at an image, in seconds: the option, else the provider's default (2Captcha's is longer). */
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
 * The provider to ask: the one named, or for a list a failover over all of them. Every key is
 * checked here, before anything is sent.
 */
export async function createProviderFor(
  config: ResolvedConfig,
  host: EngineHost,
): Promise<Provider> {
  const providers = await Promise.all(
    config.providerList.map((name) => createNamedProvider(config, host, name)),
  )
  if (providers.length === 1) return providers[0] as Provider
  const { createFailoverProvider } = await import('../providers/failover.js')
  return createFailoverProvider({
    providers,
    attemptTimeoutMs: (name) => providerTimeoutSec(config, name) * 1000,
    log: host.verbose,
  })
}

/** One provider's adapter with its own key, endpoint and deadlines (throws ConfigError without a key). */
export async function createNamedProvider(
  config: ResolvedConfig,
  host: EngineHost,
  name: ProviderName,
): Promise<Provider> {
  const [{ requireApiKey }, { createProvider, attemptTimeoutMs }, { isLoopbackHost }] =
    await Promise.all([
      import('../config/resolve.js'),
      import('../providers/index.js'),
      import('../providers/http.js'),
    ])
  if (!host.searchConfig && config.credentials[name]?.apiKey === undefined) {
    // No config file is searched for here (the library): say only where a key can come from.
    const single = config.providerList.length === 1
    throw new ConfigError(`no API key for ${name}`, {
      hint: `${single ? 'pass apiKey, or set RC2_API_KEY or' : 'set'} ${envKeyName(name)}, or name a config file (config, RC2_CONFIG) with providers.${name}.apiKey`,
    })
  }
  const apiKey = requireApiKey(config, name)
  const credentials = config.credentials[name]
  checkEndpointSource(config, name, isLoopbackHost, host)
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
    proxy: await proxyRouteFor(config, host, name),
    log: host.verbose,
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
  host: EngineHost,
): void {
  const endpoint = config.credentials[name]?.endpoint
  if (endpoint === undefined) return
  let url: URL
  try {
    url = new URL(endpoint)
  } catch {
    return // reported with its origin by resolveConfig / the provider
  }
  const origin = config.endpointOrigins[name] ?? 'the config'
  const shown = `${url.protocol}//${url.host}${url.pathname}`
  host.verbose?.(`${name}: endpoint ${shown} (set by ${origin})`)
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
}

/**
 * A hint for a refused key that says which key was sent: the one the user is looking at may not be
 * it. The provider is the one the error carries, for a failover list.
 */
export function keyOriginHint(
  error: { provider?: string | undefined; hint?: string | null | undefined },
  config: ResolvedConfig,
): string | undefined {
  const name = config.providerList.find((p) => p === error.provider) ?? config.provider
  // In words a user can act on ("RC2_API_KEY", "--key", "providers.x.apiKey in /p/.recaptcharc").
  const from = config.credentials[name]?.keyFrom
  const origin = from === undefined ? undefined : describeSource(from, name, 'apiKey')
  if (origin === undefined) return error.hint ?? undefined
  return `${error.hint ?? 'check the key'} (the key rc2 sent came from ${origin})`
}

/** The same error, its hint saying where the refused key came from (auth errors only). */
export function withKeyOrigin(error: unknown, config: ResolvedConfig): unknown {
  if (!(error instanceof Rc2Error) || error.kind !== 'auth') return error
  return new ProviderError('auth', error.message, {
    code: error.code,
    hint: keyOriginHint(error, config),
    cause: error,
  })
}
