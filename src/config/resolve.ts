import { ConfigError } from '../errors.js'
import type { ProviderName } from '../providers/types.js'
import { type Config, validateConfig } from './schema.js'

/** Values the user gave on the command line (only those actually given). */
export interface FlagValues {
  provider?: ProviderName | undefined
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
  env: Readonly<Record<string, string | undefined>>
  flags: FlagValues
}

export type KeySource = 'flag' | 'env' | 'file'

export interface ResolvedConfig extends Config {
  /** The API key for the chosen provider, if any (never printed). */
  apiKey: string | undefined
  keySource: KeySource | undefined
  endpoint: string | undefined
  region: 'intl' | 'cn' | undefined
  /** The config file used, if any. */
  origin: string | undefined
}

/** Merge defaults < file < environment < flags and validate once (pure). */
export function resolveConfig(layers: ConfigLayers): ResolvedConfig {
  const origin = layers.fileOrigin
  // The file is validated on its own first so that its mistakes are reported against its own keys.
  const fromFile = validateConfig(layers.file ?? {}, origin ?? 'defaults')
  const env = layers.env
  const flags = layers.flags

  const envProvider = nonEmpty(env.RC2_PROVIDER)
  const merged: Record<string, unknown> = structuredClone(fromFile) as Record<string, unknown>
  if (envProvider !== undefined) merged.provider = envProvider
  assign(merged, 'provider', flags.provider)
  assign(merged, 'confidence', flags.confidence)
  assign(merged, 'timeout', flags.timeout)
  assign(merged, 'retries', flags.retries)
  assign(merged, 'concurrency', flags.concurrency)
  assign(merged, 'maxPoints', flags.maxPoints)
  assign(merged, 'format', flags.format)
  if (flags.allowInsecure === true) merged.allowInsecure = true
  const image = { ...(merged.image as Record<string, unknown>) }
  assign(image, 'format', flags.imageFormat)
  assign(image, 'quality', flags.quality)
  merged.image = image

  const config = validateConfig(merged, envProvider !== undefined ? 'RC2_PROVIDER' : (origin ?? 'flags'))
  const settings = config.providers[config.provider] ?? {}

  let apiKey = settings.apiKey
  let keySource: KeySource | undefined = apiKey === undefined ? undefined : 'file'
  const envKey = nonEmpty(env.RC2_API_KEY)
  if (envKey !== undefined) [apiKey, keySource] = [envKey, 'env']
  if (flags.key !== undefined) [apiKey, keySource] = [flags.key, 'flag']

  const endpoint = flags.endpoint ?? nonEmpty(env.RC2_ENDPOINT) ?? settings.endpoint
  if (endpoint !== undefined) checkEndpoint(endpoint, flags.endpoint !== undefined ? '--endpoint' : 'RC2_ENDPOINT')

  return { ...config, apiKey, keySource, endpoint, region: settings.region, origin }
}

/** The key is required only when something will really be sent. */
export function requireApiKey(config: ResolvedConfig): string {
  if (config.apiKey !== undefined) return config.apiKey
  throw new ConfigError(`no API key for ${config.provider}`, {
    hint:
      `set RC2_API_KEY, or put it under providers.${config.provider}.apiKey in .recaptcharc ` +
      'or ~/.config/rc2/config.json (see .recaptcharc.example); --key works too but shows in `ps`',
  })
}

function checkEndpoint(value: string, source: string): void {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new ConfigError(`${source}: "${value}" is not a URL`, { hint: 'use a base URL such as https://api.yescaptcha.com' })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${source}: "${value}" must start with https:// (or http:// for a local test server)`)
  }
}

function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
