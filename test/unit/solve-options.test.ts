import { describe, expect, it } from 'vitest'
import { register, type SolveCommand } from '../../src/commands/solve.js'
import { UsageError } from '../../src/errors.js'
import { optionsOf } from '../helpers/cli-options.js'

const solve = (...args: string[]): Promise<SolveCommand> => optionsOf(register, ['solve', ...args])

describe('rc2 solve: flags -> the engine options', () => {
  it('takes the inputs and the question; everything else is left to the config', async () => {
    const { inputs, filesFrom, options } = await solve('a.png', 'shots/', '-q', 'car')
    expect(inputs).toEqual(['a.png', 'shots/'])
    expect(filesFrom).toBeUndefined()
    expect(options.question).toBe('car')
    for (const key of ['grid', 'format', 'timeoutMs', 'concurrency', 'provider', 'config'] as const)
      expect(options[key], key).toBeUndefined()
  })

  it('turns values into what the engine takes', async () => {
    const { options } = await solve(
      ...['a.png', '-q', '/m/0k4j', '-g', '4x4', '--timeout', '2.5', '--concurrency', '16'],
      ...['--shard', '2/4', '--max-points', '30', '-p', 'YesCaptcha,CAPSOLVER', '--dry-run'],
    )
    expect(options).toMatchObject({
      grid: '4x4',
      timeoutMs: 2500,
      concurrency: 16,
      shard: { index: 2, count: 4 },
      maxPoints: 30,
      provider: 'yescaptcha,capsolver',
      dryRun: true,
    })
    expect((await solve('a.png', '-q', 'car', '-g', 'auto')).options.grid).toBeUndefined()
    expect((await solve('a.png', '-q', 'car', '--tiles', '1, 4 7')).options.tiles).toEqual([
      1, 4, 7,
    ])
  })

  it('chooses the output format: --format over --json and --ndjson', async () => {
    expect((await solve('a.png', '-q', 'car', '--json')).options.format).toBe('json')
    expect((await solve('a.png', '-q', 'car', '--ndjson')).options.format).toBe('ndjson')
    expect((await solve('a.png', '-q', 'car', '--json', '--format', 'csv')).options.format).toBe(
      'csv',
    )
  })

  it('takes the last of a repeated flag, and the global --config', async () => {
    const { options } = await optionsOf(register, [
      ...['--config', 'team.json', 'solve', 'a.png', '-q', 'bus', '-q', 'car'],
      ...['-p', 'nopecha', '-p', 'acedata'],
    ])
    expect(options).toMatchObject({ question: 'car', provider: 'acedata', config: 'team.json' })
  })

  it('reads --files-from when the run starts: the list is the input', async () => {
    const command = await solve('-q', 'car', '--files-from', 'list.txt')
    expect(command.inputs).toEqual([])
    expect(command.filesFrom).toBe('list.txt')
  })

  it('refuses what cannot go together as a usage error', async () => {
    await expect(solve('-q', 'car')).rejects.toThrow(UsageError)
    await expect(solve('a.png', '-q', 'car', '--json', '--ndjson')).rejects.toThrow(
      /one of --json and --ndjson/,
    )
    await expect(solve('-', '-q', 'car', '--files-from', '-')).rejects.toThrow(
      /both the --files-from list and an image/,
    )
  })

  it('refuses bad values through commander (exit 2 in rc2), naming what it expected', async () => {
    const bad: [string[], RegExp][] = [
      [['--concurrency', '0'], /whole number from 1 to 256/],
      [['--timeout', '0'], /seconds above 0/],
      [['--max-points', '0'], /--dry-run/],
      [['--shard', '5/4'], /1 <= k <= n/],
      [['--confidence', '1.5'], /from 0 to 1/],
      [['-g', '5x5'], /Allowed choices/],
      [['--tiles', '1,16'], /0-15/],
      [['-p', 'nosuch'], /nosuch/],
    ]
    for (const [flags, message] of bad)
      await expect(solve('a.png', '-q', 'car', ...flags), flags.join(' ')).rejects.toMatchObject({
        code: 'commander.invalidArgument',
        message: expect.stringMatching(message),
      })
    await expect(solve('a.png')).rejects.toMatchObject({
      code: 'commander.missingMandatoryOptionValue',
    })
  })
})
