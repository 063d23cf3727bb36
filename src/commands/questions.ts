import { type Command, Option } from 'commander'
import { LANGS, type Lang } from '../questions/types.js'
import type { CliContext } from './context.js'

interface QuestionsFlags {
  lang?: Lang
  all?: boolean
  json?: boolean
}

export function register(program: Command, ctx: CliContext): void {
  program
    .command('questions')
    .description(
      'The question table: ids, names, grids the services accept. A query filters it; a whole sentence shows how it parses.',
    )
    .argument('[query]', 'a name, alias or /m/ id in any language, or an instruction sentence')
    .addOption(new Option('--lang <code>', 'also show names in this language').choices(LANGS))
    .option('--all', 'include ids no service accepts (seen in challenges, or legacy)')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
Examples:
  $ rc2 questions
  $ rc2 questions hydrant
  $ rc2 questions "Select all squares with traffic lights"
  $ rc2 questions --lang ja --all --json`,
    )
    .action(async (query: string | undefined, flags: QuestionsFlags) => {
      // The name index and the sentence parser load only for a query, the table renderer only to draw.
      const [{ listQuestions }, { toQuestionMatchJson, toQuestionsJson }] = await Promise.all([
        import('../questions/table.js'),
        import('../output/questions-json.js'),
      ])
      const found =
        query === undefined
          ? { entries: listQuestions({ all: flags.all === true }), match: undefined }
          : (await import('../questions/lookup.js')).describeQuestions(query, {
              all: flags.all === true,
              ...(flags.lang !== undefined ? { lang: flags.lang } : {}),
            })
      if (flags.json === true) {
        ctx.out.result(
          JSON.stringify(
            found.match === undefined
              ? toQuestionsJson(found.entries)
              : toQuestionMatchJson(query ?? '', found.match),
            null,
            2,
          ),
        )
        return
      }
      const view = await import('../output/render-questions.js')
      if (found.match !== undefined)
        ctx.out.result(view.renderQuestionMatch(found.match, { color: ctx.out.color.level > 0 }))
      else {
        // On a terminal the table fits its width (long names wrap); a pipe gets whole lines.
        const width = ctx.out.stdoutColumns
        ctx.out.result(
          view.renderQuestionsTable(found.entries, {
            color: ctx.out.color.level > 0,
            ...(flags.lang !== undefined ? { lang: flags.lang } : {}),
            ...(width !== undefined ? { width } : {}),
          }),
        )
      }
    })
}
