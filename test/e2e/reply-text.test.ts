/**
 * A service that answers with a 3 MB errorDescription (or status, or task id): what rc2 passes on
 * (the error message, stderr, stdout, --output) holds a few hundred characters of it, marked as
 * cut with the full length, and never the key, even where the key sits past the cut.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProvider } from '../../src/providers/index.js'
import { runInProcess } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  type ProviderServer,
  renderRedGrid,
  startProviderServer,
} from '../helpers/provider-server.js'

const HUGE = 3 * 1024 * 1024
const MARK = `…(cut, ${HUGE} chars)`

let server: ProviderServer
let root: string
beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-reply-text-'))
  await writeFile(join(root, 'a.png'), await renderRedGrid('3x3', [1, 5]))
})
afterAll(async () => {
  await server.close()
  await rm(root, { recursive: true, force: true })
})

describe('text from a reply is capped', () => {
  it('a 3 MB errorDescription reaches stderr, stdout and --output as a few hundred characters, marked as cut', async () => {
    server.setReply({
      json: { errorId: 1, errorCode: 'ERROR_SOMETHING', errorDescription: 'x'.repeat(HUGE) },
    })
    try {
      const output = join(root, 'out.json')
      const run = await runInProcess(
        [
          'solve',
          'a.png',
          '-q',
          'car',
          '--json',
          '--output',
          output,
          '--retries',
          '0',
          '--endpoint',
          server.url,
        ],
        {
          env: { HOME: root, RC2_API_KEY: DEFAULT_TEST_KEY },
          cwd: root,
        },
      )
      const saved = await readFile(output, 'utf8')
      expect(run.code).not.toBe(0)
      for (const text of [run.stderr, run.stdout, saved]) {
        expect(text).toContain(MARK)
        expect(text.length).toBeLessThan(5000)
      }
    } finally {
      server.setReply(undefined)
    }
  })

  it('the key is masked before the cut, so no part of it survives past the mark', async () => {
    const key = 'sk-cap-test-0123456789abcdef'
    server.setKeys([key])
    // The key straddles the 300th character: a cut before masking would leave its first half.
    const description = `${'y'.repeat(290)}${key}${'z'.repeat(HUGE - 290 - key.length)}`
    server.setReply({ json: { errorId: 1, errorCode: 'ERROR_X', errorDescription: description } })
    try {
      const provider = createProvider('yescaptcha', {
        apiKey: key,
        endpoint: server.url,
        retries: 0,
      })
      const error = (await provider.balance().then(
        () => new Error('expected a failure'),
        (caught: unknown) => caught,
      )) as Error
      expect(error.message).toContain('***')
      expect(error.message).not.toContain(key.slice(0, 8))
      expect(error.message).toContain(MARK)
    } finally {
      server.setReply(undefined)
      server.setKeys([DEFAULT_TEST_KEY])
    }
  })
})
