/**
 * One meaning of --confidence (tiles scoring above it), in process against the loopback server:
 * YesCaptcha gets it for 3x3 images and stderr says once where it means nothing (4x4, a 100x100
 * tile); Ace Data Cloud's per-tile scores are thresholded by rc2; CapSolver takes none, said once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  type ProviderServer,
  renderRedGrid,
  startProviderServer,
} from '../helpers/provider-server.js'

let server: ProviderServer
let root: string

async function rc2(
  args: string[],
  extraEnv?: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = extraEnv ?? { HOME: root, RC2_API_KEY: DEFAULT_TEST_KEY }
  return runInProcess([...args, ...(extraEnv === undefined ? ['--endpoint', server.url] : [])], {
    env,
    cwd: root,
  })
}

const count = (text: string, part: string): number => text.split(part).length - 1

beforeAll(async () => {
  server = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-confidence-'))
  await writeFile(join(root, 'a3.png'), await renderRedGrid('3x3', [1, 5]))
  await writeFile(join(root, 'b3.png'), await renderRedGrid('3x3', [0]))
  await writeFile(join(root, 'a4.png'), await renderRedGrid('4x4', [2, 3]))
  await writeFile(join(root, 'b4.png'), await renderRedGrid('4x4', [7]))
  await writeFile(join(root, 'tile.png'), await renderRedGrid('1x1', [0]))
})

afterAll(async () => {
  await server.close()
  await rm(root, { recursive: true, force: true })
})

beforeEach(() => {
  server.setOracle(undefined)
  server.resetCounters()
})

describe('--confidence', () => {
  it('yescaptcha: sent for 3x3, and stderr says once that it means nothing for 4x4 and for a tile', async () => {
    const r = await rc2([
      'solve',
      'a3.png',
      'b3.png',
      'a4.png',
      'b4.png',
      'tile.png',
      '-q',
      'car',
      '--confidence',
      '0.3',
      '--ndjson',
    ])
    expect(r.code, r.stderr).toBe(0)
    const sent = server.requests.map(
      (q) => (q.body as { task: { confidence?: number } }).task.confidence,
    )
    expect(sent.filter((c) => c === 0.3)).toHaveLength(2)
    expect(sent.filter((c) => c === undefined)).toHaveLength(3)
    expect(
      count(
        r.stderr,
        '--confidence means nothing for a 4x4 image at YesCaptcha (3x3 only): not sent',
      ),
    ).toBe(1)
    expect(
      count(
        r.stderr,
        '--confidence means nothing for a 100x100 tile at YesCaptcha (3x3 only): not sent',
      ),
    ).toBe(1)
    const quiet = await rc2(['solve', 'a3.png', '-q', 'car', '--confidence', '0.3', '--json'])
    expect(quiet.stderr).not.toContain('--confidence')
  })

  it('acedata: rc2 applies the threshold to the scores, nothing said', async () => {
    server.setOracle(({ grid }) =>
      grid === '3x3'
        ? [0.1, 0.35, 0.6, 0.25, 0.31, 0.9, 0, 0.3, 0.5]
        : Array.from({ length: 16 }, () => 0.2),
    )
    const r = await rc2([
      'solve',
      'a3.png',
      '-q',
      'car',
      '-p',
      'acedata',
      '--confidence',
      '0.3',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const result = JSON.parse(r.stdout) as { objects: number[]; confidences: number[] }
    expect(result.objects).toEqual([1, 2, 4, 5, 8])
    expect(result.confidences).toHaveLength(9)
    expect(r.stderr).not.toContain('confidence')
    const plain = JSON.parse(
      (await rc2(['solve', 'a3.png', '-q', 'car', '-p', 'acedata', '--json'])).stdout,
    ) as { objects: number[] }
    expect(plain.objects).toEqual([2, 5, 8])
  })

  it('capsolver: not sent, and stderr says so once for the batch', async () => {
    const r = await rc2([
      'solve',
      'a3.png',
      'b3.png',
      'a4.png',
      '-q',
      'car',
      '-p',
      'capsolver',
      '--confidence',
      '0.5',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(
      count(
        r.stderr,
        '--confidence is ignored: CapSolver takes no threshold and returns no scores',
      ),
    ).toBe(1)
    for (const q of server.requests)
      expect((q.body as { task: Record<string, unknown> }).task).not.toHaveProperty('confidence')
  })

  it('a failover list says it for each service that ignores it, once', async () => {
    const r = await rc2(
      [
        'solve',
        'a3.png',
        'b3.png',
        '-q',
        'car',
        '-p',
        'yescaptcha,capsolver',
        '--confidence',
        '0.5',
        '--json',
      ],
      {
        HOME: root,
        NO_COLOR: '1',
        CI: '1',
        RC2_YESCAPTCHA_API_KEY: DEFAULT_TEST_KEY,
        RC2_YESCAPTCHA_ENDPOINT: server.endpoints.yescaptcha,
        RC2_CAPSOLVER_API_KEY: DEFAULT_TEST_KEY,
        RC2_CAPSOLVER_ENDPOINT: server.endpoints.capsolver,
      },
    )
    expect(r.code, r.stderr).toBe(0)
    expect(
      count(
        r.stderr,
        '--confidence is ignored: CapSolver takes no threshold and returns no scores',
      ),
    ).toBe(1)
    expect(r.stderr).not.toContain('means nothing')
  })
})
