/**
 * The built binary: `rc2 serve` as a process. Its first stderr line names the address (--port 0
 * took a free one); --log json gives JSON lines; SIGTERM with tasks in flight refuses new tasks,
 * finishes those in flight, hands their answers to getTaskResult and writes them to --output,
 * then exits. Start-up refusals are one line and exit 2.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hasStackTrace, runRc2, type RunResult } from '../helpers/cli.js'
import { startProviderServer, type ProviderServer } from '../helpers/provider-server.js'
import { fixture, pollTask, post, SERVICE_KEY } from './support.js'

let service: ProviderServer
let dir: string
let config: string

beforeAll(async () => {
  service = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-serve-bin-'))
  config = join(dir, 'rc2.json')
  await writeFile(
    config,
    JSON.stringify({
      provider: 'yescaptcha',
      providers: { yescaptcha: { apiKey: SERVICE_KEY, endpoint: service.url } },
      retries: 0,
      serve: { clients: [{ key: 'bot-key-one', name: 'one' }] },
    }),
    { mode: 0o600 },
  )
})
afterAll(async () => {
  await service?.close()
  await rm(dir, { recursive: true, force: true })
})

/** Start `rc2 serve`, resolve with its address once the first line is out, and the run's end. */
async function serve(
  args: string[],
): Promise<{ url: string; child: ChildProcess; done: Promise<RunResult>; firstLine: string }> {
  let child: ChildProcess | undefined
  const done = runRc2(['--config', config, 'serve', '--port', '0', ...args], {
    timeoutMs: 60_000,
    onSpawn: (c) => (child = c),
  })
  const firstLine = await new Promise<string>((resolve, reject) => {
    let seen = ''
    child?.stderr?.on('data', (chunk: Buffer | string) => {
      seen += chunk.toString()
      const end = seen.indexOf('\n')
      if (end >= 0) resolve(seen.slice(0, end))
    })
    void done.then((result) => reject(new Error(`rc2 serve ended: ${result.stderr}`)))
  })
  const url = /^listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(firstLine)?.[1]
  if (url === undefined || child === undefined)
    throw new Error(`unexpected first line: ${firstLine}`)
  return { url, child, done, firstLine }
}

describe('rc2 serve, the process', () => {
  it('SIGTERM with tasks in flight: nothing lost, answers fetched after the signal and written to --output', async () => {
    const output = join(dir, 'answers.ndjson')
    const { url, child, done } = await serve(['--output', output, '--log', 'json'])
    service.setLatency(1500)
    const body = (await fixture('widget-3x3-1x.png')).toString('base64')
    const task = {
      type: 'GridTask',
      body,
      comment: 'Select all images with cars',
      rows: 3,
      columns: 3,
    }
    const created = await Promise.all(
      Array.from({ length: 5 }, () =>
        post(`${url}/createTask`, { clientKey: 'bot-key-one', task }),
      ),
    )
    expect(created.every((reply) => reply.errorId === 0)).toBe(true)
    while (service.createCount < 5) await new Promise((resolve) => setTimeout(resolve, 20))
    child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(await post(`${url}/createTask`, { clientKey: 'bot-key-one', task })).toMatchObject({
      errorCode: 'ERROR_NO_SLOT_AVAILABLE',
    })
    for (const reply of created)
      expect(await pollTask(url, 'bot-key-one', reply.taskId)).toMatchObject({
        status: 'ready',
        solution: { click: [2, 5, 9] },
      })
    const result = await done
    service.setLatency(0)
    expect(result.signal).toBeNull()
    expect(result.code).toBe(0)
    expect(hasStackTrace(result.stderr)).toBe(false)
    const written = (await readFile(output, 'utf8')).trim().split('\n')
    expect(written.map((line) => (JSON.parse(line) as { input: string }).input).sort()).toEqual(
      created.map((reply) => `task:${String(reply.taskId)}`).sort(),
    )
    const logs = result.stderr.trim().split('\n').slice(1)
    const tasks = logs
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => entry.msg === 'task')
    expect(tasks).toHaveLength(5)
    expect(tasks[0]).toMatchObject({
      client: 'one',
      protocol: 'grid',
      outcome: 'ok',
      provider: 'yescaptcha',
    })
    expect(result.stderr).not.toContain(SERVICE_KEY)
    expect(result.stderr).not.toContain('bot-key-one')
  }, 90_000)

  it('a second signal stops at once', async () => {
    const { url, child, done } = await serve([])
    service.setLatency(20_000)
    const image = (await fixture('payload-3x3.png')).toString('base64')
    void post(`${url}/createTask`, {
      clientKey: 'bot-key-one',
      task: { type: 'GridTask', body: image, comment: 'cars' },
    }).catch(() => undefined)
    while (service.createCount === 0) await new Promise((resolve) => setTimeout(resolve, 20))
    const started = Date.now()
    child.kill('SIGTERM')
    await new Promise((resolve) => setTimeout(resolve, 300))
    child.kill('SIGTERM')
    const result = await done
    service.setLatency(0)
    expect(Date.now() - started).toBeLessThan(9000)
    expect(result.code === 130 || result.code === 0 || result.signal === 'SIGTERM').toBe(true)
  }, 60_000)

  it('binding beyond loopback without client keys is refused at start: one line, exit 2', async () => {
    const bare = join(dir, 'bare.json')
    await writeFile(bare, JSON.stringify({ providers: { yescaptcha: { apiKey: SERVICE_KEY } } }), {
      mode: 0o600,
    })
    const result = await runRc2(['--config', bare, 'serve', '--host', '0.0.0.0', '--port', '0'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/no serve\.clients are configured/)
    expect(hasStackTrace(result.stderr)).toBe(false)
    expect(result.stderr).not.toContain(SERVICE_KEY)
  })

  it('a bad --port is a usage error', async () => {
    const result = await runRc2(['--config', config, 'serve', '--port', 'eighty'])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/--port/)
  })
})
