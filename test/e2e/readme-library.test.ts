/**
 * README truth for the library: the TypeScript examples of README's "## Library" and of
 * docs/library.md type-check, as written,
 * against the built package's own types (`import … from 'recaptcha-rc2'` resolves through package.json's
 * exports, as it does for a user). Running it would call the real services, so it is checked, not
 * run; the calls it makes are exercised in test/http/library.test.ts and test/e2e/library.test.ts.
 * Needs `npm run build` (dist/index.d.ts).
 */
import { spawnSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO } from '../helpers/cli.js'

let dir: string

beforeAll(async () => {
  // Inside the repository (an ignored folder), so that 'recaptcha-rc2' resolves to this package by its name.
  await mkdir(join(REPO, '.tmp'), { recursive: true })
  dir = await mkdtemp(join(REPO, '.tmp', 'readme-library-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** The fenced ts blocks of docs/library.md. */
async function guideBlocks(): Promise<string[]> {
  return tsBlocks(await readFile(join(REPO, 'docs', 'library.md'), 'utf8'))
}

function tsBlocks(text: string): string[] {
  return [...text.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((m) => m[1] as string)
}

/** The fenced ts blocks of the README's "## Library" section. */
async function libraryBlocks(): Promise<string[]> {
  const text = await readFile(join(REPO, 'README.md'), 'utf8')
  const section = text.slice(
    text.indexOf('\n## Library'),
    text.indexOf('\n## ', text.indexOf('\n## Library') + 1),
  )
  return [...section.matchAll(/^```(?:ts|typescript)\n([\s\S]*?)^```/gm)].map((m) => m[1] as string)
}

function typeCheck(files: string[]): { status: number | null; output: string } {
  const run = spawnSync(
    process.execPath,
    [
      join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '-p',
      join(dir, 'tsconfig.json'),
    ],
    { encoding: 'utf8' },
  )
  void files
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

async function writeProject(files: Record<string, string>): Promise<string[]> {
  const names = Object.keys(files)
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '.', types: ['node'] },
      include: names,
    }),
  )
  return names
}

describe('the README library example', () => {
  it('type-checks as written against the built package', { timeout: 120_000 }, async () => {
    const blocks = await libraryBlocks()
    expect(blocks.length).toBeGreaterThan(0)
    const files = await writeProject(
      Object.fromEntries(blocks.map((block, k) => [`example-${k}.ts`, block])),
    )
    const result = typeCheck(files)
    expect(result.output).toBe('')
    expect(result.status).toBe(0)
  })

  it('docs/library.md type-checks as written too', { timeout: 120_000 }, async () => {
    const blocks = await guideBlocks()
    expect(blocks.length).toBeGreaterThan(0)
    const files = await writeProject(
      Object.fromEntries(blocks.map((block, k) => [`guide-${k}.ts`, block])),
    )
    const result = typeCheck(files)
    expect(result.output).toBe('')
    expect(result.status).toBe(0)
  })

  it(
    'and the guide check can fail: an option solveMany does not take is refused',
    {
      timeout: 120_000,
    },
    async () => {
      const [block] = await guideBlocks()
      const broken = `${block}\nsolveMany([], { question: 'cars', noSuchOption: 1 })\n`
      const files = await writeProject({ 'broken-guide.ts': broken })
      const result = typeCheck(files)
      expect(result.status).not.toBe(0)
      expect(result.output).toMatch(/noSuchOption/)
    },
  )

  it(
    'and the check can fail: a call the API does not have is refused',
    { timeout: 120_000 },
    async () => {
      const block = (await libraryBlocks()).find((b) => b.includes('createProvider('))
      expect(block).toBeDefined()
      const broken = `${block}\nprovider.noSuchMethod()\n`
      const files = await writeProject({ 'broken.ts': broken })
      const result = typeCheck(files)
      expect(result.status).not.toBe(0)
      expect(result.output).toMatch(/noSuchMethod/)
    },
  )
})
