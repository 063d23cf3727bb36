#!/usr/bin/env node
// Shim: run the built CLI (dist/cli.js) and let it decide the exit code (never process.exit, so
// piped output is not cut).
import module from 'node:module'

// Node 22.1+ keeps compiled code between runs (a faster start); older versions have no such call.
// Before the CLI is imported, so that it is cached too.
module.enableCompileCache?.()

// A run left with nothing to wake it (a bug) would end with Node's silent exit 13, its results
// unsaid: say so, as the internal error it is.
process.on('exit', () => {
  if (process.exitCode !== 13) return
  process.stderr.write(
    'rc2: internal error: the run stopped with work unfinished (a bug: please report it with --verbose output)\n',
  )
  process.exitCode = 1
})

const { installSignalHandlers, runCli } = await import('../dist/cli.js')
const signal = installSignalHandlers()
process.exitCode = await runCli(
  process.argv,
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  },
  signal,
)
