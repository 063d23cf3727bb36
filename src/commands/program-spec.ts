import type { Command, Option } from 'commander'
import { PROVIDER_NAMES } from '../providers/types.js'
import { listQuestions } from '../questions/table.js'
import type {
  ArgumentSpec,
  CommandSpec,
  OptionSpec,
  ProgramSpec,
  ValueKind,
} from '../output/program-spec.js'

/** Value placeholders that name a file or a directory: the shells complete paths there. */
const PATH_VALUES = /path|file|dir|input|capture|image|png|jpe?g|html|json/i

/** The program as data: what completions and the man page are made from. */
export function programSpec(program: Command, version: string): ProgramSpec {
  return {
    name: program.name(),
    version,
    description: program.description(),
    globalOptions: [
      ...(program.options as readonly Option[]).map(optionSpec),
      helpOption('show help'),
    ],
    commands: program.commands.map(commandSpec),
    providers: PROVIDER_NAMES,
    questions: questionNames(),
    ...withAfter(afterText(program)),
  }
}

function commandSpec(command: Command): CommandSpec {
  return {
    name: command.name(),
    description: command.description(),
    arguments: command.registeredArguments.map((arg): ArgumentSpec => ({
      name: arg.name(),
      description: arg.description,
      required: arg.required,
      variadic: arg.variadic,
      ...valueOf(arg.name(), arg.argChoices),
    })),
    options: [...(command.options as readonly Option[]).map(optionSpec), helpOption('show help')],
    ...withAfter(afterText(command)),
  }
}

function optionSpec(option: Option): OptionSpec {
  const value = /[<[]([^>\]]+)[>\]]/.exec(option.flags)?.[1]
  return {
    flags: option.flags,
    ...(option.short !== undefined ? { short: option.short } : {}),
    ...(option.long !== undefined ? { long: option.long } : {}),
    description: option.description,
    ...(value !== undefined
      ? { value, ...valueOf(option.attributeName(), option.argChoices, value) }
      : { valueKind: 'none' as const }),
  }
}

function helpOption(description: string): OptionSpec {
  return { flags: '-h, --help', short: '-h', long: '--help', description, valueKind: 'none' }
}

/** What a value is completed with: its fixed choices, provider or question names, or paths. */
function valueOf(
  name: string,
  choices: readonly string[] | undefined,
  placeholder = name,
): { valueKind: ValueKind; choices?: readonly string[] } {
  if (choices !== undefined) return { valueKind: 'choices', choices }
  if (name === 'provider') return { valueKind: 'provider' }
  if (name === 'question' || name === 'query') return { valueKind: 'question' }
  return { valueKind: PATH_VALUES.test(placeholder) ? 'file' : 'none' }
}

/** The English names and aliases of the questions a service accepts, each once ("a bus" as "bus"). */
function questionNames(): string[] {
  const names = new Set<string>()
  for (const entry of listQuestions())
    for (const name of [entry.en, ...(entry.names.en ?? []), ...entry.aliases])
      if (!/[^\x20-\x7e]/.test(name)) names.add(name.replace(/^an? /, ''))
  return [...names]
}

/** The text a command adds after its help (`addHelpText('after', …)`), trimmed; '' if none. */
function afterText(command: Command): string {
  let text = ''
  // Commander keeps that text as an 'afterHelp' listener, its only record of it.
  ;(command as unknown as NodeJS.EventEmitter).emit('afterHelp', {
    error: false,
    command,
    write: (chunk: string) => {
      text += chunk
    },
  })
  return text.replace(/^\n+|\s+$/g, '')
}

function withAfter(text: string): { after?: string } {
  return text === '' ? {} : { after: text }
}
