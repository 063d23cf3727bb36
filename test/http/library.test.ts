/**
 * The library API as a TypeScript user calls it (src/index.ts, in this process), against the
 * loopback server: cancelling with an AbortSignal, the solve() overloads, the error classes a caller
 * catches, prepareImage without a name. What `import 'recaptcha-rc2'` loads is in test/e2e/library.test.ts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, expectTypeOf, it } from 'vitest'
import * as rc2 from '../../src/index.js'
import {
  InterruptedError,
  QuestionLookupError,
  Rc2Error,
  UsageError,
  createProvider,
  lookupQuestion,
  prepareImage,
  solve,
  solveMany,
} from '../../src/index.js'
import type { DryRunResult, SolveSuccess } from '../../src/index.js'
import { DEFAULT_TEST_KEY, renderRedGrid } from '../helpers/provider-server.js'
import { useProviderServer } from './support.js'

const server = useProviderServer()
let dir: string
let grid: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc2-lib-'))
  grid = join(dir, 'grid.png')
  await writeFile(grid, await renderRedGrid('3x3', [2, 3, 7]))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Resolves once the server has received a create call: the solve is under way. */
async function created(): Promise<void> {
  while (server.createCount === 0) await new Promise((resolve) => setTimeout(resolve, 10))
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('resolved'),
    (error: unknown) => error,
  )
}

const options = { question: 'cars', apiKey: DEFAULT_TEST_KEY, confidence: 0.5 }

describe('solve() with an AbortSignal', () => {
  it('rejects with the reason given to abort(), while it waits between polls', async () => {
    server.setAsync(5) // the answer is five polls away, two seconds apart
    const controller = new AbortController()
    const reason = new Error('the user closed the page')
    const pending = rejection(
      solve(grid, { ...options, endpoint: server.url, signal: controller.signal }),
    )
    await created()
    controller.abort(reason)
    expect(await pending).toBe(reason)
  })

  it("rejects with the signal's AbortError, not a timeout, while a request is in flight", async () => {
    server.setLatency(10_000)
    const controller = new AbortController()
    const started = Date.now()
    const pending = rejection(
      solve(grid, { ...options, endpoint: server.url, signal: controller.signal }),
    )
    await created()
    controller.abort()
    const error = await pending
    expect(error).toBe(controller.signal.reason)
    expect((error as DOMException).name).toBe('AbortError')
    expect(error).not.toBeInstanceOf(Rc2Error)
    expect(Date.now() - started).toBeLessThan(8_000)
  })

  it('rejects at once, sending nothing, when the signal is already aborted', async () => {
    const reason = new Error('too late')
    await expect(
      solve(grid, { ...options, endpoint: server.url, signal: AbortSignal.abort(reason) }),
    ).rejects.toBe(reason)
    expect(server.createCount).toBe(0)
  })

  it('keeps the overall deadline a timeout error when nobody aborted', async () => {
    server.setLatency(10_000)
    const error = await rejection(
      solve(grid, {
        ...options,
        endpoint: server.url,
        timeoutMs: 300,
        retries: 0,
        signal: new AbortController().signal,
      }),
    )
    expect(error).toBeInstanceOf(Rc2Error)
    expect((error as Rc2Error).kind).toBe('timeout')
  })
})

describe('solve() overloads', () => {
  it('types a dry run as DryRunResult and a real solve as SolveSuccess, no narrowing needed', async () => {
    const dry = await solve(grid, { question: 'cars', dryRun: true })
    expectTypeOf(dry).toEqualTypeOf<DryRunResult>()
    expect(dry.dryRun).toBe(true)
    expect(dry.request.body).toMatchObject({ clientKey: '***', task: { question: '/m/0k4j' } })
    // @ts-expect-error a dry run has no answer
    expect(dry.objects).toBeUndefined()

    const solved = await solve(grid, { ...options, endpoint: server.url })
    expectTypeOf(solved).toEqualTypeOf<SolveSuccess>()
    expect(solved.objects).toEqual([2, 3, 7])
    expect(solved.clicks.map((c) => c.tile)).toEqual([2, 3, 7])

    const flag: boolean = process.env.RC2_NEVER_SET === 'yes'
    const either = await solve(grid, { ...options, endpoint: server.url, dryRun: flag })
    expectTypeOf(either).toEqualTypeOf<SolveSuccess | DryRunResult>()
    expect('objects' in either).toBe(true)
  })
})

describe('the error classes a caller catches', () => {
  it('exports QuestionLookupError with its suggestions, InterruptedError and Rc2Error', () => {
    let caught: unknown
    try {
      lookupQuestion('fire hydrnts')
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(QuestionLookupError)
    expect(caught).toBeInstanceOf(Rc2Error)
    const lookup = caught as QuestionLookupError
    expect(lookup.kind).toBe('usage')
    expect(lookup.exitCode).toBe(2)
    expect(lookup.suggestions.map((s) => s.id)).toContain('/m/01pns0')
    expect(new InterruptedError()).toBeInstanceOf(Error)
    expect(new InterruptedError().name).toBe('InterruptedError')
  })

  it('does not export internals such as runBatch', () => {
    const names = Object.keys(rc2).sort()
    expect(names).not.toContain('runBatch')
    expect(names).toEqual(
      expect.arrayContaining([
        'solve',
        'prepareImage',
        'lookupQuestion',
        'createProvider',
        'providers',
        'Rc2Error',
        'QuestionLookupError',
        'InterruptedError',
      ]),
    )
  })

  it('lists the services it speaks to as providers, each one createProvider takes', () => {
    expect([...rc2.providers].sort()).toEqual(
      ['2captcha', 'acedata', 'capmonster', 'capsolver', 'nopecha', 'yescaptcha'].sort(),
    )
    for (const name of rc2.providers)
      expect(createProvider(name, { apiKey: DEFAULT_TEST_KEY }).name).toBe(name)
  })
})

describe('prepareImage()', () => {
  it('needs only the path, and names the file in its errors', async () => {
    const prepared = await prepareImage(grid)
    expect([prepared.grid, prepared.size, prepared.layout.kind]).toEqual(['3x3', 300, 'payload'])
    const missing = join(dir, 'missing.png')
    const error = await rejection(prepareImage(missing))
    expect(error).toBeInstanceOf(Rc2Error)
    expect((error as Rc2Error).message).toContain(missing)
  })

  it('takes bytes and a grid', async () => {
    const tile = await renderRedGrid('1x1', [0])
    const prepared = await prepareImage(tile, { grid: '1x1' })
    expect([prepared.grid, prepared.size]).toEqual(['1x1', 100])
  })
})

describe('createProvider()', () => {
  it('takes a name in any case; an unknown one or a list is a UsageError', () => {
    const provider = createProvider('CapSolver', {
      apiKey: DEFAULT_TEST_KEY,
      endpoint: server.endpoints.capsolver,
    })
    expect(provider.name).toBe('capsolver')
    expect(() => createProvider('capsolvr', { apiKey: DEFAULT_TEST_KEY })).toThrow(UsageError)
    expect(() => createProvider('yescaptcha,capsolver', { apiKey: DEFAULT_TEST_KEY })).toThrow(
      /one provider/,
    )
  })
})

describe('solveMany()', () => {
  it('stops the batch when the caller leaves the loop early', async () => {
    const inputs = await Promise.all(
      [[0], [1], [2], [3]].map(async (tiles, k) => {
        const file = join(dir, `many-${k}.png`)
        await writeFile(file, await renderRedGrid('3x3', tiles))
        return file
      }),
    )
    const seen: string[] = []
    for await (const result of solveMany(inputs, {
      ...options,
      endpoint: server.url,
      concurrency: 1,
    })) {
      seen.push(result.input)
      break
    }
    expect(seen).toEqual([inputs[0]])
    // Give a batch that did not stop the time to send every input (each answers at once).
    await new Promise((resolve) => setTimeout(resolve, 1000))
    // The answer yielded, and at most the next input, already sent when the first finished.
    expect(server.createCount).toBeLessThanOrEqual(2)
  })

  it('holds the batch back while the caller is not reading, and loses no result', async () => {
    // 120 different pictures (the same one would be paid once and shared): red tiles as binary k.
    const inputs = await Promise.all(
      Array.from({ length: 120 }, async (_, k) => {
        const file = join(dir, `slow-${k}.png`)
        const tiles = [0, 1, 2, 3, 4, 5, 6, 7].filter((bit) => ((k + 1) >> bit) & 1)
        await writeFile(file, await renderRedGrid('3x3', tiles))
        return file
      }),
    )
    const seen = new Set<string>()
    let paused = false
    for await (const result of solveMany(inputs, {
      ...options,
      endpoint: server.url,
      concurrency: 4,
    })) {
      seen.add(result.input)
      if (!paused) {
        paused = true
        // A caller busy with its first answer: time enough for an unheld batch to send all 120.
        await new Promise((resolve) => setTimeout(resolve, 1500))
        // 64 results kept for the caller, the inputs in flight, and the one taken.
        expect(server.createCount).toBeLessThanOrEqual(64 + 4 + 1)
      }
    }
    expect(seen.size).toBe(120)
    expect(server.createCount).toBe(120)
  })
})

describe('solve() with tiles', () => {
  it('refuses tile numbers that are not whole numbers from 0, before sending', async () => {
    for (const tiles of [[-1], [1.5], []]) {
      const error = await rejection(solve(grid, { ...options, endpoint: server.url, tiles }))
      expect(error).toBeInstanceOf(UsageError)
      expect((error as UsageError).message).toContain('tiles')
    }
    expect(server.createCount).toBe(0)
  })
})
