import { PassThrough } from 'node:stream'
import { runCli } from '../../src/cli.js'

export interface InProcessResult {
  code: number
  stdout: string
  stderr: string
}

/**
 * rc2 run in this process through runCli, as a user would run it in `cwd` (no terminal, no
 * colour): for behaviour a spawned binary would show nothing more about, at a fraction of the cost.
 */
export async function runRc2InProcess(args: readonly string[], options: { cwd: string; env?: Record<string, string>; stdin?: Buffer }): Promise<InProcessResult> {
  const stdout = new PassThrough()
  const stderr = new PassThrough()
  let out = ''
  let err = ''
  stdout.on('data', (d: Buffer) => (out += d.toString()))
  stderr.on('data', (d: Buffer) => (err += d.toString()))
  const stdin = new PassThrough()
  stdin.end(options.stdin)
  const code = await runCli(['node', 'rc2', ...args], {
    stdout,
    stderr,
    stdin,
    env: { HOME: options.cwd, NO_COLOR: '1', CI: '1', ...options.env },
    cwd: options.cwd,
  })
  return { code, stdout: out, stderr: err }
}
