/**
 * The gateway's work, apart from HTTP: who a key belongs to, whether the client may spend more,
 * running a task through the services with failover, keeping its answer for getTaskResult, and
 * draining on shutdown (finish what is in flight, wait until the answers are fetched).
 */
import { randomInt } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import { lookupQuestion, Rc2Error, report } from '../index.js'
import { pointsFor } from '../providers/facts/index.js'
import { PROVIDER_REPORTS } from '../providers/index.js'
import type { ProviderName } from '../providers/types.js'
import type { QuestionMatch } from '../questions/types.js'
import { fetchInput } from '../inputs/fetch.js'
import type { SolveFailure, SolveSuccess } from '../engine/result.js'
import type { Grid } from '../types.js'
import { FailoverError, solveWithFailover, type Attempt, type FailoverContext } from './failover.js'
import type { GatewayMetrics } from './metrics.js'
import type { TaskStore } from './store.js'
import {
  Refusal,
  type GatewayClient,
  type RefusalKind,
  type TaskAnswer,
  type TaskRecord,
  type TaskSpec,
} from './types.js'

/** One line per finished task (stderr; JSON lines with --log json). */
export interface TaskLogEntry {
  task: string
  client: string
  protocol: string
  outcome: 'ok' | RefusalKind
  provider: ProviderName | null
  grid: Grid | null
  objects: number[] | null
  points: number
  ms: number
  attempts: string[]
  message?: string
}

export interface GatewayOptions {
  clients: readonly GatewayClient[]
  /** No clients configured (loopback only): any key is the one client, `clients[0]`. */
  openClient?: boolean | undefined
  failover: FailoverContext
  store: TaskStore
  metrics: GatewayMetrics
  log: (entry: TaskLogEntry) => void
  /** --output: every answer (and every paid failure) appended as `rc2 solve --output` writes it. */
  record?: ((result: SolveSuccess | SolveFailure, image: Buffer) => void) | undefined
  /** Told when `record` fails (the answer is still given to the client). */
  onRecordFailure?: ((message: string) => void) | undefined
  resultTtlSec: number
  maxTasksPerClient: number
  /** Limits for an image fetched from imageUrls. */
  fetch: { timeoutMs: number; maxBytes: number }
}

const GRIDS: readonly Grid[] = ['1x1', '3x3', '4x4']

export class Gateway {
  private readonly byKey: Map<string, GatewayClient>
  private readonly inFlight = new Map<string, number>()
  private readonly running = new Set<Promise<unknown>>()
  /** Tasks this gateway finished whose answers no client has read yet (for the drain). */
  private readonly unfetched = new Set<string>()
  /** Every task in flight listens to it: as many listeners as tasks, none of them a leak. */
  private readonly stopNow = sharedController()
  private closing = false

  constructor(private readonly options: GatewayOptions) {
    this.byKey = new Map(options.clients.map((client) => [client.key, client]))
  }

  /** The client a key belongs to; an unknown key is refused before anything else is done. */
  client(key: unknown): GatewayClient {
    const client =
      typeof key !== 'string'
        ? undefined
        : this.options.openClient === true
          ? this.options.clients[0]
          : this.byKey.get(key)
    if (client === undefined) throw new Refusal('key', 'the key is not one of this gateway')
    return client
  }

  get acceptingTasks(): boolean {
    return !this.closing
  }

  /** Tasks being solved now, by this gateway. */
  get tasksInFlight(): number {
    return this.running.size
  }

  /** Answers this gateway finished that no client has read yet (what a drain waits for). */
  get answersAwaitingFetch(): number {
    return this.unfetched.size
  }

  /**
   * Accept a task: check the question, the client's tasks in flight and its budget, record the
   * task, and start it. `done` settles with the finished record (for services that answer at once).
   */
  async create(
    client: GatewayClient,
    spec: TaskSpec,
  ): Promise<{ id: string; done: Promise<TaskRecord> }> {
    if (this.closing) throw new Refusal('closing', 'the gateway is shutting down')
    let question: QuestionMatch
    try {
      question = lookupQuestion(spec.question)
    } catch (error) {
      throw new Refusal('question', (error as Error).message)
    }
    const count = this.inFlight.get(client.name) ?? 0
    if (count >= this.options.maxTasksPerClient)
      throw new Refusal('busy', `${count} tasks of this client are in flight already`)
    const estimate = this.estimate(spec.grid ?? question.grid ?? undefined)
    if (!(await this.options.store.reserve(client, estimate))) {
      this.countRefusal(client, spec, 'budget')
      throw new Refusal('budget', 'this client has spent its budget')
    }
    const id = String(randomInt(1_000_000_000, 2 ** 48 - 1))
    const record: TaskRecord = {
      id,
      client: client.name,
      protocol: spec.protocol,
      status: 'processing',
      createdAt: Date.now(),
    }
    try {
      await this.options.store.put(record, this.options.resultTtlSec)
    } catch (error) {
      await this.options.store.settle(client, -estimate).catch(() => undefined)
      throw error
    }
    this.inFlight.set(client.name, count + 1)
    this.options.metrics.inFlight.inc()
    const done = this.run(client, spec, question, record, estimate)
    this.running.add(done)
    void done.finally(() => {
      this.running.delete(done)
      this.inFlight.set(client.name, (this.inFlight.get(client.name) ?? 1) - 1)
      this.options.metrics.inFlight.dec()
    })
    return { id, done }
  }

  /** A client's task as it stands; reading a finished one marks it fetched. */
  async result(client: GatewayClient, id: unknown): Promise<TaskRecord> {
    const { key, record } = await this.ownTask(client, id)
    if (record.status !== 'processing' && record.fetched !== true) {
      await this.options.store.put({ ...record, fetched: true }, this.options.resultTtlSec)
      this.unfetched.delete(key)
    }
    return record
  }

  /**
   * A client's report on an answer, passed on to the service that gave it when that service
   * takes such a report ('sent'); 'kept' when it takes none (nothing is sent). Another client's
   * task is refused as an unknown one, before anything is sent.
   */
  async reportAnswer(
    client: GatewayClient,
    id: unknown,
    correct: boolean,
  ): Promise<'sent' | 'kept'> {
    const { key, record } = await this.ownTask(client, id)
    const answer = record.answer
    if (answer === undefined)
      throw new Refusal('no_task', `task ${key} of this client has no answer to report`)
    const support = PROVIDER_REPORTS[answer.provider]
    const route = this.options.failover.routes.find((r) => r.name === answer.provider)
    const taskIds = answer.taskIds ?? []
    if (!(correct ? support.right : support.wrong) || route === undefined || taskIds.length === 0)
      return 'kept'
    const outcomes = await report(taskIds, {
      provider: route.name,
      apiKey: route.apiKey,
      endpoint: route.endpoint,
      region: route.region,
      allowInsecure: this.options.failover.allowInsecure,
      correct,
      signal: this.stopNow.signal,
    }).catch((error: unknown) => {
      if (error instanceof Rc2Error) return [{ ok: false, error: error.toJSON() }]
      throw error
    })
    const failed = outcomes.find((o) => !o.ok)
    if (failed !== undefined)
      throw new Refusal(
        'report_failed',
        `${answer.provider} did not take the report: ${failed.error?.message ?? 'no reason given'}`,
      )
    return 'sent'
  }

  /** What the client may still spend: the smaller of its two budgets (no budget: 999999999). */
  async balance(client: GatewayClient): Promise<number> {
    const spent = await this.options.store.spent(client)
    const left = [
      client.maxPoints === undefined ? Infinity : client.maxPoints - spent.total,
      client.maxPointsPerHour === undefined ? Infinity : client.maxPointsPerHour - spent.lastHour,
    ]
    const least = Math.min(...left)
    return Number.isFinite(least) ? Math.max(0, Math.round(least * 1e6) / 1e6) : 999_999_999
  }

  /**
   * Shutdown: refuse new tasks, let those in flight finish, and wait until their answers are
   * fetched, all within `graceMs`; what is still running then is stopped (its result recorded).
   */
  async drain(graceMs: number, stopNow?: AbortSignal): Promise<void> {
    this.closing = true
    const deadline = Date.now() + graceMs
    const stopped = new Promise<void>((resolve) => {
      if (stopNow?.aborted === true) resolve()
      stopNow?.addEventListener('abort', () => resolve(), { once: true })
    })
    const until = (ms: number): Promise<void> =>
      new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)).unref())
    await Promise.race([
      Promise.allSettled([...this.running]),
      until(deadline - Date.now()),
      stopped,
    ])
    while (this.unfetched.size > 0 && Date.now() < deadline && stopNow?.aborted !== true) {
      for (const id of [...this.unfetched]) {
        const record = await this.options.store.get(id).catch(() => undefined)
        if (record === undefined || record.fetched === true) this.unfetched.delete(id)
      }
      if (this.unfetched.size > 0) await Promise.race([until(100), stopped])
    }
    this.stopNow.abort()
    await Promise.race([Promise.allSettled([...this.running]), until(2000)])
  }

  /** The task `id` if it is this client's; an unknown id and another client's are refused alike. */
  private async ownTask(
    client: GatewayClient,
    id: unknown,
  ): Promise<{ key: string; record: TaskRecord }> {
    const key = typeof id === 'number' || typeof id === 'string' ? String(id).trim() : ''
    const record = /^\d{1,20}$/.test(key) ? await this.options.store.get(key) : undefined
    if (record === undefined || record.client !== client.name)
      throw new Refusal('no_task', `no task ${key.slice(0, 40)} of this client`)
    return { key, record }
  }

  /** The likeliest price of one task: the dearest call among the services it may go to. */
  private estimate(grid: Grid | undefined): number {
    const routes = this.options.failover.routes.filter(
      (route) => !this.options.failover.dropped.has(route.name),
    )
    const first = routes[0]
    if (first === undefined) return 0
    const grids = grid === undefined ? GRIDS : [grid]
    return Math.max(...grids.map((g) => pointsFor(first.name, g)))
  }

  private async run(
    client: GatewayClient,
    spec: TaskSpec,
    question: QuestionMatch,
    record: TaskRecord,
    estimate: number,
  ): Promise<TaskRecord> {
    const started = performance.now()
    let finished: TaskRecord
    let spent: number
    let attempts: Attempt[] = []
    let image: Buffer | undefined
    try {
      image = spec.image ?? (await this.fetchImage(spec.imageUrl as string))
      const solved = await solveWithFailover(
        {
          image,
          question,
          grid: spec.grid,
          confidence: spec.confidence,
          signal: this.stopNow.signal,
        },
        this.options.failover,
      )
      attempts = solved.attempts
      const { result } = solved
      spent =
        spentOn(attempts, result.grid) +
        pointsFor(result.provider, result.grid) * (result.paidCalls ?? 1)
      const answer: TaskAnswer = {
        grid: result.grid,
        type: result.type,
        objects: result.objects,
        hasObject: result.hasObject,
        provider: result.provider,
        taskIds: upstreamIds(result),
      }
      finished = { ...record, status: 'ready', answer }
      this.keep({ ...result, input: `task:${record.id}` }, image)
    } catch (error) {
      const failure = failureOf(error)
      if (error instanceof FailoverError) attempts = error.attempts
      spent = spentOn(attempts, spec.grid ?? question.grid ?? '3x3')
      finished = { ...record, status: 'failed', failure }
      if (spent > 0 && image !== undefined)
        this.keep(failureResult(record.id, error, attempts), image)
    }
    // A classification task is answered in the createTask reply itself: that is its delivery.
    if (spec.protocol === 'classification') finished.fetched = true
    await this.finish(client, finished, spent - estimate)
    this.report(client, finished, spent, attempts, performance.now() - started)
    return finished
  }

  /** --output: a write that fails is reported, and the client still gets its answer. */
  private keep(result: SolveSuccess | SolveFailure, image: Buffer): void {
    try {
      this.options.record?.(result, image)
    } catch (error) {
      this.options.onRecordFailure?.((error as Error).message)
    }
  }

  private async finish(client: GatewayClient, record: TaskRecord, delta: number): Promise<void> {
    await this.options.store.settle(client, delta).catch(() => undefined)
    await this.options.store.put(record, this.options.resultTtlSec).catch(() => undefined)
    if (record.fetched !== true) this.unfetched.add(record.id)
  }

  private async fetchImage(url: string): Promise<Buffer> {
    try {
      return await fetchInput(url, { ...this.options.fetch, signal: this.stopNow.signal })
    } catch (error) {
      throw new Refusal(
        'image',
        `the image at imageUrls could not be fetched: ${(error as Error).message}`,
      )
    }
  }

  private countRefusal(client: GatewayClient, spec: TaskSpec, outcome: RefusalKind): void {
    this.options.metrics.tasks.inc({
      client: client.name,
      protocol: spec.protocol,
      provider: 'none',
      outcome,
    })
  }

  private report(
    client: GatewayClient,
    record: TaskRecord,
    spent: number,
    attempts: Attempt[],
    ms: number,
  ): void {
    const outcome = record.failure?.kind ?? 'ok'
    const provider = record.answer?.provider ?? null
    const { metrics } = this.options
    metrics.tasks.inc({
      client: client.name,
      protocol: record.protocol,
      provider: provider ?? 'none',
      outcome,
    })
    metrics.taskSeconds.observe({ protocol: record.protocol, outcome }, ms / 1000)
    for (const attempt of attempts) {
      const paid = attempt.paidCalls * pointsFor(attempt.provider, record.answer?.grid ?? '3x3')
      if (paid > 0) metrics.points.inc({ client: client.name, provider: attempt.provider }, paid)
    }
    if (provider !== null)
      metrics.points.inc(
        { client: client.name, provider },
        spent - spentOn(attempts, record.answer?.grid ?? '3x3'),
      )
    this.options.log({
      task: record.id,
      client: client.name,
      protocol: record.protocol,
      outcome,
      provider,
      grid: record.answer?.grid ?? null,
      objects: record.answer?.objects ?? null,
      points: Math.round(spent * 1e6) / 1e6,
      ms: Math.round(ms),
      attempts: attempts.map((a) => `${a.provider}:${a.code ?? a.kind}`),
      ...(record.failure !== undefined ? { message: record.failure.message } : {}),
    })
  }
}

/** The service's task ids behind an answer (a dynamic round has one per checked tile). */
function upstreamIds(result: SolveSuccess): string[] {
  const ids = result.taskIds ?? [result.taskId]
  return ids.filter((id): id is string => typeof id === 'string' && id !== '')
}

/** Points the failed attempts may have cost. */
function spentOn(attempts: readonly Attempt[], grid: Grid): number {
  return attempts.reduce((sum, a) => sum + a.paidCalls * pointsFor(a.provider, grid), 0)
}

/** How a failed task is told to its client. */
function failureOf(error: unknown): { kind: RefusalKind; message: string } {
  if (error instanceof Refusal) return { kind: error.kind, message: error.message }
  if (error instanceof FailoverError) {
    const kind = error.last?.kind
    if (kind === 'input') return { kind: 'image', message: error.last?.message ?? error.message }
    if (kind === 'usage') return { kind: 'question', message: error.last?.message ?? error.message }
    return { kind: 'unsolvable', message: error.message }
  }
  return { kind: 'unsolvable', message: 'the task failed inside the gateway' }
}

/** A paid failure, as `rc2 solve --output` writes one. */
function failureResult(id: string, error: unknown, attempts: Attempt[]): SolveFailure {
  const last = error instanceof FailoverError ? error.last : undefined
  return {
    schemaVersion: 1,
    input: `task:${id}`,
    ok: false,
    error: {
      kind: last?.kind ?? 'provider',
      code: last?.code ?? null,
      message: last?.message ?? (error as Error).message,
      hint: last?.hint ?? null,
    },
    paidCalls: attempts.reduce((sum, a) => sum + a.paidCalls, 0),
    attempts: attempts.map(
      ({ provider, kind, code }) => ({ provider: provider, kind, code }) as never,
    ),
  }
}

function sharedController(): AbortController {
  const controller = new AbortController()
  setMaxListeners(0, controller.signal)
  return controller
}
