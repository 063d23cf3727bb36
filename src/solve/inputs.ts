import { readdir, realpath, stat } from 'node:fs/promises'
import { extname, join, resolve } from 'node:path'
import { InputError, type Rc2Error, readFailure } from '../errors.js'

/** One thing to solve: a file, stdin, or an argument that could not be used (kept to report it). */
export interface InputItem {
  /** As the user will see it in results ("-" for stdin). */
  input: string
  /** Path to read; null for stdin or a URL. */
  path: string | null
  /** An http(s) URL to fetch (design §8.3). */
  url?: string
  /** The image itself, given as bytes by a library caller (`input` is the name it gave). */
  bytes?: Buffer
  /** Set when the argument is unusable; the batch reports it as that input's failure. */
  error?: Rc2Error
}

export interface ExpandResult {
  items: InputItem[]
  /** Files in directories that are not images, reported and left out. */
  skipped: string[]
  /** Subdirectories not entered (no --recursive), for the hint when nothing was found. */
  unvisitedDirs: string[]
}

/**
 * Extensions taken from directories. SVG is included on purpose so that it gets its own clear
 * refusal instead of silently vanishing; anything else in a directory is reported as skipped.
 */
const DIRECTORY_EXTENSIONS = new Set([
  '.png',
  '.jpg',
  '.jpeg',
  '.jpe',
  '.webp',
  '.gif',
  '.tif',
  '.tiff',
  '.avif',
  '.heic',
  '.heif',
  '.svg',
])

/** An image given as bytes (the library), with what to call it in results and messages. */
export interface NamedBytes {
  name: string
  bytes: Buffer
}

export async function expandInputs(
  args: readonly (string | NamedBytes)[],
  options: { recursive: boolean; cwd: string },
): Promise<ExpandResult> {
  const items: InputItem[] = []
  const skipped: string[] = []
  const unvisitedDirs: string[] = []
  const seenDirs = new Set<string>()
  for (const arg of args) {
    if (typeof arg !== 'string') {
      items.push({ input: arg.name, path: null, bytes: arg.bytes })
      continue
    }
    if (arg === '-') {
      items.push({ input: '-', path: null })
      continue
    }
    if (/^https?:\/\//i.test(arg)) {
      items.push({ input: arg, path: null, url: arg })
      continue
    }
    const full = resolve(options.cwd, arg)
    let info
    try {
      info = await stat(full)
    } catch (error) {
      items.push({ input: arg, path: full, error: statError(arg, error) })
      continue
    }
    if (info.isDirectory()) {
      await walk(arg, full, options.recursive, items, skipped, seenDirs, unvisitedDirs)
    } else {
      items.push({ input: arg, path: full })
    }
  }
  return { items, skipped, unvisitedDirs }
}

async function walk(
  shown: string,
  dir: string,
  recursive: boolean,
  items: InputItem[],
  skipped: string[],
  seen: Set<string>,
  unvisited: string[],
): Promise<void> {
  // Guard against symlink loops: every real directory is entered once.
  let real: string
  try {
    real = await realpath(dir)
  } catch (error) {
    items.push({ input: shown, path: dir, error: statError(shown, error) })
    return
  }
  if (seen.has(real)) return
  seen.add(real)
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true })
  } catch (error) {
    items.push({ input: shown, path: dir, error: statError(shown, error) })
    return
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
  for (const entry of entries) {
    const shownChild = join(shown, entry.name)
    const child = join(dir, entry.name)
    let isDir = entry.isDirectory()
    let isFile = entry.isFile()
    if (entry.isSymbolicLink()) {
      try {
        const target = await stat(child)
        isDir = target.isDirectory()
        isFile = target.isFile()
      } catch (error) {
        // A dangling link or a loop is still an input the user asked about: report it.
        if (DIRECTORY_EXTENSIONS.has(extname(entry.name).toLowerCase()))
          items.push({ input: shownChild, path: child, error: statError(shownChild, error) })
        else skipped.push(shownChild)
        continue
      }
    }
    if (isDir) {
      if (recursive) await walk(shownChild, child, recursive, items, skipped, seen, unvisited)
      else unvisited.push(shownChild)
      continue
    }
    if (isFile && DIRECTORY_EXTENSIONS.has(extname(entry.name).toLowerCase()))
      items.push({ input: shownChild, path: child })
    else skipped.push(shownChild)
  }
}

function statError(name: string, error: unknown): Rc2Error {
  const code = (error as NodeJS.ErrnoException).code
  switch (readFailure(error)) {
    case 'missing':
      return new InputError(`${name}: no such file or directory`, { hint: 'check the path', code })
    case 'denied':
      return new InputError(`${name}: permission denied`, {
        hint: `make it readable (chmod +r ${name})`,
        code,
      })
    case 'loop':
      return new InputError(`${name}: too many levels of symbolic links (a link loop)`, {
        hint: 'point the link at a real file',
        code,
      })
    default:
      return new InputError(`${name}: cannot read it (${code ?? (error as Error).message})`, {
        code,
      })
  }
}

/** `--shard k/n`: the k-th (1-based) of n shares. */
export interface Shard {
  index: number
  count: number
}

/**
 * The k-th of n shares of the inputs (design §8.5): the list is sorted by name in code-unit order
 * (not the locale's, so machines with different settings agree), then cut into n contiguous runs
 * whose sizes differ by at most one. The n shares cover every input exactly once, and their
 * outputs concatenated in shard order are in sorted order.
 */
export function takeShard<T extends { input: string }>(items: readonly T[], shard: Shard): T[] {
  const sorted = [...items].sort((a, b) => (a.input < b.input ? -1 : a.input > b.input ? 1 : 0))
  const from = Math.floor(((shard.index - 1) * sorted.length) / shard.count)
  const to = Math.floor((shard.index * sorted.length) / shard.count)
  return sorted.slice(from, to)
}

/**
 * The inputs listed in a `--files-from` file (or `-`, standard input), one per line: blank lines
 * and lines starting with `#` are skipped, a trailing CR (a Windows file) is dropped.
 */
export async function readInputList(
  from: string,
  options: { cwd: string; stdin: NodeJS.ReadableStream },
): Promise<string[]> {
  const { readFileBounded, readStreamBounded } = await import('../image/read.js')
  const name = from === '-' ? 'the --files-from list on stdin' : `--files-from ${from}`
  let bytes: Buffer
  try {
    bytes =
      from === '-'
        ? await readStreamBounded(options.stdin, name, LIST_MAX_BYTES)
        : await readFileBounded(resolve(options.cwd, from), name, LIST_MAX_BYTES)
  } catch (error) {
    if (error instanceof InputError) throw error
    const cause = statError(`--files-from ${from}`, error)
    throw cause
  }
  return bytes
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
}

/** A list of a million paths is far below this. */
const LIST_MAX_BYTES = 64 * 1024 * 1024
