import { readFile, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { ConfigError, readFailure } from '../errors.js'
import {
  type ConfigLayers,
  type FlagValues,
  type ResolvedConfig,
  resolveConfig,
} from './resolve.js'

const CONFIG_SEARCH_PLACES = [
  '.recaptcharc',
  '.recaptcharc.json',
  '.recaptcharc.yaml',
  '.recaptcharc.yml',
  'recaptcha.config.js',
  'recaptcha.config.mjs',
  // The names a user of a tool called rc2 tries first.
  'rc2.config.js',
  'rc2.config.mjs',
  'rc2.config.json',
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
  /** The user's own file (named with --config / RC2_CONFIG, or in ~/.config/rc2), not one found here. */
  trusted: boolean
}

/** Read the config file (if any), then merge env and flags over it. */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const found = await findConfigFile(options)
  const layers: ConfigLayers = {
    file: found?.config,
    fileOrigin: found?.filepath,
    fileTrusted: found?.trusted,
    env: options.env,
    flags: options.flags,
  }
  const config = resolveConfig(layers)
  if (found !== undefined && holdsKey(found.config))
    await warnIfReadableByOthers(found.filepath, options.warn)
  return config
}

async function findConfigFile(options: LoadConfigOptions): Promise<FoundFile | undefined> {
  const { cosmiconfig } = await import('cosmiconfig')
  const explorer = cosmiconfig('recaptcha', {
    searchPlaces: CONFIG_SEARCH_PLACES,
    searchStrategy: 'none',
    cache: false,
  })
  const explicit = options.configPath ?? nonEmpty(options.env.RC2_CONFIG)
  if (explicit !== undefined) {
    const path = resolve(options.cwd, explicit)
    const result = await tryLoad(() => explorer.load(path), path)
    if (result === null)
      throw new ConfigError(`config file ${path} is empty`, { hint: 'see .recaptcharc.example' })
    return { config: result.config, filepath: result.filepath, trusted: true }
  }
  const nearby = await tryLoad(() => explorer.search(options.cwd), options.cwd)
  if (nearby !== null && nearby.isEmpty !== true)
    return { config: nearby.config, filepath: nearby.filepath, trusted: false }

  const userFile = join(
    nonEmpty(options.env.XDG_CONFIG_HOME) ?? join(options.env.HOME ?? homedir(), '.config'),
    'rc2',
    'config.json',
  )
  if (!(await exists(userFile))) return undefined
  const user = await tryLoad(() => explorer.load(userFile), userFile)
  return user === null ? undefined : { config: user.config, filepath: user.filepath, trusted: true }
}

async function tryLoad<T>(load: () => Promise<T>, where: string): Promise<T> {
  try {
    return await load()
  } catch (error) {
    if (readFailure(error) === 'missing')
      throw new ConfigError(`config file ${where} does not exist`, {
        hint: 'check --config / RC2_CONFIG',
      })
    // No `cause`: --verbose prints it, and the parser's error quotes the file, key included.
    throw new ConfigError(await describeSyntaxError(error, where), {
      hint: 'fix that line (see .recaptcharc.example), or point --config elsewhere',
    })
  }
}

/**
 * "config file /p/.recaptcharc: line 4, column 3: unexpected end of the stream": the file (not the
 * directory searched), the place and the problem. Never the parser's code frame: it quotes the
 * file's lines, and one of them may hold the API key.
 */
async function describeSyntaxError(error: unknown, where: string): Promise<string> {
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    filepath?: string
    reason?: string
    mark?: { line?: number; column?: number }
    message?: string
  }
  const file = record.filepath ?? where
  // js-yaml (YAML files): 0-based mark, reason without the frame.
  if (record.mark !== undefined && typeof record.mark.line === 'number') {
    return `config file ${file}: line ${record.mark.line + 1}, column ${(record.mark.column ?? 0) + 1}: ${record.reason ?? 'not valid YAML'}`
  }
  const message = record.message ?? String(error)
  if (/^JSON Error in /.test(message)) {
    const found = /([^\n]*?) in JSON at position (\d+)/.exec(message)
    const problem = (found?.[1] ?? 'not valid JSON').replace(/, "[\s\S]*$/, '').trim()
    const position = found === null ? undefined : Number(found[2])
    const place =
      position === undefined ? await frameLine(message) : await lineColumn(file, position)
    return `config file ${file}: ${place === undefined ? '' : `${place}: `}${problem === '' ? 'not valid JSON' : problem}`
  }
  // A JS config that threw, or anything else: its first line only.
  return `config file ${file}: ${message.split('\n')[0]?.replace(/^[A-Z]+ Error in [^:]*:\s*/, '') || 'cannot be read'}`
}

async function lineColumn(file: string, position: number): Promise<string | undefined> {
  try {
    const before = (await readFile(file, 'utf8')).slice(0, position).split('\n')
    return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`
  } catch {
    return undefined
  }
}

/** The line number a code frame points at ("> 4 | …"), when no position was given. */
async function frameLine(message: string): Promise<string | undefined> {
  const line = /^> (\d+) \|/m.exec(message)
  return line === null ? undefined : `line ${line[1]}`
}

function holdsKey(config: unknown): boolean {
  if (typeof config !== 'object' || config === null) return false
  const providers = (config as { providers?: unknown }).providers
  if (typeof providers !== 'object' || providers === null) return false
  return Object.values(providers).some((p) => typeof p === 'object' && p !== null && 'apiKey' in p)
}

async function warnIfReadableByOthers(
  path: string,
  warn: (message: string) => void,
): Promise<void> {
  if (process.platform === 'win32') return
  const info = await stat(path)
  if ((info.mode & 0o044) !== 0) {
    warn(
      `config file ${path} holds an API key and is readable by other users; run: chmod 600 ${path}`,
    )
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
