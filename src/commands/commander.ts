/**
 * commander, required rather than imported: it is CommonJS, and going through its ES wrapper
 * costs start-up time (`rc2 --help` is measured against `node -e 0`) for nothing.
 */
import { createRequire } from 'node:module'
import type * as Commander from 'commander'

const commander: typeof Commander = createRequire(import.meta.url)('commander') as typeof Commander

export const Command: typeof Commander.Command = commander.Command
export type Command = Commander.Command
export const CommanderError: typeof Commander.CommanderError = commander.CommanderError
export type CommanderError = Commander.CommanderError
export const Help: typeof Commander.Help = commander.Help
export type Help = Commander.Help
export const InvalidArgumentError: typeof Commander.InvalidArgumentError =
  commander.InvalidArgumentError
export const Option: typeof Commander.Option = commander.Option
export type Option = Commander.Option
