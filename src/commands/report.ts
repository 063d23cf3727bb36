import type { Command } from './commander.js'
import { EXIT, exitCodeForKind, UsageError } from '../errors.js'
import type { ProviderName } from '../providers/types.js'
import type { CliContext } from './context.js'
import { providerOptions, type ProviderFlags } from './options.js'

interface ReportFlags extends ProviderFlags {
  correct?: boolean
  from?: string
  input?: string[]
  json?: boolean
}

export function register(program: Command, ctx: CliContext): void {
  const command = program
    .command('report')
    .description(
      'Tell the service an answer was wrong (or, with --correct, right): 2captcha (reportIncorrect/reportCorrect), capsolver (feedbackTask), capmonster (wrong answers only). The others have no such call.',
    )
    .argument('[taskId...]', 'task ids as rc2 solve printed them (taskId); needs -p')
  for (const option of providerOptions('report')) command.addOption(option)
  command
    .option('--correct', 'report the answers as right instead of wrong')
    .option(
      '--from <results.ndjson>',
      'take the task ids and providers from a results file (rc2 solve --output / --ndjson)',
    )
    .option('--input <path...>', 'with --from: only the answers for these inputs')
    .option('--json', 'print one JSON object per report')
    .addHelpText(
      'after',
      `
Examples:
  $ rc2 report 72345678901 -p 2captcha
  $ rc2 report 6f1c...e2 -p capsolver --correct
  $ rc2 report --from results.ndjson --input shots/a.png shots/b.png`,
    )
    .action(async (taskIds: string[], flags: ReportFlags) => {
      ctx.exitCode = await runReport(taskIds, flags, ctx)
    })
}

async function runReport(taskIds: string[], flags: ReportFlags, ctx: CliContext): Promise<number> {
  const correct = flags.correct === true
  if (flags.from === undefined && taskIds.length === 0)
    throw new UsageError('name the task ids to report, or --from <results.ndjson>', {
      hint: 'rc2 report <taskId...> -p <provider>',
    })
  if (flags.from !== undefined && taskIds.length > 0)
    throw new UsageError('give task ids or --from, not both')
  if (flags.input !== undefined && flags.from === undefined)
    throw new UsageError('--input picks answers from a results file: it needs --from')
  const named = flags.provider?.split(',') as ProviderName[] | undefined
  if (named !== undefined && named.length > 1)
    throw new UsageError('report to one provider at a time: -p takes one name here')

  const [{ readReportTargets, checkReportable, sendReports }, { PROVIDER_REPORTS }, { resolve }] =
    await Promise.all([
      import('../solve/report.js'),
      import('../providers/index.js'),
      import('node:path'),
    ])
  let targets
  if (flags.from !== undefined) {
    const read = await readReportTargets(resolve(ctx.cwd, flags.from), {
      inputs: flags.input,
      provider: named?.[0],
    })
    for (const warning of read.warnings) ctx.out.warn(warning)
    targets = read.targets
    if (targets.length === 0) {
      const { InputError } = await import('../errors.js')
      throw new InputError(
        `${flags.from} holds no answer with a task id${flags.input === undefined ? '' : ' for the inputs named'}`,
        {
          hint: 'pass the NDJSON file that rc2 solve --output wrote',
        },
      )
    }
  } else {
    if (named === undefined)
      throw new UsageError('say which service gave these task ids: -p <provider>', {
        hint: 'or use --from <results.ndjson>, which records it',
      })
    targets = taskIds.map((taskId) => ({ provider: named[0] as ProviderName, taskId }))
  }
  const providersNeeded = [...new Set(targets.map((t) => t.provider))]
  // A service with no such call is the user's mistake: said before any key is needed or anything sent.
  checkReportable(providersNeeded, correct, PROVIDER_REPORTS)

  const { loadSolveConfig, createNamedProvider } = await import('./provider-setup.js')
  const config = await loadSolveConfig(ctx, { ...flags, provider: providersNeeded.join(',') })
  const providers = new Map(
    await Promise.all(
      providersNeeded.map(
        async (name) => [name, await createNamedProvider(config, ctx, name)] as const,
      ),
    ),
  )

  const outcomes = await sendReports(targets, providers, correct, ctx.signal, (outcome) => {
    if (flags.json === true) {
      ctx.out.result(JSON.stringify(outcome))
      return
    }
    const what = `${outcome.provider} ${outcome.taskId}${outcome.input === undefined ? '' : ` (${outcome.input})`}`
    if (outcome.ok)
      ctx.out.result(
        `${what}: reported ${correct ? 'right' : 'wrong'}${outcome.message ? ` (${outcome.message})` : ''}`,
      )
    else
      ctx.out.error(
        `${what}: not reported: ${outcome.error?.message ?? 'failed'}`,
        outcome.error?.hint ?? undefined,
      )
  })
  const failed = outcomes.filter((o) => !o.ok)
  if (failed.length === 0) return EXIT.ok
  if (failed.length < outcomes.length) return EXIT.partial
  const codes = new Set(failed.map((o) => exitCodeForKind(o.error?.kind ?? 'provider')))
  return codes.size === 1 ? ([...codes][0] as number) : EXIT.provider
}
