/**
 * The createTask / getTaskResult protocol shared by YesCaptcha and CapSolver
 * (`ReCaptchaV2Classification`). Errors are `errorId != 0` + `errorCode`, whatever the HTTP
 * status; `errorCode: ""` and `errorDescription: "null"` on success mean "no error".
 */
import { z } from 'zod'
import { mapProviderError } from './error-map.js'
import type { JsonReply } from './http.js'
import { afterCharge, checkRequest, createAdapterContext, pollTask } from './common.js'
import type { AdapterDefaults } from './common.js'
import { withChargedRetries, withRetries } from './retry.js'
import { normalizeSolution, parseReply, protocolError, readOrLost } from './solution.js'
import type { SolutionFields } from './solution.js'
import type { BalanceResult, Provider, ProviderName, ProviderOptions, RecognitionRequest, RecognitionResult } from './types.js'
import type { Grid } from '../types.js'

const EnvelopeSchema = z.looseObject({
  errorId: z.number().int().optional(),
  errorCode: z.string().nullable().optional(),
  errorDescription: z.string().nullable().optional(),
  status: z.string().nullable().optional(),
  taskId: z.union([z.string(), z.number()]).nullable().optional(),
  solution: z.unknown().optional(),
})
type Envelope = z.infer<typeof EnvelopeSchema>

export interface TaskApiSpec {
  name: Extract<ProviderName, 'yescaptcha' | 'capsolver'>
  defaults: AdapterDefaults
  /** Whether the task accepts `confidence` (YesCaptcha 3x3 only). */
  sendsConfidence: boolean
  /** Statuses that mean "not done yet". */
  pendingStatuses: readonly string[]
  points: (grid: Grid) => number | null
  balanceUnit: string
}

/** The envelope of a reply, or the mapped error it carries. */
function readEnvelope(name: ProviderName, reply: JsonReply): Envelope {
  const { status, body, retryAfterSec } = reply
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    if (status >= 400) throw mapProviderError({ provider: name, status, retryAfterSec })
    throw protocolError(name, 'the body is not a JSON object')
  }
  const envelope = parseReply(EnvelopeSchema, body, name, 'reply')
  if (envelope.errorId !== undefined && envelope.errorId !== 0) {
    throw mapProviderError({
      provider: name,
      code: envelope.errorCode ?? undefined,
      description: envelope.errorDescription ?? undefined,
      status: status === 200 ? undefined : status,
      retryAfterSec,
    })
  }
  if (status >= 400) throw mapProviderError({ provider: name, status, retryAfterSec })
  return envelope
}

export function createTaskApiProvider(spec: TaskApiSpec, options: ProviderOptions): Provider {
  const { name } = spec
  const context = createAdapterContext(name, options, spec.defaults)
  const { http, apiKey } = context

  async function recognize(request: RecognitionRequest): Promise<RecognitionResult> {
    const image = checkRequest(name, request)
    const { signal, grid } = request
    const task: Record<string, unknown> = { type: 'ReCaptchaV2Classification', image, question: request.question }
    // Confidence only changes 3x3 answers (top three vs all above the threshold).
    if (spec.sendsConfidence && grid === '3x3' && request.confidence !== undefined) task.confidence = request.confidence

    const solutionContext = { provider: name, grid, size: request.size }
    /** The create reply, read in full: an answer, or the task to poll. */
    const readCreated = (first: Envelope): { taskId: string | null; fields: SolutionFields | undefined } => {
      const taskId = first.taskId === undefined || first.taskId === null ? null : String(first.taskId)
      if (first.solution !== undefined && first.solution !== null) return { taskId, fields: normalizeSolution(first.solution, solutionContext) }
      if (first.status === 'ready') throw protocolError(name, 'reply.status is "ready" but reply.solution is missing')
      if (first.status !== undefined && first.status !== null && !spec.pendingStatuses.includes(first.status)) {
        throw protocolError(name, `reply.status = "${first.status}" without a solution`)
      }
      if (taskId === null) throw protocolError(name, 'reply.taskId is missing and there is no solution')
      return { taskId, fields: undefined }
    }

    const created = await withChargedRetries(
      async () => {
        const reply = await http.postJson('/createTask', { clientKey: apiKey, task }, signal)
        return readOrLost(() => readCreated(readEnvelope(name, reply)))
      },
      { ...context.retryOptions(signal, `${name}: POST /createTask`, request.whileWaiting), beforeChargedRetry: request.beforeChargedRetry },
    )
    // From here the service has charged for the task: a later failure still cost those calls.
    return afterCharge(created.paidCalls, async () => {
      let { taskId, fields } = created.value

      if (fields === undefined) {
        const id = taskId as string
        const solution = await pollTask(context, id, signal, async () => {
          const result = await withRetries(
            async () => {
              // A garbled poll reply costs nothing to ask again.
              const reply = await http.postJson('/getTaskResult', { clientKey: apiKey, taskId: id }, signal)
              return readOrLost(() => readEnvelope(name, reply))
            },
            context.retryOptions(signal, `${name}: POST /getTaskResult`, request.whileWaiting),
          )
          if (result.solution !== undefined && result.solution !== null) return result.solution
          if (result.status === 'ready') throw protocolError(name, 'reply.status is "ready" but reply.solution is missing')
          if (typeof result.status === 'string' && spec.pendingStatuses.includes(result.status)) return undefined
          throw protocolError(name, `reply.status = ${JSON.stringify(result.status ?? null)} for task ${id}`)
        })
        taskId = id
        fields = normalizeSolution(solution, solutionContext)
      }
      return { ...fields, taskId, points: spec.points(grid), paidCalls: created.paidCalls }
    })
  }

  async function balance(signal?: AbortSignal): Promise<BalanceResult> {
    const envelope = await withRetries(
      async () => readEnvelope(name, await http.postJson('/getBalance', { clientKey: apiKey }, signal)),
      context.retryOptions(signal, `${name}: POST /getBalance`),
    )
    const amount = (envelope as Record<string, unknown>).balance
    if (typeof amount !== 'number' || !Number.isFinite(amount)) {
      throw protocolError(name, `reply.balance = ${JSON.stringify(amount ?? null)} is not a number`)
    }
    const details: Record<string, number> = {}
    for (const [key, value] of Object.entries(envelope)) {
      if (key !== 'balance' && key !== 'errorId' && typeof value === 'number' && Number.isFinite(value)) details[key] = value
    }
    return { provider: name, balance: amount, unit: spec.balanceUnit, details }
  }

  return {
    name,
    recognize: (request) => context.guard(() => recognize(request)),
    balance: (signal) => context.guard(() => balance(signal)),
  }
}
