import { describe, expect, it } from 'vitest'
import { EXIT, readFailure, writeFailure, writeFailureReason } from '../../src/errors.js'

const errno = (code: string): NodeJS.ErrnoException =>
  Object.assign(new Error(`${code}: something, open 'x'`), { code })

describe('one way to fail a write', () => {
  it.each([
    ['ELOOP', 'it is a symbolic link (rc2 never writes through a link at an output path)'],
    ['ENOSPC', 'no space left on the device'],
    ['EDQUOT', 'disk quota exceeded'],
    ['ENOENT', 'its directory does not exist'],
    ['EACCES', 'permission denied'],
    ['EPERM', 'permission denied'],
    ['EISDIR', 'it is a directory'],
    ['EFBIG', 'EFBIG'],
  ])('says why in words for %s', (code, words) => {
    expect(writeFailureReason(errno(code))).toBe(words)
  })

  it('falls back to the message of an error without a code', () => {
    expect(writeFailureReason(new Error('the write made no progress'))).toBe(
      'the write made no progress',
    )
  })

  it.each([
    ['--output', 'usage', EXIT.usage],
    ['--annotate', 'usage', EXIT.usage],
    ['-o', 'usage', EXIT.usage],
    ['--overlay', 'usage', EXIT.usage],
    ['--split', 'usage', EXIT.usage],
  ])('%s: kind %s, exit %i, message naming the flag, the path and why', (flag, kind, exit) => {
    const error = writeFailure(flag, '/tmp/out.png', errno('EACCES'))
    expect(error.kind).toBe(kind)
    expect(error.exitCode).toBe(exit)
    expect(error.message).toBe(`cannot write ${flag} /tmp/out.png: permission denied`)
    expect(error.hint).toBe(`choose a writable path for ${flag}`)
  })

  it('a link at the name gets advice about the link; a given hint and ending win', () => {
    expect(writeFailure('--output', 'r.ndjson', errno('ELOOP'), { verb: 'open' })).toMatchObject({
      message:
        'cannot open --output r.ndjson: it is a symbolic link (rc2 never writes through a link at an output path)',
      hint: 'give --output the real file, or remove the link',
    })
    expect(
      writeFailure('--output', 'r.ndjson', errno('ENOSPC'), {
        after: '; later results are not recorded',
        hint: 'free some space',
      }),
    ).toMatchObject({
      message:
        'cannot write --output r.ndjson: no space left on the device; later results are not recorded',
      hint: 'free some space',
    })
  })
})

describe('one errno mapping for a read', () => {
  it.each([
    ['ENOENT', 'missing'],
    ['EACCES', 'denied'],
    ['EPERM', 'denied'],
    ['EISDIR', 'directory'],
    ['ELOOP', 'loop'],
  ])('classifies %s as %s', (code, kind) => {
    expect(readFailure(errno(code))).toBe(kind)
  })

  it('leaves any other failure, or an error without a code, unclassified', () => {
    expect(readFailure(errno('EIO'))).toBeUndefined()
    expect(readFailure(new Error('no code'))).toBeUndefined()
  })
})
