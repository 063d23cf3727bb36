/**
 * Writing an output file next to the user's files without following what may be planted there:
 * a symbolic link at the name is refused (it could point at any file the user can write), and the
 * bytes go to a new temporary file in the same directory (O_EXCL, so never an existing file or
 * link) that is then renamed over the name, which replaces a link or file instead of writing
 * through it. A reader never sees half a picture.
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, lstat, mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { writeFailure, writeFailureReason } from '../errors.js'

/**
 * Why an output path cannot be used, in words (writeFailureReason's), or undefined when it can;
 * checked before anything is paid for.
 */
export async function outputPathProblem(path: string): Promise<string | undefined> {
  try {
    const info = await lstat(path)
    if (info.isSymbolicLink()) return writeFailureReason(errno('ELOOP'))
    if (info.isDirectory()) return writeFailureReason(errno('EISDIR'))
    if (!info.isFile()) return 'it is not a regular file'
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
      return `cannot check it (${writeFailureReason(error)})`
  }
  try {
    await access(dirname(path), constants.W_OK)
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT'
    return missing
      ? writeFailureReason(error)
      : `its directory is not writable (${writeFailureReason(error)})`
  }
  return undefined
}

function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(code), { code })
}

/** Write `data` at `path` through a temporary file and a rename; a link at `path` is refused (ELOOP). */
export async function writeFileNoFollow(path: string, data: Buffer): Promise<void> {
  try {
    if ((await lstat(path)).isSymbolicLink()) {
      throw Object.assign(
        new Error(`${path} is a symbolic link; rc2 never writes through a link`),
        { code: 'ELOOP' },
      )
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  const temp = join(
    dirname(path),
    `.${basename(path)}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`,
  )
  const handle = await open(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o644,
  )
  try {
    await handle.writeFile(data)
    await handle.close()
    await rename(temp, path)
  } catch (error) {
    await handle.close().catch(() => undefined)
    await rm(temp, { force: true })
    throw error
  }
}

/** Whether two paths name the same file: the same path, or the same inode (a hard link, a linked directory). */
export async function isSameFile(a: string, b: string): Promise<boolean> {
  if (resolve(a) === resolve(b)) return true
  const [x, y] = await Promise.all([stat(a).catch(() => undefined), stat(b).catch(() => undefined)])
  return x !== undefined && y !== undefined && x.dev === y.dev && x.ino === y.ino
}

/**
 * Create a directory target (`--annotate`/`-o` for several inputs, `--split`) and check it can be
 * written in: a directory you name is made; a file's directory is not (README).
 */
export async function makeOutputDirectory(flag: string, path: string, full = path): Promise<void> {
  try {
    await mkdir(full, { recursive: true })
    await access(full, constants.W_OK)
  } catch (error) {
    throw writeFailure(flag, path, error, { hint: 'choose a directory you can write to' })
  }
}
