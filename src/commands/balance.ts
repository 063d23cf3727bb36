import type { Command } from './commander.js'
import type { CliContext } from './context.js'
import { providerOptions, type ProviderFlags } from './options.js'

interface BalanceFlags extends ProviderFlags {
  json?: boolean
}

export function register(program: Command, ctx: CliContext): void {
  const command = program
    .command('balance')
    .description("The provider's remaining balance (points or credits), where it has such a call.")
  for (const option of providerOptions()) command.addOption(option)
  command
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  $ rc2 balance\n  $ RC2_PROVIDER=capsolver rc2 balance --json',
    )
    .action(async (flags: BalanceFlags) => {
      const { loadSolveConfig, createProviderFor, withKeyOrigin } =
        await import('./provider-setup.js')
      const config = await loadSolveConfig(ctx, flags)
      if (config.providerList.length > 1) {
        const { UsageError } = await import('../errors.js')
        throw new UsageError(
          `balance asks one provider at a time, but ${config.providerList.join(', ')} are named`,
          { hint: 'run rc2 balance -p <name> for each' },
        )
      }
      if (config.provider === 'acedata') {
        // A documented limitation, not a failure of the service: asked for something that does not exist (exit 2).
        const { UsageError } = await import('../errors.js')
        throw new UsageError('acedata has no balance call: Ace Data Cloud documents none', {
          hint: 'see the remaining quota at https://platform.acedata.cloud/console/applications',
        })
      }
      const provider = await createProviderFor(config, ctx)
      const { withDeadline } = await import('../providers/deadline.js')
      let result
      try {
        result = await withDeadline(config.timeout * 1000, ctx.signal, (signal) =>
          provider.balance(signal),
        )
      } catch (error) {
        throw withKeyOrigin(error, config, ctx.env)
      }
      if (flags.json === true) {
        ctx.out.result(JSON.stringify({ schemaVersion: 1, ...result }, null, 2))
        return
      }
      const details = Object.entries(result.details).map(([k, v]) => `${k} ${v}`)
      ctx.out.result(
        [`${result.provider}: ${result.balance} ${result.unit}`, ...details].join(
          ctx.out.color.dim(' · '),
        ),
      )
    })
}
