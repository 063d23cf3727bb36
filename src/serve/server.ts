/**
 * The HTTP side of rc2 serve (Fastify): the createTask family on /createTask, /getTaskResult and
 * /getBalance, 2Captcha's classic /in.php and /res.php, /healthz and /metrics. Every reply is in
 * the shape the client's own library expects, errors included; the services' keys are never in
 * one. An unknown client key is refused before the body is looked at any further.
 */
import formbody from '@fastify/formbody'
import multipart from '@fastify/multipart'
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify'
import type { CircuitBreaker } from './failover.js'
import type { Gateway } from './gateway.js'
import type { GatewayMetrics } from './metrics.js'
import {
  classicAnswer,
  classicReply,
  errorCode,
  parseClassic,
  parseCreateTask,
  solutionFor,
  taskApiError,
} from './protocols.js'
import { Refusal, type GatewayClient, type Protocol, type TaskRecord } from './types.js'

export interface ServerOptions {
  gateway: Gateway
  metrics: GatewayMetrics
  breaker: CircuitBreaker
  maxBodyBytes: number
  /** Where the log lines go (stderr), already formatted for --log. */
  logStream: NodeJS.WritableStream
}

/** Seconds a client has to send a whole request, and an idle kept-alive connection is kept. */
const REQUEST_TIMEOUT_MS = 30_000
const KEEP_ALIVE_MS = 5_000
const HEADERS_TIMEOUT_MS = 10_000

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The task type a body names, for shaping a refusal before the task is read. */
function protocolHint(body: unknown): Protocol | undefined {
  const type = isRecord(body) && isRecord(body.task) ? body.task.type : undefined
  if (type === 'GridTask') return 'grid'
  if (type === 'ComplexImageTask') return 'complex'
  return type === 'ReCaptchaV2Classification' ? 'classification' : undefined
}

function asRefusal(error: unknown): Refusal {
  if (error instanceof Refusal) return error
  throw error
}

/** A finished or pending task as getTaskResult (and a synchronous createTask) answers it. */
function taskResultBody(record: TaskRecord, taskId: string | number): Record<string, unknown> {
  if (record.status === 'processing') return { errorId: 0, status: 'processing' }
  if (record.status === 'failed' || record.answer === undefined) {
    const failure = record.failure ?? { kind: 'unsolvable' as const, message: 'no answer' }
    return taskApiError(record.protocol, new Refusal(failure.kind, failure.message))
  }
  return {
    errorId: 0,
    errorCode: '',
    errorDescription: '',
    status: 'ready',
    taskId,
    solution: solutionFor(record.protocol, record.answer),
  }
}

function registerTaskApi(app: FastifyInstance, gateway: Gateway): void {
  app.post('/createTask', async (request) => {
    const body = request.body
    let protocol = protocolHint(body)
    try {
      const client = gateway.client(isRecord(body) ? body.clientKey : undefined)
      const spec = parseCreateTask(body)
      protocol = spec.protocol
      const { id, done } = await gateway.create(client, spec)
      // YesCaptcha and CapSolver answer a classification task in the createTask reply itself.
      if (spec.protocol === 'classification') return taskResultBody(await done, id)
      return { errorId: 0, taskId: Number(id) }
    } catch (error) {
      return taskApiError(protocol, asRefusal(error))
    }
  })
  answerClient(app, gateway, '/getTaskResult', async (client, body) =>
    taskResultBody(await gateway.result(client, body.taskId), body.taskId as string | number),
  )
  answerClient(app, gateway, '/getBalance', async (client) => ({
    errorId: 0,
    balance: await gateway.balance(client),
  }))
}

/** A task-API call that needs only the client's key: its answer, or the error reply of the API. */
function answerClient(
  app: FastifyInstance,
  gateway: Gateway,
  path: string,
  answer: (client: GatewayClient, body: Record<string, unknown>) => Promise<unknown>,
): void {
  app.post(path, async (request) => {
    const body = isRecord(request.body) ? request.body : {}
    try {
      return await answer(gateway.client(body.clientKey), body)
    } catch (error) {
      return taskApiError(undefined, asRefusal(error))
    }
  })
}

/** Query, form, JSON and multipart fields of a classic call as strings; the file part as bytes. */
function classicFields(request: FastifyRequest): { fields: Record<string, string>; file?: Buffer } {
  const fields: Record<string, string> = {}
  let file: Buffer | undefined
  for (const source of [request.query, request.body]) {
    if (!isRecord(source)) continue
    for (const [name, value] of Object.entries(source)) {
      if (Buffer.isBuffer(value)) file = value
      else if (typeof value === 'string' || typeof value === 'number') fields[name] = String(value)
    }
  }
  return file === undefined ? { fields } : { fields, file }
}

function sendClassic(
  reply: FastifyReply,
  json: boolean,
  ok: boolean,
  request: string,
  plain?: string,
): FastifyReply {
  const { body, type } = classicReply(json, ok, request, plain)
  return reply.type(type).send(body)
}

function registerClassicApi(app: FastifyInstance, gateway: Gateway): void {
  const submit = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { fields, file } = classicFields(request)
    const json = fields.json === '1'
    try {
      const client = gateway.client(fields.key)
      const { id } = await gateway.create(client, parseClassic({ fields, file }))
      return sendClassic(reply, json, true, id)
    } catch (error) {
      return sendClassic(reply, json, false, errorCode(asRefusal(error).kind))
    }
  }
  const result = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { fields } = classicFields(request)
    const json = fields.json === '1'
    try {
      const client = gateway.client(fields.key)
      switch (fields.action) {
        case 'get':
          return await classicGet(reply, json, await gateway.result(client, fields.id))
        case 'getbalance': {
          const balance = String(await gateway.balance(client))
          return sendClassic(reply, json, true, balance, balance)
        }
        case 'reportbad':
        case 'reportgood':
          await gateway.reportAnswer(client, fields.id, fields.action === 'reportgood')
          return sendClassic(reply, json, true, 'OK_REPORT_RECORDED', 'OK_REPORT_RECORDED')
        default:
          throw new Refusal('bad_action', `action ${fields.action ?? '(none)'} is not served here`)
      }
    } catch (error) {
      return sendClassic(reply, json, false, errorCode(asRefusal(error).kind))
    }
  }
  app.post('/in.php', submit)
  app.get('/res.php', result)
  app.post('/res.php', result)
}

function classicGet(reply: FastifyReply, json: boolean, record: TaskRecord): FastifyReply {
  if (record.status === 'processing') return sendClassic(reply, json, false, 'CAPCHA_NOT_READY')
  if (record.answer === undefined)
    return sendClassic(reply, json, false, errorCode(record.failure?.kind ?? 'unsolvable'))
  return sendClassic(reply, json, true, classicAnswer(record.answer))
}

/** Parser errors (a body over the cap, bad JSON) in the shape of the route's protocol. */
function registerErrors(app: FastifyInstance): void {
  app.setErrorHandler(
    (error: { statusCode?: number; code?: string; message?: string }, request, reply) => {
      const tooBig =
        error.statusCode === 413 ||
        error.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ||
        error.code === 'FST_REQ_FILE_TOO_LARGE' ||
        error.code === 'FST_FILES_LIMIT' ||
        error.code === 'FST_PARTS_LIMIT'
      // A failure of the gateway itself (its Redis gone, say) is "try again later", not the client's fault.
      const internal = !tooBig && (error.statusCode === undefined || error.statusCode >= 500)
      const refusal = tooBig
        ? new Refusal('too_big', 'the request is larger than this gateway accepts')
        : internal
          ? new Refusal('busy', 'the gateway cannot take tasks just now; try again')
          : new Refusal('absent', 'the request body could not be read')
      if (internal)
        request.log.error({ code: error.code, message: error.message }, 'request failed')
      const status = tooBig ? 413 : internal ? 503 : 400
      if (request.url.startsWith('/in.php') || request.url.startsWith('/res.php')) {
        const json = isRecord(request.query) && request.query.json === '1'
        const { body, type } = classicReply(json, false, errorCode(refusal.kind))
        return reply.status(status).type(type).send(body)
      }
      return reply.status(status).send(taskApiError(undefined, refusal))
    },
  )
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { gateway, metrics, breaker } = options
  const app = Fastify({
    logger: { level: 'info', stream: options.logStream, base: null },
    // One line per task (gateway.ts), not one per request.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.maxBodyBytes,
    requestTimeout: REQUEST_TIMEOUT_MS,
    keepAliveTimeout: KEEP_ALIVE_MS,
    // Clients that pause mid-body are cut by requestTimeout; an answer may take a while to come.
    connectionTimeout: 0,
    forceCloseConnections: 'idle',
  })
  app.server.headersTimeout = HEADERS_TIMEOUT_MS
  await app.register(formbody, { bodyLimit: options.maxBodyBytes })
  await app.register(multipart, {
    attachFieldsToBody: 'keyValues',
    limits: {
      fileSize: options.maxBodyBytes,
      fieldSize: options.maxBodyBytes,
      files: 1,
      fields: 64,
      parts: 65,
    },
  })
  registerErrors(app)
  registerTaskApi(app, gateway)
  registerClassicApi(app, gateway)
  app.get('/healthz', async () => ({
    status: gateway.acceptingTasks ? 'ok' : 'draining',
    tasksInFlight: gateway.tasksInFlight,
    setAside: breaker.open(),
  }))
  app.get('/metrics', async (_request, reply) => {
    metrics.breakerOpen.reset()
    for (const name of breaker.open()) metrics.breakerOpen.set({ provider: name }, 1)
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics())
  })
  return app
}
