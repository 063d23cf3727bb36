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

/**
 * Where a config file came from, which decides what it may do. `named` (--config, RC2_CONFIG) and
 * `user` (the user's own config directory) are the user's own; `project` was found in the current
 * directory, where whoever made the folder may have planted it.
 */
export type FileOrigin = 'named' | 'user' | 'project'

export interface ConfigFile {
  path: string
  origin: FileOrigin
  /** The parsed content (for package.json, its `recaptcha` object). */
  content: unknown
}

export interface ConfigLayers {
  /** Config files, farthest first: the user's own, then the project's. */
  files?: readonly ConfigFile[] | undefined
  /** One file instead of `files`: a project file unless `fileTrusted`. */
  file?: unknown
  fileOrigin?: string | undefined
  fileTrusted?: boolean | undefined
  env: Readonly<Record<string, string | undefined>>
  flags: FlagValues
}

/** Every layer a value can come from. */
type Layer = 'flag' | 'env' | FileOrigin

/** Where one value came from: its layer, and the flag, the variable or the file's path. */
export interface Source {
  layer: Layer
  where: string
}

type KeySource = 'flag' | 'env' | 'file'

/** Where to reach one provider and with which key. */
interface ProviderCredentials {
  apiKey: string | undefined
  keySource: KeySource | undefined
  keyFrom: Source | undefined
  endpoint: string | undefined
  endpointFrom: Source | undefined
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
  /** The nearest config file used, if any. */
  origin: string | undefined
  /** Every config file used, farthest first. */
  files: { path: string; origin: FileOrigin }[]
  /** Whether `timeout` came from a flag or a file (else each provider's own default applies). */
  timeoutGiven: boolean
  /** A project file asked for allowInsecure, which only the command line or the user's own file may do. */
  insecureIgnoredFrom?: string | undefined
  /** Where each provider's endpoint was set ("--endpoint", "RC2_ENDPOINT", "providers.x.endpoint in /p/package.json"). */
  endpointOrigins: Partial<Record<ProviderName, string>>
  /** What a project file asked for and did not get (a looser limit), for stderr. */
  notices: string[]
}

/** The limits a project file may lower but never raise. */
const LIMITS = [['maxPoints'], ['image', 'maxBytes'], ['image', 'maxPixels']] as const

/** Merge defaults < user file < project file < environment < flags and validate once (pure). */
export function resolveConfig(layers: ConfigLayers): ResolvedConfig {
  const files = configFiles(layers)
  const origin = files.at(-1)?.path
  const { merged, notices, insecureIgnoredFrom } = mergeFiles(files)
  const { env, flags } = layers
  const envProvider = nonEmpty(env.RC2_PROVIDER)?.toLowerCase()
  if (envProvider !== undefined) merged.provider = envProvider
  assign(merged, 'provider', flags.provider)
  assign(merged, 'confidence', flags.confidence)
  assign(merged, 'timeout', flags.timeout)
  assign(merged, 'retries', flags.retries)
  assign(merged, 'concurrency', flags.concurrency)
  assign(merged, 'maxPoints', flags.maxPoints)
  assign(merged, 'format', flags.format)
  if (flags.allowInsecure === true) merged.allowInsecure = true
  const image = { ...(merged.image as Record<string, unknown> | undefined) }
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
  checkOneProviderFlags(names, flags)
  const credentials: Partial<Record<ProviderName, ProviderCredentials>> = {}
  const endpointOrigins: Partial<Record<ProviderName, string>> = {}
  for (const name of names) {
    const found = credentialsFor(name, config, { files, env, flags, single: names.length === 1 })
    credentials[name] = found
    if (found.endpointFrom !== undefined)
      endpointOrigins[name] = describeSource(found.endpointFrom, name, 'endpoint')
  }
  const first = credentials[names[0] as ProviderName] as ProviderCredentials
  return {
    ...config,
    provider: names[0] as ProviderName,
    providerList: names,
    credentials,
    ...first,
    origin,
    files: files.map(({ path, origin }) => ({ path, origin })),
    timeoutGiven: flags.timeout !== undefined || files.some((f) => has(f.content, ['timeout'])),
    insecureIgnoredFrom,
    endpointOrigins,
    notices,
  }
}

function configFiles(layers: ConfigLayers): readonly ConfigFile[] {
  if (layers.files !== undefined) return layers.files
  if (layers.file === undefined) return []
  return [
    {
      path: layers.fileOrigin ?? 'the config file',
      origin: layers.fileTrusted === true ? 'named' : 'project',
      content: layers.file,
    },
  ]
}

/**
 * The files merged key by key, the nearer over the farther (objects deeply, lists and values whole).
 * A project file may lower a limit but not raise it, and cannot turn on allowInsecure.
 */
function mergeFiles(files: readonly ConfigFile[]): {
  merged: Record<string, unknown>
  notices: string[]
  insecureIgnoredFrom: string | undefined
} {
  let merged: Record<string, unknown> = {}
  const notices: string[] = []
  let insecureIgnoredFrom: string | undefined
  for (const [index, file] of files.entries()) {
    // Each file is validated on its own first, so that its mistakes are reported against its own keys.
    validateConfig(file.content ?? {}, file.path)
    const own = structuredClone(isRecord(file.content) ? file.content : {})
    if (file.origin === 'project') {
      const base = validateConfig(merged, 'defaults')
      for (const path of LIMITS) {
        const asked = valueAt(own, path)
        const limit = valueAt(base, path)
        if (typeof asked !== 'number' || typeof limit !== 'number' || asked <= limit) continue
        deleteAt(own, path)
        const setBy = files.slice(0, index).findLast((f) => has(f.content, path))?.path
        notices.push(loosened(path.join('.'), asked, file.path, limit, setBy))
      }
      if (own.allowInsecure === true) {
        delete own.allowInsecure
        insecureIgnoredFrom = file.path
      }
      const proxies = dropProxies(own)
      if (proxies.length > 0) notices.push(proxyIgnored(proxies, file.path))
    }
    merged = deepMerge(merged, own)
  }
  return { merged, notices, insecureIgnoredFrom }
}

/**
 * A proxy sees every plain-http request whole (a loopback endpoint's key, an http image address)
 * and where every https one goes: a file found in the current directory may not choose one.
 */
function dropProxies(own: Record<string, unknown>): string[] {
  const dropped: string[] = []
  if (own.proxy !== undefined) {
    delete own.proxy
    dropped.push('proxy')
  }
  if (isRecord(own.providers)) {
    for (const [name, settings] of Object.entries(own.providers)) {
      if (!isRecord(settings) || settings.proxy === undefined) continue
      delete settings.proxy
      dropped.push(`providers.${name}.proxy`)
    }
  }
  return dropped
}

function proxyIgnored(keys: readonly string[], path: string): string {
  return `${keys.join(', ')} in ${path} is not used: a config file found in the current directory cannot route your requests through a proxy (use --proxy, HTTPS_PROXY, or your own ~/.config/rc2/config.json)`
}

function loosened(
  key: string,
  asked: number,
  file: string,
  limit: number,
  setBy: string | undefined,
): string {
  const raise =
    key === 'maxPoints' ? '--max-points or your own config file' : 'your own config file'
  return (
    `${key}: ${asked} in ${file} ignored: a config file found in the current directory may lower ` +
    `this limit, not raise it; it stays ${limit} (${setBy ?? "rc2's default"}). To raise it, use ${raise}`
  )
}

function checkOneProviderFlags(names: readonly ProviderName[], flags: FlagValues): void {
  if (names.length === 1) return
  if (flags.key !== undefined) {
    throw new UsageError(`--key applies to one provider, but ${names.join(', ')} are named`, {
      hint: `give each its key in ${names.map(envKeyName).join(', ')} or providers.<name>.apiKey in the config file`,
    })
  }
  if (flags.endpoint !== undefined) {
    throw new UsageError(`--endpoint applies to one provider, but ${names.join(', ')} are named`, {
      hint: `give each its endpoint in RC2_<NAME>_ENDPOINT or providers.<name>.endpoint in the config file`,
    })
  }
}

/**
 * One provider's key and endpoint, each with where it came from. The general RC2_API_KEY /
 * RC2_ENDPOINT and the flags only make sense for one provider; a provider's own variable is more
 * specific than the general one.
 */
function credentialsFor(
  name: ProviderName,
  config: Config,
  from: {
    files: readonly ConfigFile[]
    env: ConfigLayers['env']
    flags: FlagValues
    single: boolean
  },
): ProviderCredentials {
  const { files, env, flags, single } = from
  const settings = config.providers[name] ?? {}
  const ownEndpointVar = `RC2_${name.toUpperCase()}_ENDPOINT`
  const [apiKey, keyFrom] = firstGiven(
    [
      [single ? flags.key : undefined, { layer: 'flag', where: '--key' }],
      [nonEmpty(env[envKeyName(name)]), { layer: 'env', where: envKeyName(name) }],
      [single ? nonEmpty(env.RC2_API_KEY) : undefined, { layer: 'env', where: 'RC2_API_KEY' }],
    ],
    settings.apiKey,
    fileSetting(files, name, 'apiKey'),
  )
  const [endpoint, endpointFrom] = firstGiven(
    [
      [single ? flags.endpoint : undefined, { layer: 'flag', where: '--endpoint' }],
      [nonEmpty(env[ownEndpointVar]), { layer: 'env', where: ownEndpointVar }],
      [single ? nonEmpty(env.RC2_ENDPOINT) : undefined, { layer: 'env', where: 'RC2_ENDPOINT' }],
    ],
    settings.endpoint,
    fileSetting(files, name, 'endpoint'),
  )
  if (endpoint !== undefined && endpointFrom !== undefined && !isFile(endpointFrom))
    checkEndpoint(endpoint, endpointFrom)
  const keySource: KeySource | undefined =
    keyFrom === undefined ? undefined : isFile(keyFrom) ? 'file' : (keyFrom.layer as KeySource)
  return { apiKey, keySource, keyFrom, endpoint, endpointFrom, region: settings.region }
}

/** The first value given on the command line or in the environment, else the files' value. */
function firstGiven(
  candidates: [string | undefined, Source][],
  fromFiles: string | undefined,
  fileSource: Source | undefined,
): [string | undefined, Source | undefined] {
  const given = candidates.find(([value]) => value !== undefined)
  if (given !== undefined) return given
  return fromFiles === undefined ? [undefined, undefined] : [fromFiles, fileSource]
}

/** The nearest file that sets providers.<name>.<field>. */
function fileSetting(
  files: readonly ConfigFile[],
  name: ProviderName,
  field: 'apiKey' | 'endpoint',
): Source | undefined {
  const file = files.findLast((f) => has(f.content, ['providers', name, field]))
  return file === undefined ? undefined : { layer: file.origin, where: file.path }
}

function isFile(source: Source): boolean {
  return source.layer !== 'flag' && source.layer !== 'env'
}

/** "--key", "RC2_API_KEY", "providers.capsolver.apiKey in /p/.recaptcharc". */
export function describeSource(
  source: Source,
  name: ProviderName,
  field: 'apiKey' | 'endpoint',
): string {
  return isFile(source) ? `providers.${name}.${field} in ${source.where}` : source.where
}

/** RC2_YESCAPTCHA_API_KEY, RC2_2CAPTCHA_API_KEY, … */
export function envKeyName(name: ProviderName): string {
  return `RC2_${name.toUpperCase()}_API_KEY`
}

/**
 * The key to send to `name`, checked before anything is sent: present, not the placeholder of
 * .recaptcharc.example, sendable, and not bound for an endpoint that a project file set while the key
 * came from elsewhere (whoever planted the file would receive the user's key).
 */
export function requireApiKey(
  config: ResolvedConfig,
  name: ProviderName = config.provider,
): string {
  const credentials = config.credentials[name]
  const apiKey = credentials?.apiKey
  if (apiKey === undefined) {
    const general = config.providerList.length === 1 ? 'RC2_API_KEY or ' : ''
    throw new ConfigError(`no API key for ${name}`, {
      hint:
        `set ${general}${envKeyName(name)}, or put it under providers.${name}.apiKey in your config file: ` +
        '~/.config/rc2/config.json, or .recaptcharc (YAML or JSON), .recaptcharc.json, .recaptcharc.yaml, ' +
        'rc2.config.json or package.json#recaptcha here; a recaptcha.config.js runs only when named ' +
        'by --config or RC2_CONFIG (see .recaptcharc.example)' +
        (general === '' ? '' : '; --key works too but shows in `ps`'),
    })
  }
  const where =
    credentials?.keyFrom === undefined
      ? 'the config'
      : describeSource(credentials.keyFrom, name, 'apiKey')
  if (isPlaceholderKey(apiKey)) {
    // A copied .recaptcharc.example: say so before the placeholder is sent to the service.
    throw new ConfigError(
      `the API key for ${name} from ${where} is the placeholder from .recaptcharc.example`,
      { hint: `replace it with your own ${name} key` },
    )
  }
  checkSendable(apiKey, name, where)
  checkEndpointTrust(credentials as ProviderCredentials, name, where)
  return apiKey
}

/**
 * A key travels in a JSON body or an HTTP header: a character outside printable Latin-1 (a
 * typographic quote, a line break pasted with it) cannot be sent as it is, and is a mistake in the
 * key, not a network failure. The key itself is never shown, only the character's code.
 */
function checkSendable(apiKey: string, name: ProviderName, where: string): void {
  const bad = /[^\u0020-\u007e\u00a0-\u00ff]/u.exec(apiKey)
  if (bad === null) return
  const code = `U+${(bad[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`
  const what = /\p{Cc}/u.test(bad[0]) ? `a control character (${code})` : `the character ${code}`
  throw new ConfigError(
    `the API key for ${name} from ${where} holds ${what} at position ${bad.index + 1}, which cannot be sent`,
    { hint: 'copy the key again as plain text, without quotes, spaces or line breaks around it' },
  )
}

/**
 * An endpoint set by a file found in the current directory is used only with a key from that same
 * file: with the user's key from anywhere else, the folder's maker would receive it.
 */
function checkEndpointTrust(
  credentials: ProviderCredentials,
  name: ProviderName,
  keyWhere: string,
): void {
  const from = credentials.endpointFrom
  if (from?.layer !== 'project') return
  const key = credentials.keyFrom
  if (key !== undefined && isFile(key) && key.where === from.where) return
  let shown = credentials.endpoint ?? ''
  try {
    const url = new URL(shown)
    shown = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    // shown as written: schema-checked already
  }
  throw new ConfigError(
    `${name}: refusing to send your API key (from ${keyWhere}) to ${shown}, the endpoint set by ` +
      `providers.${name}.endpoint in ${from.where}, a file found in the current directory`,
    {
      hint:
        `if you trust that endpoint, pass --endpoint ${shown}, set RC2_${name.toUpperCase()}_ENDPOINT, ` +
        'or put it in your own ~/.config/rc2/config.json; otherwise remove it from that file',
    },
  )
}

/** The example values of .recaptcharc.example ("your-yescaptcha-client-key", "CAP-..."). */
function isPlaceholderKey(key: string): boolean {
  return /^your-[a-z0-9-]*(key|token)$/i.test(key) || /^CAP-\.\.\.$/.test(key)
}

/** A malformed --endpoint is a usage error (exit 2); one from the environment, a config error (exit 3). */
function checkEndpoint(value: string, from: Source): void {
  const Refusal = from.layer === 'flag' ? UsageError : ConfigError
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new Refusal(`${from.where}: "${value}" is not a URL`, {
      hint: 'use a base URL such as https://api.yescaptcha.com',
    })
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Refusal(
      `${from.where}: "${value}" must start with https:// (or http:// for a local test server)`,
    )
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The value at a key path of a parsed file, when set (null counts as not set: an empty YAML block). */
function valueAt(content: unknown, path: readonly string[]): unknown {
  let current = content
  for (const key of path) current = isRecord(current) ? current[key] : undefined
  return current ?? undefined
}

function has(content: unknown, path: readonly string[]): boolean {
  return valueAt(content, path) !== undefined
}

function deleteAt(content: Record<string, unknown>, path: readonly string[]): void {
  const parent = valueAt(content, path.slice(0, -1))
  if (isRecord(parent)) delete parent[path.at(-1) as string]
}

/** `over` merged into `base`: objects key by key, lists and values whole; null leaves base as it is. */
function deepMerge(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const merged = { ...base }
  for (const [key, value] of Object.entries(over)) {
    if (value === null || value === undefined) continue
    const below = merged[key]
    merged[key] = isRecord(value) && isRecord(below) ? deepMerge(below, value) : value
  }
  return merged
}

function assign(target: Record<string, unknown>, key: string, value: unknown): void {
  if (value !== undefined) target[key] = value
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}
