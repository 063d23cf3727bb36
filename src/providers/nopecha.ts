/**
 * NopeCHA recognition API, `type: "recaptcha"`: POST / with the English instruction in `task`,
 * the `grid` and the image in `image_data`; the reply `{data: <job id>}`. The answer is fetched
 * with GET /?key=&id=, which answers HTTP 409 `{error: 14}` ("Incomplete job") until it is ready
 * and then `{data: [true|false per tile, row-major]}`. Errors are `{error: <number>, message}`
 * with an HTTP status. Polled every second (the official Node client's pace) for up to 2 minutes.
 * The key goes in the body/query (the docs) and as a Bearer header (the Node client). Credits per
 * recognition are not published (points: null). NopeCHA takes no feedback on answers.
 */
import * as z from 'zod/mini'
import { mapProviderError } from './error-map.js'
import type { JsonReply } from './http.js'
import { createAdapterContext } from './adapter-context.js'
import type { AdapterContext } from './adapter-context.js'
import { pollTask } from './polling.js'
import { checkRequest } from './request-check.js'
import { withChargedRetries, withRetries } from './retry.js'
import { parseReply, protocolError, readReplyObject } from './solution.js'
import type { SolutionFields } from './solution.js'
import type {
  BalanceResult,
  Provider,
  ProviderOptions,
  RecognitionRequest,
  RecognitionResult,
} from './types.js'
import { GRID_SIDE } from '../types.js'

const INCOMPLETE = 14

const ReplySchema = z.looseObject({
  data: z.optional(z.unknown()),
  error: z.optional(z.nullable(z.union([z.number(), z.string()]))),
  message: z.optional(z.nullable(z.string())),
})
type Reply = z.infer<typeof ReplySchema>

/** The reply, or the mapped error it carries; `pending` is true for 409 / error 14. */
function readReply(reply: JsonReply): { body: Reply; pending: boolean } {
  const { status, retryAfterSec } = reply
  const parsed = readReplyObject('nopecha', reply, ReplySchema)
  const code =
    parsed.error === undefined || parsed.error === null ? undefined : String(parsed.error)
  if (code === String(INCOMPLETE) || (status === 409 && code === undefined))
    return { body: parsed, pending: true }
  if (code !== undefined || status >= 400) {
    throw mapProviderError({
      provider: 'nopecha',
      code,
      description: parsed.message ?? undefined,
      status: status === 200 ? undefined : status,
      retryAfterSec,
    })
  }
  return { body: parsed, pending: false }
}

/** One boolean per tile -> objects / hasObject. */
export function normalizeTileFlags(
  provider: 'nopecha' | 'capmonster',
  field: string,
  raw: unknown,
  grid: RecognitionRequest['grid'],
): SolutionFields {
  const flags = parseReply(z.array(z.boolean()), raw, provider, field)
  const tiles = GRID_SIDE[grid] ** 2
  if (flags.length !== tiles)
    throw protocolError(
      provider,
      `${field} has ${flags.length} entries, expected ${tiles} for the ${grid} grid`,
    )
  const objects = flags.flatMap((flag, index) => (flag ? [index] : []))
  if (grid === '1x1')
    return { type: 'single', objects: [], hasObject: flags[0] === true, confidences: null }
  return { type: 'multi', objects, hasObject: null, confidences: null }
}

async function recognize(
  context: AdapterContext,
  request: RecognitionRequest,
): Promise<RecognitionResult> {
  const { http, apiKey } = context
  const image = checkRequest('nopecha', request)
  const { signal, grid } = request
  const { path, body } = context.facts.recognition({ ...request, image }, apiKey)
  const created = await withChargedRetries(
    async () => {
      const { body: reply, pending } = readReply(await http.postJson(path, body, signal))
      if (pending) throw protocolError('nopecha', 'the submit call answered "incomplete job"')
      return reply
    },
    {
      ...context.retryOptions(signal, `nopecha: POST ${path}`, request),
      charge: { account: request.account, provider: 'nopecha', grid },
    },
  )
  const id = created.value.data
  if (typeof id !== 'string' && typeof id !== 'number')
    throw protocolError('nopecha', 'reply.data (the job id) is missing')
  const jobId = String(id)
  const retry = context.retryOptions(signal, 'nopecha: GET /')
  const flags = await pollTask(context, jobId, retry, async () => {
    const { body: reply, pending } = readReply(
      await http.getJson('/', { key: apiKey, id: jobId }, signal),
    )
    return pending ? undefined : (reply.data ?? null)
  })
  const fields = normalizeTileFlags('nopecha', 'reply.data', flags, grid)
  return { ...fields, taskId: jobId, points: null, paidCalls: created.paidCalls }
}

async function balance(context: AdapterContext, signal?: AbortSignal): Promise<BalanceResult> {
  const { body } = await withRetries(
    async () => readReply(await context.http.getJson('/status', { key: context.apiKey }, signal)),
    context.retryOptions(signal, 'nopecha: GET /status'),
  )
  const record = body as Record<string, unknown>
  const credit = record.credit
  if (typeof credit !== 'number' || !Number.isFinite(credit)) {
    throw protocolError(
      'nopecha',
      `reply.credit = ${JSON.stringify(credit ?? null)} is not a number`,
    )
  }
  const details: Record<string, number> = {}
  for (const key of ['quota', 'duration', 'lastreset', 'ttl']) {
    const value = record[key]
    if (typeof value === 'number' && Number.isFinite(value)) details[key] = value
  }
  return { provider: 'nopecha', balance: credit, unit: 'credits', details }
}

export function createNopechaProvider(options: ProviderOptions): Provider {
  const context = createAdapterContext('nopecha', options)
  return {
    name: 'nopecha',
    recognize: (request) => context.guard(() => recognize(context, request)),
    balance: (signal) => context.guard(() => balance(context, signal)),
    describeRequest: context.describeRequest,
    pointsFor: context.pointsFor,
  }
}
