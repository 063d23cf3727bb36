#!/usr/bin/env node
// Shim: load the built CLI and let it decide the exit code (never process.exit, so piped output is not cut).
import module from 'node:module'

// Node 22.1+ keeps compiled code between runs (a faster start); older versions have no such call.
module.enableCompileCache?.()

const help = plainHelp()
if (help !== undefined) {
  process.stdout.on('error', (error) => {
    // The reader went away (`rc2 --help | head -1`): nothing to say. Anything else is said, as the CLI does.
    if (error.code !== 'EPIPE')
      process.stderr.write(`rc2: standard output failed: ${error.code ?? error.message}\n`)
  })
  process.stdout.write(help)
} else {
  const { installSignalHandlers, runCli } = await import('../dist/cli.js')
  const signal = installSignalHandlers()
  process.exitCode = await runCli(
    process.argv,
    {
      stdout: process.stdout,
      stderr: process.stderr,
      // Read only by a command given - (or --files-from -): process.stdin sets up a stream when first
      // touched, about a millisecond of start-up that nothing else needs.
      get stdin() {
        return process.stdin
      },
      env: process.env,
      cwd: process.cwd(),
    },
    signal,
  )
}

/**
 * A plain `rc2 --help` (or -h) where help is 80 columns wide (a pipe, a file, a terminal that
 * wide): the text `npm run build` had the CLI render through commander (dist/help.txt, written by
 * scripts/build-help.mjs), printed without loading the CLI or commander at all (start-up time).
 * Anything else, other widths included, renders live.
 */
function plainHelp() {
  const args = process.argv.slice(2)
  if (args.length !== 1 || (args[0] !== '--help' && args[0] !== '-h')) return undefined
  if ((process.stdout.isTTY ? process.stdout.columns : 80) !== 80) return undefined
  try {
    // Through require: an ES import of node:fs builds a module facade of its every export (start-up time).
    return module
      .createRequire(import.meta.url)('node:fs')
      .readFileSync(new URL('../dist/help.txt', import.meta.url), 'utf8')
  } catch {
    return undefined
  }
}
