import { stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError } from '../errors.js'
import { type ConfigLayers, type FlagValues, type ResolvedConfig, resolveConfig } from './resolve.js'

export const CONFIG_SEARCH_PLACES = [
  '.recaptcharc',
  '.recaptcharc.json',
  '.recaptcharc.yaml',
  '.recaptcharc.yml',
  'recaptcha.config.js',
  'recaptcha.config.mjs',
  'package.json',
]

export interface LoadConfigOptions {
  /** --config; RC2_CONFIG in env does the same. */
  configPath?: string | undefined
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  flags: FlagValues
  /** Warnings (e.g. a key file readable by others) go here; never the key itself. */
  warn: (message: string) => void
}

interface FoundFile {
  config: unknown
  filepath: string
}

/** Read the config file (if any), then merge env and flags over it. */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const found = await findConfigFile(options)
  const layers: ConfigLayers = {
    file: found?.config,
    fileOrigin: found?.filepath,
    env: options.env,
    flags: options.flags,
  }
  const config = resolveConfig(layers)
  if (found !== undefined && holdsKey(found.config)) await warnIfReadableByOthers(found.filepath, options.warn)
  return config
}

async function findConfigFile(options: LoadConfigOptions): Promise<FoundFile | undefined> {
  const { cosmiconfig } = await import('cosmiconfig')
  const explorer = cosmiconfig('recaptcha', { searchPlaces: CONFIG_SEARCH_PLACES, searchStrategy: 'none', cache: false })
  const explicit = options.configPath ?? nonEmpty(options.env.RC2_CONFIG)
  if (explicit !== undefined) {
    const path = resolve(options.cwd, explicit)
    const result = await tryLoad(() => explorer.load(path), path)
    if (result === null) throw new ConfigError(`config file ${path} is empty`, { hint: 'see .recaptcharc.example' })
    return { config: result.config, filepath: result.filepath }
  }
  const nearby = await tryLoad(() => explorer.search(options.cwd), options.cwd)
  if (nearby !== null && nearby.isEmpty !== true) return { config: nearby.config, filepath: nearby.filepath }

  const userFile = join(nonEmpty(options.env.XDG_CONFIG_HOME) ?? join(options.env.HOME ?? homedir(), '.config'), 'rc2', 'config.json')
  if (!(await exists(userFile))) return undefined
  const user = await tryLoad(() => explorer.load(userFile), userFile)
  return user === null ? undefined : { config: user.config, filepath: user.filepath }
}

async function tryLoad<T>(load: () => Promise<T>, where: string): Promise<T> {
  try {
    return await load()
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw new ConfigError(`config file ${where} does not exist`, { hint: 'check --config / RC2_CONFIG' })
    const detail = error instanceof Error ? error.message.split('\n')[0] : String(error)
    throw new ConfigError(`cannot read config file ${where}: ${detail}`, {
      hint: 'fix the syntax (JSON or YAML), or point --config elsewhere',
      cause: error,
    })
  }
}

function holdsKey(config: unknown): boolean {
  if (typeof config !== 'object' || config === null) return false
  const providers = (config as { providers?: unknown }).providers
  if (typeof providers !== 'object' || providers === null) return false
  return Object.values(providers).some((p) => typeof p === 'object' && p !== null && 'apiKey' in p)
}

async function warnIfReadableByOthers(path: string, warn: (message: string) => void): Promise<void> {
  if (process.platform === 'win32') return
  const info = await stat(path)
  if ((info.mode & 0o044) !== 0) {
    warn(`config file ${path} holds an API key and is readable by other users; run: chmod 600 ${path}`)
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
