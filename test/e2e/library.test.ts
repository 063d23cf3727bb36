/**
 * The library as a user's program sees it: `import … from 'recaptcha-rc2'` resolved by Node through the
 * package's own exports (a script run inside the package), against the loopback server.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REPO } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'
import { renderCapture } from '../helpers/captures.js'

let server: ProviderServer
let dir: string

/** Run an ES module body with cwd = the repository, so that 'recaptcha-rc2' resolves to this package. */
function runModule(
  body: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', body], {
      cwd: REPO,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

beforeAll(async () => {
  server = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-lib-'))
  await writeFile(join(dir, 'grid.png'), await renderRedGrid('3x3', [2, 3, 7]))
  const widget = await renderCapture({
    payload: await renderRedGrid('4x4', [5, 10]),
    grid: '4x4',
    kind: 'widget',
    ratio: 2,
    seed: 9,
  })
  await writeFile(join(dir, 'widget.png'), widget.buffer)
})

afterAll(async () => {
  await server.close()
  await rm(dir, { recursive: true, force: true })
})

describe("import … from 'recaptcha-rc2'", () => {
  it('solve, prepareImage, lookupQuestion and createProvider behave as the CLI does', async () => {
    const body = `
      import { solve, prepareImage, lookupQuestion, createProvider, Rc2Error } from 'recaptcha-rc2'
      const out = {}
      const q = lookupQuestion('消防栓')
      out.lookup = { id: q.entry.id, grid: q.grid }
      out.sentence = lookupQuestion('Select all squares with traffic lights').grid
      const solved = await solve(${JSON.stringify(join(dir, 'grid.png'))}, { question: 'cars', confidence: 0.5, endpoint: ${JSON.stringify(server.url)} })
      out.solved = { objects: solved.objects, clicks: solved.clicks, grid: solved.grid }
      const prepared = await prepareImage(${JSON.stringify(join(dir, 'widget.png'))}, { name: 'widget.png' })
      out.prepared = { grid: prepared.grid, size: prepared.size, kind: prepared.layout.kind, dataPrefix: prepared.base64.startsWith('data:') }
      const provider = createProvider('capsolver', { apiKey: process.env.RC2_API_KEY, endpoint: ${JSON.stringify(server.endpoints.capsolver)} })
      const answer = await provider.recognize({ image: prepared.base64, grid: prepared.grid, size: prepared.size, question: '/m/0k4j' })
      out.answer = answer.objects
      out.described = provider.describeRequest({ image: '<image>', grid: prepared.grid, question: '/m/0k4j' })
      out.points = provider.pointsFor(prepared.grid)
      try {
        lookupQuestion('flying saucers')
      } catch (error) {
        out.unknown = { isRc2Error: error instanceof Rc2Error, kind: error.kind, exitCode: error.exitCode }
      }
      console.log(JSON.stringify(out))
    `
    const r = await runModule(body, { RC2_API_KEY: DEFAULT_TEST_KEY })
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as Record<string, unknown>
    expect(out.lookup).toEqual({ id: '/m/01pns0', grid: null })
    expect(out.sentence).toBe('4x4')
    expect(out.solved).toEqual({
      grid: '3x3',
      objects: [2, 3, 7],
      clicks: [
        { tile: 2, x: 250, y: 50 },
        { tile: 3, x: 50, y: 150 },
        { tile: 7, x: 150, y: 250 },
      ],
    })
    expect(out.prepared).toEqual({ grid: '4x4', size: 450, kind: 'widget', dataPrefix: false })
    expect(out.answer).toEqual([5, 10])
    expect(out.described).toEqual({
      method: 'POST',
      url: `${server.endpoints.capsolver.replace(/\/+$/, '')}/createTask`,
      headers: { 'content-type': 'application/json' },
      body: {
        clientKey: '***',
        task: { type: 'ReCaptchaV2Classification', image: '<image>', question: '/m/0k4j' },
      },
    })
    expect(out.points).toBe(1)
    expect(out.unknown).toEqual({ isRc2Error: true, kind: 'usage', exitCode: 2 })
  })

  it('loads sharp only when an image is touched, not for a question lookup', async () => {
    const body = `
      import { createRequire } from 'node:module'
      // sharp's native part is loaded through require, so its files show in the CommonJS cache.
      const cache = createRequire(process.cwd() + '/').cache
      const sharpLoaded = () => Object.keys(cache).some((k) => /[\\\\/]@img[\\\\/]sharp-|[\\\\/]sharp[\\\\/]package\\.json$/.test(k))
      const out = {}
      const { lookupQuestion, prepareImage } = await import('recaptcha-rc2')
      out.afterImport = sharpLoaded()
      out.lookup = lookupQuestion('消防栓').entry.id
      out.afterLookup = sharpLoaded()
      out.grid = (await prepareImage(${JSON.stringify(join(dir, 'grid.png'))})).grid
      out.afterImage = sharpLoaded()
      console.log(JSON.stringify(out))
    `
    const r = await runModule(body)
    expect(r.stderr).toBe('')
    expect(JSON.parse(r.stdout)).toEqual({
      afterImport: false,
      lookup: '/m/01pns0',
      afterLookup: false,
      grid: '3x3',
      afterImage: true,
    })
  })

  it('a dry run needs no key and sends nothing', async () => {
    const before = server.createCount
    const body = `
      import { solve } from 'recaptcha-rc2'
      const result = await solve(${JSON.stringify(join(dir, 'grid.png'))}, { question: '/m/0k4j', dryRun: true })
      console.log(JSON.stringify({ dryRun: result.dryRun, body: result.request.body }))
    `
    const r = await runModule(body)
    expect(r.code).toBe(0)
    const out = JSON.parse(r.stdout) as { dryRun: boolean; body: { clientKey: string } }
    expect(out.dryRun).toBe(true)
    expect(out.body.clientKey).toBe('***')
    expect(server.createCount).toBe(before)
  })
})
