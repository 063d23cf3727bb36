/**
 * The createTask / getTaskResult protocol shared by YesCaptcha and CapSolver
 * (`ReCaptchaV2Classification`), 2Captcha (`GridTask`) and CapMonster (`ComplexImageTask`).
 * Errors are `errorId != 0` + `errorCode`, whatever the HTTP status (2Captcha's `errorId` is the
 * error's number); `errorCode: ""` and `errorDescription: "null"` on success mean "no error".
 */
import * as z from 'zod/mini'
import { UsageError } from '../errors.js'
import { mapProviderError } from './error-map.js'
import type { JsonReply } from './http.js'
import { createAdapterContext } from './adapter-context.js'
import type { AdapterContext } from './adapter-context.js'
import { pollTask } from './polling.js'
import { checkRequest } from './request-check.js'
import { withChargedRetries, withRetries } from './retry.js'
import { normalizeSolution, protocolError, readOrLost, readReplyObject } from './solution.js'
import type { SolutionFields } from './solution.js'
import type {
  BalanceResult,
  Provider,
  ProviderName,
  ProviderOptions,
  RecognitionRequest,
  RecognitionResult,
  ReportResult,
} from './types.js'

const EnvelopeSchema = z.looseObject({
  errorId: z.optional(z.number().check(z.int())),
  errorCode: z.optional(z.nullable(z.string())),
  errorDescription: z.optional(z.nullable(z.string())),
  status: z.optional(z.nullable(z.string())),
  taskId: z.optional(z.nullable(z.union([z.string(), z.number()]))),
  solution: z.optional(z.unknown()),
})
type Envelope = z.infer<typeof EnvelopeSchema>

/** The image to send, and anything the caller should hear about how it was made to fit. */
export interface FittedPayload {
  image: string
  warnings?: string[] | undefined
}

/** A service's call that takes feedback on an answer (2Captcha, CapSolver, CapMonster). */
interface ReportSpec {
  /** The method path for a wrong (correct = false) or right answer; undefined: not supported. */
  path: (correct: boolean) => string | undefined
  /** The body besides clientKey. */
  body: (taskId: string, correct: boolean) => Record<string, unknown>
}

export interface TaskApiSpec {
  /** The service; its endpoint, deadlines, price and task come from its facts (providers/facts/). */
  name: ProviderName
  /** Statuses that mean "not done yet". */
  pendingStatuses: readonly string[]
  balanceUnit: string
  /** Make the checked image fit the service's limits before the task is built (CapMonster). */
  fitPayload?: ((request: RecognitionRequest, image: string) => Promise<FittedPayload>) | undefined
  /** Turn `solution` into the normalised fields (default: objects / hasObject). */
  normalize?: ((solution: unknown, request: RecognitionRequest) => SolutionFields) | undefined
  /** Names for numeric `errorId`s sent without an `errorCode` (2Captcha). */
  errorIdCodes?: Readonly<Record<number, string>> | undefined
  report?: ReportSpec | undefined
}

/** The envelope of a reply, or the mapped error it carries. */
function readEnvelope(
  name: ProviderName,
  reply: JsonReply,
  errorIdCodes?: Readonly<Record<number, string>>,
): Envelope {
  const { status, retryAfterSec } = reply
  const envelope = readReplyObject(name, reply, EnvelopeSchema)
  if (envelope.errorId !== undefined && envelope.errorId !== 0) {
    const named =
      envelope.errorCode === undefined || envelope.errorCode === null || envelope.errorCode === ''
    throw mapProviderError({
      provider: name,
      code:
        (named ? errorIdCodes?.[envelope.errorId] : envelope.errorCode) ??
        envelope.errorCode ??
        (errorIdCodes === undefined ? undefined : String(envelope.errorId)),
      description: envelope.errorDescription ?? undefined,
      status: status === 200 ? undefined : status,
      retryAfterSec,
    })
  }
  if (status >= 400) throw mapProviderError({ provider: name, status, retryAfterSec })
  return envelope
}

/** One service's protocol at work: its spec, the shared adapter context, and its reply reader. */
interface TaskApi {
  spec: TaskApiSpec
  context: AdapterContext
  read: (reply: JsonReply) => Envelope
}

export function createTaskApiProvider(spec: TaskApiSpec, options: ProviderOptions): Provider {
  const context = createAdapterContext(spec.name, options)
  const api: TaskApi = {
    spec,
    context,
    read: (reply) => readEnvelope(spec.name, reply, spec.errorIdCodes),
  }
  const reportSpec = spec.report
  return {
    name: spec.name,
    recognize: (request) => context.guard(() => recognize(api, request)),
    balance: (signal) => context.guard(() => fetchBalance(api, signal)),
    describeRequest: context.describeRequest,
    pointsFor: context.pointsFor,
    ...(reportSpec === undefined
      ? {}
      : {
          report: (taskId: string, correct: boolean, signal?: AbortSignal) =>
            context.guard(() => sendReport(api, taskId, correct, reportSpec, signal)),
        }),
  }
}

/** The create reply, read in full: an answer, or the task to poll. */
function readCreated(
  spec: TaskApiSpec,
  first: Envelope,
  normalize: (solution: unknown) => SolutionFields,
): { taskId: string | null; fields: SolutionFields | undefined } {
  const { name } = spec
  const taskId = first.taskId === undefined || first.taskId === null ? null : String(first.taskId)
  if (first.solution !== undefined && first.solution !== null)
    return { taskId, fields: normalize(first.solution) }
  if (first.status === 'ready')
    throw protocolError(name, 'reply.status is "ready" but reply.solution is missing')
  if (
    first.status !== undefined &&
    first.status !== null &&
    !spec.pendingStatuses.includes(first.status)
  ) {
    throw protocolError(name, `reply.status = "${first.status}" without a solution`)
  }
  if (taskId === null) throw protocolError(name, 'reply.taskId is missing and there is no solution')
  return { taskId, fields: undefined }
}

async function recognize(api: TaskApi, request: RecognitionRequest): Promise<RecognitionResult> {
  const { spec, context } = api
  const { name } = spec
  const image = checkRequest(name, request)
  const { signal, grid } = request
  const payload = spec.fitPayload === undefined ? { image } : await spec.fitPayload(request, image)
  const { warnings } = payload
  const { path, body } = context.facts.recognition(
    { ...request, image: payload.image },
    context.apiKey,
  )
  const solutionContext = { provider: name, grid, size: request.size }
  const normalize = (solution: unknown): SolutionFields =>
    spec.normalize === undefined
      ? normalizeSolution(solution, solutionContext)
      : spec.normalize(solution, request)

  const created = await withChargedRetries(
    async () => {
      const reply = await context.http.postJson(path, body, signal)
      return readOrLost(() => readCreated(spec, api.read(reply), normalize))
    },
    {
      ...context.retryOptions(signal, `${name}: POST ${path}`, request),
      charge: { account: request.account, provider: name, grid },
    },
  )
  let { taskId, fields } = created.value
  if (fields === undefined) {
    const id = taskId as string
    fields = normalize(await pollSolution(api, id, request))
    taskId = id
  }
  const result: RecognitionResult = {
    ...fields,
    taskId,
    points: context.facts.price(grid),
    paidCalls: created.paidCalls,
  }
  if (warnings !== undefined && warnings.length > 0) result.warnings = warnings
  return result
}

/** Ask getTaskResult until the solution comes (or the poll limits end it). */
function pollSolution(api: TaskApi, id: string, request: RecognitionRequest): Promise<unknown> {
  const { spec, context } = api
  const { name } = spec
  const { signal } = request
  const label = `${name}: POST /getTaskResult`
  return pollTask(context, id, context.retryOptions(signal, label, request), async () => {
    const body = { clientKey: context.apiKey, taskId: wireTaskId(id) }
    // A garbled poll reply costs nothing to ask again.
    const reply = await context.http.postJson('/getTaskResult', body, signal)
    const result = readOrLost(() => api.read(reply))
    if (result.solution !== undefined && result.solution !== null) return result.solution
    if (result.status === 'ready')
      throw protocolError(name, 'reply.status is "ready" but reply.solution is missing')
    if (typeof result.status === 'string' && spec.pendingStatuses.includes(result.status))
      return undefined
    throw protocolError(
      name,
      `reply.status = ${JSON.stringify(result.status ?? null)} for task ${id}`,
    )
  })
}

async function fetchBalance(api: TaskApi, signal?: AbortSignal): Promise<BalanceResult> {
  const { spec, context } = api
  const { name } = spec
  const envelope = await withRetries(
    async () =>
      api.read(await context.http.postJson('/getBalance', { clientKey: context.apiKey }, signal)),
    context.retryOptions(signal, `${name}: POST /getBalance`),
  )
  const amount = (envelope as Record<string, unknown>).balance
  if (typeof amount !== 'number' || !Number.isFinite(amount)) {
    throw protocolError(name, `reply.balance = ${JSON.stringify(amount ?? null)} is not a number`)
  }
  const details: Record<string, number> = {}
  for (const [key, value] of Object.entries(envelope)) {
    if (
      key !== 'balance' &&
      key !== 'errorId' &&
      typeof value === 'number' &&
      Number.isFinite(value)
    )
      details[key] = value
  }
  return { provider: name, balance: amount, unit: spec.balanceUnit, details }
}

async function sendReport(
  api: TaskApi,
  taskId: string,
  correct: boolean,
  reportSpec: ReportSpec,
  signal?: AbortSignal,
): Promise<ReportResult> {
  const { context } = api
  const { name } = api.spec
  const path = reportSpec.path(correct)
  if (path === undefined) {
    throw new UsageError(
      `${name} has no call to report a ${correct ? 'correct' : 'wrong'} answer`,
      {
        hint: correct
          ? `${name} only takes reports of wrong answers: drop --correct`
          : `${name} only takes reports of correct answers`,
      },
    )
  }
  // Not retried on a lost reply: a report is not worth a second charge-free guess, and the user can rerun it.
  const envelope = await withRetries(
    async () =>
      api.read(
        await context.http.postJson(
          path,
          { clientKey: context.apiKey, ...reportSpec.body(taskId, correct) },
          signal,
        ),
      ),
    context.retryOptions(signal, `${name}: POST ${path}`),
  )
  const said =
    (envelope as Record<string, unknown>).message ?? (envelope as Record<string, unknown>).status
  return { provider: name, taskId, correct, message: typeof said === 'string' ? said : null }
}

/** Task ids go back as the service gave them: 2Captcha's and CapMonster's are numbers. */
function wireTaskId(id: string): string | number {
  return /^[1-9]\d{0,15}$/.test(id) && Number.isSafeInteger(Number(id)) ? Number(id) : id
}
