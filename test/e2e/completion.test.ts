/**
 * `rc2 completion bash|zsh|fish`: each script is valid for its shell (`bash -n`, `zsh -n`,
 * `fish -n`), and completes for real: bash through its completion function with COMP_WORDS set,
 * fish through `complete -C`, zsh by loading it after compinit. The shells come from the system
 * (.ci/run installs zsh and fish where missing).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import { PROVIDER_NAMES } from '../../src/providers/types.js'

let dir: string
const scripts: Record<string, string> = {}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-completion-'))
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runInProcess(['completion', shell])
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' })
    scripts[shell] = join(dir, `rc2.${shell}`)
    await writeFile(scripts[shell], r.stdout)
  }
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function shell(
  name: string,
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(name, args, {
    encoding: 'utf8',
    timeout: 30_000,
    env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
  })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** What bash's completion function offers for a command line whose last word is being typed. */
function bashComplete(words: string[]): string[] {
  const r = shell('bash', [
    '-c',
    'source "$1"; read -r -a COMP_WORDS <<< "$2"; [[ $2 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _rc2; printf "%s\\n" "${COMPREPLY[@]}"',
    'bash',
    scripts.bash as string,
    words.join(' '),
  ])
  expect(r.stderr).toBe('')
  return r.stdout.split('\n').filter((line) => line !== '')
}

function fishComplete(line: string): string[] {
  const r = shell('fish', ['-c', `source ${scripts.fish}; complete -C '${line}'`])
  expect(r.stderr).toBe('')
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0] as string)
}

describe('rc2 completion', () => {
  it('writes scripts each shell accepts', () => {
    for (const [name, check] of [
      ['bash', ['-n']],
      ['zsh', ['-n']],
      ['fish', ['-n']],
    ] as const) {
      const r = shell(name, [...check, scripts[name] as string])
      expect({ name, status: r.status, stderr: r.stderr }).toEqual({ name, status: 0, stderr: '' })
    }
  })

  it('bash completes a provider name, a failover list, --format values and question names', () => {
    expect(bashComplete(['rc2', 'solve', '-p', 'yes'])).toEqual(['yescaptcha'])
    expect(bashComplete(['rc2', 'balance', '--provider', 'cap'])).toEqual([
      'capsolver',
      'capmonster',
    ])
    expect(bashComplete(['rc2', 'solve', '-p', 'yescaptcha,2'])).toEqual(['yescaptcha,2captcha'])
    expect(bashComplete(['rc2', 'solve', '-p', ''])).toEqual([...PROVIDER_NAMES])
    expect(bashComplete(['rc2', 'solve', '--format', ''])).toEqual([
      'table',
      'json',
      'ndjson',
      'csv',
    ])
    // Names with a space come back quoted for the command line.
    expect(bashComplete(['rc2', 'solve', '-q', 'traffic'])).toEqual([
      'traffic\\ lights',
      'traffic\\ light',
    ])
    expect(bashComplete(['rc2', 'questions', 'hydr'])).toEqual(['hydrant', 'hydrants'])
  })

  it('bash completes commands (after a global option with a value) and their options', () => {
    expect(bashComplete(['rc2', 're'])).toEqual(['resize', 'report'])
    expect(bashComplete(['rc2', '--config', 'x.json', 'ba'])).toEqual(['balance'])
    expect(bashComplete(['rc2', 'solve', '--max'])).toEqual(['--max-points'])
    expect(bashComplete(['rc2', 'completion', ''])).toEqual(['bash', 'zsh', 'fish'])
  })

  it('fish completes provider names (after a comma too), --format values and commands', () => {
    expect(fishComplete('rc2 solve -p yes')).toEqual(['yescaptcha'])
    expect(fishComplete('rc2 solve -p yescaptcha,capm')).toEqual(['yescaptcha,capmonster'])
    expect(fishComplete('rc2 solve --format ').sort()).toEqual(['csv', 'json', 'ndjson', 'table'])
    expect(fishComplete('rc2 bal')).toEqual(['balance'])
    expect(fishComplete('rc2 solve -q fire')).toEqual(['fire hydrant', 'fire hydrants'])
  })

  it('zsh loads it after compinit and binds it to rc2', () => {
    const r = shell('zsh', [
      '-f',
      '-c',
      `autoload -U compinit && compinit -u -d ${join(dir, 'zcompdump')} && source ${scripts.zsh} && print -r -- $_comps[rc2] && whence -w _rc2_providers`,
    ])
    expect(r.stderr).toBe('')
    expect(r.stdout.trim().split('\n')).toEqual(['_rc2', '_rc2_providers: function'])
  })

  it('refuses a shell it has no script for', async () => {
    const r = await runInProcess(['completion', 'powershell'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/bash, zsh, fish/)
  })
})
