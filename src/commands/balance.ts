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
      const [{ providerOptionsOf, engineHost }, { checkBalance }] = await Promise.all([
        import('./provider-setup.js'),
        import('../solve/engine.js'),
      ])
      const result = await checkBalance(providerOptionsOf(flags, ctx), engineHost(ctx))
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
