import type { Command } from 'commander'
import { EXIT, exitCodeForKind } from '../errors.js'
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
  const [{ providerOptionsOf, engineHost }, { reportAnswers }] = await Promise.all([
    import('./provider-setup.js'),
    import('../report/report.js'),
  ])
  const request = {
    ...providerOptionsOf(flags, ctx),
    taskIds,
    from: flags.from,
    inputs: flags.input,
    correct,
  }
  const outcomes = await reportAnswers(request, engineHost(ctx), (outcome) => {
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
