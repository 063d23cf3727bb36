/** Shared pieces of the gateway tests: a gateway in this process in front of the loopback services. */
import { Solver } from '@2captcha/captcha-solver'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { resolveConfig } from '../../src/config/resolve.js'
import type { ProviderName } from '../../src/providers/types.js'
import { startGateway, type RunningGateway } from '../../src/serve/run.js'
import { FIXTURES } from '../helpers/cli.js'
import { DEFAULT_TEST_KEY, type ProviderServer } from '../helpers/provider-server.js'

export const SERVICE_KEY = DEFAULT_TEST_KEY

export interface TestGateway extends RunningGateway {
  /** Every stderr line the gateway wrote. */
  lines: string[]
}

export interface TestGatewayOptions {
  providers?: ProviderName[]
  serve?: Record<string, unknown>
  output?: string
  logJson?: boolean
  /** Keys per service (default: the loopback services' key). */
  keys?: Partial<Record<ProviderName, string>>
  host?: string
}

/** A gateway on 127.0.0.1, port 0, asking `service` (each provider at its loopback endpoint). */
export async function startTestGateway(
  service: ProviderServer,
  options: TestGatewayOptions = {},
): Promise<TestGateway> {
  const providers = options.providers ?? ['yescaptcha']
  const file = {
    provider: providers,
    providers: Object.fromEntries(
      providers.map((name) => [
        name,
        { apiKey: options.keys?.[name] ?? SERVICE_KEY, endpoint: service.endpoints[name] },
      ]),
    ),
    retries: 0,
    timeout: 30,
    confidence: 0.5,
    serve: options.serve ?? { clients: [{ key: 'bot-key-one', name: 'one' }] },
  }
  const config = resolveConfig({ file, fileOrigin: 'test', fileTrusted: true, env: {}, flags: {} })
  const lines: string[] = []
  const running = await startGateway({
    config,
    host: options.host ?? '127.0.0.1',
    port: 0,
    output: options.output,
    logJson: options.logJson ?? false,
    writeLine: (line) => lines.push(line),
  })
  return { ...running, lines }
}

export async function fixture(name: string): Promise<Buffer> {
  return readFile(join(FIXTURES, name))
}

export async function post(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return (await response.json()) as Record<string, unknown>
}

/** getTaskResult until the task is no longer processing. */
export async function pollTask(
  base: string,
  clientKey: string,
  taskId: unknown,
): Promise<Record<string, unknown>> {
  for (;;) {
    const reply = await post(`${base}/getTaskResult`, { clientKey, taskId })
    if (reply.status !== 'processing') return reply
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * The official 2Captcha client pointed at the gateway: it has no base-URL option, and its `in` and
 * `res` getters (private in its typings) name 2captcha.com, so the instance gets its own.
 */
export function gatewaySolver(key: string, base: string): Solver {
  const solver = new Solver(key, 50)
  Object.defineProperty(solver, 'in', { get: () => `${base}/in.php` })
  Object.defineProperty(solver, 'res', { get: () => `${base}/res.php` })
  return solver
}
