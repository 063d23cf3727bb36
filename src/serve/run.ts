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
import { ResultJournal, sha256 } from '../solve/journal.js'
import { CircuitBreaker, type FailoverContext, type Route } from './failover.js'
import { Gateway, type TaskLogEntry } from './gateway.js'
import { createMetrics } from './metrics.js'
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

/** Start a gateway and listen; refuses to bind beyond loopback without client keys. */
export async function startGateway(options: ServeOptions): Promise<RunningGateway> {
  const { config } = options
  const settings = serveSettingsOf(config)
  let clients = gatewayClients(config)
  if (clients.length === 0 && !isLoopbackHost(options.host)) {
    throw new UsageError(
      `rc2 serve --host ${options.host} would let anyone who reaches it spend your accounts: no serve.clients are configured`,
      { hint: 'add serve.clients (each with its own key) to the config, or listen on 127.0.0.1' },
    )
  }
  // No clients configured (loopback only): any key is this machine's one client, with no budget.
  const open = clients.length === 0
  if (open) clients = [{ name: 'local', key: '' }]
  const routes = routesOf(config)
  const journal = options.output === undefined ? undefined : ResultJournal.open(options.output)
  const store: TaskStore =
    settings.redis === undefined ? new MemoryStore() : await RedisStore.connect(settings.redis)
  const metrics = createMetrics()
  const breaker = new CircuitBreaker(settings.breakerFailures, settings.breakerCooldown * 1000)
  // The gateway logs through the server's logger, which exists only once the gateway does.
  const logger: { app?: FastifyInstance } = {}
  const gateway = new Gateway({
    clients,
    openClient: open,
    failover: {
      routes,
      breaker,
      dropped: new Set(),
      retries: config.retries,
      allowInsecure: config.allowInsecure,
      solveImpl: options.solveImpl,
      onAttempt: (provider, outcome, ms) =>
        metrics.upstreamSeconds.observe({ provider, outcome }, ms / 1000),
    },
    store,
    metrics,
    log: (entry) => logger.app?.log.info(entry, 'task'),
    onRecordFailure: (message) => logger.app?.log.error(message),
    record:
      journal === undefined ? undefined : (result, image) => journal.append(result, sha256(image)),
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
  try {
    await app.listen({ host: options.host, port: options.port })
  } catch (error) {
    await store.close()
    journal?.close()
    const code = (error as { code?: string }).code ?? (error as Error).message
    throw new UsageError(`rc2 serve cannot listen on ${options.host}:${options.port} (${code})`, {
      hint: 'choose another --port (0 takes a free one) or --host',
    })
  }
  const address = app.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : options.port
  const host = options.host.includes(':') ? `[${options.host}]` : options.host
  const url = `http://${host}:${port}`
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
