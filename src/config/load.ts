import { constants, type Stats } from 'node:fs'
import { type FileHandle, open, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { basename, extname, join, resolve } from 'node:path'
import type { Loader } from 'cosmiconfig'
import { ConfigError, Rc2Error, readFailure } from '../errors.js'
import {
  type ConfigFile,
  type FileOrigin,
  type FlagValues,
  type ResolvedConfig,
  resolveConfig,
} from './resolve.js'

/** Looked for in the current directory, in this order; the first one found is used. */
const PROJECT_PLACES = [
  '.recaptcharc',
  '.recaptcharc.json',
  '.recaptcharc.yaml',
  '.recaptcharc.yml',
  // JavaScript configs found here are never run: listed so that rc2 can say it ignored one.
  '.recaptcharc.js',
  '.recaptcharc.cjs',
  '.recaptcharc.mjs',
  'recaptcha.config.js',
  'recaptcha.config.cjs',
  'recaptcha.config.mjs',
  // The names a user of a tool called rc2 tries first.
  'rc2.config.js',
  'rc2.config.cjs',
  'rc2.config.mjs',
  'rc2.config.json',
  'package.json',
]

/** Looked for in the user's own config directory (~/.config/rc2, or $XDG_CONFIG_HOME/rc2). */
const USER_PLACES = [
  'config.json',
  'config.yaml',
  'config.yml',
  'config.js',
  'config.cjs',
  'config.mjs',
]

const JAVASCRIPT = new Set(['.js', '.cjs', '.mjs'])

/** A config holds a few settings; anything larger (or a device, a pipe) is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024

export interface LoadConfigOptions {
  /** --config; RC2_CONFIG in env does the same. */
  configPath?: string | undefined
  cwd: string
  env: Readonly<Record<string, string | undefined>>
  flags: FlagValues
  /** Warnings (e.g. a key file readable by others) go here; never the key itself. */
  warn: (message: string) => void
}

/**
 * Read the config files, then merge env and flags over them: a file named with --config /
 * RC2_CONFIG alone, else the user's own file under the one found in the current directory.
 */
export async function loadConfig(options: LoadConfigOptions): Promise<ResolvedConfig> {
  const ignored: string[] = []
  const files = await findConfigFiles(options, ignored)
  if (ignored.length > 0) options.warn(ignoredMessage(ignored, options.env))
  const config = resolveConfig({ files, env: options.env, flags: options.flags })
  for (const notice of config.notices) options.warn(notice)
  for (const file of files)
    if (holdsKey(file.content)) await warnIfReadableByOthers(file.path, options.warn)
  return config
}

/** The user's own config directory, where a JavaScript config may run. */
function userConfigDir(env: Readonly<Record<string, string | undefined>>): string {
  const base = nonEmpty(env.XDG_CONFIG_HOME) ?? join(env.HOME ?? homedir(), '.config')
  return join(base, 'rc2')
}

/**
 * The search is rc2's own (one directory each, a fixed list of names) and only cosmiconfig's
 * loaders parse: calling cosmiconfig() itself runs a `.config/config.js` of the current directory
 * (its "meta config") before any option of ours applies, and reads files without a size cap.
 */
async function findConfigFiles(
  options: LoadConfigOptions,
  ignored: string[],
): Promise<ConfigFile[]> {
  const explicit = options.configPath ?? nonEmpty(options.env.RC2_CONFIG)
  if (explicit !== undefined) {
    const path = resolve(options.cwd, explicit)
    const text = (await readConfigText(path, 'named')) ?? ''
    const content = text.trim() === '' ? undefined : await parseConfig(path, text)
    if (content === undefined || content === null)
      throw new ConfigError(`config file ${path} is empty`, { hint: 'see .recaptcharc.example' })
    return [{ path, origin: 'named', content }]
  }
  const user = await searchDir(userConfigDir(options.env), USER_PLACES, 'user', ignored)
  const project = await searchDir(options.cwd, PROJECT_PLACES, 'project', ignored)
  return [user, project].filter((file) => file !== undefined)
}

async function searchDir(
  dir: string,
  places: readonly string[],
  origin: FileOrigin,
  ignored: string[],
): Promise<ConfigFile | undefined> {
  for (const place of places) {
    const path = join(dir, place)
    const text = await readConfigText(path, origin)
    if (text === undefined || text.trim() === '') continue
    if (origin === 'project' && JAVASCRIPT.has(extname(place))) {
      ignored.push(path)
      continue
    }
    const content = await parseConfig(path, text)
    if (content !== undefined && content !== null) return { path, origin, content }
  }
  return undefined
}

function ignoredMessage(paths: readonly string[], env: LoadConfigOptions['env']): string {
  const first = paths[0] as string
  return (
    `ignored ${paths.join(', ')}: rc2 does not run a JavaScript config found in the current ` +
    `directory. To use it on purpose, pass --config ${first} (or set RC2_CONFIG), or move it to ` +
    `${join(userConfigDir(env), 'config' + extname(first))}`
  )
}

/**
 * The text of a config file, or undefined when a searched place holds none (missing, a directory,
 * unreadable). A FIFO, a device or a file over MAX_CONFIG_BYTES is refused before it is read: a
 * planted pipe would hang start-up, a link to /dev/zero would fill memory.
 */
async function readConfigText(path: string, origin: FileOrigin): Promise<string | undefined> {
  const searched = origin !== 'named'
  let handle: FileHandle
  try {
    const info = await stat(path)
    if (searched && info.isDirectory()) return undefined
    checkRegular(path, info)
    // Opened without waiting (a pipe swapped in meanwhile) and checked again: what is read is what was checked.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0))
  } catch (error) {
    if (error instanceof Rc2Error) throw error
    const failure = readFailure(error)
    const code = (error as NodeJS.ErrnoException).code
    if (searched && (failure === 'missing' || failure === 'denied' || code === 'ENOTDIR'))
      return undefined
    throw new ConfigError(
      failure === 'missing'
        ? `config file ${path} does not exist`
        : `config file ${path} cannot be read (${failure ?? code ?? 'error'})`,
      { hint: searched ? 'fix or remove that file' : 'check --config / RC2_CONFIG' },
    )
  }
  try {
    checkRegular(path, await handle.stat())
    const buffer = Buffer.alloc(MAX_CONFIG_BYTES + 1)
    let length = 0
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length)
      if (bytesRead === 0) break
      length += bytesRead
      if (length > MAX_CONFIG_BYTES) checkRegular(path, { size: length })
    }
    return buffer.toString('utf8', 0, length)
  } finally {
    await handle.close()
  }
}

function checkRegular(path: string, info: Partial<Stats> & { size: number }): void {
  if (info.isFile !== undefined && !info.isFile()) {
    const kind = info.isFIFO?.()
      ? 'a named pipe (FIFO)'
      : info.isDirectory?.()
        ? 'a directory'
        : info.isSocket?.()
          ? 'a socket'
          : 'a device'
    throw new ConfigError(`config file ${path} is ${kind}, not a regular file`, {
      hint: 'a config is a plain YAML or JSON file: remove or rename that one',
    })
  }
  if (info.size > MAX_CONFIG_BYTES) {
    throw new ConfigError(
      `config file ${path} is over ${MAX_CONFIG_BYTES / 1024 / 1024} MB, too large for a config`,
      { hint: 'a config holds a few settings: check that it is the right file' },
    )
  }
}

/**
 * Parsed by cosmiconfig's loaders (YAML, JSON, JavaScript by extension; an extensionless rc file is
 * YAML); package.json gives its `recaptcha` object.
 */
async function parseConfig(path: string, text: string): Promise<unknown> {
  const { defaultLoaders } = await import('cosmiconfig')
  const loaders: Readonly<Record<string, Loader | undefined>> = defaultLoaders
  const loader = loaders[extname(path)] ?? defaultLoaders.noExt
  try {
    const loaded: unknown = await loader(path, text)
    if (basename(path) !== 'package.json') return loaded
    return typeof loaded === 'object' && loaded !== null
      ? (loaded as { recaptcha?: unknown }).recaptcha
      : undefined
  } catch (error) {
    // No `cause`: --verbose prints it, and the parser's error quotes the file, key included.
    throw new ConfigError(describeSyntaxError(error, path, text), {
      hint: 'fix that line (see .recaptcharc.example), or point --config elsewhere',
    })
  }
}

/**
 * "config file /p/.recaptcharc: line 4, column 3: unexpected end of the stream": the file, the place
 * and the problem. Never the parser's code frame: it quotes the file's lines, and one of them may
 * hold the API key.
 */
function describeSyntaxError(error: unknown, file: string, text: string): string {
  const record = (typeof error === 'object' && error !== null ? error : {}) as {
    reason?: string
    mark?: { line?: number; column?: number }
    message?: string
    name?: string
  }
  // js-yaml (YAML files): 0-based mark, reason without the frame.
  if (record.mark !== undefined && typeof record.mark.line === 'number') {
    return `config file ${file}: line ${record.mark.line + 1}, column ${(record.mark.column ?? 0) + 1}: ${record.reason ?? 'not valid YAML'}`
  }
  const message = record.message ?? String(error)
  // parse-json (JSON files) says where only in its words: the position, or a code frame's line.
  if (record.name === 'JSONError') {
    const found = /([^\n]*?) in JSON at position (\d+)/.exec(message)
    const problem = (found?.[1] ?? 'not valid JSON').replace(/, "[\s\S]*$/, '').trim()
    const place = found === null ? frameLine(message) : lineColumn(text, Number(found[2] as string))
    return `config file ${file}: ${place === undefined ? '' : `${place}: `}${problem === '' ? 'not valid JSON' : problem}`
  }
  // A JS config that threw, or anything else: its first line only.
  return `config file ${file}: ${message.split('\n')[0]?.replace(/^[A-Z]+ Error in [^:]*:\s*/, '') || 'cannot be read'}`
}

function lineColumn(text: string, position: number): string {
  const before = text.slice(0, position).split('\n')
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`
}

/** The line number a code frame points at ("> 4 | …"), when no position was given. */
function frameLine(message: string): string | undefined {
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

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}
