import { describe, expect, it } from 'vitest'
import { register, type GridOptions } from '../../src/commands/grid.js'
import { UsageError } from '../../src/errors.js'
import { optionsOf } from '../helpers/cli-options.js'

const grid = (...args: string[]): Promise<GridOptions> => optionsOf(register, ['grid', ...args])

describe('rc2 grid: flags -> options', () => {
  it('shows the geometry and writes nothing by default', async () => {
    expect(await grid('shot.png')).toEqual({ input: 'shot.png', grid: undefined, json: false })
  })

  it('takes the pictures asked for; --mark with its -o', async () => {
    expect(
      await grid('shot.png', '-g', '3x3', '--json', '--overlay', 'o.png', '--split', 'tiles/'),
    ).toEqual({
      input: 'shot.png',
      grid: '3x3',
      json: true,
      overlay: 'o.png',
      split: 'tiles/',
    })
    expect((await grid('shot.png', '--mark', '1,4 7', '-o', 'm.png')).mark).toEqual({
      tiles: [1, 4, 7],
      output: 'm.png',
    })
    expect(
      (await grid('shot.png', '--mark', '1', '--mark', '2', '-o', 'm.png')).mark?.tiles,
    ).toEqual([2])
  })

  it('refuses --mark without -o and -o without --mark as usage errors', async () => {
    await expect(grid('shot.png', '--mark', '1,4')).rejects.toThrow(UsageError)
    await expect(grid('shot.png', '--mark', '1,4')).rejects.toThrow(/--mark needs -o/)
    await expect(grid('shot.png', '-o', 'm.png')).rejects.toThrow(/-o goes with --mark/)
  })

  it('refuses bad tile lists and grids through commander', async () => {
    for (const tiles of ['16', '1,x', '0x1', '', '1,,2'])
      await expect(grid('shot.png', '--mark', tiles, '-o', 'm.png'), tiles).rejects.toMatchObject({
        code: 'commander.invalidArgument',
      })
    await expect(grid('shot.png', '-g', '2x2')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    })
    await expect(grid()).rejects.toMatchObject({ code: 'commander.missingArgument' })
  })
})
