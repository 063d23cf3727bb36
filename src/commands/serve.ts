import { InvalidArgumentError, Option, type Command } from 'commander'
import type { CliContext } from './context.js'
import { providerOptions, type ProviderFlags } from './options.js'
import { providerOptionsOf } from './provider-setup.js'
import type { ProviderOptions } from '../engine/settings.js'

interface ServeFlags extends ProviderFlags {
  port: number
  host: string
  output?: string
  log?: 'json' | 'text'
}

/** What `rc2 serve` is asked to do, from its flags. */
export interface ServeCommand {
  providers: ProviderOptions
  host: string
  port: number
  output: string | undefined
  logJson: boolean
}

function parsePort(value: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65_535)
    throw new InvalidArgumentError('give a port from 0 to 65535 (0 takes a free one)')
  return port
}

export function register(program: Command, ctx: CliContext, run = runServe): void {
  const command = program
    .command('serve')
    .description(
      "A local gateway speaking the services' own protocols (createTask family, 2Captcha in.php/res.php), forwarding to the configured services with rc2's preparation, failover and budgets.",
    )
  for (const option of providerOptions()) command.addOption(option)
  command
    .option('--port <n>', 'port to listen on (0 takes a free one)', parsePort, 8090)
    .option(
      '--host <addr>',
      'address to listen on (beyond loopback only with serve.clients)',
      '127.0.0.1',
    )
    .option(
      '--output <file>',
      'append every answer to this NDJSON file, as rc2 solve --output does',
    )
    .addOption(new Option('--log <format>', 'log lines on stderr').choices(['text', 'json']))
    .addHelpText(
      'after',
      "\nExamples:\n  $ rc2 serve --port 8090\n  $ rc2 serve --host 0.0.0.0 --output answers.ndjson --log json\n\nSee docs/serve.md for pointing each service's client at the gateway.",
    )
    .action((flags: ServeFlags) =>
      run(
        {
          providers: providerOptionsOf(flags, ctx),
          host: flags.host,
          port: flags.port,
          output: flags.output,
          logJson: flags.log === 'json',
        },
        ctx,
      ),
    )
}

/** The gateway, until the first interrupt; then no new tasks, and those in flight finished. */
async function runServe(command: ServeCommand, ctx: CliContext): Promise<void> {
  const [{ engineHost }, { loadRunConfig }] = await Promise.all([
    import('./provider-setup.js'),
    import('../engine/settings.js'),
  ])
  const config = await loadRunConfig(command.providers, engineHost(ctx))
  const { startGateway, gatewayClients } = await import('../serve/run.js')
  for (const client of gatewayClients(config)) ctx.out.addSecret(client.key)
  const writeLine = (line: string): void => ctx.out.info(line)
  const { host, port, output, logJson } = command
  const running = await startGateway({ config, host, port, output, logJson, writeLine })
  writeLine(`listening on ${running.url}`)
  await new Promise<void>((resolve) => {
    if (ctx.signal.aborted) resolve()
    ctx.signal.addEventListener('abort', () => resolve(), { once: true })
  })
  writeLine('shutting down: no new tasks; finishing those in flight')
  await running.close(undefined, ctx.stopNow)
}
