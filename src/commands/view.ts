import type { Command } from 'commander'
import type { CliContext } from './context.js'

interface ViewFlags {
  output: string
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('view')
    .description(
      'Write one self-contained HTML page to review results: a card per input with its picture and the chosen tiles marked, failures by kind, a filter, and the rc2 report command for answers picked as wrong.',
    )
    .argument('<results...>', 'results files: NDJSON from rc2 solve --output / --ndjson, or --json')
    .option('-o, --output <html>', 'where to write the page', 'review.html')
    .addHelpText(
      'after',
      `
Examples:
  $ rc2 view results.ndjson
  $ rc2 view results.ndjson more.ndjson -o review.html`,
    )
    .action(async (files: string[], flags: ViewFlags) => {
      const [{ collectReview }, { renderReviewPage }, { writeFileNoFollow }, { resolve }] =
        await Promise.all([
          import('../report/review.js'),
          import('../output/review-page.js'),
          import('../image/write.js'),
          import('node:path'),
        ])
      const page = await collectReview(files, ctx.cwd)
      for (const warning of page.warnings) ctx.out.warn(warning)
      const target = resolve(ctx.cwd, flags.output)
      try {
        await writeFileNoFollow(target, Buffer.from(renderReviewPage(page)))
      } catch (error) {
        const { writeFailure } = await import('../errors.js')
        throw writeFailure('-o', flags.output, error)
      }
      const answered = page.cards.filter((c) => c.ok).length
      ctx.out.info(
        `${flags.output}: ${page.cards.length} inputs (${answered} answered, ${page.cards.length - answered} failed)`,
      )
    })
}
