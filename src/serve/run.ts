/**
 * Starting and stopping a gateway: the services from the resolved config, the store (memory or
 * Redis), the HTTP server on its address, and the drain on shutdown.
 */
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { requireApiKey, type ResolvedConfig } from '../config/resolve.js'
import { serveSettingsOf } from '../config/schema.js'
import { UsageError } from '../errors.js'
import { isLoopbackHost } from '../providers/http.js'
import { PROVIDER_FACTS } from '../providers/facts/index.js'
import { ResultJournal, sha256 } from '../batch/journal.js'
import { CircuitBreaker, type FailoverContext, type Route } from './failover.js'
import { Gateway, type TaskLogEntry } from './gateway.js'
import { createMetrics, type GatewayMetrics } from './metrics.js'
import { RedisStore } from './redis-store.js'
import { buildServer } from './server.js'
import { MemoryStore, type TaskStore } from './store.js'
import type { GatewayClient } from './types.js'

export interface ServeOptions {
  config: ResolvedConfig
  host: string
  port: number
  /** --output: answers appended as `rc2 solve --output` writes them. */
  output?: string | undefined
  logJson: boolean
  /** One line of stderr (the caller scrubs secrets from it). */
  writeLine: (line: string) => void
  /** Replaces the library's solve (the bench measures the gateway alone with it). */
  solveImpl?: FailoverContext['solveImpl']
}

export interface RunningGateway {
  url: string
  app: FastifyInstance
  gateway: Gateway
  /** Refuse new tasks, finish and hand out those in flight within the grace, then close. */
  close(graceMs?: number, stopNow?: AbortSignal): Promise<void>
}

/** The name a client is shown by: its own, else client1, client2, ... in list order. */
export function gatewayClients(config: ResolvedConfig): GatewayClient[] {
  return serveSettingsOf(config).clients.map((client, index) => ({
    name: client.name ?? `client${index + 1}`,
    key: client.key,
    maxPoints: client.maxPoints,
    maxPointsPerHour: client.maxPointsPerHour,
  }))
}

function routesOf(config: ResolvedConfig): Route[] {
  return config.providerList.map((name) => {
    const credentials = config.credentials[name]
    const timeoutSec = config.timeoutGiven
      ? config.timeout
      : (PROVIDER_FACTS[name].imageTimeoutSec ?? config.timeout)
    return {
      name,
      apiKey: requireApiKey(config, name),
      endpoint: credentials?.endpoint,
      region: credentials?.region,
      timeoutMs: timeoutSec * 1000,
    }
  })
}

/** Log lines: pino's JSON as it is (--log json) or one readable line per task. */
function logStream(json: boolean, writeLine: (line: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue
        let entry: Record<string, unknown>
        try {
          entry = JSON.parse(line) as Record<string, unknown>
        } catch {
          writeLine(line)
          continue
        }
        // Fastify's own "Server listening at" line: ours is printed first, once.
        if (typeof entry.msg === 'string' && entry.msg.startsWith('Server listening at')) continue
        writeLine(json ? line : textLine(entry))
      }
      callback()
    },
  })
}

function textLine(entry: Record<string, unknown>): string {
  if (entry.msg !== 'task') return String(entry.msg)
  const task = entry as unknown as TaskLogEntry
  const answer = task.objects === null ? '' : ` [${task.objects.join(',')}]`
  const via = task.attempts.length > 0 ? ` after ${task.attempts.join(' ')}` : ''
  const why = task.message === undefined ? '' : `: ${task.message}`
  return `task ${task.task} ${task.client} ${task.protocol} ${task.outcome} ${task.provider ?? '-'} ${task.grid ?? '-'}${answer} ${task.points} pt ${task.ms} ms${via}${why}`
}

/**
 * The clients the gateway answers. None configured: any key is this machine's one client, with
 * no budget, which only a loopback address may offer.
 */
function clientsFor(
  config: ResolvedConfig,
  host: string,
): { clients: GatewayClient[]; open: boolean } {
  const clients = gatewayClients(config)
  if (clients.length > 0) return { clients, open: false }
  if (!isLoopbackHost(host)) {
    throw new UsageError(
      `rc2 serve --host ${host} would let anyone who reaches it spend your accounts: no serve.clients are configured`,
      { hint: 'add serve.clients (each with its own key) to the config, or listen on 127.0.0.1' },
    )
  }
  return { clients: [{ name: 'local', key: '' }], open: true }
}

/** Listen, and give the address as clients write it (an IPv6 host in brackets). */
async function listen(app: FastifyInstance, host: string, port: number): Promise<string> {
  try {
    await app.listen({ host, port })
  } catch (error) {
    const code = (error as { code?: string }).code ?? (error as Error).message
    throw new UsageError(`rc2 serve cannot listen on ${host}:${port} (${code})`, {
      hint: 'choose another --port (0 takes a free one) or --host',
    })
  }
  const address = app.server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  return `http://${host.includes(':') ? `[${host}]` : host}:${bound}`
}

/** The services in order, the breaker, and an upstream-duration metric per attempt. */
function failoverContext(
  config: ResolvedConfig,
  breaker: CircuitBreaker,
  metrics: GatewayMetrics,
  solveImpl: FailoverContext['solveImpl'],
): FailoverContext {
  return {
    routes: routesOf(config),
    breaker,
    dropped: new Set(),
    retries: config.retries,
    allowInsecure: config.allowInsecure,
    solveImpl,
    onAttempt: (provider, outcome, ms) =>
      metrics.upstreamSeconds.observe({ provider, outcome }, ms / 1000),
  }
}

/** Start a gateway and listen; refuses to bind beyond loopback without client keys. */
export async function startGateway(options: ServeOptions): Promise<RunningGateway> {
  const { config } = options
  const settings = serveSettingsOf(config)
  const { clients, open } = clientsFor(config, options.host)
  const store: TaskStore =
    settings.redis === undefined ? new MemoryStore() : await RedisStore.connect(settings.redis)
  let journal: ResultJournal | undefined
  try {
    journal = options.output === undefined ? undefined : ResultJournal.open(options.output)
  } catch (error) {
    await store.close()
    throw error
  }
  const output = journal
  const metrics = createMetrics()
  const breaker = new CircuitBreaker(settings.breakerFailures, settings.breakerCooldown * 1000)
  // The gateway logs through the server's logger, which exists only once the gateway does.
  const logger: { app?: FastifyInstance } = {}
  const gateway = new Gateway({
    clients,
    openClient: open,
    failover: failoverContext(config, breaker, metrics, options.solveImpl),
    store,
    metrics,
    log: (entry) => logger.app?.log.info(entry, 'task'),
    onRecordFailure: (message) => logger.app?.log.error(message),
    record:
      output === undefined ? undefined : (result, image) => output.append(result, sha256(image)),
    resultTtlSec: settings.resultTtl,
    maxTasksPerClient: settings.maxTasksPerClient,
    fetch: { timeoutMs: config.timeout * 1000, maxBytes: config.image.maxBytes },
  })
  const app = await buildServer({
    gateway,
    metrics,
    breaker,
    maxBodyBytes: settings.maxBodyBytes,
    logStream: logStream(options.logJson, options.writeLine),
  })
  logger.app = app
  let url: string
  try {
    url = await listen(app, options.host, options.port)
  } catch (error) {
    await store.close()
    journal?.close()
    throw error
  }
  return {
    url,
    app,
    gateway,
    async close(graceMs = settings.drainGrace * 1000, stopNow) {
      await gateway.drain(graceMs, stopNow)
      await app.close()
      await store.close()
      journal?.close()
    },
  }
}
