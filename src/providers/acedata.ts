/**
 * Ace Data Cloud "Recaptcha2 Image Recognition": POST /captcha/recognition/recaptcha2 with a
 * Bearer token. Synchronous by default (a call may take up to ~120 s); a reply of
 * `{status:'processing', task_id}` is polled at POST /captcha/tasks. Errors are HTTP statuses
 * with `{success:false, error:{code,message}, trace_id}` or a `detail` field. `taskId` in the
 * result is the task_id when there was one, else the trace_id (what Ace support asks for).
 */
import * as z from 'zod/mini'
import { ProviderError } from '../errors.js'
import { mapProviderError } from './error-map.js'
import type { JsonReply } from './http.js'
import { createAdapterContext } from './adapter-context.js'
import type { AdapterContext } from './adapter-context.js'
import { pollTask } from './polling.js'
import { checkRequest } from './request-check.js'
import { withChargedRetries } from './retry.js'
import { normalizeSolution, protocolError, readOrLost, readReplyObject } from './solution.js'
import type { SolutionContext, SolutionFields } from './solution.js'
import type { Provider, ProviderOptions, RecognitionRequest, RecognitionResult } from './types.js'

const ACEDATA_CONSOLE_URL = 'https://platform.acedata.cloud/console/applications'

const AceReplySchema = z.looseObject({
  success: z.optional(z.boolean()),
  status: z.optional(z.nullable(z.string())),
  task_id: z.optional(z.nullable(z.string())),
  trace_id: z.optional(z.nullable(z.string())),
  solution: z.optional(z.unknown()),
  error: z.optional(
    z.nullable(
      z.looseObject({
        code: z.optional(z.nullable(z.string())),
        message: z.optional(z.nullable(z.string())),
      }),
    ),
  ),
  detail: z.optional(z.unknown()),
})
type AceReply = z.infer<typeof AceReplySchema>

/** `detail` is a string, or FastAPI-style validation items. */
function renderDetail(detail: unknown): string | undefined {
  if (typeof detail === 'string') return detail
  if (detail === undefined || detail === null) return undefined
  return JSON.stringify(detail).slice(0, 200)
}

function readAceReply(reply: JsonReply): AceReply {
  const parsed = readReplyObject('acedata', reply, AceReplySchema)
  const failed =
    reply.status >= 400 ||
    parsed.success === false ||
    (parsed.error !== undefined && parsed.error !== null)
  if (failed) {
    throw mapProviderError({
      provider: 'acedata',
      code: parsed.error?.code ?? undefined,
      description: parsed.error?.message ?? renderDetail(parsed.detail),
      status: reply.status,
      retryAfterSec: reply.retryAfterSec,
      traceId: parsed.trace_id ?? undefined,
    })
  }
  return parsed
}

const PENDING = ['processing', 'pending', 'idle']

/**
 * Ace takes no threshold but scores every tile: `--confidence` is applied here, so the tiles
 * chosen are those scoring above it (for a single tile, whether it does), for every grid.
 */
function applyThreshold(fields: SolutionFields, confidence: number | undefined): SolutionFields {
  if (confidence === undefined || fields.confidences === null) return fields
  const scores = fields.confidences
  if (fields.type === 'single') return { ...fields, hasObject: (scores[0] ?? 0) > confidence }
  return {
    ...fields,
    objects: scores.flatMap((score, index) => (score > confidence ? [index] : [])),
  }
}

/** The recognition reply, read in full: an answer, or the task to poll. */
function readCreated(first: AceReply, solution: SolutionContext): SolutionFields | undefined {
  if (first.solution !== undefined && first.solution !== null)
    return normalizeSolution(first.solution, solution)
  if (first.status === undefined || first.status === null || !PENDING.includes(first.status)) {
    throw protocolError('acedata', 'reply.solution is missing')
  }
  if ((first.task_id ?? null) === null)
    throw protocolError('acedata', `reply.status is "${first.status}" but reply.task_id is missing`)
  return undefined
}

/** Ask /captcha/tasks until the solution comes (or the poll limits end it). */
function pollSolution(
  context: AdapterContext,
  taskId: string,
  request: RecognitionRequest,
): Promise<unknown> {
  const { signal } = request
  const retry = context.retryOptions(signal, 'acedata: POST /captcha/tasks', request)
  return pollTask(context, taskId, retry, async () => {
    // A garbled poll reply costs nothing to ask again.
    const reply = await context.http.postJson('/captcha/tasks', { task_id: taskId }, signal)
    const result = readOrLost(() => readAceReply(reply))
    if (result.solution !== undefined && result.solution !== null) return result.solution
    if (typeof result.status === 'string' && PENDING.includes(result.status)) return undefined
    throw protocolError(
      'acedata',
      `reply.status = ${JSON.stringify(result.status ?? null)} without a solution for task ${taskId}`,
    )
  })
}

async function recognize(
  context: AdapterContext,
  request: RecognitionRequest,
): Promise<RecognitionResult> {
  const image = checkRequest('acedata', request)
  const { signal, grid } = request
  const solution = { provider: 'acedata' as const, grid, size: request.size, checkSize: true }
  const { path, body } = context.facts.recognition({ ...request, image }, context.apiKey)
  const created = await withChargedRetries(
    async () => {
      const reply = await context.http.postJson(path, body, signal)
      return readOrLost(() => {
        const first = readAceReply(reply)
        return { first, fields: readCreated(first, solution) }
      })
    },
    {
      ...context.retryOptions(signal, `acedata: POST ${path}`, request),
      charge: { account: request.account, provider: 'acedata', grid },
    },
  )
  const { first } = created.value
  const taskId = first.task_id ?? null
  const fields =
    created.value.fields ??
    (taskId === null
      ? undefined
      : normalizeSolution(await pollSolution(context, taskId, request), solution))
  if (fields === undefined) throw protocolError('acedata', 'reply.solution is missing')
  return {
    ...applyThreshold(fields, request.confidence),
    taskId: taskId ?? first.trace_id ?? null,
    points: null,
    paidCalls: created.paidCalls,
  }
}

export function createAceDataProvider(options: ProviderOptions): Provider {
  const context = createAdapterContext('acedata', options)
  return {
    name: 'acedata',
    recognize: (request) => context.guard(() => recognize(context, request)),
    balance: () =>
      Promise.reject(
        new ProviderError('provider', 'acedata: the API has no documented balance call', {
          hint: `see the remaining quota in the console: ${ACEDATA_CONSOLE_URL}`,
        }),
      ),
    describeRequest: context.describeRequest,
    pointsFor: context.pointsFor,
  }
}
