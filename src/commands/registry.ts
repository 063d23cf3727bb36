import type { Command } from './commander.js'
import type { CliContext } from './context.js'

/**
 * Every command, in the order `rc2 --help` lists them: how the list shows it, and the module that
 * defines it, loaded only when that command runs (start-up pays for one command, not all).
 * `term` and `summary` must match what the module registers (test/e2e/startup.test.ts checks).
 */
export interface CommandEntry {
  name: string
  term: string
  summary: string
  load: () => Promise<{ register: (program: Command, ctx: CliContext) => void }>
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'solve',
    term: 'solve [options] [input...]',
    summary:
      'Ask the recognition service which tiles to click, for one image, several, a directory, or - (stdin).',
    load: () => import('./solve.js'),
  },
  {
    name: 'resize',
    term: 'resize [options] <input...>',
    summary:
      'Prepare an image as the services want it: find the grid, crop, drop gutters, scale to 100/300/450, write it.',
    load: () => import('./resize.js'),
  },
  {
    name: 'questions',
    term: 'questions [options] [query]',
    summary:
      'The question table: ids, names, grids the services accept. A query filters it; a whole sentence shows how it parses.',
    load: () => import('./questions.js'),
  },
  {
    name: 'grid',
    term: 'grid [options] <input>',
    summary: "The geometry rc2 sees: grid kind, tile rectangles and centres in the input's pixels.",
    load: () => import('./grid.js'),
  },
  {
    name: 'balance',
    term: 'balance [options]',
    summary: "The provider's remaining balance (points or credits), where it has such a call.",
    load: () => import('./balance.js'),
  },
  {
    name: 'report',
    term: 'report [options] [taskId...]',
    summary:
      'Tell the service an answer was wrong (or, with --correct, right): 2captcha (reportIncorrect/reportCorrect), capsolver (feedbackTask), capmonster (wrong answers only). The others have no such call.',
    load: () => import('./report.js'),
  },
  {
    name: 'serve',
    term: 'serve [options]',
    summary:
      "A local gateway speaking the services' own protocols (createTask family, 2Captcha in.php/res.php), forwarding to the configured services with rc2's preparation, failover and budgets.",
    load: () => import('./serve.js'),
  },
  {
    name: 'view',
    term: 'view [options] <results...>',
    summary:
      'Write one self-contained HTML page to review results: a card per input with its picture and the chosen tiles marked, failures by kind, a filter, and the rc2 report command for answers picked as wrong.',
    load: () => import('./view.js'),
  },
  {
    name: 'completion',
    term: 'completion <shell>',
    summary:
      'Print a script that completes commands, options, provider names, --format values and question names in bash, zsh or fish.',
    load: () => import('./completion.js'),
  },
]

/**
 * The command the arguments run (`help <command>` included), or undefined for none (`--help`,
 * `--version`, an unknown word). Only `--config` among the global options takes a value.
 */
export function invokedCommand(args: readonly string[]): CommandEntry | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    if (arg === '--') return undefined
    if (arg === '--config') {
      i++
      continue
    }
    if (arg.startsWith('-')) continue
    if (arg === 'help') continue
    return COMMANDS.find((c) => c.name === arg)
  }
  return undefined
}
