import { access, constants, stat } from 'node:fs/promises'
import { basename, dirname, extname, resolve } from 'node:path'
import { readFailure, UsageError, writeFailure, writeFailureReason } from '../errors.js'
import { makeOutputDirectory } from '../image/write.js'

/**
 * Output file names for several inputs, such that no two inputs write the same file.
 * `target(input, stem)` builds the output path from a stem; the stem is the input's name without
 * its extension, and only where two inputs would collide does it grow a distinguishing part: the
 * input's relative path ("a/x.jpg" -> "a_x"), then its extension ("a_x-jpg"), then a counter.
 */
export function distinctOutputs(
  inputs: readonly string[],
  target: (input: string, stem: string) => string,
  cwd = process.cwd(),
): string[] {
  const plain = (input: string): string =>
    input === '-' ? 'stdin' : basename(input, extname(input))
  const withPath = (input: string): string => {
    if (input === '-') return 'stdin'
    const parts = input
      .slice(0, input.length - extname(input).length)
      .split(/[\\/]+/)
      .filter((p) => p !== '' && p !== '.' && p !== '..')
    return parts.join('_')
  }
  const withExt = (input: string): string => {
    const ext = extname(input).slice(1)
    return ext === '' ? withPath(input) : `${withPath(input)}-${ext}`
  }
  const key = (path: string): string => resolve(cwd, path).toLowerCase() // case-insensitive file systems too
  const outs = inputs.map((input) => target(input, plain(input)))
  for (const stem of [withPath, withExt]) {
    for (const k of collisions(outs.map(key))) outs[k] = target(inputs[k]!, stem(inputs[k]!))
  }
  const counter = new Map<string, number>()
  for (const k of collisions(outs.map(key))) {
    const n = (counter.get(key(outs[k]!)) ?? 0) + 1
    counter.set(key(outs[k]!), n)
    outs[k] = target(inputs[k]!, `${withExt(inputs[k]!)}-${n}`)
  }
  return outs
}

/** Indexes whose key appears more than once. */
function collisions(keys: readonly string[]): number[] {
  const seen = new Map<string, number>()
  for (const k of keys) seen.set(k, (seen.get(k) ?? 0) + 1)
  return keys.flatMap((k, i) => ((seen.get(k) ?? 0) > 1 ? [i] : []))
}

const IMAGE_FILE = /\.(png|jpe?g|webp|gif|tiff?|avif)$/i

/**
 * Where an output flag writes for `count` inputs: one file, or a directory. The rule for missing
 * directories (README): a directory target is created, a file target's directory must exist. A path that
 * names an image file with several inputs is a usage error, not a silently created directory; a
 * target that cannot be written is refused before anything is sent or paid for.
 */
export async function prepareOutputTarget(
  flag: string,
  path: string,
  count: number,
  cwd = process.cwd(),
): Promise<'file' | 'dir'> {
  const full = resolve(cwd, path)
  const info = await stat(full).catch(() => undefined)
  const isDir = info?.isDirectory() === true || /[\\/]$/.test(path)
  if (count > 1 && !isDir && IMAGE_FILE.test(path)) {
    throw new UsageError(`${flag} ${path} names one file, but there are ${count} inputs`, {
      hint: `give ${flag} a directory (e.g. ${flag} ${dirname(path) === '.' ? '' : `${dirname(path)}/`}out/) to get one file per input`,
    })
  }
  if (count > 1 || isDir) {
    await makeOutputDirectory(flag, path, full)
    return 'dir'
  }
  const parent = dirname(full)
  try {
    await access(parent, constants.W_OK)
  } catch (error) {
    const why =
      readFailure(error) === 'missing'
        ? `the directory ${dirname(path)} does not exist`
        : `cannot write in ${dirname(path)} (${writeFailureReason(error)})`
    throw writeFailure(flag, path, why, {
      hint: 'create the directory or choose another path; nothing was sent',
    })
  }
  return 'file'
}
