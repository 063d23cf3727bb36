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
/** tsc's verdict on every example and on the two broken copies, checked in one run (a run takes seconds). */
let checked: { status: number | null; output: string }
let readmeNames: string[]
let guideNames: string[]

beforeAll(async () => {
  // Inside the repository (an ignored folder), so that 'recaptcha-rc2' resolves to this package by its name.
  await mkdir(join(REPO, '.tmp'), { recursive: true })
  dir = await mkdtemp(join(REPO, '.tmp', 'readme-library-'))
  const readme = await libraryBlocks()
  const guide = await guideBlocks()
  const withProvider = readme.find((b) => b.includes('createProvider('))
  const files: Record<string, string> = {}
  readme.forEach((block, k) => (files[`example-${k}.ts`] = block))
  guide.forEach((block, k) => (files[`guide-${k}.ts`] = block))
  // Copies that must fail, so that a check passing proves something.
  if (guide[0] !== undefined)
    files['broken-guide.ts'] = `${guide[0]}\nsolveMany([], { question: 'cars', noSuchOption: 1 })\n`
  if (withProvider !== undefined) files['broken.ts'] = `${withProvider}\nprovider.noSuchMethod()\n`
  readmeNames = Object.keys(files).filter((name) => name.startsWith('example-'))
  guideNames = Object.keys(files).filter((name) => name.startsWith('guide-'))
  await writeProject(files)
  checked = typeCheck()
}, 120_000)

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
  return tsBlocks(section)
}

function typeCheck(): { status: number | null; output: string } {
  const run = spawnSync(
    process.execPath,
    [
      join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'),
      '--noEmit',
      '-p',
      join(dir, 'tsconfig.json'),
    ],
    // From the project's folder, tsc names each file by its bare name.
    { encoding: 'utf8', cwd: dir },
  )
  return { status: run.status, output: `${run.stdout}${run.stderr}` }
}

async function writeProject(files: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text)
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../tsconfig.json',
      compilerOptions: { noEmit: true, rootDir: '.', types: ['node'] },
      include: Object.keys(files),
    }),
  )
}

/** tsc's lines about the files whose names start with `prefix` (tsc starts each with the file name). */
function linesAbout(prefix: string): string[] {
  return checked.output.split('\n').filter((line) => line.startsWith(prefix))
}

describe('the README library example', () => {
  it('type-checks as written against the built package', () => {
    expect(readmeNames.length).toBeGreaterThan(0)
    expect(linesAbout('example-')).toEqual([])
  })

  it('docs/library.md type-checks as written too', () => {
    expect(guideNames.length).toBeGreaterThan(0)
    expect(linesAbout('guide-')).toEqual([])
  })

  it('and the guide check can fail: an option solveMany does not take is refused', () => {
    expect(linesAbout('broken-guide.ts').join('\n')).toMatch(/noSuchOption/)
  })

  it('and the check can fail: a call the API does not have is refused', () => {
    expect(linesAbout('broken.ts').join('\n')).toMatch(/noSuchMethod/)
  })

  it('tsc finds nothing else: every error it reports is in one of the two broken copies', () => {
    expect(checked.status).not.toBe(0)
    const errors = checked.output.split('\n').filter((line) => /error TS\d+/.test(line))
    expect(errors.length).toBeGreaterThan(0)
    for (const line of errors) expect(line).toMatch(/^broken(-guide)?\.ts\(/)
  })
})
