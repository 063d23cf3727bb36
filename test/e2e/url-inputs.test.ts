/**
 * Inputs by URL and --files-from (docs/commands.md), in process against two loopback servers: one
 * serving images (and pages, errors, oversized and slow bodies), one speaking the services'
 * protocol. The image host must never see the API key.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runInProcess } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  type ProviderServer,
  renderRedGrid,
  startProviderServer,
} from '../helpers/provider-server.js'

let provider: ProviderServer
let images: Server
let base: string
let root: string
const imageRequests: { url: string; headers: IncomingHttpHeaders }[] = []
const LIMIT = 200_000

interface Result {
  input: string
  ok: boolean
  objects?: number[]
  error?: { kind: string; code: string | null; message: string }
}

async function rc2(
  args: string[],
  stdinText?: string,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = performance.now()
  const run = await runInProcess(
    [...args, ...(args[0] === 'solve' ? ['--endpoint', provider.url] : [])],
    { env: { HOME: root, RC2_API_KEY: DEFAULT_TEST_KEY }, cwd: root, input: stdinText ?? '' },
  )
  expect(run.stdout + run.stderr).not.toContain(DEFAULT_TEST_KEY)
  return { ...run, ms: performance.now() - started }
}

beforeAll(async () => {
  provider = await startProviderServer()
  root = await mkdtemp(join(tmpdir(), 'rc2-url-'))
  // A small input limit, so "oversized" needs no large body.
  await writeFile(join(root, '.recaptcharc.json'), JSON.stringify({ image: { maxBytes: LIMIT } }))
  const png = await renderRedGrid('3x3', [2, 4])
  const jpeg = await sharp(await renderRedGrid('3x3', [0, 8]))
    .jpeg({ quality: 90 })
    .toBuffer()
  images = createServer((req, res) => {
    imageRequests.push({ url: req.url ?? '', headers: req.headers })
    switch (req.url) {
      case '/a.png':
        res.writeHead(200, { 'content-type': 'image/png' }).end(png)
        return
      case '/jump':
        res.writeHead(302, { location: '/img/b.jpg?sig=1' }).end()
        return
      case '/img/b.jpg?sig=1':
        // Saved with the wrong type on purpose: rc2 sniffs the content.
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(jpeg)
        return
      case '/to-file':
        res.writeHead(301, { location: 'file:///etc/passwd' }).end()
        return
      case '/page':
        res
          .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
          .end('<!doctype html><html><body><img src="/a.png"></body></html>')
        return
      case '/huge': {
        // Chunked, no length: the limit must hold while reading.
        res.writeHead(200, { 'content-type': 'image/png' })
        const chunk = Buffer.alloc(64 * 1024, 7)
        let sent = 0
        const pump = (): void => {
          while (sent < 50 * 1024 * 1024) {
            sent += chunk.length
            if (!res.write(chunk)) {
              res.once('drain', pump)
              return
            }
          }
          res.end()
        }
        res.on('close', () => (sent = Infinity))
        pump()
        return
      }
      case '/slow':
        // Headers and the first bytes at once, then a byte now and then: past any deadline.
        res.writeHead(200, { 'content-type': 'image/png' })
        res.write(png.subarray(0, 100))
        {
          let at = 100
          const timer = setInterval(() => {
            if (at >= png.length) return
            res.write(png.subarray(at, at + 1))
            at += 1
          }, 200)
          res.on('close', () => clearInterval(timer))
        }
        return
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found')
    }
  })
  await new Promise<void>((resolve) => images.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(images.address() as AddressInfo).port}`
})

afterAll(async () => {
  images.closeAllConnections()
  await new Promise<void>((resolve) => images.close(() => resolve()))
  await provider.close()
  await rm(root, { recursive: true, force: true })
  // The key goes to the service only, never to the host of an image.
  for (const request of imageRequests) {
    expect(request.headers.authorization).toBeUndefined()
    expect(JSON.stringify(request.headers)).not.toContain(DEFAULT_TEST_KEY)
    expect(request.url).not.toContain(DEFAULT_TEST_KEY)
  }
})

describe('inputs by URL', () => {
  it('a PNG and a JPEG behind a redirect are solved; input keeps the URL', async () => {
    const r = await rc2([
      'solve',
      `${base}/a.png`,
      `${base}/jump`,
      '-q',
      'car',
      '--confidence',
      '0.5',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const results = JSON.parse(r.stdout) as Result[]
    expect(results.map((x) => [x.input, x.ok, x.objects])).toEqual([
      [`${base}/a.png`, true, [2, 4]],
      [`${base}/jump`, true, [0, 8]],
    ])
    const one = await rc2(['solve', `${base}/a.png`, '-q', 'car', '--confidence', '0.5', '--json'])
    expect((JSON.parse(one.stdout) as Result).input).toBe(`${base}/a.png`)
    // --since takes a URL too: the same image twice is no change, and nothing is sent.
    provider.resetCounters()
    const same = await rc2([
      'solve',
      `${base}/a.png`,
      '--since',
      `${base}/a.png`,
      '-q',
      'car',
      '--json',
    ])
    expect(same.code, same.stderr).toBe(0)
    expect(JSON.parse(same.stdout)).toMatchObject({
      input: `${base}/a.png`,
      checked: [],
      objects: [],
    })
    expect(provider.createCount).toBe(0)
  })

  it('a 404, an HTML page, a redirect to file:, an oversized and a slow body each fail alone, named, in a batch that goes on', async () => {
    const urls = ['/missing', '/page', '/to-file', '/huge', '/slow', '/a.png'].map(
      (p) => `${base}${p}`,
    )
    const r = await rc2([
      'solve',
      ...urls,
      '-q',
      'car',
      '--confidence',
      '0.5',
      '--ndjson',
      '--timeout',
      '2',
    ])
    expect(r.code).toBe(6)
    const results = new Map(
      r.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Result)
        .map((x) => [x.input, x]),
    )
    const error = (path: string): Result['error'] => results.get(`${base}${path}`)!.error
    expect(error('/missing')).toMatchObject({
      kind: 'input',
      code: 'HTTP_404',
      message: `${base}/missing: the server answered 404 Not Found`,
    })
    expect(error('/page')).toMatchObject({
      kind: 'input',
      message: `${base}/page is a web page (HTML) (text/html), not an image`,
    })
    expect(error('/to-file')!.message).toBe(
      `${base}/to-file redirects to file: (file:///etc/passwd); rc2 follows redirects to http and https only`,
    )
    expect(error('/huge')).toMatchObject({
      kind: 'input',
      message: `${base}/huge is over the 0.2 MB limit (rc2 stopped reading it there)`,
    })
    expect(error('/slow')).toMatchObject({
      kind: 'timeout',
      message: `${base}/slow: no complete image within 2 s (--timeout)`,
    })
    expect(results.get(`${base}/a.png`)).toMatchObject({ ok: true, objects: [2, 4] })
    // Every failure is said once on stderr, without a stack trace.
    expect(r.stderr).not.toMatch(/\n\s+at /)
    // The slow body was cut at the deadline, not read to its end (which takes minutes).
    expect(r.ms).toBeLessThan(20_000)
  }, 60_000)
})

describe('rc2 grid <url>', () => {
  it('fetches the image and shows its geometry; a page is refused', async () => {
    const r = await rc2(['grid', `${base}/jump`, '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({
      input: `${base}/jump`,
      grid: '3x3',
      kind: 'payload',
      width: 300,
      height: 300,
    })
    const page = await rc2(['grid', `${base}/page`])
    expect(page.code).toBe(4)
    expect(page.stderr).toContain(`${base}/page is a web page (HTML)`)
  })
})

describe('--files-from', () => {
  it('reads inputs one per line (file or stdin), skips blanks and # comments, always prints an array', async () => {
    await writeFile(join(root, 'one.png'), await renderRedGrid('3x3', [1]))
    await writeFile(join(root, 'list.txt'), `# today's shots\n\none.png\r\n${base}/a.png\n   \n`)
    const r = await rc2([
      'solve',
      '--files-from',
      'list.txt',
      '-q',
      'car',
      '--confidence',
      '0.5',
      '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const results = JSON.parse(r.stdout) as Result[]
    expect(results.map((x) => [x.input, x.objects])).toEqual([
      ['one.png', [1]],
      [`${base}/a.png`, [2, 4]],
    ])
    const single = await rc2(
      ['solve', '--files-from', '-', '-q', 'car', '--confidence', '0.5', '--json'],
      'one.png\n',
    )
    expect(single.code, single.stderr).toBe(0)
    expect(JSON.parse(single.stdout)).toEqual([
      expect.objectContaining({ input: 'one.png', objects: [1] }),
    ])
    const missing = await rc2(['solve', '--files-from', 'nope.txt', '-q', 'car', '--json'])
    expect(missing.code).toBe(4)
    expect(missing.stderr).toContain('--files-from nope.txt: no such file or directory')
    const none = await rc2(['solve', '-q', 'car'])
    expect(none.code).toBe(2)
    expect(none.stderr).toContain('no input')
  })
})
