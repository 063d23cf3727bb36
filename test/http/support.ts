/** Shared pieces of the HTTP tests: real tiles, test images and providers wired to the test server. */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, beforeEach } from 'vitest'
import { join } from 'node:path'
import { createProvider } from '../../src/providers/index.js'
import { RefusedError } from '../../src/errors.js'
import type {
  CallAccount,
  Provider,
  ProviderName,
  ProviderOptions,
  RecognitionRequest,
} from '../../src/providers/types.js'
import type { Grid } from '../../src/types.js'
import { GRID_SIZE } from '../../src/types.js'
import { DEFAULT_TEST_KEY, renderRedGrid, startProviderServer } from '../helpers/provider-server.js'
import type { ProviderServer } from '../helpers/provider-server.js'

const TILES_DIR = join(import.meta.dirname, '../data/recaptcha-tiles')
export const KEY = DEFAULT_TEST_KEY
export const CAR = '/m/0k4j'

/**
 * The loopback server for one test file: started before its tests, closed after them, and put
 * back to plain behaviour (no forced reply, answers at once, no faults, counters at zero) before
 * each test. The value returned stands for the server once it has started.
 */
export function useProviderServer(): ProviderServer {
  let server: ProviderServer | undefined
  const current = (): ProviderServer => {
    if (server === undefined)
      throw new Error('useProviderServer: the server is used before beforeAll started it')
    return server
  }
  beforeAll(async () => {
    server = await startProviderServer()
  })
  afterAll(async () => {
    await server?.close()
  })
  beforeEach(() => {
    const s = current()
    s.setReply(undefined)
    s.setAsync(0)
    s.setLatency(0)
    s.setFaults(undefined)
    s.setZeroBalance(false)
    s.setReject450([])
    s.resetCounters()
  })
  return new Proxy({} as ProviderServer, {
    get: (_target, key) => Reflect.get(current(), key) as unknown,
    set: (_target, key, value) => Reflect.set(current(), key, value),
  })
}

/** The first `count` real tiles of one class (sorted by name), optionally only those `side` px wide. */
export function loadRealTiles(kind: string, count: number, side?: number): Buffer[] {
  const rows = readFileSync(join(TILES_DIR, 'manifest.csv'), 'utf8').trim().split('\n').slice(1)
  return rows
    .map((row) => row.split(','))
    .filter((cols) => cols[1] === kind && (side === undefined || Number(cols[4]) === side))
    .map((cols) => cols[0]!)
    .sort()
    .slice(0, count)
    .map((file) => readFileSync(join(TILES_DIR, file)))
}

/** Sleeps recorded instead of waited: retries and polls become instant and checkable. */
function createInstantClock(): {
  sleeps: number[]
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>
} {
  const sleeps: number[] = []
  return {
    sleeps,
    sleep: async (ms, signal) => {
      sleeps.push(ms)
      signal?.throwIfAborted()
      await Promise.resolve()
    },
  }
}

export interface TestProvider {
  provider: Provider
  logs: string[]
  sleeps: number[]
}

/** A provider pointed at the test server, with instant sleeps and a captured request log. */
export function connect(
  server: ProviderServer,
  name: ProviderName,
  overrides: Partial<ProviderOptions> = {},
): TestProvider {
  const logs: string[] = []
  const clock = createInstantClock()
  const provider = createProvider(name, {
    apiKey: KEY,
    endpoint: server.endpoints[name],
    retries: 2,
    requestTimeoutMs: 5000,
    pollIntervalMs: 10,
    log: (line) => logs.push(line),
    retry: { sleep: clock.sleep, random: () => 0.5 },
    ...overrides,
  })
  return { provider, logs, sleeps: clock.sleeps }
}

export async function gridRequest(
  grid: Grid,
  redTiles: readonly number[],
  extra: Partial<RecognitionRequest> & {
    otherTiles?: Buffer[]
    red?: { r: number; g: number; b: number }
  } = {},
): Promise<RecognitionRequest> {
  const { otherTiles, red, ...rest } = extra
  const image = await renderRedGrid(grid, redTiles, {
    ...(otherTiles === undefined ? {} : { otherTiles }),
    ...(red === undefined ? {} : { red }),
  })
  return { image: image.toString('base64'), grid, size: GRID_SIZE[grid], question: CAR, ...rest }
}

/** Run `work` and return what it threw (failing the test when it does not throw). */
export async function catchError(
  work: () => Promise<unknown>,
): Promise<Error & Record<string, unknown>> {
  try {
    await work()
  } catch (error) {
    return error as Error & Record<string, unknown>
  }
  throw new Error('expected the call to fail, but it succeeded')
}

/** What a test account heard: each reservation (provider, and whether a resend), each charge, each push-back. */
export interface AccountLog {
  reserved: { provider: ProviderName; resend: boolean }[]
  charged: ProviderName[]
  pushedBack: { retryAfterSec: number | undefined; tooManyInFlight: boolean }[]
  notices: string[]
}

/**
 * A CallAccount that records what the provider calls told it; `refuse` decides whether a
 * reservation is refused (as a budget would), given the provider and whether it is a resend.
 */
export function testAccount(refuse?: (provider: ProviderName, resend: boolean) => boolean): {
  account: CallAccount
  log: AccountLog
} {
  const log: AccountLog = { reserved: [], charged: [], pushedBack: [], notices: [] }
  const account: CallAccount = {
    reserve: (provider, _grid, resend) => {
      if (refuse?.(provider, resend) === true)
        throw new RefusedError('budget', `${provider} not asked: over budget`, resend)
      log.reserved.push({ provider, resend })
    },
    charged: (provider) => void log.charged.push(provider),
    release: () => undefined,
    pushedBack: (error) =>
      void log.pushedBack.push({
        retryAfterSec: error.retryAfterSec,
        tooManyInFlight: error.tooManyInFlight,
      }),
    whileWaiting: (wait) => wait(),
    notice: (text) => void log.notices.push(text),
  }
  return { account, log }
}
