/**
 * One rule for output targets (README, exit codes): a directory target is created when missing, a
 * file target's directory must exist, and any output that cannot be written is exit 2 with a
 * message naming the flag, the path and why.
 */
import { copyFile, readdir, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { writeImageFile } from '../../src/image/encode.js'
import { FIXTURES, hasStackTrace, runInProcess, withTempDir } from '../helpers/cli.js'

const WIDGET = join(FIXTURES, 'widget-3x3-1x.png')
const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  )

describe('a file target whose directory is missing', () => {
  it('resize -o missing/x.jpg: exit 2, nothing created', async () => {
    await withTempDir(async (dir) => {
      await copyFile(WIDGET, join(dir, 'shot.png'))
      const run = await runInProcess(['resize', 'shot.png', '-o', 'missing/x.jpg'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(
        'cannot write -o missing/x.jpg: the directory missing does not exist',
      )
      expect(hasStackTrace(run.stderr)).toBe(false)
      expect(await exists(join(dir, 'missing'))).toBe(false)
    })
  })

  it('grid --overlay and --mark -o into a missing directory: exit 2, nothing created', async () => {
    await withTempDir(async (dir) => {
      await copyFile(WIDGET, join(dir, 'shot.png'))
      const overlay = await runInProcess(['grid', 'shot.png', '--overlay', 'missing/o.png'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(overlay.code).toBe(2)
      expect(overlay.stderr).toContain(
        'cannot write --overlay missing/o.png: its directory does not exist',
      )
      const marked = await runInProcess(
        ['grid', 'shot.png', '--mark', '1,4', '-o', 'missing/m.png'],
        { cwd: dir, env: { HOME: dir } },
      )
      expect(marked.code).toBe(2)
      expect(marked.stderr).toContain('cannot write -o missing/m.png: its directory does not exist')
      expect(await exists(join(dir, 'missing'))).toBe(false)
    })
  })

  it('the image writer itself creates no directory, and fails as a usage error naming the flag', async () => {
    await withTempDir(async (dir) => {
      const target = join(dir, 'missing', 'x.png')
      await expect(writeImageFile(target, Buffer.from('png'), '--split')).rejects.toMatchObject({
        kind: 'usage',
        exitCode: 2,
        message: `cannot write --split ${target}: its directory does not exist`,
      })
      expect(await exists(join(dir, 'missing'))).toBe(false)
    })
  })
})

describe('a directory target', () => {
  it('grid --split into a missing directory creates it; under a file it is exit 2', async () => {
    await withTempDir(async (dir) => {
      await copyFile(WIDGET, join(dir, 'shot.png'))
      const made = await runInProcess(['grid', 'shot.png', '--split', 'new/tiles'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(made.code, made.stderr).toBe(0)
      expect(await readdir(join(dir, 'new', 'tiles'))).toHaveLength(9)
      await writeFile(join(dir, 'plain'), 'not a directory')
      const refused = await runInProcess(['grid', 'shot.png', '--split', 'plain/tiles'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain('cannot write --split plain/tiles:')
      expect(hasStackTrace(refused.stderr)).toBe(false)
    })
  })

  it('resize of several inputs into a missing directory creates it', async () => {
    await withTempDir(async (dir) => {
      await copyFile(WIDGET, join(dir, 'a.png'))
      await copyFile(WIDGET, join(dir, 'b.png'))
      const run = await runInProcess(['resize', 'a.png', 'b.png', '-o', 'out/sub'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(run.code, run.stderr).toBe(0)
      expect((await readdir(join(dir, 'out', 'sub'))).sort()).toEqual(['a.jpg', 'b.jpg'])
    })
  })
})
