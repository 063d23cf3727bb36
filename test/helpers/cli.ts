import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { fileURLToPath } from 'node:url'

export const REPO = fileURLToPath(new URL('../..', import.meta.url))
export const BIN = join(REPO, 'bin', 'rc2.js')
export const FIXTURES = join(REPO, 'fixtures')
/** The real tiles vendored for the tests (see its README.md and manifest.csv). */
export const TILES_DIR = join(REPO, 'test', 'data', 'recaptcha-tiles')

export interface RunResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  env?: Record<string, string | undefined>
  cwd?: string
  input?: Buffer | string
  timeoutMs?: number
  /** Called once the process started, e.g. to send it a signal later. */
  onSpawn?: (child: ChildProcess) => void
}

/** The environment a test run sees: nothing of the caller's but PATH; no colour, no CI spinner. */
function cleanEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    CI: '1',
    HOME: extra.HOME ?? tmpdir(),
  }
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v
  return env
}

/** Spawn the built binary the way a user would, with a clean environment (no colour, no CI spinner). */
export function runRc2(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const env = cleanEnv(options.env)
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? REPO,
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
    options.onSpawn?.(child)
    if (options.input !== undefined) child.stdin.end(options.input)
    else child.stdin.end()
  })
}

/**
 * The same run in this process: runCli (src/cli.ts, where errors become exit codes) with the same
 * clean environment and pipes for stdin, stdout and stderr. For output, flags and exit codes; spawn
 * (runRc2) where only a real process shows it: signals, real pipes and TTYs, the exit status itself.
 */
export async function runInProcess(
  args: readonly string[],
  options: Omit<RunOptions, 'onSpawn'> = {},
): Promise<RunResult> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  const stdin = new PassThrough()
  let out = ''
  let err = ''
  stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
  stdin.end(options.input ?? '')
  // A user's rc2 runs in its directory: relative paths (inputs, -o, --annotate) resolve there. So the
  // process's working directory is that directory for the run, as well as io.cwd (one run at a time).
  const cwd = options.cwd ?? REPO
  // Loaded here, not at the top: files that only spawn need not load the CLI.
  const { runCli } = await import('../../src/cli.js')
  const before = process.cwd()
  process.chdir(cwd)
  let code: number
  try {
    code = await runCli(['node', BIN, ...args], {
      stdout,
      stderr,
      stdin,
      env: cleanEnv(options.env),
      cwd,
    })
  } finally {
    process.chdir(before)
  }
  // Let the last writes reach the collectors.
  await new Promise<void>((resolve) => setImmediate(resolve))
  return { code, signal: null, stdout: out, stderr: err }
}

/** A temporary directory removed after the test. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** No stack trace in what a user sees. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at .+\(.+:\d+:\d+\)/.test(text) || /\n\s+at file:/.test(text)
}
