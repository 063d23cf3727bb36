/**
 * The repository stands alone: nothing it tracks points outside it for data (the workplace's
 * reference folder beside the clone does not exist for a user, a packager or a CI service), and the
 * real tiles the tests read are vendored here with their licence and a manifest that matches them.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, sep } from 'node:path'
import sharp from 'sharp'
import { describe, expect, it } from 'vitest'
import { REPO, TILES_DIR } from '../helpers/cli.js'

/** Written in pieces so this file does not match itself. */
const NAME = 'sha' + 'red'
const FORBIDDEN = [`../${NAME}`, `${NAME}/data`, `${NAME}/reference`]
/** `join(ROOT, '..', '<name>', …)` */
const FORBIDDEN_JOIN = new RegExp(`['"]\\.\\.['"]\\s*,\\s*['"]${NAME}['"]`)

/** Tracked files; outside a git work tree (an exported copy), every file but installs and builds. */
function repositoryFiles(): string[] {
  if (existsSync(join(REPO, '.git'))) {
    return execFileSync('git', ['ls-files', '-z'], { cwd: REPO, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f.length > 0)
  }
  const skip = new Set(['node_modules', 'dist', 'coverage', '.tmp'])
  return readdirSync(REPO, { recursive: true })
    .map(String)
    .filter((f) => !f.split(sep).some((part) => skip.has(part)) && statSync(join(REPO, f)).isFile())
}

describe('the repository stands alone', () => {
  it('has no tracked file that points at the reference folder beside the clone', () => {
    const files = repositoryFiles()
    // The list is real: the sources, this test and the vendored tiles are in it.
    expect(files).toContain('src/index.ts')
    expect(files).toContain('test/repo/standalone.test.ts')
    expect(files).toContain('data/questions.json')
    const offenders: string[] = []
    for (const file of files) {
      const path = join(REPO, file)
      if (!existsSync(path)) continue // deleted in the work tree, not yet committed
      const bytes = readFileSync(path)
      if (bytes.includes(0)) continue // binary (the tile PNGs)
      const text = bytes.toString('utf8')
      text.split('\n').forEach((line, i) => {
        if (FORBIDDEN.some((f) => line.includes(f)) || FORBIDDEN_JOIN.test(line))
          offenders.push(`${file}:${i + 1}: ${line.trim()}`)
      })
    }
    expect(offenders).toEqual([])
  })

  it('catches the ways a path to it has been written', () => {
    const caught = (line: string): boolean =>
      FORBIDDEN.some((f) => line.includes(f)) || FORBIDDEN_JOIN.test(line)
    expect(caught(`join(ROOT, '../${'shared'}/data/recaptcha-tiles')`)).toBe(true)
    expect(caught(`join(REPO, '..', '${'shared'}', 'data')`)).toBe(true)
    expect(caught(`see ${'shared'}/reference/questions.md`)).toBe(true)
    expect(caught('the HTTP layer shared by the providers')).toBe(false)
  })

  it('vendors the real tiles with their licence and a manifest that matches every file', async () => {
    expect(readFileSync(join(TILES_DIR, 'LICENSE-upstream.txt'), 'utf8')).toMatch(
      /^MIT License\n\nCopyright \(c\) 2020 Brian/,
    )
    const [header, ...rows] = readFileSync(join(TILES_DIR, 'manifest.csv'), 'utf8')
      .trimEnd()
      .split('\n')
    expect(header).toBe('file,class,source_repo,source_path,width,height,upstream_sha256')
    const listed = rows.map((row) => row.split(','))
    const onDisk = readdirSync(TILES_DIR, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.png'))
      .map((f) => f.split(sep).join('/'))
      .sort()
    expect(listed.map((cols) => cols[0]).sort()).toEqual(onDisk)
    expect(onDisk.length).toBeGreaterThanOrEqual(60)
    let bytes = 0
    for (const [file, kind, repo, source, width, height, sha] of listed) {
      expect(file?.startsWith(`${kind}/`)).toBe(true)
      expect(repo).toBe('Vilka284/recaptcha-dataset')
      expect(source).toMatch(/^Large\/[^/]+\/.+\.png$/)
      expect(sha).toMatch(/^[0-9a-f]{64}$/)
      const meta = await sharp(join(TILES_DIR, file!)).metadata()
      expect([meta.format, meta.width, meta.height, meta.depth]).toEqual([
        'png',
        Number(width),
        Number(height),
        'uchar',
      ])
      // The two kinds reCAPTCHA serves, kept as served: 120x120 RGBA, 100x100 RGB.
      expect(meta.channels).toBe(Number(width) === 120 ? 4 : 3)
      bytes += statSync(join(TILES_DIR, file!)).size
    }
    // Small enough to live in the repository.
    expect(bytes).toBeLessThan(3_000_000)
  })

  it('has no code comment that cites a document outside it (a section number of the design notes)', () => {
    // Written in pieces so this file does not match itself.
    const citation = new RegExp(['design', '\\s*§', '|', '§\\s*\\d'].join(''))
    const code = repositoryFiles().filter(
      (f) => /\.(ts|mjs|cjs|js|wat)$/.test(f) || f === '.ci/run',
    )
    expect(code).toContain('src/cli.ts')
    expect(code).toContain('src/image/pixel-kernels.wat')
    const offenders: string[] = []
    for (const file of code) {
      const path = join(REPO, file)
      if (!existsSync(path)) continue
      readFileSync(path, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (citation.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`)
        })
    }
    expect(offenders).toEqual([])
    expect(
      citation.test(['// as the design ', String.fromCharCode(0xa7), '8.1 says'].join('')),
    ).toBe(true)
  })
})
