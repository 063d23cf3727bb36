import { runInProcess } from './cli.js'

export interface InProcessResult {
  code: number | null
  stdout: string
  stderr: string
}

/**
 * rc2 run in this process as a user would run it in `cwd` (no terminal, no colour): runInProcess
 * with the working directory required, for behaviour a spawned binary would show nothing more about.
 */
export async function runRc2InProcess(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string>; stdin?: Buffer },
): Promise<InProcessResult> {
  const { code, stdout, stderr } = await runInProcess(args, {
    cwd: options.cwd,
    env: { HOME: options.cwd, ...options.env },
    ...(options.stdin === undefined ? {} : { input: options.stdin }),
  })
  return { code, stdout, stderr }
}
