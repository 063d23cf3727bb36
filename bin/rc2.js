#!/usr/bin/env node
// Shim: run the built CLI (dist/cli.js) and let it decide the exit code (never process.exit, so
// piped output is not cut).
import module from 'node:module'

// Node 22.1+ keeps compiled code between runs (a faster start); older versions have no such call.
// Before the CLI is imported, so that it is cached too.
module.enableCompileCache?.()

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
