import type { Command } from 'commander'
import type { CliContext } from './context.js'
import { providerOptions, type ProviderFlags } from './options.js'
import type { BalanceResult } from '../providers/types.js'
import type { ProviderOptions } from '../engine/settings.js'
import { providerOptionsOf } from './provider-setup.js'

interface BalanceFlags extends ProviderFlags {
  json?: boolean
}

/** What `rc2 balance` is asked to do, from its flags. */
export interface BalanceCommand {
  providers: ProviderOptions
  json: boolean
}

export function register(program: Command, ctx: CliContext, run = runBalance): void {
  const command = program
    .command('balance')
    .description("The provider's remaining balance (points or credits), where it has such a call.")
  for (const option of providerOptions('each')) command.addOption(option)
  command
    .option('--json', 'print JSON (an array when several providers are named)')
    .addHelpText(
      'after',
      '\nExamples:\n  $ rc2 balance\n  $ RC2_PROVIDER=capsolver rc2 balance --json\n  $ rc2 balance -p yescaptcha,capsolver',
    )
    .action((flags: BalanceFlags) =>
      run({ providers: providerOptionsOf(flags, ctx), json: flags.json === true }, ctx),
    )
}

/** Each provider asked in turn; one that fails is said and the others still shown. */
async function runBalance(command: BalanceCommand, ctx: CliContext): Promise<void> {
  const [{ engineHost }, { balanceOf }, { loadRunConfig }] = await Promise.all([
    import('./provider-setup.js'),
    import('../engine/engine.js'),
    import('../engine/settings.js'),
  ])
  const host = engineHost(ctx)
  const config = await loadRunConfig(command.providers, host)
  const names = config.providerList
  const results: BalanceResult[] = []
  const failures: unknown[] = []
  for (const name of names) {
    try {
      results.push(await balanceOf(config, name, host))
    } catch (error) {
      if (names.length === 1 || ctx.signal.aborted) throw error
      failures.push(error)
    }
  }
  const { EXIT, Rc2Error } = await import('../errors.js')
  const last = failures.at(-1)
  for (const error of results.length === 0 ? failures.slice(0, -1) : failures) {
    if (!(error instanceof Rc2Error)) throw error
    ctx.out.error(error.message, error.hint)
  }
  if (results.length === 0) throw last
  await print(results, names.length > 1, command.json, ctx)
  if (failures.length > 0) ctx.exitCode = EXIT.partial
}

async function print(
  results: BalanceResult[],
  several: boolean,
  json: boolean,
  ctx: CliContext,
): Promise<void> {
  if (json) {
    const json = results.map((result) => ({ schemaVersion: 1, ...result }))
    ctx.out.result(JSON.stringify(several ? json : json[0], null, 2))
    return
  }
  const { renderBalance } = await import('../output/render-balance.js')
  for (const result of results) ctx.out.result(renderBalance(result, ctx.out.color.dim(' · ')))
}
