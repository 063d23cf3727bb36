import { ConfigError, UsageError } from '../errors.js'
import type { ProviderName } from '../providers/types.js'
import { type Config, validateConfig } from './schema.js'

/** Values the user gave on the command line (only those actually given). */
export interface FlagValues {
  /** -p as typed: one name or a comma list, any case. */
  provider?: string | undefined
  key?: string | undefined
  endpoint?: string | undefined
  confidence?: number | undefined
  timeout?: number | undefined
  retries?: number | undefined
  concurrency?: number | undefined
  maxPoints?: number | undefined
  format?: Config['format'] | undefined
  allowInsecure?: boolean | undefined
  imageFormat?: 'jpeg' | 'png' | undefined
  quality?: number | undefined
}

export interface ConfigLayers {
  /** Parsed config file content, if one was found. */
  file?: unknown
  /** Where the file came from, for messages. */
  fileOrigin?: string | undefined
  /**
   * The user's own file (--config, RC2_CONFIG, ~/.config/rc2/config.json) rather than one found in
   * the current directory, which anyone who controls a project can plant: only the user's own may
   * turn on allowInsecure.
   */
  fileTrusted?: boolean | undefined
  env: Readonly<Record<string, string | undefined>>
  flags: FlagValues
}

export type KeySource = 'flag' | 'env' | 'file'

/** Where to reach one provider and with which key. */
export interface ProviderCredentials {
  apiKey: string | undefined
  keySource: KeySource | undefined
  endpoint: string | undefined
  region: 'intl' | 'cn' | undefined
}

export interface ResolvedConfig extends Omit<Config, 'provider'> {
  /** The first (or only) provider named. */
  provider: ProviderName
  /** Every provider named, in failover order. */
  providerList: ProviderName[]
  /** Key and endpoint of each provider in `providerList`. */
  credentials: Partial<Record<ProviderName, ProviderCredentials>>
  /** The API key for the first provider, if any (never printed). */
  apiKey: string | undefined
  keySource: KeySource | undefined
  endpoint: string | undefined
  region: 'intl' | 'cn' | undefined
  /** The config file used, if any. */
  origin: string | undefined
  /** Whether `timeout` came from a flag or the file (else each provider's own default applies). */
  timeoutGiven: boolean
  /** A project file asked for allowInsecure, which only the command line or the user's own file may do. */
  insecureIgnoredFrom?: string | undefined
  /** The config file is the user's own (see ConfigLayers.fileTrusted). */
  fileTrusted: boolean
  /** Where each provider's endpoint was set ("--endpoint", "RC2_ENDPOINT", "providers.x.endpoint in /p/package.json"). */
  endpointOrigins: Partial<Record<ProviderName, string>>
}

/** Merge defaults < file < environment < flags and validate once (pure). */
export function resolveConfig(layers: ConfigLayers): ResolvedConfig {
  const origin = layers.fileOrigin
  // The file is validated on its own first so that its mistakes are reported against its own keys.
  const fromFile = validateConfig(layers.file ?? {}, origin ?? 'defaults')
  const env = layers.env
  const flags = layers.flags

  const envProvider = nonEmpty(env.RC2_PROVIDER)?.toLowerCase()
  const merged: Record<string, unknown> = structuredClone(fromFile) as Record<string, unknown>
  if (envProvider !== undefined) merged.provider = envProvider
  assign(merged, 'provider', flags.provider)
  assign(merged, 'confidence', flags.confidence)
  assign(merged, 'timeout', flags.timeout)
  assign(merged, 'retries', flags.retries)
  assign(merged, 'concurrency', flags.concurrency)
  assign(merged, 'maxPoints', flags.maxPoints)
  assign(merged, 'format', flags.format)
  // A project file (found in the current directory) cannot turn on plain http to another host.
  let insecureIgnoredFrom: string | undefined
  if (merged.allowInsecure === true && layers.fileTrusted !== true) {
    merged.allowInsecure = false
    insecureIgnoredFrom = origin
  }
  if (flags.allowInsecure === true) merged.allowInsecure = true
  const image = { ...(merged.image as Record<string, unknown>) }
  assign(image, 'format', flags.imageFormat)
  assign(image, 'quality', flags.quality)
  merged.image = image

  const config = validateConfig(
    merged,
    flags.provider !== undefined
      ? '--provider'
      : envProvider !== undefined
        ? 'RC2_PROVIDER'
        : (origin ?? 'flags'),
  )
  const names = config.provider
  const single = names.length === 1
  if (!single && flags.key !== undefined) {
    throw new UsageError(`--key applies to one provider, but ${names.join(', ')} are named`, {
      hint: `give each its key in ${names.map(envKeyName).join(', ')} or providers.<name>.apiKey in the config file`,
    })
  }
  if (!single && flags.endpoint !== undefined) {
    throw new UsageError(`--endpoint applies to one provider, but ${names.join(', ')} are named`, {
      hint: `give each its endpoint in RC2_<NAME>_ENDPOINT or providers.<name>.endpoint in the config file`,
    })
  }

  const credentials: Partial<Record<ProviderName, ProviderCredentials>> = {}
  const endpointOrigins: Partial<Record<ProviderName, string>> = {}
  for (const name of names) {
    const settings = config.providers[name] ?? {}
    let apiKey = settings.apiKey
    let keySource: KeySource | undefined = apiKey === undefined ? undefined : 'file'
    // The general RC2_API_KEY / RC2_ENDPOINT and the flags only make sense for one provider;
    // a provider's own variable is more specific than the general one.
    const generalKey = single ? nonEmpty(env.RC2_API_KEY) : undefined
    if (generalKey !== undefined) [apiKey, keySource] = [generalKey, 'env']
    const ownKey = nonEmpty(env[envKeyName(name)])
    if (ownKey !== undefined) [apiKey, keySource] = [ownKey, 'env']
    if (single && flags.key !== undefined) [apiKey, keySource] = [flags.key, 'flag']

    const ownEndpointVar = `RC2_${name.toUpperCase()}_ENDPOINT`
    const candidates: [string | undefined, string][] = [
      [single ? flags.endpoint : undefined, '--endpoint'],
      [nonEmpty(env[ownEndpointVar]), ownEndpointVar],
      [single ? nonEmpty(env.RC2_ENDPOINT) : undefined, 'RC2_ENDPOINT'],
    ]
    const given = candidates.find(([value]) => value !== undefined)
    if (given !== undefined) checkEndpoint(given[0] as string, given[1])
    const endpoint = given?.[0] ?? settings.endpoint
    const endpointOrigin =
      given?.[1] ??
      (settings.endpoint === undefined
        ? undefined
        : `providers.${name}.endpoint in ${origin ?? 'the config file'}`)
    if (endpointOrigin !== undefined) endpointOrigins[name] = endpointOrigin
    credentials[name] = { apiKey, keySource, endpoint, region: settings.region }
  }
  const first = credentials[names[0] as ProviderName] as ProviderCredentials
  const fileTimeout =
    typeof layers.file === 'object' && layers.file !== null && 'timeout' in layers.file
  const timeoutGiven = flags.timeout !== undefined || fileTimeout
  return {
    ...config,
    provider: names[0] as ProviderName,
    providerList: names,
    credentials,
    ...first,
    origin,
    timeoutGiven,
    insecureIgnoredFrom,
    fileTrusted: layers.fileTrusted === true,
    endpointOrigins,
  }
}

/** RC2_YESCAPTCHA_API_KEY, RC2_2CAPTCHA_API_KEY, … */
export function envKeyName(name: ProviderName): string {
  return `RC2_${name.toUpperCase()}_API_KEY`
}

/** The key is required only when something will really be sent. */
export function requireApiKey(
  config: ResolvedConfig,
  name: ProviderName = config.provider,
): string {
  const apiKey = config.credentials[name]?.apiKey
  if (apiKey !== undefined && isPlaceholderKey(apiKey)) {
    // A copied .recaptcharc.example: say so before the placeholder is sent to the service.
    const source = config.credentials[name]?.keySource
    const where =
      source === 'file'
        ? `providers.${name}.apiKey in ${config.origin ?? 'the config file'}`
        : source === 'env'
          ? 'the environment'
          : '--key'
    throw new ConfigError(
      `the API key for ${name} from ${where} is the placeholder from .recaptcharc.example`,
      {
        hint: `replace it with your own ${name} key`,
      },
    )
  }
  if (apiKey !== undefined) return apiKey
  const general = config.providerList.length === 1 ? 'RC2_API_KEY or ' : ''
  throw new ConfigError(`no API key for ${name}`, {
    hint:
      `set ${general}${envKeyName(name)}, or put it under providers.${name}.apiKey in a config file: .recaptcharc (YAML or JSON), ` +
      '.recaptcharc.json, .recaptcharc.yaml, recaptcha.config.js, rc2.config.js or rc2.config.json here, or ~/.config/rc2/config.json ' +
      '(see .recaptcharc.example)' +
      (general === '' ? '' : '; --key works too but shows in `ps`'),
  })
}

/** The example values of .recaptcharc.example ("your-yescaptcha-client-key", "CAP-..."). */
function isPlaceholderKey(key: string): boolean {
  return /^your-[a-z0-9-]*(key|token)$/i.test(key) || /^CAP-\.\.\.$/.test(key)
}

function checkEndpoint(value: string, source: string): void {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${source}: "${value}" is not a URL`, {
      hint: 'use a base URL such as https://api.yescaptcha.com',
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(
      `${source}: "${value}" must start with https:// (or http:// for a local test server)`,
    )
  }
}

function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
