/**
 * A real node:http server on 127.0.0.1 (port 0) that speaks the YesCaptcha, CapSolver and Ace
 * Data Cloud protocols strictly: it checks the key, the question id and the base64 image, decodes
 * the image with sharp and insists on 100x100, 300x300 or 450x450. Answers come from an oracle on
 * the decoded pixels (default: strongly red tiles are "the object"). Behaviour can be changed per
 * test (async answers, zero balance, fixed replies, latency) and faults can be injected from a
 * seed for batch tests, deterministically for a given request order.
 *
 * Routing: `${url}/yescaptcha/…`, `${url}/capsolver/…`, `${url}/acedata/…`, `${url}/2captcha/…`,
 * `${url}/nopecha/…`, `${url}/capmonster/…` (see `endpoints`); at the root, `/captcha/…` is Ace and
 * `/createTask` etc. belong to `rootProvider` (yescaptcha). The services that take the instruction
 * as text (2Captcha GridTask, NopeCHA, CapMonster ComplexImageTask) get it checked against the
 * widget's English wording and the grid, and hand the oracle that text as `question`.
 */
import { randomUUID } from 'node:crypto'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import sharp from 'sharp'
import type { OverlayOptions } from 'sharp'
import type { ProviderName } from '../../src/providers/types.js'
import type { Grid } from '../../src/types.js'
import { createRng } from './prng.js'

/** The 17 question ids the services accept (reference/questions.md). */
const SERVICE_QUESTION_IDS: readonly string[] = [
  '/m/0pg52',
  '/m/01bjv',
  '/m/02yvhj',
  '/m/04_sv',
  '/m/013xlm',
  '/m/01jk_4',
  '/m/014xcs',
  '/m/015qff',
  '/m/0199g',
  '/m/015qbp',
  '/m/0k4j',
  '/m/015kr',
  '/m/019jd',
  '/m/0cdl1',
  '/m/09d_r',
  '/m/01pns0',
  '/m/01lynh',
]

export const DEFAULT_TEST_KEY = 'rc2-test-key-7f3a9c'

const SIZE_GRID: Record<number, Grid> = { 100: '1x1', 300: '3x3', 450: '4x4' }
const SIDE: Record<Grid, number> = { '1x1': 1, '3x3': 3, '4x4': 4 }

/** Mean colour of one tile (0..255 per channel). */
interface CellStat {
  index: number
  r: number
  g: number
  b: number
}

export interface OracleInput {
  provider: ProviderName
  question: string
  grid: Grid
  size: number
  cells: CellStat[]
}

/** A score in 0..1 per tile, row-major; a score >= 0.5 means the tile shows the object. */
export type Oracle = (input: OracleInput) => number[] | Promise<number[]>

/** Default oracle: a tile is the object when its mean is strongly red (R > 150, G < 90, B < 90). */
export const redOracle: Oracle = ({ cells }) =>
  cells.map(({ r, g, b }) => {
    const redness = Math.min(1, Math.max(0, (r - Math.max(g, b)) / 255))
    return r > 150 && g < 90 && b < 90 ? 0.5 + 0.5 * redness : 0.49 * redness
  })

export const FAULT_NAMES = [
  'rateLimit',
  'rateLimitNoHeader',
  'serverError',
  'internalError',
  'resetBeforeWork',
  'resetAfterWork',
  'malformed',
  'slow',
  'threads',
] as const
type FaultName = (typeof FAULT_NAMES)[number]
type FaultCounts = Record<FaultName, number>

/** Probabilities (0..1) per request; at most one fault per request, drawn from a seeded PRNG. */
export interface FaultOptions {
  seed: number
  /** 429 with Retry-After: retryAfterSec. */
  rateLimit?: number
  /** 429 without Retry-After. */
  rateLimitNoHeader?: number
  retryAfterSec?: number
  /** 500 or 503 (half each), with a non-JSON gateway body for YesCaptcha/CapSolver. */
  serverError?: number
  /** The service's own "internal error" reply (YesCaptcha/CapSolver ERROR_INTERNAL_SERVER_ERROR, Ace a JSON 500); not charged. */
  internalError?: number
  /** Socket destroyed before any work (not charged). */
  resetBeforeWork?: number
  /** Work done and charged, then the socket is destroyed. */
  resetAfterWork?: number
  /** Work done and charged, then a truncated JSON body. */
  malformed?: number
  /** Work done and charged, reply sent after slowMs (default 2000). */
  slow?: number
  slowMs?: number
  /** More task calls than this in flight at once get a "too many threads" error. */
  maxInFlight?: number
  /** Faults hit the paid create calls only (default) or every task call, polls included. */
  scope?: 'create' | 'all'
}

/** A reply forced for one request (pushReply) or for all (setReply). */
interface FixedReply {
  /** Only requests whose path (after the provider prefix) matches; default: every known endpoint. */
  path?: string | RegExp
  status?: number
  /** Sent as JSON. */
  json?: unknown
  /** Sent verbatim (e.g. malformed JSON); wins over json. */
  text?: string
  headers?: Record<string, string>
  delayMs?: number
  /** Force one of the injected faults instead of a body (counted in faultCounts). */
  fault?: FaultName
}

export interface ProviderServerOptions {
  /** Keys accepted by all three protocols (default [DEFAULT_TEST_KEY]). */
  keys?: string[]
  oracle?: Oracle
  /** 0: answer in the create reply; N: the answer is ready at the Nth poll. */
  asyncPolls?: number
  /** Latency added to every request, in ms. */
  latencyMs?: number
  faults?: FaultOptions
  rootProvider?: 'yescaptcha' | 'capsolver'
  /** Starting balances (YesCaptcha points, CapSolver USD, Ace credits). */
  balances?: Partial<Record<ProviderName, number>>
  /** Question ids refused on 450x450 images (ERROR_UNKNOW_450x450_QUESTION). */
  reject450?: string[]
  /** Loopback address to listen on (default 127.0.0.1; 127.0.0.2 stands for a second host). */
  host?: string
}

/** A report (2Captcha reportIncorrect/reportCorrect, CapSolver feedbackTask, CapMonster) as received. */
interface ReceivedReport {
  provider: ProviderName
  path: string
  taskId: string
  correct: boolean
}

interface LoggedRequest {
  provider: ProviderName
  path: string
  method: string
  /** Request headers without authorization. */
  headers: Record<string, string>
  /** The key the request carried (clientKey or Bearer token), for assertions on which key was used. */
  key: string | null
  /** The JSON body without clientKey, the image replaced by "<N base64 chars>". */
  body: unknown
  /** Status sent, or null when the socket was destroyed. */
  status: number | null
  fault: FaultName | null
}

export interface ProviderServer {
  url: string
  endpoints: Record<ProviderName, string>
  requests: LoggedRequest[]
  /** Create calls received (createTask / recognition), whatever happened to them. */
  readonly createCount: number
  /** Calls where the work was done and the service would have charged. */
  readonly paidCount: number
  /** Result polls received (getTaskResult / captcha/tasks). */
  readonly pollCount: number
  /** Most create calls seen in flight at once. */
  readonly maxInFlightSeen: number
  /** Reports accepted (for known task ids), in order. */
  reports: ReceivedReport[]
  /** Task ids given out by each provider's create call (for report tests). */
  taskIds: Record<ProviderName, string[]>
  faultCounts: FaultCounts
  balances: Record<ProviderName, number>
  setKeys(keys: string[]): void
  setOracle(oracle: Oracle | undefined): void
  setAsync(polls: number): void
  setLatency(ms: number): void
  /** Hold every reply, after its latency, until the returned function is called (or the server closes). */
  hold(): () => void
  setFaults(faults: FaultOptions | undefined): void
  setBalance(provider: ProviderName, value: number): void
  /** Every provider answers "no balance left" (and reports 0). */
  setZeroBalance(on: boolean): void
  setReject450(ids: string[]): void
  /** Force `reply` for every matching request until cleared with undefined. */
  setReply(reply: FixedReply | undefined): void
  /** Queue one-shot replies, used in order before anything else. */
  pushReply(...replies: FixedReply[]): void
  /** Clear the request log, the reports received and every counter. */
  resetCounters(): void
  close(): Promise<void>
}

export { createRng as createPrng }

/**
 * A grid image for the default oracle: `redTiles` filled pure red, the others grey or taken in
 * turn from `otherTiles` (e.g. real 100x100 tiles), at the service size for `grid`.
 */
export async function renderRedGrid(
  grid: Grid,
  redTiles: readonly number[],
  options: {
    otherTiles?: readonly Buffer[]
    red?: { r: number; g: number; b: number }
    format?: 'png' | 'jpeg'
  } = {},
): Promise<Buffer> {
  const size = grid === '1x1' ? 100 : grid === '3x3' ? 300 : 450
  const side = SIDE[grid]
  const layers: OverlayOptions[] = []
  for (let index = 0; index < side * side; index++) {
    const left = Math.round((index % side) * (size / side))
    const top = Math.round(Math.floor(index / side) * (size / side))
    const width = Math.round(((index % side) + 1) * (size / side)) - left
    const height = Math.round((Math.floor(index / side) + 1) * (size / side)) - top
    const other = options.otherTiles?.[index % Math.max(1, options.otherTiles.length)]
    const input = redTiles.includes(index)
      ? await sharp({
          create: {
            width,
            height,
            channels: 3,
            background: options.red ?? { r: 230, g: 20, b: 20 },
          },
        })
          .png()
          .toBuffer()
      : other !== undefined
        ? await sharp(other).resize(width, height, { fit: 'fill' }).png().toBuffer()
        : await sharp({
            create: { width, height, channels: 3, background: { r: 120, g: 125, b: 130 } },
          })
            .png()
            .toBuffer()
    layers.push({ input, left, top })
  }
  const base = sharp({
    create: { width: size, height: size, channels: 3, background: { r: 0, g: 0, b: 0 } },
  }).composite(layers)
  return options.format === 'jpeg' ? base.jpeg({ quality: 90 }).toBuffer() : base.png().toBuffer()
}

const DEFAULT_BALANCES: Record<ProviderName, number> = {
  yescaptcha: 100_000,
  capsolver: 10,
  acedata: 1000,
  '2captcha': 5,
  nopecha: 1000,
  capmonster: 5,
}
/** Cost per call in each provider's unit (all but YesCaptcha's are made up: their prices are not documented). */
function costOf(provider: ProviderName, grid: Grid): number {
  if (provider === 'yescaptcha') return grid === '1x1' ? 2 : 6
  if (provider === 'capsolver' || provider === 'capmonster') return 0.0008
  return provider === '2captcha' ? 0.0012 : 1
}

/** Providers that take the instruction as text and answer asynchronously only. */
const TEXT_PROVIDERS: readonly ProviderName[] = ['2captcha', 'nopecha', 'capmonster']
/** 2Captcha API v2 error numbers (errorId) by code. */
const TWOCAPTCHA_IDS: Record<string, number> = {
  ERROR_KEY_DOES_NOT_EXIST: 1,
  ERROR_ZERO_CAPTCHA_FILESIZE: 3,
  ERROR_TOO_BIG_CAPTCHA_FILESIZE: 4,
  ERROR_ZERO_BALANCE: 10,
  ERROR_CAPTCHA_UNSOLVABLE: 12,
  ERROR_IMAGE_TYPE_NOT_SUPPORTED: 15,
  ERROR_NO_SUCH_CAPCHA_ID: 16,
  ERROR_TASK_ABSENT: 22,
  ERROR_TASK_NOT_SUPPORTED: 23,
}
/** CapMonster refuses images above this many bytes (its client's limit). */
export const CAPMONSTER_IMAGE_LIMIT = 50_000

interface Outcome {
  status: number
  json?: unknown
  text?: string
  headers?: Record<string, string>
}

/** Thrown inside handlers to answer with a protocol error. */
class Reply extends Error {
  constructor(readonly outcome: Outcome) {
    super('reply')
  }
}

interface StoredTask {
  provider: ProviderName
  solution: Record<string, unknown>
  pollsNeeded: number
  polls: number
  grid: Grid
  charged: boolean
}

interface Answer {
  grid: Grid
  size: number
  question: string
  scores: number[]
}

function emptyCounts(): FaultCounts {
  return Object.fromEntries(FAULT_NAMES.map((name) => [name, 0])) as FaultCounts
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

export async function startProviderServer(
  options: ProviderServerOptions = {},
): Promise<ProviderServer> {
  let keys = new Set(options.keys ?? [DEFAULT_TEST_KEY])
  let oracle: Oracle = options.oracle ?? redOracle
  let asyncPolls = options.asyncPolls ?? 0
  let latencyMs = options.latencyMs ?? 0
  let held: { replies: Promise<void>; release: () => void } | undefined
  let faults: FaultOptions | undefined
  let random = createRng(0)
  let reject450 = new Set(options.reject450 ?? [])
  let persistent: FixedReply | undefined
  const queue: FixedReply[] = []
  const rootProvider = options.rootProvider ?? 'yescaptcha'
  const balances: Record<ProviderName, number> = { ...DEFAULT_BALANCES, ...options.balances }
  let zeroBalance = false
  const tasks = new Map<string, StoredTask>()
  const reports: ReceivedReport[] = []
  const taskIds: Record<ProviderName, string[]> = {
    yescaptcha: [],
    capsolver: [],
    acedata: [],
    '2captcha': [],
    nopecha: [],
    capmonster: [],
  }
  let numericTaskId = 70_000_000_000
  const requests: LoggedRequest[] = []
  const counters = { create: 0, paid: 0, poll: 0, inFlight: 0, maxInFlight: 0 }
  const faultCounts = emptyCounts()
  const timers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>()
  let closing = false

  const setFaults = (next: FaultOptions | undefined): void => {
    faults = next
    random = createRng(next?.seed ?? 0)
  }
  setFaults(options.faults)

  /** A wait that ends early when the server closes, so no test hangs on a pending timer. */
  const wait = (ms: number): Promise<void> =>
    ms <= 0
      ? Promise.resolve()
      : new Promise((resolve) => {
          const entry = {
            timer: setTimeout(() => {
              timers.delete(entry)
              resolve()
            }, ms),
            resolve,
          }
          timers.add(entry)
        })

  function charge(provider: ProviderName, grid: Grid): void {
    counters.paid += 1
    balances[provider] = Math.round((balances[provider] - costOf(provider, grid)) * 1e6) / 1e6
  }

  // ---- protocol-specific error bodies --------------------------------------------------------

  function taskApiError(
    provider: ProviderName,
    code: string,
    description: string,
    httpStatus = 400,
  ): Reply {
    // YesCaptcha answers errors with HTTP 200; CapSolver with 400 (401 for a bad key).
    const status = provider === 'yescaptcha' ? 200 : httpStatus
    return new Reply({
      status,
      json: { errorId: 1, errorCode: code, errorDescription: description },
    })
  }

  function aceError(status: number, code: string, message: string): Reply {
    return new Reply({
      status,
      json: { success: false, error: { code, message }, trace_id: randomUUID() },
    })
  }

  function badQuestion(provider: ProviderName, question: string): Reply {
    return provider === 'acedata'
      ? aceError(400, 'bad_request', `unknown question ${question}`)
      : taskApiError(provider, 'ERROR_UNKNOWN_QUESTION', 'Incorrect question ID')
  }

  function badImage(provider: ProviderName, kind: 'parse' | 'size', detail: string): Reply {
    if (provider === 'acedata') return aceError(400, 'bad_request', detail)
    if (kind === 'parse') return taskApiError(provider, 'ERROR_PARSE_IMAGE_FAIL', detail)
    return taskApiError(
      provider,
      provider === 'yescaptcha' ? 'ERROR_ILLEGAL_IMAGE' : 'ERROR_INVALID_IMAGE',
      detail,
    )
  }

  function noBalance(provider: ProviderName): Reply {
    return provider === 'acedata'
      ? aceError(403, 'used_up', 'the quota of this application is used up')
      : taskApiError(provider, 'ERROR_ZERO_BALANCE', 'insufficient balance')
  }

  // ---- the work: decode, check, ask the oracle ------------------------------------------------

  async function recognizeImage(
    provider: ProviderName,
    image: unknown,
    question: unknown,
  ): Promise<Answer> {
    if (
      typeof image !== 'string' ||
      image === '' ||
      typeof question !== 'string' ||
      question === ''
    ) {
      throw provider === 'acedata'
        ? aceError(400, 'bad_request', 'image and question are required')
        : taskApiError(
            provider,
            provider === 'yescaptcha' ? 'ERROR_REQUIRED_FIELDS' : 'ERROR_INVALID_TASK_DATA',
            'image and question are required',
          )
    }
    if (!SERVICE_QUESTION_IDS.includes(question)) throw badQuestion(provider, question)
    if (image.startsWith('data:'))
      throw badImage(provider, 'parse', 'the image must be bare base64 without a data: prefix')
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(image) || image.length % 4 !== 0) {
      throw badImage(provider, 'parse', 'the image is not valid base64')
    }
    const bytes = Buffer.from(image, 'base64')
    let width: number | undefined
    let height: number | undefined
    try {
      ;({ width, height } = await sharp(bytes).metadata())
    } catch {
      throw badImage(provider, 'parse', 'the image could not be decoded')
    }
    const grid = width === height && width !== undefined ? SIZE_GRID[width] : undefined
    if (grid === undefined || width === undefined) {
      throw badImage(
        provider,
        'size',
        `image is ${width}x${height}; scale it to 450x450, 300x300 or 100x100`,
      )
    }
    if (grid === '4x4' && reject450.has(question)) {
      throw provider === 'acedata'
        ? aceError(400, 'bad_request', 'this question is not supported at 450x450')
        : taskApiError(
            provider,
            'ERROR_UNKNOW_450x450_QUESTION',
            'This size is currently not supported for this question',
          )
    }
    if (zeroBalance || balances[provider] < costOf(provider, grid)) throw noBalance(provider)

    const cells = await cellStats(bytes, grid)
    const scores = await oracle({ provider, question, grid, size: width, cells })
    if (scores.length !== cells.length)
      throw new Error(`oracle returned ${scores.length} scores for ${cells.length} tiles`)
    return { grid, size: width, question, scores }
  }

  /** Mean colour of each tile of `grid` in the decoded image. */
  async function cellStats(bytes: Buffer, grid: Grid): Promise<CellStat[]> {
    const { data, info } = await sharp(bytes)
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true })
    const side = SIDE[grid]
    const width = info.width
    const ch = info.channels
    const cells: CellStat[] = []
    for (let index = 0; index < side * side; index++) {
      const col = index % side
      const row = Math.floor(index / side)
      const x0 = Math.round((col * width) / side)
      const x1 = Math.round(((col + 1) * width) / side)
      const y0 = Math.round((row * info.height) / side)
      const y1 = Math.round(((row + 1) * info.height) / side)
      let r = 0
      let g = 0
      let b = 0
      for (let y = y0; y < y1; y++) {
        for (let at = (y * width + x0) * ch, end = (y * width + x1) * ch; at < end; at += ch) {
          r += data[at]!
          g += data[at + 1]!
          b += data[at + 2]!
        }
      }
      const n = (x1 - x0) * (y1 - y0)
      cells.push({ index, r: r / n, g: g / n, b: b / n })
    }
    return cells
  }

  // ---- 2Captcha GridTask, NopeCHA recognition, CapMonster ComplexImageTask ----------------------

  /** A protocol error of a text provider, in its own shape. */
  function textError(provider: ProviderName, code: string, description: string): Reply {
    if (provider === '2captcha')
      return new Reply({
        status: 200,
        json: {
          errorId: TWOCAPTCHA_IDS[code] ?? 1,
          errorCode: code,
          errorDescription: description,
        },
      })
    return new Reply({
      status: 200,
      json: { errorId: 1, errorCode: code, errorDescription: description },
    })
  }

  /** NopeCHA errors: `{error: <number>, message}` with the HTTP status its Node client maps. */
  function nopechaError(error: number, message: string): Reply {
    const status: Record<number, number> = { 10: 400, 11: 429, 13: 404, 14: 409, 15: 401, 16: 403 }
    return new Reply({ status: status[error] ?? 400, json: { error, message } })
  }

  /** The widget's English wording for the grid: "images" for a 3x3 (and its 1x1 tiles), "squares" for a 4x4. */
  function checkInstruction(provider: ProviderName, text: unknown, grid: Grid): string {
    const kind = grid === '4x4' ? 'squares' : 'images'
    const ok = typeof text === 'string' && new RegExp(`^Select all ${kind} with \\S.*$`).test(text)
    if (ok) return text
    const message = `the instruction must be the English "Select all ${kind} with …" for a ${grid} grid, got ${JSON.stringify(text)}`
    if (provider === 'nopecha') throw nopechaError(10, message)
    throw textError(
      provider,
      provider === 'capmonster' ? 'ERROR_CAPTCHA_UNSOLVABLE' : 'ERROR_TASK_ABSENT',
      message,
    )
  }

  /** Decode one base64 image of a text provider and ask the oracle about `grid`. */
  async function recognizeText(
    provider: ProviderName,
    image: unknown,
    grid: Grid,
    text: string,
  ): Promise<Answer> {
    const badImage = (detail: string): Reply =>
      provider === 'nopecha'
        ? nopechaError(10, detail)
        : textError(
            provider,
            provider === '2captcha'
              ? 'ERROR_IMAGE_TYPE_NOT_SUPPORTED'
              : 'ERROR_ZERO_CAPTCHA_FILESIZE',
            detail,
          )
    if (typeof image !== 'string' || image === '') throw badImage('no image')
    // 2Captcha accepts a data: URI; the others want bare base64.
    const bare = provider === '2captcha' ? image.replace(/^data:image\/[a-z]+;base64,/, '') : image
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(bare) || bare.length % 4 !== 0)
      throw badImage('the image is not valid base64')
    const bytes = Buffer.from(bare, 'base64')
    if (bytes.length < 100)
      throw textError(
        provider,
        'ERROR_ZERO_CAPTCHA_FILESIZE',
        'the image is smaller than 100 bytes',
      )
    if (provider === 'capmonster' && bytes.length > CAPMONSTER_IMAGE_LIMIT) {
      throw textError(
        provider,
        'ERROR_TOO_BIG_CAPTCHA_FILESIZE',
        `the image is ${bytes.length} bytes, more than ${CAPMONSTER_IMAGE_LIMIT}`,
      )
    }
    if (provider === '2captcha' && bytes.length > 600_000)
      throw textError(provider, 'ERROR_TOO_BIG_CAPTCHA_FILESIZE', 'the image is over 600 kB')
    let width: number | undefined
    let height: number | undefined
    try {
      ;({ width, height } = await sharp(bytes).metadata())
    } catch {
      throw badImage('the image could not be decoded')
    }
    if (width === undefined || height === undefined || width !== height || width > 1000)
      throw badImage(`the image is ${width}x${height}`)
    if (zeroBalance || balances[provider] < costOf(provider, grid)) {
      throw provider === 'nopecha'
        ? nopechaError(16, 'Out of credit')
        : textError(provider, 'ERROR_ZERO_BALANCE', 'insufficient balance')
    }
    const cells = await cellStats(bytes, grid)
    const scores = await oracle({ provider, question: text, grid, size: width, cells })
    if (scores.length !== cells.length)
      throw new Error(`oracle returned ${scores.length} scores for ${cells.length} tiles`)
    return { grid, size: width, question: text, scores }
  }

  function newTaskId(provider: ProviderName): string {
    const id = provider === 'nopecha' ? randomUUID() : String(numericTaskId++)
    taskIds[provider].push(id)
    return id
  }

  async function handleTextCreate(
    provider: ProviderName,
    body: Record<string, unknown>,
    headers: IncomingMessage['headers'],
  ): Promise<Outcome> {
    let answer: Answer
    let solution: Record<string, unknown>
    if (provider === 'nopecha') {
      const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1]
      const key = typeof body.key === 'string' ? body.key : bearer
      if (key === undefined || !keys.has(key)) throw nopechaError(15, 'Invalid key')
      if (body.type !== 'recaptcha') throw nopechaError(10, 'Invalid type')
      if (body.grid !== '3x3' && body.grid !== '4x4' && body.grid !== '1x1')
        throw nopechaError(10, 'Invalid grid')
      const images = body.image_data
      if (
        !Array.isArray(images) ||
        images.length < 1 ||
        images.length > 9 ||
        (body.grid !== '1x1' && images.length !== 1)
      ) {
        throw nopechaError(10, 'image_data must hold one grid image, or 1-9 tiles for 1x1')
      }
      const text = checkInstruction(provider, body.task, body.grid)
      // 1x1: one answer per tile image; a grid: one per tile of the one image.
      const answers = await Promise.all(
        images.map((image) => recognizeText(provider, image, body.grid as Grid, text)),
      )
      answer = answers[0]!
      solution = { data: answers.flatMap((a) => a.scores.map((score) => score >= 0.5)) }
    } else {
      checkTaskApiKey(provider, body)
      const task = body.task
      if (!isRecord(task)) throw textError(provider, 'ERROR_TASK_ABSENT', 'task is required')
      if (provider === '2captcha') {
        if (task.type !== 'GridTask')
          throw textError(provider, 'ERROR_TASK_NOT_SUPPORTED', 'unknown task type')
        const side = task.rows
        if (side !== task.columns || (side !== 3 && side !== 4 && side !== 1))
          throw textError(provider, 'ERROR_TASK_ABSENT', 'rows and columns must be 3, 4 or 1')
        const grid: Grid = side === 3 ? '3x3' : side === 4 ? '4x4' : '1x1'
        const text = checkInstruction(provider, task.comment, grid)
        answer = await recognizeText(provider, task.body, grid, text)
        const click = answer.scores.flatMap((score, index) => (score >= 0.5 ? [index + 1] : []))
        solution = { click }
      } else {
        if (task.type !== 'ComplexImageTask' || task.class !== 'recaptcha')
          throw textError(provider, 'ERROR_TASK_NOT_SUPPORTED', 'type or class not supported')
        const images = task.imagesBase64
        const metadata = isRecord(task.metadata) ? task.metadata : {}
        if (!Array.isArray(images) || images.length !== 1)
          throw textError(provider, 'ERROR_TASK_ABSENT', 'imagesBase64 must hold one image')
        const grid = metadata.Grid
        if (grid !== '3x3' && grid !== '4x4' && grid !== '1x1')
          throw textError(provider, 'ERROR_CAPTCHA_UNSOLVABLE', 'metadata.Grid is missing')
        const text = checkInstruction(provider, metadata.Task, grid)
        answer = await recognizeText(provider, images[0], grid, text)
        solution = { answer: answer.scores.map((score) => score >= 0.5) }
      }
    }
    charge(provider, answer.grid)
    const taskId = newTaskId(provider)
    tasks.set(taskId, {
      provider,
      solution,
      pollsNeeded: Math.max(1, asyncPolls),
      polls: 0,
      grid: answer.grid,
      charged: true,
    })
    if (provider === 'nopecha') return { status: 200, json: { data: taskId } }
    return { status: 200, json: { errorId: 0, taskId: Number(taskId) } }
  }

  function handleTextPoll(
    provider: ProviderName,
    body: Record<string, unknown>,
    query: URLSearchParams,
    headers: IncomingMessage['headers'],
  ): Outcome {
    counters.poll += 1
    if (provider === 'nopecha') {
      const bearer = /^Bearer (.+)$/.exec(headers.authorization ?? '')?.[1]
      const key = query.get('key') ?? bearer
      if (key === null || key === undefined || !keys.has(key)) throw nopechaError(15, 'Invalid key')
      const task = tasks.get(query.get('id') ?? '')
      if (task === undefined || task.provider !== provider) throw nopechaError(13, 'Job not found')
      task.polls += 1
      if (task.polls < task.pollsNeeded) throw nopechaError(14, 'Incomplete job')
      return { status: 200, json: task.solution }
    }
    checkTaskApiKey(provider, body)
    const task = tasks.get(String(body.taskId))
    if (typeof body.taskId !== 'number' || task === undefined || task.provider !== provider) {
      throw textError(provider, 'ERROR_NO_SUCH_CAPCHA_ID', 'no such task')
    }
    task.polls += 1
    if (provider === 'capmonster' && task.polls > 120)
      throw textError(provider, 'ERROR_TOO_MUCH_REQUESTS', 'too many polls of this task')
    if (task.polls < task.pollsNeeded)
      return { status: 200, json: { errorId: 0, status: 'processing' } }
    const extra =
      provider === '2captcha'
        ? { cost: '0.0012', ip: '127.0.0.1', createTime: 1, endTime: 2, solveCount: 1 }
        : {}
    return { status: 200, json: { errorId: 0, status: 'ready', solution: task.solution, ...extra } }
  }

  /** 2Captcha reportIncorrect/reportCorrect, CapSolver feedbackTask, CapMonster reportIncorrectImageCaptcha. */
  function handleReport(
    provider: ProviderName,
    path: string,
    body: Record<string, unknown>,
  ): Outcome {
    checkTaskApiKey(provider, body)
    const id = String(body.taskId)
    const known = taskIds[provider].includes(id)
    if (provider === 'capsolver') {
      const result = isRecord(body.result) ? body.result : undefined
      if (typeof result?.invalid !== 'boolean')
        throw taskApiError(provider, 'ERROR_INVALID_TASK_DATA', 'result.invalid is required')
      if (!known) throw taskApiError(provider, 'ERROR_TASKID_INVALID', 'task id is invalid')
      reports.push({ provider, path, taskId: id, correct: !result.invalid })
      return { status: 200, json: { errorId: 0, message: 'feedback received' } }
    }
    if (typeof body.taskId !== 'number' || !known)
      throw textError(provider, 'ERROR_NO_SUCH_CAPCHA_ID', 'no such task')
    reports.push({ provider, path, taskId: id, correct: path === '/reportCorrect' })
    return { status: 200, json: { errorId: 0, status: 'success' } }
  }

  function buildSolution(
    provider: ProviderName,
    answer: Answer,
    confidence: number | undefined,
  ): Record<string, unknown> {
    const { grid, size, scores } = answer
    const rounded = scores.map((score) => Math.round(score * 10_000) / 10_000)
    if (grid === '1x1') {
      const hasObject = (scores[0] ?? 0) >= 0.5
      if (provider === 'yescaptcha') return { type: 'single', hasObject }
      if (provider === 'capsolver') return { type: 'single', hasObject, size }
      return { size, label: answer.question, confidences: rounded, type: 'single', hasObject }
    }
    let objects = scores.flatMap((score, index) => (score >= 0.5 ? [index] : []))
    if (provider === 'yescaptcha' && grid === '3x3') {
      if (confidence === undefined) {
        // Without a threshold YesCaptcha returns its three best tiles (here: of the matching ones).
        objects = [...objects]
          .sort((a, b) => scores[b]! - scores[a]! || a - b)
          .slice(0, 3)
          .sort((a, b) => a - b)
      } else {
        objects = scores.flatMap((score, index) => (score > confidence ? [index] : []))
      }
    }
    if (provider === 'yescaptcha') return { objects, type: 'multi' }
    if (provider === 'capsolver') return { objects, size, type: 'multi' }
    return { size, label: answer.question, confidences: rounded, objects, type: 'multi' }
  }

  // ---- endpoints -------------------------------------------------------------------------------

  function checkTaskApiKey(provider: ProviderName, body: Record<string, unknown>): void {
    if (typeof body.clientKey !== 'string' || !keys.has(body.clientKey)) {
      if (provider === '2captcha' || provider === 'capmonster')
        throw textError(provider, 'ERROR_KEY_DOES_NOT_EXIST', 'the key does not exist')
      throw provider === 'yescaptcha'
        ? taskApiError(provider, 'ERROR_KEY_DOES_NOT_EXIST', 'the key does not exist')
        : taskApiError(provider, 'ERROR_KEY_DENIED_ACCESS', 'wrong API key', 401)
    }
  }

  function checkAceKey(headers: IncomingMessage['headers']): void {
    const auth = headers.authorization
    if (auth === undefined || auth === '') throw aceError(401, 'no_token', 'no token provided')
    const match = /^Bearer (.+)$/.exec(auth)
    if (match === null || !keys.has(match[1]!))
      throw aceError(401, 'invalid_token', 'the token is invalid')
  }

  /** The work of a create call; `afterWork` runs once it is charged (for reset/malformed faults). */
  async function handleCreate(
    provider: ProviderName,
    body: Record<string, unknown>,
    headers: IncomingMessage['headers'],
  ): Promise<Outcome> {
    if (provider === 'acedata') {
      checkAceKey(headers)
      const answer = await recognizeImage(provider, body.image, body.question)
      const solution = buildSolution(provider, answer, undefined)
      if (asyncPolls > 0 || body.async === true) {
        const id = randomUUID()
        tasks.set(id, {
          provider,
          solution,
          pollsNeeded: Math.max(1, asyncPolls),
          polls: 0,
          grid: answer.grid,
          charged: false,
        })
        return {
          status: 200,
          json: { success: true, task_id: id, trace_id: randomUUID(), status: 'processing' },
        }
      }
      charge(provider, answer.grid)
      return { status: 200, json: { solution, trace_id: randomUUID() } }
    }
    checkTaskApiKey(provider, body)
    const task = body.task
    if (!isRecord(task))
      throw taskApiError(
        provider,
        provider === 'yescaptcha' ? 'ERROR_REQUIRED_FIELDS' : 'ERROR_INVALID_TASK_DATA',
        'task is required',
      )
    if (task.type !== 'ReCaptchaV2Classification')
      throw taskApiError(provider, 'ERROR_TASK_NOT_SUPPORTED', 'unknown task type')
    const confidence = task.confidence
    if (confidence !== undefined) {
      // CapSolver's task has no confidence field; a strict server refuses what it does not know.
      if (
        provider === 'capsolver' ||
        typeof confidence !== 'number' ||
        confidence < 0 ||
        confidence > 1
      ) {
        throw taskApiError(provider, 'ERROR_INVALID_TASK_DATA', 'confidence is not valid here')
      }
    }
    const answer = await recognizeImage(provider, task.image, task.question)
    const solution = buildSolution(provider, answer, confidence as number | undefined)
    charge(provider, answer.grid)
    const taskId = randomUUID()
    taskIds[provider].push(taskId)
    if (asyncPolls > 0) {
      tasks.set(taskId, {
        provider,
        solution,
        pollsNeeded: asyncPolls,
        polls: 0,
        grid: answer.grid,
        charged: true,
      })
      return provider === 'yescaptcha'
        ? { status: 200, json: { errorId: 0, errorCode: '', errorDescription: 'null', taskId } }
        : { status: 200, json: { errorId: 0, taskId, status: 'idle' } }
    }
    return provider === 'yescaptcha'
      ? {
          status: 200,
          json: {
            errorId: 0,
            errorCode: '',
            errorDescription: 'null',
            status: 'ready',
            taskId,
            solution,
          },
        }
      : { status: 200, json: { errorId: 0, taskId, status: 'ready', solution } }
  }

  function handlePoll(
    provider: ProviderName,
    body: Record<string, unknown>,
    headers: IncomingMessage['headers'],
  ): Outcome {
    counters.poll += 1
    if (provider === 'acedata') {
      checkAceKey(headers)
      if (typeof body.task_id !== 'string')
        throw aceError(400, 'bad_request', 'task_id is required')
      const task = tasks.get(body.task_id)
      if (task === undefined || task.provider !== provider)
        throw aceError(404, 'not_found', 'task not found')
      task.polls += 1
      if (task.polls < task.pollsNeeded)
        return { status: 200, json: { success: true, task_id: body.task_id, status: 'processing' } }
      // Ace charges once, on the first successful read of the result.
      if (!task.charged) {
        task.charged = true
        charge(provider, task.grid)
      }
      return {
        status: 200,
        json: { success: true, task_id: body.task_id, status: 'ready', solution: task.solution },
      }
    }
    checkTaskApiKey(provider, body)
    const id = typeof body.taskId === 'string' ? body.taskId : ''
    const task = tasks.get(id)
    if (task === undefined || task.provider !== provider) {
      throw provider === 'yescaptcha'
        ? taskApiError(provider, 'ERROR_NO_SUCH_CAPCHA_ID', 'no such task')
        : taskApiError(provider, 'ERROR_TASKID_INVALID', 'task id is invalid')
    }
    task.polls += 1
    if (task.polls < task.pollsNeeded) {
      return {
        status: 200,
        json: { errorId: 0, status: provider === 'capsolver' ? 'idle' : 'processing' },
      }
    }
    return {
      status: 200,
      json: {
        errorId: 0,
        errorCode: '',
        errorDescription: 'null',
        status: 'ready',
        taskId: id,
        solution: task.solution,
      },
    }
  }

  function handleBalance(
    provider: ProviderName,
    body: Record<string, unknown>,
    query: URLSearchParams,
  ): Outcome {
    if (provider === 'nopecha') {
      const key = query.get('key')
      if (key === null || !keys.has(key)) throw nopechaError(15, 'Invalid key')
      const credit = zeroBalance ? 0 : balances.nopecha
      return {
        status: 200,
        json: {
          plan: 'Basic',
          status: 'Active',
          credit,
          quota: 1000,
          duration: 2_592_000,
          lastreset: 1,
          ttl: 100,
        },
      }
    }
    checkTaskApiKey(provider, body)
    const balance = zeroBalance ? 0 : balances[provider]
    return provider === 'yescaptcha'
      ? {
          status: 200,
          json: {
            errorId: 0,
            errorCode: '',
            errorDescription: 'null',
            balance,
            softBalance: 0,
            inviteBalance: 12,
            inviteBy: 'nobody',
          },
        }
      : { status: 200, json: { errorId: 0, balance } }
  }

  // ---- faults ------------------------------------------------------------------------------------

  function drawFault(inFlight: number): FaultName | null {
    if (faults === undefined) return null
    if (faults.maxInFlight !== undefined && inFlight > faults.maxInFlight) return 'threads'
    const u = random()
    let edge = 0
    for (const name of [
      'rateLimit',
      'rateLimitNoHeader',
      'serverError',
      'internalError',
      'resetBeforeWork',
      'resetAfterWork',
      'malformed',
      'slow',
    ] as const) {
      edge += faults[name] ?? 0
      if (u < edge) return name
    }
    return null
  }

  function faultReply(provider: ProviderName, fault: FaultName): Outcome | undefined {
    const retryAfter = String(faults?.retryAfterSec ?? 1)
    switch (fault) {
      case 'rateLimit':
      case 'rateLimitNoHeader': {
        const headers: Record<string, string> =
          fault === 'rateLimit' ? { 'retry-after': retryAfter } : {}
        return provider === 'acedata'
          ? {
              status: 429,
              headers,
              json: {
                success: false,
                error: { code: 'too_many_requests', message: 'rate limited' },
                trace_id: randomUUID(),
              },
            }
          : { status: 429, headers, text: '<html><body>429 Too Many Requests</body></html>' }
      }
      case 'serverError': {
        const status = random() < 0.5 ? 500 : 503
        return provider === 'acedata' && status === 500
          ? {
              status,
              json: {
                success: false,
                error: { code: 'api_error', message: 'fetch failed' },
                trace_id: randomUUID(),
              },
            }
          : {
              status,
              text: `<html><body>${status} ${status === 500 ? 'Internal Server Error' : 'Service Unavailable'}</body></html>`,
            }
      }
      case 'internalError':
        return provider === 'acedata'
          ? {
              status: 500,
              json: {
                success: false,
                error: { code: 'api_error', message: 'internal error' },
                trace_id: randomUUID(),
              },
            }
          : {
              status: provider === 'yescaptcha' ? 200 : 500,
              json: {
                errorId: 1,
                errorCode: 'ERROR_INTERNAL_SERVER_ERROR',
                errorDescription: 'internal error',
              },
            }
      case 'threads':
        return provider === 'acedata'
          ? {
              status: 429,
              json: {
                success: false,
                error: { code: 'too_many_requests', message: 'too many concurrent requests' },
                trace_id: randomUUID(),
              },
            }
          : {
              status: provider === 'yescaptcha' ? 200 : 400,
              json: {
                errorId: 1,
                errorCode: 'ERROR_THREADS_MAXIMUM',
                errorDescription: 'too many threads',
              },
            }
      default:
        return undefined
    }
  }

  // ---- plumbing -----------------------------------------------------------------------------------

  function route(pathname: string): { provider: ProviderName; path: string } | undefined {
    const match = /^\/(yescaptcha|capsolver|acedata|2captcha|nopecha|capmonster)(\/.*)?$/.exec(
      pathname,
    )
    if (match !== null) return { provider: match[1] as ProviderName, path: match[2] ?? '/' }
    if (pathname.startsWith('/captcha/')) return { provider: 'acedata', path: pathname }
    return { provider: rootProvider, path: pathname }
  }

  function endpointKind(
    provider: ProviderName,
    path: string,
    method = 'POST',
  ): 'create' | 'poll' | 'balance' | 'report' | undefined {
    if (provider === 'nopecha') {
      if (path === '/') return method === 'GET' ? 'poll' : 'create'
      return path === '/status' && method === 'GET' ? 'balance' : undefined
    }
    if (method !== 'POST') return undefined
    if (provider === '2captcha' && (path === '/reportIncorrect' || path === '/reportCorrect'))
      return 'report'
    if (provider === 'capsolver' && path === '/feedbackTask') return 'report'
    if (provider === 'capmonster' && path === '/reportIncorrectImageCaptcha') return 'report'
    if (provider === 'acedata') {
      if (path === '/captcha/recognition/recaptcha2') return 'create'
      if (path === '/captcha/tasks') return 'poll'
      return undefined
    }
    if (path === '/createTask') return 'create'
    if (path === '/getTaskResult') return 'poll'
    if (path === '/getBalance') return 'balance'
    return undefined
  }

  function takeFixed(path: string): FixedReply | undefined {
    const matches = (reply: FixedReply): boolean =>
      reply.path === undefined
        ? true
        : typeof reply.path === 'string'
          ? reply.path === path
          : reply.path.test(path)
    const index = queue.findIndex(matches)
    if (index >= 0) return queue.splice(index, 1)[0]
    return persistent !== undefined && matches(persistent) ? persistent : undefined
  }

  function summarize(value: unknown): unknown {
    if (!isRecord(value)) return value
    const out: Record<string, unknown> = {}
    const images = (inner: unknown): unknown =>
      typeof inner === 'string' ? `<${inner.length} base64 chars>` : inner
    for (const [key, inner] of Object.entries(value)) {
      if (key === 'clientKey' || key === 'key') continue
      if (key === 'image' || key === 'body')
        out[key] = typeof inner === 'string' ? images(inner) : summarize(inner)
      else if ((key === 'imagesBase64' || key === 'image_data') && Array.isArray(inner))
        out[key] = inner.map(images)
      else out[key] = summarize(inner)
    }
    return out
  }

  function send(res: ServerResponse, entry: LoggedRequest, outcome: Outcome): void {
    entry.status = outcome.status
    if (res.destroyed || res.writableEnded) return
    const text = outcome.text ?? JSON.stringify(outcome.json ?? null)
    const type = outcome.text === undefined ? 'application/json' : 'text/html'
    res.writeHead(outcome.status, { 'content-type': type, ...outcome.headers })
    res.end(text)
  }

  function destroy(req: IncomingMessage, entry: LoggedRequest): void {
    entry.status = null
    req.socket.destroy()
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks).toString('utf8')
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Latency runs from arrival and the work happens during it, as at a real service: a reply is
    // never sent before `latencyMs` has passed, and the oracle's decoding does not add to it.
    const due = Date.now() + latencyMs
    const untilDue = async (): Promise<void> => {
      await wait(Math.max(0, due - Date.now()))
      await held?.replies
    }
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const routed = route(url.pathname)!
    const { provider, path } = routed
    const raw = await readBody(req)
    let body: unknown
    try {
      body = raw === '' ? undefined : JSON.parse(raw)
    } catch {
      body = undefined
    }
    const headers: Record<string, string> = {}
    for (const [name, value] of Object.entries(req.headers)) {
      if (name !== 'authorization' && typeof value === 'string') headers[name] = value
    }
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? null
    const bodyKey = isRecord(body)
      ? typeof body.clientKey === 'string'
        ? body.clientKey
        : typeof body.key === 'string'
          ? body.key
          : null
      : null
    const key = bodyKey ?? url.searchParams.get('key') ?? bearer
    const entry: LoggedRequest = {
      provider,
      path,
      method: req.method ?? '',
      headers,
      key,
      body: summarize(body),
      status: null,
      fault: null,
    }
    requests.push(entry)

    const kind = endpointKind(provider, path, req.method)
    if (kind === undefined) {
      await untilDue()
      const known = endpointKind(provider, path, 'POST') ?? endpointKind(provider, path, 'GET')
      send(res, entry, { status: known !== undefined ? 405 : 404, text: 'Not Found' })
      return
    }
    if (kind === 'create') counters.create += 1
    const tracked = kind === 'create'
    if (tracked) {
      counters.inFlight += 1
      counters.maxInFlight = Math.max(counters.maxInFlight, counters.inFlight)
    }
    try {
      const fixed = takeFixed(path)
      if (fixed !== undefined) await wait(fixed.delayMs ?? 0)
      if (fixed !== undefined && fixed.fault === undefined) {
        await untilDue()
        send(res, entry, {
          status: fixed.status ?? 200,
          json: fixed.json,
          ...(fixed.text === undefined ? {} : { text: fixed.text }),
          headers: fixed.headers ?? {},
        })
        return
      }
      const inScope = kind === 'create' || (kind === 'poll' && faults?.scope === 'all')
      const fault = fixed?.fault ?? (inScope ? drawFault(counters.inFlight) : null)
      if (fault !== null) {
        faultCounts[fault] += 1
        entry.fault = fault
      }
      const early = fault === null ? undefined : faultReply(provider, fault)
      if (early !== undefined) {
        await untilDue()
        send(res, entry, early)
        return
      }
      if (fault === 'resetBeforeWork') {
        await untilDue()
        destroy(req, entry)
        return
      }
      if (!isRecord(body) && req.method === 'POST') {
        throw provider === 'nopecha'
          ? nopechaError(10, 'the body must be a JSON object')
          : provider === '2captcha' || provider === 'capmonster'
            ? textError(provider, 'ERROR_TASK_ABSENT', 'the body must be a JSON object')
            : provider === 'acedata'
              ? aceError(400, 'bad_request', 'the body must be a JSON object')
              : taskApiError(provider, 'ERROR_BAD_REQUEST', 'the body must be a JSON object')
      }
      const fields = isRecord(body) ? body : {}
      const text = TEXT_PROVIDERS.includes(provider)
      const outcome =
        kind === 'report'
          ? handleReport(provider, path, fields)
          : kind === 'create'
            ? text
              ? await handleTextCreate(provider, fields, req.headers)
              : await handleCreate(provider, fields, req.headers)
            : kind === 'poll'
              ? text
                ? handleTextPoll(provider, fields, url.searchParams, req.headers)
                : handlePoll(provider, fields, req.headers)
              : handleBalance(provider, fields, url.searchParams)
      if (fault === 'resetAfterWork') {
        await untilDue()
        destroy(req, entry)
        return
      }
      if (fault === 'malformed') {
        await untilDue()
        send(res, entry, { status: 200, text: JSON.stringify(outcome.json).slice(0, 25) })
        return
      }
      if (fault === 'slow') await wait(faults?.slowMs ?? 2000)
      await untilDue()
      send(res, entry, outcome)
    } catch (error) {
      await untilDue()
      if (error instanceof Reply) send(res, entry, error.outcome)
      else send(res, entry, { status: 500, text: `test server bug: ${String(error)}` })
    } finally {
      if (tracked) counters.inFlight -= 1
    }
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent && !res.destroyed)
        res.writeHead(500).end(`test server bug: ${String(error)}`)
    })
  })
  // Idle sockets stay open (no server-side keep-alive race with the client pool); close() ends them.
  server.keepAliveTimeout = 0
  const host = options.host ?? '127.0.0.1'
  await new Promise<void>((resolve) => server.listen(0, host, resolve))
  const { port } = server.address() as AddressInfo
  const url = `http://${host}:${port}`

  return {
    url,
    endpoints: {
      yescaptcha: `${url}/yescaptcha`,
      capsolver: `${url}/capsolver`,
      acedata: `${url}/acedata`,
      '2captcha': `${url}/2captcha`,
      nopecha: `${url}/nopecha`,
      capmonster: `${url}/capmonster`,
    },
    requests,
    reports,
    taskIds,
    get createCount() {
      return counters.create
    },
    get paidCount() {
      return counters.paid
    },
    get pollCount() {
      return counters.poll
    },
    get maxInFlightSeen() {
      return counters.maxInFlight
    },
    faultCounts,
    balances,
    setKeys: (next) => {
      keys = new Set(next)
    },
    setOracle: (next) => {
      oracle = next ?? redOracle
    },
    setAsync: (polls) => {
      asyncPolls = polls
    },
    setLatency: (ms) => {
      latencyMs = ms
    },
    hold: () => {
      let open = (): void => {}
      const gate = {
        replies: new Promise<void>((resolve) => (open = resolve)),
        release: (): void => {
          if (held === gate) held = undefined
          open()
        },
      }
      held = gate
      return gate.release
    },

    setFaults,
    setBalance: (provider, value) => {
      balances[provider] = value
    },
    setZeroBalance: (on) => {
      zeroBalance = on
    },
    setReject450: (ids) => {
      reject450 = new Set(ids)
    },
    setReply: (reply) => {
      persistent = reply
    },
    pushReply: (...replies) => {
      queue.push(...replies)
    },
    resetCounters: () => {
      requests.length = 0
      reports.length = 0
      Object.assign(counters, { create: 0, paid: 0, poll: 0, maxInFlight: counters.inFlight })
      Object.assign(faultCounts, emptyCounts())
    },
    close: async () => {
      if (closing) return
      closing = true
      held?.release()
      for (const entry of timers) {
        clearTimeout(entry.timer)
        entry.resolve()
      }
      timers.clear()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    },
  }
}

/** A busy service's mix (issue 15): 6% 429 (Retry-After 1), 4% 5xx, 3% resets, 2% malformed JSON, 2% internal errors, 2% replies lost after charging. */
export const BUSY_SERVICE_FAULTS = {
  rateLimit: 0.06,
  retryAfterSec: 1,
  serverError: 0.04,
  resetBeforeWork: 0.03,
  malformed: 0.02,
  internalError: 0.02,
  resetAfterWork: 0.02,
} as const
