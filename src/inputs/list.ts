import type { Stats } from 'node:fs'
import { readdir, realpath, stat } from 'node:fs/promises'
import { extname, join, resolve, sep } from 'node:path'
import { InputError, type Rc2Error, readFailure } from '../errors.js'

/** One thing to solve: a file, stdin, or an argument that could not be used (kept to report it). */
export interface InputItem {
  /** As the user will see it in results ("-" for stdin). */
  input: string
  /** Path to read; null for stdin or a URL. */
  path: string | null
  /** The path's bytes where they are not valid UTF-8 (`path` then shows them escaped): read by these. */
  rawPath?: Buffer | undefined
  /** An http(s) URL to fetch (docs/commands.md). */
  url?: string | undefined
  /** The image itself, given as bytes by a library caller (`input` is the name it gave). */
  bytes?: Buffer | undefined
  /**
   * Set when the argument is unusable (it could not be looked at): the batch reports it as that
   * input's failure, made by `unusableError` when the input is reached. A shared record, not an
   * error per input: a list of a million missing paths must not hold a million errors.
   */
  unusable?: StatFailure | undefined
}

/** Why looking at a path failed: the system's error code, or its words where it has no code. */
interface StatFailure {
  readonly code: string | undefined
  readonly message: string | undefined
}

interface ExpandResult {
  items: InputItem[]
  /** Files in directories that are not images, reported and left out. */
  skipped: string[]
  /** Subdirectories not entered (no --recursive), for the hint when nothing was found. */
  unvisitedDirs: string[]
  /** Links in directories that lead outside the directory named, not followed (no --follow-links). */
  outsideLinks: string[]
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
  options: { recursive: boolean; cwd: string; followLinks?: boolean | undefined },
): Promise<ExpandResult> {
  const found: ExpandResult = { items: [], skipped: [], unvisitedDirs: [], outsideLinks: [] }
  const { items } = found
  const { recursive } = options
  const rules = { recursive, followLinks: options.followLinks === true, seen: new Set<string>() }
  for (const arg of args) {
    if (typeof arg !== 'string') items.push({ input: arg.name, path: null, bytes: arg.bytes })
    else if (arg === '-') items.push({ input: '-', path: null })
    else if (/^https?:\/\//i.test(arg)) items.push({ input: arg, path: null, url: arg })
    else {
      const full = resolve(options.cwd, arg)
      let info
      try {
        info = await stat(full)
      } catch (error) {
        items.push({ input: arg, path: full, unusable: statFailure(error) })
        continue
      }
      // A file named by the user is read even where it is a link that leads elsewhere.
      if (!info.isDirectory()) items.push({ input: arg, path: full })
      else await walk({ ...found, ...rules, root: undefined }, arg, Buffer.from(full))
    }
  }
  return found
}

/** What one directory argument's walk collects (into the run's lists), and the rules it walks by. */
interface Walker extends ExpandResult {
  recursive: boolean
  followLinks: boolean
  /** The real path of the directory the user named (a link there is the user's own choice). */
  root: string | undefined
  /** Real directories entered already. */
  seen: Set<string>
}

/**
 * Paths are Buffers throughout: a name that is not valid UTF-8 cannot round-trip through a string,
 * and would look missing when read. Such a name is shown escaped (`\xff`) and read by its bytes.
 */
async function walk(w: Walker, shown: string, dir: Buffer): Promise<void> {
  // Guard against symlink loops: every real directory is entered once.
  let real: string
  try {
    real = await realPath(dir)
  } catch (error) {
    w.items.push({ input: shown, path: displayName(dir), unusable: statFailure(error) })
    return
  }
  w.root ??= real
  if (w.seen.has(real)) return
  w.seen.add(real)
  let entries
  try {
    entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' })
  } catch (error) {
    w.items.push({ input: shown, path: displayName(dir), unusable: statFailure(error) })
    return
  }
  entries.sort((a, b) => Buffer.compare(a.name, b.name))
  for (const entry of entries) {
    const name = displayName(entry.name)
    const shownChild = join(shown, name)
    const child = Buffer.concat([dir, SEPARATOR, entry.name])
    let isDir = entry.isDirectory()
    let isFile = entry.isFile()
    if (entry.isSymbolicLink()) {
      const target = await followLink(w, shownChild, child, extname(name))
      if (target === undefined) continue
      isDir = target.isDirectory()
      isFile = target.isFile()
    }
    if (isDir) {
      if (w.recursive) await walk(w, shownChild, child)
      else w.unvisitedDirs.push(shownChild)
      continue
    }
    if (!isFile || !DIRECTORY_EXTENSIONS.has(extname(name).toLowerCase())) {
      w.skipped.push(shownChild)
      continue
    }
    // Valid UTF-8 round-trips; anything else is read by its bytes.
    const text = child.toString('utf8')
    w.items.push(
      Buffer.from(text, 'utf8').equals(child)
        ? { input: shownChild, path: text }
        : { input: shownChild, path: displayName(child), rawPath: child },
    )
  }
}

const SEPARATOR = Buffer.from(sep)

/**
 * What a link inside a walked directory leads to, or undefined when it is not taken: a dangling
 * link or a loop (reported if it looks like an image), or a link out of the directory the user
 * named, which is left out (as find, rg and grep -r do) unless --follow-links.
 */
async function followLink(
  w: Walker,
  shown: string,
  path: Buffer,
  extension: string,
): Promise<Stats | undefined> {
  let target: Stats
  let real: string
  try {
    target = await stat(path)
    real = await realPath(path)
  } catch (error) {
    // A dangling link or a loop is still an input the user asked about: report it.
    if (DIRECTORY_EXTENSIONS.has(extension.toLowerCase()))
      w.items.push({ input: shown, path: displayName(path), unusable: statFailure(error) })
    else w.skipped.push(shown)
    return undefined
  }
  if (!w.followLinks && w.root !== undefined && !isInside(real, w.root)) {
    w.outsideLinks.push(shown)
    return undefined
  }
  return target
}

/** A real path as a string that keeps every byte (latin1), to compare paths whatever their encoding. */
async function realPath(path: Buffer): Promise<string> {
  return (await realpath(path, { encoding: 'buffer' })).toString('latin1')
}

function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true })

/** A file name or path as text: valid UTF-8 as it is, every byte that is not shown as `\xNN`. */
function displayName(name: Buffer): string {
  try {
    return STRICT_UTF8.decode(name)
  } catch {
    let out = ''
    for (let k = 0; k < name.length;) {
      const size = sequenceLength(name[k] as number)
      const text = size === 0 ? undefined : tryDecode(name.subarray(k, k + size))
      out += text ?? `\\x${(name[k] as number).toString(16).padStart(2, '0')}`
      k += text === undefined ? 1 : size
    }
    return out
  }
}

/** Bytes of the UTF-8 sequence a lead byte starts (0 for a byte that cannot start one). */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1
  if (lead >= 0xc2 && lead <= 0xdf) return 2
  if (lead >= 0xe0 && lead <= 0xef) return 3
  if (lead >= 0xf0 && lead <= 0xf4) return 4
  return 0
}

function tryDecode(part: Buffer): string | undefined {
  try {
    return STRICT_UTF8.decode(part)
  } catch {
    return undefined
  }
}

const STAT_FAILURES = new Map<string, StatFailure>()

/** The failure kept for an unusable input: one shared record per error code. */
function statFailure(error: unknown): StatFailure {
  const code = (error as NodeJS.ErrnoException | undefined)?.code
  // Without a code the words are the reason (rare): kept as they are, not shared.
  if (code === undefined) return { code, message: (error as Error).message }
  let failure = STAT_FAILURES.get(code)
  if (failure === undefined) STAT_FAILURES.set(code, (failure = { code, message: undefined }))
  return failure
}

/** The error an unusable input is reported with (made when the batch reaches it), or a failed stat. */
export function unusableError(name: string, error: unknown): Rc2Error {
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
 * The k-th of n shares of the inputs (docs/many-machines.md): the list is sorted by name in code-unit order
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
    throw unusableError(`--files-from ${from}`, error)
  }
  return bytes
    .toString('utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .filter((line) => line.trim() !== '' && !line.trimStart().startsWith('#'))
}

/** A list of a million paths is far below this. */
const LIST_MAX_BYTES = 64 * 1024 * 1024
