import { describe, expect, it } from 'vitest'
import { register, type BalanceCommand } from '../../src/commands/balance.js'
import { optionsOf } from '../helpers/cli-options.js'

const balance = (...args: string[]): Promise<BalanceCommand> =>
  optionsOf(register, ['balance', ...args])

describe('rc2 balance: flags -> options', () => {
  it('leaves the provider, key and endpoint to the environment and config by default', async () => {
    expect(await balance()).toEqual({
      providers: {
        provider: undefined,
        apiKey: undefined,
        endpoint: undefined,
        allowInsecure: undefined,
        proxy: undefined,
        config: undefined,
      },
      json: false,
    })
  })

  it('takes a list of providers in any case, the key, endpoint, proxy and config', async () => {
    const command = await optionsOf(register, [
      ...['--config', 'c.json', 'balance', '-p', 'YesCaptcha,capsolver', '-k', 'k1'],
      ...[
        '--endpoint',
        'http://127.0.0.1:9',
        '--allow-insecure',
        '--proxy',
        'http://p:1',
        '--json',
      ],
    ])
    expect(command).toEqual({
      providers: {
        provider: 'yescaptcha,capsolver',
        apiKey: 'k1',
        endpoint: 'http://127.0.0.1:9',
        allowInsecure: true,
        proxy: 'http://p:1',
        config: 'c.json',
      },
      json: true,
    })
    expect((await balance('-k', 'a', '-k', 'b')).providers.apiKey).toBe('b')
  })

  it('refuses an unknown provider through commander, naming it', async () => {
    await expect(balance('-p', 'yescaptcha,bogus')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
      message: expect.stringMatching(/bogus/),
    })
  })
})
