#!/usr/bin/env node
// Shim: run the built CLI (dist/cli.cjs) and let it decide the exit code (never process.exit, so
// piped output is not cut). CommonJS, as bin/package.json says, like the bundle it requires: Node
// then starts no ES module loader, which on Node 20 is a fifth of the start-up's cost.
'use strict'
// Node 22.1+ keeps compiled code between runs (a faster start); older versions have no such call.
// Before the CLI is required, so that it is cached too.
require('node:module').enableCompileCache?.()

// A run left with nothing to wake it (a bug) would end as if it had finished, its results unsaid:
// when the event loop empties before the CLI has returned, say so, as the internal error it is.
let ended = false
process.on('beforeExit', () => {
  if (ended) return
  ended = true
  process.stderr.write(
    'rc2: internal error: the run stopped with work unfinished (a bug: please report it with --verbose output)\n',
  )
  process.exitCode = 1
})

const { installSignalHandlers, runCli } = require('../dist/cli.cjs')
const signal = installSignalHandlers()
runCli(
  process.argv,
  {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    cwd: process.cwd(),
  },
  signal,
).then((code) => {
  ended = true
  process.exitCode = code
})
