import type { ArgumentSpec, CommandSpec, OptionSpec, ProgramSpec } from './program-spec.js'

/** Text as roff: backslashes and hyphens escaped, no line starting with a control character. */
function roff(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n')
}

/** `[input...]`, `<shell>`: an argument as usage shows it. */
function argumentTerm(arg: ArgumentSpec): string {
  const name = `${arg.name}${arg.variadic ? '...' : ''}`
  return arg.required ? `<${name}>` : `[${name}]`
}

function optionItem(option: OptionSpec): string {
  const flags = option.flags.replace(/ [<[].*$/, '')
  const value = option.value === undefined ? '' : ` \\fI${roff(option.value)}\\fR`
  return `.TP\n.B ${roff(flags)}${value}\n${roff(option.description)}${choicesOf(option)}`
}

/** The allowed values, unless the description already names them all. */
function choicesOf(item: { description: string; choices?: readonly string[] }): string {
  const listed = item.choices?.every((c) => item.description.includes(c)) ?? true
  return listed ? '' : ` (one of: ${roff((item.choices ?? []).join(', '))})`
}

/** Preformatted lines (examples, tables), as commander prints them. */
function verbatim(text: string): string {
  return `.PP\n.nf\n.RS 2\n${roff(text)}\n.RE\n.fi`
}

function commandSection(name: string, command: CommandSpec): string {
  const usage = [name, command.name, '[options]', ...command.arguments.map(argumentTerm)].join(' ')
  return [
    `.SS ${roff(usage)}`,
    roff(command.description),
    ...command.arguments
      .filter((arg) => arg.description !== '')
      .map(
        (arg) => `.TP\n.I ${roff(argumentTerm(arg))}\n${roff(arg.description)}${choicesOf(arg)}`,
      ),
    ...command.options.map(optionItem),
    ...(command.after === undefined ? [] : [verbatim(command.after)]),
  ].join('\n')
}

/** The man page (section 1) of the program: name, synopsis, options, each command, notes. */
export function renderManPage(spec: ProgramSpec): string {
  const name = spec.name
  return `${[
    `.TH ${name.toUpperCase()} 1 "" "${name} ${roff(spec.version)}" "User Commands"`,
    '.SH NAME',
    `${name} \\- ${roff(spec.description)}`,
    '.SH SYNOPSIS',
    `.B ${name}\n[\\fIglobal options\\fR] \\fIcommand\\fR [\\fIoptions\\fR] [\\fIarguments\\fR]`,
    ...spec.commands.map((c) =>
      [
        `.br\n.B ${name} ${c.name}`,
        '[\\fIoptions\\fR]',
        ...c.arguments.map((a) => roff(argumentTerm(a))),
      ].join('\n'),
    ),
    '.SH DESCRIPTION',
    roff(spec.description),
    `Run \\fB${name} <command> \\-\\-help\\fR for the same text as below, one command at a time.`,
    '.SH GLOBAL OPTIONS',
    ...spec.globalOptions.map(optionItem),
    '.SH COMMANDS',
    ...spec.commands.map((c) => commandSection(name, c)),
    ...(spec.after === undefined ? [] : ['.SH NOTES', verbatim(spec.after)]),
  ].join('\n')}\n`
}
