/**
 * The commands and options of rc2 as plain data, taken from the commander definitions
 * (commands/program-spec.ts), for what is generated from them: the shell completions and the man
 * page. Types only, so that renderers stay pure.
 */

/** What the shell offers for an option's value (or a command's arguments). */
export type ValueKind = 'none' | 'file' | 'provider' | 'question' | 'choices'

export interface OptionSpec {
  /** As commander shows it: `-p, --provider <name>`. */
  flags: string
  short?: string
  long?: string
  description: string
  /** The placeholder of a value (`name` of `<name>`), if the option takes one. */
  value?: string
  valueKind: ValueKind
  /** Allowed values where they are fixed (`--format`). */
  choices?: readonly string[]
}

export interface ArgumentSpec {
  name: string
  description: string
  required: boolean
  variadic: boolean
  valueKind: ValueKind
  choices?: readonly string[]
}

export interface CommandSpec {
  name: string
  description: string
  arguments: ArgumentSpec[]
  options: OptionSpec[]
  /** The help text added after the options (examples), as commander prints it. */
  after?: string
}

export interface ProgramSpec {
  name: string
  version: string
  description: string
  globalOptions: OptionSpec[]
  commands: CommandSpec[]
  /** What the shells complete for values named so. */
  providers: readonly string[]
  questions: readonly string[]
  /** The help text after the command list (examples, providers, environment, exit codes). */
  after?: string
}
