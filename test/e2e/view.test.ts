/**
 * `rc2 view`: results of a real batch (against the loopback service) become one HTML page, checked
 * in a real headless Chromium (the system's, driven by puppeteer-core; .ci/run installs it where
 * missing): every input has its card, the pictures are inlined with the tiles marked, the filter
 * shows what it says, picking answers writes the `rc2 report` command, outside strings are text
 * (not markup), and the page asks the network for nothing.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, runInProcess } from '../helpers/cli.js'
import {
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(
  (path) => existsSync(path),
)
/** A file name that is markup if it is not escaped. */
const HOSTILE = `<img src=x onerror="document.title='pwned'">.png`

let server: ProviderServer
let dir: string
let browser: Browser
let page: Page
const requests: string[] = []

const rc2 = (args: string[], env: Record<string, string> = {}) =>
  runInProcess(args, {
    cwd: dir,
    env: {
      HOME: dir,
      RC2_CAPSOLVER_API_KEY: DEFAULT_TEST_KEY,
      RC2_CAPSOLVER_ENDPOINT: server.endpoints.capsolver,
      ...env,
    },
  })

beforeAll(async () => {
  if (CHROMIUM === undefined) throw new Error('no Chromium: apt-get install chromium')
  server = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-view-'))
  await writeFile(join(dir, 'a.png'), await renderRedGrid('3x3', [0, 4, 8]))
  await writeFile(join(dir, HOSTILE), await renderRedGrid('3x3', [2]))
  await copyFile(join(FIXTURES, 'widget-3x3-1x.png'), join(dir, 'screenshot.png'))
  await writeFile(join(dir, 'not-an-image.png'), 'hello')
  const solved = await rc2([
    'solve',
    'a.png',
    HOSTILE,
    'screenshot.png',
    'not-an-image.png',
    '-q',
    'cars',
    '-p',
    'capsolver',
    '--force',
    '--output',
    'results.ndjson',
  ])
  expect(solved.code, solved.stderr).toBe(6)
  const viewed = await rc2(['view', 'results.ndjson', '-o', 'review.html'])
  expect({ code: viewed.code, stderr: viewed.stderr }).toEqual({
    code: 0,
    stderr: 'review.html: 4 inputs (3 answered, 1 failed)\n',
  })
  browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  })
  page = await browser.newPage()
  page.on('request', (request) => {
    if (!request.url().startsWith('data:') && !request.url().startsWith('file:'))
      requests.push(request.url())
  })
  await page.setViewport({ width: 1100, height: 900 })
  await page.goto(`file://${join(dir, 'review.html')}`, { waitUntil: 'load' })
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await server?.close()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

/** Click as a person would, the element first scrolled clear of the fixed footer. */
async function click(selector: string): Promise<void> {
  await page.$eval(selector, (el) => el.scrollIntoView({ block: 'center' }))
  await page.click(selector)
}

/** The inputs of the cards the page shows now. */
async function visibleCards(): Promise<string[]> {
  return page.$$eval('.card', (cards) =>
    cards
      .map((card) => card as unknown as { offsetParent: unknown; dataset: { input?: string } })
      .filter((card) => card.offsetParent !== null)
      .map((card) => card.dataset.input ?? ''),
  )
}

describe('rc2 view in a real browser', () => {
  it('has a card per input, each answered one with its inlined, marked picture', async () => {
    expect((await visibleCards()).sort()).toEqual(
      ['a.png', HOSTILE, 'not-an-image.png', 'screenshot.png'].sort(),
    )
    const pictures = await page.$$eval('.card.answered img', (imgs) =>
      imgs.map((element) => {
        const img = element as unknown as { src: string; naturalWidth: number; alt: string }
        return { src: img.src.slice(0, 23), loaded: img.naturalWidth > 0, alt: img.alt }
      }),
    )
    expect(pictures).toHaveLength(3)
    for (const p of pictures) {
      expect(p).toMatchObject({ src: 'data:image/jpeg;base64,', loaded: true })
      expect(p.alt).toContain('with the chosen tiles marked')
    }
    const card = await page.$eval('.card[data-input="a.png"]', (el) => el.textContent ?? '')
    expect(card).toMatch(/click\s*0, 4, 8\s*\(tiles from 0\)/)
    expect(card).toContain('capsolver')
    expect(card).toContain('cars (/m/0k4j)')
  })

  it('groups the failures by kind with their hint', async () => {
    const failures = await page.$eval('section.failures', (el) => el.textContent ?? '')
    expect(failures).toMatch(/input: 1/)
    expect(failures).toContain('not-an-image.png')
    expect(failures).toContain('hint:')
  })

  it('filters: answered, failed, all', async () => {
    await click('input[name="filter"][value="failed"]')
    expect(await visibleCards()).toEqual(['not-an-image.png'])
    await click('input[name="filter"][value="answered"]')
    expect((await visibleCards()).sort()).toEqual(['a.png', HOSTILE, 'screenshot.png'].sort())
    await click('input[name="filter"][value="all"]')
    expect(await visibleCards()).toHaveLength(4)
  })

  it('writes the rc2 report command for the answers picked as wrong, quoted for the shell', async () => {
    await click('.card[data-input="a.png"] input.wrong-box')
    expect(await page.$eval('#command', (el) => el.textContent)).toBe(
      'rc2 report --from results.ndjson --input a.png',
    )
    await click(`.card[data-input='${HOSTILE.replace(/'/g, "\\'")}'] input.wrong-box`)
    const command = (await page.$eval('#command', (el) => el.textContent)) ?? ''
    expect(command).toMatch(/^rc2 report --from results\.ndjson --input /)
    expect(command).toContain(`'<img src=x onerror="document.title='\\''pwned'\\''">.png'`)
    // The command as a shell reads it: it reports exactly the two answers picked.
    const words = spawnSync(
      'bash',
      ['-c', 'eval "set -- $1"; printf "%s\\0" "$@"', 'bash', command],
      {
        encoding: 'utf8',
      },
    )
      .stdout.split('\0')
      .slice(0, -1)
    expect(words.slice(0, 6)).toEqual([
      'rc2',
      'report',
      '--from',
      'results.ndjson',
      '--input',
      words[5],
    ])
    expect(words.slice(5).sort()).toEqual(['a.png', HOSTILE].sort())
    const before = server.reports.length
    const reported = await rc2([...words.slice(1), '--json'])
    expect({ code: reported.code, stderr: reported.stderr }).toEqual({ code: 0, stderr: '' })
    expect(server.reports.length - before).toBe(2)
    const shot = join(dir, 'review.png')
    await page.screenshot({ path: shot, fullPage: true })
    if (process.env.RC2_VIEW_SCREENSHOT !== undefined)
      await copyFile(shot, process.env.RC2_VIEW_SCREENSHOT)
  })

  it('shows outside strings as text, runs no injected markup, and asks the network for nothing', async () => {
    expect(await page.title()).not.toBe('pwned')
    expect(await page.$$eval('img[src="x"]', (imgs) => imgs.length)).toBe(0)
    const heading = await page.$eval(
      `.card[data-input='${HOSTILE.replace(/'/g, "\\'")}'] h2`,
      (el) => el.textContent,
    )
    expect(heading).toBe(HOSTILE)
    expect(requests).toEqual([])
    const html = await readFile(join(dir, 'review.html'), 'utf8')
    expect(html).toMatch(
      /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:;/,
    )
    expect(html).not.toContain('<img src=x')
  })
})
