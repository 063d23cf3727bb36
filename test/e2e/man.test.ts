/**
 * The man page `npm run build` writes (man/rc2.1, installed by package.json's `man`): groff renders
 * it without a warning, and it has NAME, SYNOPSIS and every command with its options, as --help
 * lists them. Needs `npm run build` first; groff comes from the system (.ci/run installs it).
 */
import { spawnSync } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { REPO, runInProcess } from '../helpers/cli.js'
import { renderManPage } from '../../src/output/man.js'
import type { ProgramSpec } from '../../src/output/program-spec.js'

const PAGE = join(REPO, 'man', 'rc2.1')

/** The page as a terminal shows it (plain text, no overstrike), and what groff warned about. */
function render(source: string): { text: string; warnings: string } {
  const r = spawnSync('groff', ['-man', '-Tutf8', '-P', '-cbou', '-ww', '-rLL=200n'], {
    input: source,
    encoding: 'utf8',
    timeout: 30_000,
  })
  expect(r.status).toBe(0)
  return { text: r.stdout, warnings: r.stderr }
}

describe('man/rc2.1', () => {
  it('renders without a warning, with NAME, SYNOPSIS and every command', async () => {
    const { text, warnings } = render(await readFile(PAGE, 'utf8'))
    expect(warnings).toBe('')
    for (const heading of [
      'NAME',
      'SYNOPSIS',
      'DESCRIPTION',
      'GLOBAL OPTIONS',
      'COMMANDS',
      'NOTES',
    ])
      expect(text).toMatch(new RegExp(`^${heading}$`, 'm'))
    expect(text).toMatch(/^NAME\n\s+rc2 - Solve reCAPTCHA v2 image challenges/m)
    // Each command's usage as `rc2 --help` lists it ("  solve [options] [input...]  Ask ...").
    const help = (await runInProcess(['--help'])).stdout
    const terms = [...help.matchAll(/^ {2}(\w+ \S.*?) {2}/gm)]
      .map((m) => m[1] as string)
      .filter((term) => !term.startsWith('help '))
    expect(terms.length).toBeGreaterThanOrEqual(9)
    for (const term of terms) {
      const [name, ...rest] = term.replace(' [options]', '').split(' ')
      expect(text).toContain(['rc2', name, '[options]', ...rest].join(' '))
    }
  })

  it('lists the options of each command as its --help does, hyphens intact', async () => {
    const { text } = render(await readFile(PAGE, 'utf8'))
    const solve = text.slice(
      text.indexOf('rc2 solve [options]'),
      text.indexOf('rc2 resize [options]', text.indexOf('COMMANDS')),
    )
    for (const flag of ['-q, --question text', '--max-points n', '--files-from file', '--dry-run'])
      expect(solve).toContain(flag)
    expect(text).toContain('--config path')
    expect(text).toContain('$ rc2 report --from results.ndjson --input shots/a.png shots/b.png')
  })

  it('escapes what roff would read as a request or an escape', () => {
    const spec: ProgramSpec = {
      name: 'rc2',
      version: '1.0.0',
      description: 'a \\fBtest',
      globalOptions: [],
      commands: [
        {
          name: 'x',
          description: "first line\n.TH evil\n'also a request",
          arguments: [],
          options: [],
        },
      ],
      providers: [],
      questions: [],
    }
    const { text, warnings } = render(renderManPage(spec))
    expect(warnings).toBe('')
    expect(text).toContain('a \\fBtest')
    expect(text).toContain('.TH evil')
    expect(text).toContain("'also a request")
  })
})
