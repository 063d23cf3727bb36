#!/usr/bin/env node
// Shim: load the built CLI and let it decide the exit code (never process.exit, so piped output is not cut).
import module from 'node:module'

// Node 22.1+ keeps compiled code between runs (a faster start); older versions have no such call.
module.enableCompileCache?.()
const { installSignalHandlers, runCli } = await import('../dist/cli.js')

const signal = installSignalHandlers()
process.exitCode = await runCli(process.argv, {
  stdout: process.stdout,
  stderr: process.stderr,
  // Read only by a command given - (or --files-from -): process.stdin sets up a stream when first
  // touched, about a millisecond of start-up that nothing else needs.
  get stdin() {
    return process.stdin
  },
  env: process.env,
  cwd: process.cwd(),
}, signal)
