import { describe, expect, it } from 'vitest'
import { register, type ResizeOptions } from '../../src/commands/resize.js'
import { UsageError } from '../../src/errors.js'
import { optionsOf } from '../helpers/cli-options.js'

const resize = (...args: string[]): Promise<ResizeOptions> =>
  optionsOf(register, ['resize', ...args])

describe('rc2 resize: flags -> options', () => {
  it('writes a JPEG beside each input by default, the quality left to the config', async () => {
    expect(await resize('a.png', 'b.png')).toEqual({
      inputs: ['a.png', 'b.png'],
      grid: undefined,
      format: undefined,
      quality: undefined,
      output: undefined,
      base64: false,
      json: false,
    })
  })

  it('takes the grid, format, quality and target; the last of a repeated flag', async () => {
    expect(
      await resize(
        'a.png',
        '-g',
        '1x1',
        '--format',
        'png',
        '--quality',
        '90',
        '-o',
        'x/',
        '-o',
        'y/',
      ),
    ).toMatchObject({ grid: '1x1', format: 'png', quality: 90, output: 'y/' })
    expect(await resize('a.png', '--base64', '--json')).toMatchObject({ base64: true, json: true })
    expect((await resize('a.png', '--grid', 'auto')).grid).toBeUndefined()
  })

  it('refuses standard input and --base64 with -o as usage errors', async () => {
    await expect(resize('-')).rejects.toThrow(UsageError)
    await expect(resize('a.png', '-')).rejects.toThrow(/reads files, not standard input/)
    await expect(resize('a.png', '--base64', '-o', 'p.jpg')).rejects.toThrow(
      /--base64 prints to stdout/,
    )
  })

  it('refuses bad values and a missing input through commander', async () => {
    await expect(resize('a.png', '--quality', '0')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
      message: expect.stringMatching(/whole number from 1 to 100/),
    })
    await expect(resize('a.png', '--format', 'gif')).rejects.toMatchObject({
      code: 'commander.invalidArgument',
    })
    await expect(resize()).rejects.toMatchObject({ code: 'commander.missingArgument' })
  })
})
