import { describe, expect, it } from 'vitest'
import { register, type ServeCommand } from '../../src/commands/serve.js'
import { optionsOf } from '../helpers/cli-options.js'

const serve = (...args: string[]): Promise<ServeCommand> => optionsOf(register, ['serve', ...args])

describe('rc2 serve: flags -> options', () => {
  it('listens on 127.0.0.1:8090 with text logs and no results file by default', async () => {
    expect(await serve()).toMatchObject({
      host: '127.0.0.1',
      port: 8090,
      output: undefined,
      logJson: false,
    })
  })

  it('takes the address, the results file, JSON logs and the providers', async () => {
    expect(
      await serve(
        ...['--host', '0.0.0.0', '--port', '0', '--output', 'a.ndjson', '--log', 'json'],
        ...['-p', 'CapSolver'],
      ),
    ).toMatchObject({
      host: '0.0.0.0',
      port: 0,
      output: 'a.ndjson',
      logJson: true,
      providers: { provider: 'capsolver' },
    })
    expect((await serve('--port', '80', '--port', '8081')).port).toBe(8081)
    expect((await serve('--log', 'text')).logJson).toBe(false)
  })

  it('refuses a port out of range or not a number, and an unknown log format', async () => {
    for (const port of ['65536', 'abc', '-1', '80.5', ''])
      await expect(serve('--port', port), port).rejects.toMatchObject({
        code: 'commander.invalidArgument',
        message: expect.stringMatching(/port from 0 to 65535/),
      })
    await expect(serve('--log', 'xml')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    })
  })
})
