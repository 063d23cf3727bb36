import { Command } from 'commander'
import type { CliContext } from '../../src/commands/context.js'

type Register<T> = (
  program: Command,
  ctx: CliContext,
  run: (options: T, ctx: CliContext) => Promise<void>,
) => void

/**
 * The options object a command makes of its flags (`args` as typed after `rc2`, global flags
 * included), without running it: the command's run is replaced by one that keeps what it is given.
 * Commander's own refusals (a bad value, a missing argument) throw its CommanderError; the
 * command's throw a UsageError.
 */
export async function optionsOf<T>(register: Register<T>, args: readonly string[]): Promise<T> {
  const program = new Command('rc2')
    .exitOverride()
    .configureOutput({ writeOut: () => undefined, writeErr: () => undefined })
    .option('--config <path>')
  const ctx = { globalOptions: () => program.opts() } as unknown as CliContext
  let seen: { options: T } | undefined
  register(program, ctx, async (options) => {
    seen = { options }
  })
  await program.parseAsync(args, { from: 'user' })
  if (seen === undefined) throw new Error(`rc2 ${args.join(' ')} ran no command`)
  return seen.options
}
