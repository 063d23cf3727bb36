import type { ArgumentSpec, CommandSpec, OptionSpec, ProgramSpec } from './program-spec.js'

/** The shells `rc2 completion` writes a script for. */
export type Shell = 'bash' | 'zsh' | 'fish'

export function renderCompletion(spec: ProgramSpec, shell: Shell): string {
  if (shell === 'bash') return renderBash(spec)
  if (shell === 'zsh') return renderZsh(spec)
  return renderFish(spec)
}

/** A string as one word in bash or zsh single quotes. */
function sq(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`
}

/** Words of an option: `-p --provider`. */
function names(option: OptionSpec): string[] {
  return [option.short, option.long].filter((n): n is string => n !== undefined)
}

/** Every value one option or argument may be completed with, as a bash statement. */
function bashValues(kind: OptionSpec['valueKind'], choices?: readonly string[]): string {
  if (kind === 'provider') return '_rc2_csv "$_rc2_providers"'
  if (kind === 'question') return '_rc2_lines "$_rc2_questions"'
  if (kind === 'choices') return `_rc2_lines ${sq((choices ?? []).join('\n'))}`
  if (kind === 'file') return '_rc2_files'
  return ':'
}

function bashCommand(command: CommandSpec): string {
  const valued = command.options.filter((o) => o.value !== undefined)
  const cases = valued.map(
    (o) => `        ${names(o).join('|')}) ${bashValues(o.valueKind, o.choices)}; return ;;`,
  )
  const words = command.options.flatMap(names).join(' ')
  const arg: ArgumentSpec | undefined = command.arguments[0]
  const args = arg === undefined ? ':' : bashValues(arg.valueKind, arg.choices)
  return [
    `    ${command.name})`,
    ...(cases.length > 0 ? ['      case $prev in', ...cases, '      esac'] : []),
    `      if [[ $cur == -* ]]; then _rc2_lines ${sq(words.replace(/ /g, '\n'))}; else ${args}; fi`,
    '      ;;',
  ].join('\n')
}

function renderBash(spec: ProgramSpec): string {
  const globals = spec.globalOptions.flatMap(names)
  return `# bash completion for ${spec.name}: eval "$(${spec.name} completion bash)" in ~/.bashrc, or save it
# as ~/.local/share/bash-completion/completions/${spec.name}
_rc2_providers=${sq(spec.providers.join('\n'))}
_rc2_questions=${sq(spec.questions.join('\n'))}

# The candidates (one a line) that start with the word being completed, quoted for the line.
_rc2_lines() {
  local IFS=$'\\n' word
  for word in $1; do
    [[ $word == "$cur"* ]] && COMPREPLY+=("$(printf '%q' "$word")")
  done
}

# A comma list (a failover order): complete the name after the last comma.
_rc2_csv() {
  local IFS=$'\\n' word head=""
  [[ $cur == *,* ]] && head=\${cur%,*},
  for word in $1; do
    [[ $head$word == "$cur"* ]] && COMPREPLY+=("$head$word")
  done
}

_rc2_files() {
  local IFS=$'\\n'
  COMPREPLY+=($(compgen -f -- "$cur"))
  compopt -o filenames 2> /dev/null
}

_rc2() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} command="" i
  COMPREPLY=()
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --config) ((i++)) ;;
      -*) ;;
      *) command=\${COMP_WORDS[i]}; break ;;
    esac
  done
  case $command in
    '')
      case $prev in
        --config) _rc2_files; return ;;
      esac
      if [[ $cur == -* ]]; then _rc2_lines ${sq(globals.join('\n'))}
      else _rc2_lines ${sq([...spec.commands.map((c) => c.name), 'help'].join('\n'))}; fi
      ;;
${spec.commands.map(bashCommand).join('\n')}
    help) _rc2_lines ${sq(spec.commands.map((c) => c.name).join('\n'))} ;;
  esac
}
complete -F _rc2 ${spec.name}
`
}

/** A description inside zsh's `[...]` (and single quotes). */
function zshDescription(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/([[\]:])/g, '\\$1')
}

function zshAction(kind: OptionSpec['valueKind'], choices?: readonly string[]): string {
  if (kind === 'provider') return '_rc2_providers'
  if (kind === 'question') return '_rc2_questions'
  if (kind === 'choices')
    return `(${(choices ?? []).map((c) => c.replace(/([\s()\\])/g, '\\$1')).join(' ')})`
  if (kind === 'file') return '_files'
  return ' '
}

function zshOption(option: OptionSpec): string[] {
  const description = zshDescription(option.description.split('\n')[0] ?? '')
  const value =
    option.value === undefined
      ? ''
      : `:${option.value.replace(/[:\\]/g, '')}:${zshAction(option.valueKind, option.choices)}`
  return names(option).map((name) => sq(`${name}[${description}]${value}`))
}

function zshCommand(command: CommandSpec): string {
  const specs = command.options.flatMap(zshOption)
  const arg = command.arguments[0]
  if (arg !== undefined)
    specs.push(
      sq(
        `${arg.variadic ? '*' : '1'}:${arg.name.replace(/[:\\]/g, '')}:${zshAction(arg.valueKind, arg.choices)}`,
      ),
    )
  return `        ${command.name})\n          _arguments -s \\\n            ${specs.join(' \\\n            ')}\n          ;;`
}

function renderZsh(spec: ProgramSpec): string {
  const commands = spec.commands.map((c) => sq(`${c.name}:${c.description.split('\n')[0] ?? ''}`))
  return `#compdef ${spec.name}
# zsh completion for ${spec.name}: save as _${spec.name} in a directory of $fpath (then compinit), or
# source it after compinit: source <(${spec.name} completion zsh)

_rc2_providers() {
  _values -s , provider ${spec.providers.map(sq).join(' ')}
}

_rc2_questions() {
  local -a questions
  questions=(${spec.questions.map(sq).join(' ')})
  compadd -a questions
}

_rc2() {
  local curcontext=$curcontext state line
  local -a commands
  commands=(${commands.join(' ')} 'help:help for a command')
  _arguments -C \\
    ${spec.globalOptions.flatMap(zshOption).join(' \\\n    ')} \\
    '1: :->command' \\
    '*:: :->argument'
  case $state in
    command) _describe -t commands command commands ;;
    argument)
      case $line[1] in
${spec.commands.map(zshCommand).join('\n')}
        help) _describe -t commands command commands ;;
      esac
      ;;
  esac
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _rc2 "$@"
else
  compdef _rc2 ${spec.name}
fi
`
}

/** A string in fish single quotes. */
function fq(text: string): string {
  return `'${text.replace(/[\\']/g, '\\$&')}'`
}

function fishValues(kind: OptionSpec['valueKind'], choices?: readonly string[]): string {
  if (kind === 'provider') return ` -x -a '(__rc2_providers)'`
  if (kind === 'question') return ` -x -a '(__rc2_questions)'`
  if (kind === 'choices') return ` -x -a ${fq((choices ?? []).join(' '))}`
  if (kind === 'file') return ' -r -F'
  return ' -x'
}

function fishOption(option: OptionSpec, condition: string): string {
  const short = option.short === undefined ? '' : ` -s ${option.short.slice(1)}`
  const long = option.long === undefined ? '' : ` -l ${option.long.slice(2)}`
  const value = option.value === undefined ? '' : fishValues(option.valueKind, option.choices)
  const description = fq(option.description.split('\n')[0] ?? '')
  return `complete -c rc2 -n ${fq(condition)}${short}${long}${value} -d ${description}`
}

function fishCommand(command: CommandSpec): string[] {
  const condition = `__fish_seen_subcommand_from ${command.name}`
  const arg = command.arguments[0]
  const args =
    arg === undefined || arg.valueKind === 'none'
      ? []
      : [
          `complete -c rc2 -n ${fq(condition)}${arg.valueKind === 'file' ? ' -F' : fishValues(arg.valueKind, arg.choices)}`,
        ]
  return [
    `complete -c rc2 -n __fish_use_subcommand -a ${command.name} -d ${fq(command.description.split('\n')[0] ?? '')}`,
    ...command.options.map((o) => fishOption(o, condition)),
    ...args,
  ]
}

function renderFish(spec: ProgramSpec): string {
  return `# fish completion for ${spec.name}: ${spec.name} completion fish > ~/.config/fish/completions/${spec.name}.fish
function __rc2_providers
    # A comma list is a failover order: offer each name after what is already typed.
    set -l head (string match -r '^.*,' -- (commandline -ct))
    test -n "$head"; or set head ''
    for name in ${spec.providers.map(fq).join(' ')}
        echo $head$name
    end
end

function __rc2_questions
    printf '%s\\n' ${spec.questions.map(fq).join(' ')}
end

complete -c rc2 -f
${spec.globalOptions.map((o) => fishOption(o, '__fish_use_subcommand')).join('\n')}
${spec.commands.flatMap(fishCommand).join('\n')}
complete -c rc2 -n __fish_use_subcommand -a help -d 'help for a command'
`
}
