/**
 * Last step of `npm run build`: dist/help.txt, the text a plain `rc2 --help` prints 80 columns wide
 * (a pipe, a file, a terminal that wide). The built CLI renders it itself, through commander, as
 * `rc2 help`; bin/rc2.js then prints this file without loading the CLI (start-up time).
 * test/e2e/startup.test.ts checks that the printed text is the live one.
 */
import { writeFileSync } from 'node:fs'
import process from 'node:process'
import { PassThrough } from 'node:stream'
import { setImmediate } from 'node:timers'
import { URL } from 'node:url'
import { runCli } from '../dist/cli.js'

const stdout = new PassThrough()
const stderr = new PassThrough()
let text = ''
let errors = ''
stdout.setEncoding('utf8').on('data', (d) => (text += d))
stderr.setEncoding('utf8').on('data', (d) => (errors += d))
// Pipes, not terminals: commander wraps at its default 80 columns.
const code = await runCli(['node', 'rc2', 'help'], {
  stdout,
  stderr,
  stdin: new PassThrough(),
  env: {},
  cwd: process.cwd(),
})
await new Promise((resolve) => setImmediate(resolve))
if (code !== 0 || errors !== '' || !text.startsWith('Usage: rc2 ')) {
  process.stderr.write(`build-help: rc2 help exited ${code}: ${errors}\n`)
  process.exit(1)
}
writeFileSync(new URL('../dist/help.txt', import.meta.url), text)
