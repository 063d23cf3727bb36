/** resize reads the config file as solve does: image.quality applies, and a broken file is exit 3. */
import { copyFile, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIXTURES, hasStackTrace, runInProcess, withTempDir } from '../helpers/cli.js'

const WIDGET = join(FIXTURES, 'widget-3x3-1x.png')

describe('rc2 resize and the config file', () => {
  it('takes image.quality from .recaptcharc.json, and --quality over it', async () => {
    await withTempDir(async (dir) => {
      await copyFile(WIDGET, join(dir, 'shot.png'))
      const byFlag = await runInProcess(
        ['resize', 'shot.png', '-o', 'flag.jpg', '--quality', '20'],
        { cwd: dir, env: { HOME: dir } },
      )
      expect(byFlag.code, byFlag.stderr).toBe(0)
      const byDefault = await runInProcess(['resize', 'shot.png', '-o', 'default.jpg'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(byDefault.code, byDefault.stderr).toBe(0)
      await writeFile(join(dir, '.recaptcharc.json'), JSON.stringify({ image: { quality: 20 } }))
      const byFile = await runInProcess(['resize', 'shot.png', '-o', 'file.jpg'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(byFile.code, byFile.stderr).toBe(0)
      const overFile = await runInProcess(
        ['resize', 'shot.png', '-o', 'over.jpg', '--quality', '85'],
        { cwd: dir, env: { HOME: dir } },
      )
      expect(overFile.code, overFile.stderr).toBe(0)
      const [flag, deflt, file, over] = await Promise.all(
        ['flag.jpg', 'default.jpg', 'file.jpg', 'over.jpg'].map((f) => readFile(join(dir, f))),
      )
      // The same encoder settings give the same file; different quality, a different one.
      expect(flag!.equals(deflt!)).toBe(false)
      expect(file!.equals(flag!)).toBe(true)
      expect(over!.equals(deflt!)).toBe(true)
    })
  })

  it('a broken config file is exit 3, with the file named and no stack trace', async () => {
    await withTempDir(async (dir) => {
      await copyFile(WIDGET, join(dir, 'shot.png'))
      await writeFile(join(dir, '.recaptcharc.json'), JSON.stringify({ image: { quality: 500 } }))
      const run = await runInProcess(['resize', 'shot.png', '-o', 'out.jpg'], {
        cwd: dir,
        env: { HOME: dir },
      })
      expect(run.code).toBe(3)
      expect(run.stderr).toContain('image.quality')
      expect(hasStackTrace(run.stderr)).toBe(false)
    })
  })
})
