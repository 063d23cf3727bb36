/**
 * The built binary over https (the undici wire) against loopback servers whose certificates a
 * test CA signed (made with openssl at test time, trusted through NODE_EXTRA_CA_CERTS): a trusted
 * certificate answers, over one kept-alive connection; one for another name, or from a CA the
 * process does not trust, is refused before anything is sent, nothing charged.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:https'
import type { Server } from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURES, hasStackTrace, runRc2 } from '../helpers/cli.js'
import { startHostileServer } from '../helpers/hostile-server.js'
import { DEFAULT_TEST_KEY, startProviderServer } from '../helpers/provider-server.js'
import { startTestProxy } from '../helpers/proxy-server.js'
import type { TestProxy } from '../helpers/proxy-server.js'

const PAYLOAD = join(FIXTURES, 'payload-3x3.png')
const ANSWER = {
  errorId: 0,
  status: 'ready',
  taskId: 'task-1',
  solution: { type: 'multi', objects: [0, 4] },
}

let dir: string
const servers: Server[] = []

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
}

/** A key and a certificate for `altName`, signed by the test CA. */
function issue(name: string, altName: string): { key: Buffer; cert: Buffer } {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${altName}\n`)
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    `/CN=${name}`,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
  )
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    `${name}.ext`,
    '-out',
    `${name}.pem`,
  )
  return {
    key: readFileSync(join(dir, `${name}.key`)),
    cert: readFileSync(join(dir, `${name}.pem`)),
  }
}

interface Service {
  url: string
  requests: string[]
  connections: () => number
  /** When the last reply was sent (Date.now()). */
  lastReplyAt: () => number
}

async function serve(identity: { key: Buffer; cert: Buffer }): Promise<Service> {
  const requests: string[] = []
  let connections = 0
  let lastReplyAt = 0
  const server = createServer(identity, (req, res) => {
    requests.push(req.url ?? '')
    req.resume()
    req.on('end', () => {
      // The create call gives a task; the answer comes at the first poll (two calls on one connection).
      const body =
        req.url?.includes('createTask') === true ? { errorId: 0, taskId: 'task-1' } : ANSWER
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
      lastReplyAt = Date.now()
    })
  })
  server.on('secureConnection', () => connections++)
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    connections: () => connections,
    lastReplyAt: () => lastReplyAt,
  }
}

let trusted: Service
let wrongName: Service

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rc2-https-'))
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=rc2 test CA',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
  )
  trusted = await serve(issue('loopback', 'IP:127.0.0.1'))
  wrongName = await serve(issue('elsewhere', 'DNS:other.example'))
})
afterAll(async () => {
  for (const server of servers) server.closeAllConnections()
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
  rmSync(dir, { recursive: true, force: true })
})

function solve(endpoint: string, trustCa: boolean) {
  return runRc2(
    ['solve', PAYLOAD, '-q', 'car', '--endpoint', endpoint, '--retries', '0', '--json'],
    {
      env: {
        RC2_API_KEY: DEFAULT_TEST_KEY,
        NODE_EXTRA_CA_CERTS: trustCa ? join(dir, 'ca.pem') : undefined,
      },
    },
  )
}

describe('https', () => {
  it('solves over a certificate the system trusts, create and poll on one connection, and exits promptly', async () => {
    const run = await solve(trusted.url, true)
    const exitedAt = Date.now()
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, objects: [0, 4] })
    expect(trusted.requests.length).toBeGreaterThanOrEqual(2)
    expect(trusted.connections()).toBe(1)
    // The kept-alive socket does not hold the process open until the agent drops it (4 s idle).
    expect(exitedAt - trusted.lastReplyAt()).toBeLessThan(3000)
  })

  it.each([
    ['a certificate for another name', () => wrongName, true, 'ERR_TLS_CERT_ALTNAME_INVALID'],
    [
      'a certificate from a CA the process does not trust',
      () => trusted,
      false,
      'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    ],
  ] as const)(
    'refuses %s: a TLS failure, nothing sent, nothing charged',
    async (_label, service, trustCa, code) => {
      const before = service().requests.length
      const run = await solve(service().url, trustCa)
      expect(run.code).toBe(5)
      expect(hasStackTrace(run.stderr)).toBe(false)
      const result = JSON.parse(run.stdout) as {
        ok: boolean
        paidCalls?: number
        error: { kind: string; message: string; hint: string }
      }
      expect(result.ok).toBe(false)
      expect(result.paidCalls).toBeUndefined()
      expect(result.error.kind).toBe('network')
      expect(result.error.message).toContain(`TLS failure (${code})`)
      expect(result.error.hint).toContain('nothing was charged')
      expect(service().requests.length).toBe(before)
    },
  )
})

describe('through a proxy (a real one on 127.0.0.1)', () => {
  let open: TestProxy
  let guarded: TestProxy
  const login = { user: 'rc2user', password: 'pr0xy-s3cret' }
  beforeAll(async () => {
    open = await startTestProxy()
    guarded = await startTestProxy(login)
  })
  afterAll(async () => {
    await open.close()
    await guarded.close()
  })

  function viaProxy(env: Record<string, string>, extra: string[] = []) {
    return runRc2(
      [
        'solve',
        PAYLOAD,
        '-q',
        'car',
        '--endpoint',
        trusted.url,
        '--retries',
        '0',
        '--json',
        ...extra,
      ],
      {
        env: { RC2_API_KEY: DEFAULT_TEST_KEY, NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem'), ...env },
      },
    )
  }
  const target = (): string => new URL(trusted.url).host

  it('HTTPS_PROXY: https goes through CONNECT, the certificate still checked end to end', async () => {
    const before = open.asked.length
    const run = await viaProxy({ HTTPS_PROXY: open.url })
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, objects: [0, 4] })
    expect(open.asked.slice(before)).toContain(target())
  })

  it('https_proxy (lower case) works too, and NO_PROXY naming the host bypasses it', async () => {
    const before = open.asked.length
    const run = await viaProxy({ https_proxy: open.url, NO_PROXY: 'example.com,127.0.0.1' })
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true })
    expect(open.asked.length).toBe(before)
    await viaProxy({ https_proxy: open.url })
    expect(open.asked.length).toBeGreaterThan(before)
  })

  it('--proxy with user:password sends the login as Proxy-Authorization and never prints it', async () => {
    const before = guarded.logins.length
    const proxy = guarded.url.replace('//', `//${login.user}:${login.password}@`)
    const run = await viaProxy({ HTTPS_PROXY: 'http://127.0.0.1:9' }, [
      '--proxy',
      proxy,
      '--verbose',
    ])
    expect(JSON.parse(run.stdout)).toMatchObject({ ok: true })
    expect(guarded.logins.slice(before)).toContain(
      `Basic ${Buffer.from(`${login.user}:${login.password}`).toString('base64')}`,
    )
    expect(run.stderr).toContain(`https through http://***@${new URL(guarded.url).host}`)
    expect(`${run.stdout}${run.stderr}`).not.toContain(login.password)
  })

  it('a proxy that refuses the login (407): one clear line naming it, login masked, nothing charged', async () => {
    const before = trusted.requests.length
    const proxy = guarded.url.replace('//', `//${login.user}:wrong-${login.password}@`)
    const run = await viaProxy({}, ['--proxy', proxy])
    expect(run.code).toBe(5)
    expect(hasStackTrace(run.stderr)).toBe(false)
    const result = JSON.parse(run.stdout) as {
      ok: boolean
      error: { message: string; hint: string }
    }
    expect(result.ok).toBe(false)
    expect(result.error.message).toContain(
      `the proxy http://***@${new URL(guarded.url).host} refused the request: it wants a login (HTTP 407)`,
    )
    expect(result.error.hint).toContain('nothing was charged')
    expect(`${run.stdout}${run.stderr}`).not.toContain(login.password)
    expect(trusted.requests.length).toBe(before)
  })

  it('a proxy that cannot be reached: named, retryable, nothing charged', async () => {
    const closed = await startTestProxy()
    await closed.close()
    const run = await viaProxy({ HTTPS_PROXY: closed.url })
    const result = JSON.parse(run.stdout) as {
      ok: boolean
      error: { message: string; hint: string }
    }
    expect(result.ok).toBe(false)
    expect(result.error.message).toContain(
      `cannot reach the proxy ${closed.url} (connection refused)`,
    )
    expect(result.error.hint).toContain('HTTPS_PROXY')
    expect(result.error.hint).toContain('nothing was charged')
  })

  it('proxy in the config, and providers.<name>.proxy over it', async () => {
    const config = join(dir, 'proxy-config.json')
    const run = async (settings: object) => {
      writeFileSync(config, JSON.stringify(settings))
      const before = [open.asked.length, guarded.asked.length]
      const result = await viaProxy({}, ['--config', config])
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: true })
      return [open.asked.length - (before[0] ?? 0), guarded.asked.length - (before[1] ?? 0)]
    }
    const loggedIn = guarded.url.replace('//', `//${login.user}:${login.password}@`)
    const [topOpen, topGuarded] = await run({ proxy: open.url })
    expect(topOpen).toBeGreaterThan(0)
    expect(topGuarded).toBe(0)
    const [viaOpen, viaGuarded] = await run({
      proxy: open.url,
      providers: { yescaptcha: { proxy: loggedIn } },
    })
    expect(viaOpen).toBe(0)
    expect(viaGuarded).toBeGreaterThan(0)
  })

  it('HTTP_PROXY carries plain http (a loopback endpoint and an image given by URL) through the proxy', async () => {
    const service = await startProviderServer()
    const images = await startHostileServer(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' }).end(await readFile(PAYLOAD))
    })
    try {
      const before = open.asked.length
      const run = await runRc2(
        ['solve', `${images.url}/payload.png`, '-q', 'car', '--endpoint', service.url, '--json'],
        { env: { RC2_API_KEY: DEFAULT_TEST_KEY, HTTP_PROXY: open.url } },
      )
      expect(run.stderr).toBe('')
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true })
      const asked = open.asked.slice(before).join(' ')
      expect(asked).toContain(new URL(images.url).host)
      expect(asked).toContain(new URL(service.url).host)
    } finally {
      await service.close()
      await images.close()
    }
  })
})
