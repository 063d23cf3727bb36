import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import sharp from 'sharp'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import {
  CAPMONSTER_IMAGE_LIMIT,
  DEFAULT_TEST_KEY,
  renderRedGrid,
  startProviderServer,
  type ProviderServer,
} from '../helpers/provider-server.js'
import { hasStackTrace, runInProcess, type RunResult } from '../helpers/cli.js'
import { loadRealTiles } from '../http/support.js'

/**
 * 2Captcha, NopeCHA and CapMonster end to end, and failover between services: rc2's CLI (run
 * in this process, as nothing here needs a real one) against the loopback server speaking each protocol, on real-size payloads (3x3 300 px and
 * 4x4 450 px JPEGs made of real challenge tiles, the object's tiles painted red for the server's oracle).
 */

const KEY = DEFAULT_TEST_KEY
let server: ProviderServer
let dir: string
const outputs: RunResult[] = []

async function rc2(
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<RunResult> {
  const result = await runInProcess(args, { env: { HOME: dir, ...env }, cwd: dir })
  outputs.push(result)
  return result
}

/** Key and endpoint through the per-provider variables (RC2_2CAPTCHA_API_KEY, …). */
function envFor(...names: string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const name of names) {
    env[`RC2_${name.toUpperCase()}_API_KEY`] = KEY
    env[`RC2_${name.toUpperCase()}_ENDPOINT`] =
      server.endpoints[name as keyof ProviderServer['endpoints']]
  }
  return env
}

beforeAll(async () => {
  server = await startProviderServer()
  dir = await mkdtemp(join(tmpdir(), 'rc2-e2e-providers-'))
  const jpeg = async (png: Buffer, quality: number): Promise<Buffer> =>
    sharp(png).jpeg({ quality, chromaSubsampling: '4:4:4' }).toBuffer()
  await writeFile(
    join(dir, 'bus3.jpg'),
    await jpeg(await renderRedGrid('3x3', [0, 4, 8], { otherTiles: loadRealTiles('bus', 6) }), 85),
  )
  await writeFile(
    join(dir, 'lights4.jpg'),
    await jpeg(
      await renderRedGrid('4x4', [2, 3, 6, 7], { otherTiles: loadRealTiles('traffic_light', 12) }),
      85,
    ),
  )
  // A 4x4 payload as a page serves it, bigger than CapMonster takes.
  await writeFile(
    join(dir, 'big4.jpg'),
    await jpeg(await renderRedGrid('4x4', [5, 10], { otherTiles: loadRealTiles('other', 15) }), 93),
  )
  await writeFile(
    join(dir, 'lights4b.jpg'),
    await jpeg(
      await renderRedGrid('4x4', [0, 15], { otherTiles: loadRealTiles('traffic_light', 12) }),
      85,
    ),
  )
  for (let i = 0; i < 6; i++)
    await writeFile(
      join(dir, `batch-${i}.jpg`),
      await jpeg(await renderRedGrid('3x3', [i, 8 - i]), 85),
    )
})

afterAll(async () => {
  await server.close()
  for (const r of outputs) expect(r.stdout + r.stderr).not.toContain(KEY)
  await rm(dir, { recursive: true, force: true })
})

beforeEach(() => {
  server.setKeys([KEY])
  server.setReject450([])
  server.setReply(undefined)
  server.resetCounters()
})

const EXPECTED: Record<string, { objects: number[]; grid: string }> = {
  'bus3.jpg': { objects: [0, 4, 8], grid: '3x3' },
  'lights4.jpg': { objects: [2, 3, 6, 7], grid: '4x4' },
}

describe.each([
  [
    '2captcha',
    '2Captcha',
    {
      '3x3': { comment: 'Select all images with buses', rows: 3 },
      '4x4': { comment: 'Select all squares with traffic lights', rows: 4 },
    },
  ],
  [
    'nopecha',
    'NOPECHA',
    {
      '3x3': { task: 'Select all images with buses', grid: '3x3' },
      '4x4': { task: 'Select all squares with traffic lights', grid: '4x4' },
    },
  ],
  [
    'capmonster',
    'CapMonster',
    {
      '3x3': { metadata: { Grid: '3x3', Task: 'Select all images with buses' } },
      '4x4': { metadata: { Grid: '4x4', Task: 'Select all squares with traffic lights' } },
    },
  ],
] as const)('%s end to end', (name, typed, shapes) => {
  it('solves real-size 3x3 and 4x4 payloads right (-p in any case, per-provider key and endpoint)', async () => {
    // "bus" for the 3x3, the 4x4 sentence for the other: one question per run, so two runs.
    const three = await rc2(['solve', 'bus3.jpg', '-q', 'bus', '-p', typed, '--json'], envFor(name))
    expect(three.code, three.stderr).toBe(0)
    const four = await rc2(
      [
        'solve',
        'lights4.jpg',
        '-q',
        'Select all squares with traffic lights',
        '-p',
        typed,
        '--json',
      ],
      envFor(name),
    )
    expect(four.code, four.stderr).toBe(0)
    for (const [run, file] of [
      [three, 'bus3.jpg'],
      [four, 'lights4.jpg'],
    ] as const) {
      const result = JSON.parse(run.stdout) as Record<string, unknown>
      expect(result).toMatchObject({
        ok: true,
        provider: name,
        grid: EXPECTED[file]!.grid,
        objects: EXPECTED[file]!.objects,
        points: null,
      })
      expect(hasStackTrace(run.stderr)).toBe(false)
    }
    const creates = server.requests.filter(
      (r) =>
        r.provider === name && r.method === 'POST' && (r.path === '/createTask' || r.path === '/'),
    )
    expect(creates).toHaveLength(2)
    const bodies = creates.map((r) =>
      name === 'nopecha' ? r.body : (r.body as { task: unknown }).task,
    )
    expect(bodies[0]).toMatchObject(shapes['3x3'])
    expect(bodies[1]).toMatchObject(shapes['4x4'])
    expect(creates.every((r) => r.key === KEY)).toBe(true)
    expect(server.pollCount).toBeGreaterThanOrEqual(2)
  }, 60_000)
})

describe('capmonster image limit', () => {
  it('re-encodes a 450x450 payload over 50,000 bytes, answers right, and warns', async () => {
    const run = await rc2(
      ['solve', 'big4.jpg', '-q', 'cars', '-p', 'capmonster', '--json'],
      envFor('capmonster'),
    )
    expect(run.code, run.stderr).toBe(0)
    const result = JSON.parse(run.stdout) as { objects: number[]; warnings?: string[] }
    expect(result.objects).toEqual([5, 10])
    expect(result.warnings?.some((w) => /re-encoded at JPEG quality \d+/.test(w))).toBe(true)
    const sent = /<(\d+) base64 chars>/.exec(JSON.stringify(server.requests[0]?.body))
    expect(Number(sent?.[1]) * 0.75).toBeLessThanOrEqual(CAPMONSTER_IMAGE_LIMIT)
  })

  it('--dry-run shows each new provider its request, key redacted', async () => {
    for (const name of ['2captcha', 'nopecha', 'capmonster']) {
      const run = await rc2(
        ['solve', 'lights4.jpg', '-q', 'traffic lights', '-p', name, '--dry-run', '--json'],
        { [`RC2_${name.toUpperCase()}_API_KEY`]: KEY },
      )
      expect(run.code, run.stderr).toBe(0)
      const { request } = JSON.parse(run.stdout) as {
        request: { url: string; body: Record<string, unknown> }
      }
      expect(JSON.stringify(request.body)).toContain('Select all squares with traffic lights')
      expect(JSON.stringify(request)).toContain('***')
    }
    expect(server.requests).toHaveLength(0)
  })
})

describe('failover: -p yescaptcha,nopecha', () => {
  it('moves a 4x4 the first service refuses (ERROR_UNKNOW_450x450_QUESTION) to the next, and says who answered', async () => {
    server.setReject450(['/m/015qff'])
    const run = await rc2(
      [
        'solve',
        'bus3.jpg',
        'lights4.jpg',
        '-q',
        'traffic lights',
        '-p',
        'yescaptcha,nopecha',
        '--json',
        '--force',
      ],
      envFor('yescaptcha', 'nopecha'),
    )
    expect(run.code, run.stderr).toBe(0)
    const results = JSON.parse(run.stdout) as Record<string, unknown>[]
    const byInput = Object.fromEntries(results.map((r) => [r.input, r]))
    expect(byInput['bus3.jpg']).toMatchObject({ ok: true, provider: 'yescaptcha' })
    expect(byInput['bus3.jpg']).not.toHaveProperty('attempts')
    expect(byInput['lights4.jpg']).toMatchObject({
      ok: true,
      provider: 'nopecha',
      objects: [2, 3, 6, 7],
      attempts: [
        { provider: 'yescaptcha', kind: 'unsolvable', code: 'ERROR_UNKNOW_450x450_QUESTION' },
      ],
    })
    // The summary (JSON on stderr with --json) counts answers per provider.
    expect(
      (JSON.parse(run.stderr.trim().split('\n').at(-1)!) as { summary: { byProvider: unknown } })
        .summary.byProvider,
    ).toEqual({ yescaptcha: 1, nopecha: 1 })
    const table = await rc2(
      [
        'solve',
        'bus3.jpg',
        'lights4.jpg',
        '-q',
        'traffic lights',
        '-p',
        'yescaptcha,nopecha',
        '--force',
      ],
      envFor('yescaptcha', 'nopecha'),
    )
    expect(table.stderr).toMatch(/answers: (yescaptcha 1, nopecha 1|nopecha 1, yescaptcha 1)/)
  })

  it('drops a provider with a bad key for the rest of the batch, asking it at most twice', async () => {
    const env = {
      ...envFor('yescaptcha', 'capsolver'),
      RC2_YESCAPTCHA_API_KEY: 'not-the-right-key-999',
    }
    const inputs = Array.from({ length: 6 }, (_, i) => `batch-${i}.jpg`)
    const run = await rc2(
      [
        'solve',
        ...inputs,
        '-q',
        'cars',
        '-p',
        'yescaptcha,capsolver',
        '--ndjson',
        '--concurrency',
        '4',
      ],
      env,
    )
    expect(run.code, run.stderr).toBe(0)
    const results = run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
    expect(results).toHaveLength(6)
    expect(results.every((r) => r.ok === true && r.provider === 'capsolver')).toBe(true)
    const yes = server.requests.filter((r) => r.provider === 'yescaptcha')
    expect(yes.length).toBeGreaterThanOrEqual(1)
    expect(yes.length).toBeLessThanOrEqual(2)
    // Inputs in flight when the key was refused may carry the refusal too (seen once under load:
    // one request, two such results); never more than the two that may ask.
    const withAttempts = results.filter((r) => r.attempts !== undefined)
    expect(withAttempts.length).toBeGreaterThanOrEqual(yes.length)
    expect(withAttempts.length).toBeLessThanOrEqual(2)
    for (const r of withAttempts)
      expect(r.attempts).toEqual([
        { provider: 'yescaptcha', kind: 'auth', code: 'ERROR_KEY_DOES_NOT_EXIST' },
      ])
    for (const r of results) {
      const objects = r.objects as number[]
      const index = Number(/batch-(\d)/.exec(String(r.input))?.[1])
      expect(objects).toEqual([...new Set([index, 8 - index])].sort((a, b) => a - b))
    }
  })

  it("--max-points counts every provider asked, at each one's price", async () => {
    server.setReject450(['/m/015qff'])
    // YesCaptcha is reserved 6 and refuses (uncharged: given back); NopeCHA, with no published price,
    // counts 1. The second input would need 1 + 6 = 7 > 6 at YesCaptcha: nothing is sent for it.
    const run = await rc2(
      [
        'solve',
        'lights4.jpg',
        'lights4b.jpg',
        '-q',
        'traffic lights',
        '-p',
        'yescaptcha,nopecha',
        '--force',
        '--json',
        '--concurrency',
        '1',
        '--max-points',
        '6',
      ],
      envFor('yescaptcha', 'nopecha'),
    )
    expect(run.code, run.stderr).toBe(6)
    const [first, second] = JSON.parse(run.stdout) as Record<string, unknown>[]
    expect(first).toMatchObject({ ok: true, provider: 'nopecha', objects: [2, 3, 6, 7] })
    expect(second).toMatchObject({ ok: false, sent: false, error: { kind: 'budget' } })
    const summary = (
      JSON.parse(run.stderr.trim().split('\n').at(-1)!) as {
        summary: { points: number; byProvider: unknown }
      }
    ).summary
    expect(summary).toMatchObject({ points: 1, byProvider: { nopecha: 1 } })
    expect(
      server.requests.filter((r) => r.provider === 'nopecha' && r.method === 'POST'),
    ).toHaveLength(1)
    expect(server.requests.filter((r) => r.provider === 'yescaptcha')).toHaveLength(1)
  })

  it('--key with several providers is a usage error that names the per-provider variables', async () => {
    const run = await rc2([
      'solve',
      'bus3.jpg',
      '-q',
      'bus',
      '-p',
      'yescaptcha,capsolver',
      '--key',
      KEY,
    ])
    expect(run.code).toBe(2)
    expect(run.stderr).toContain('RC2_YESCAPTCHA_API_KEY')
    expect(server.requests).toHaveLength(0)
  })
})

describe('rc2 report', () => {
  it('reports task ids to 2captcha (wrong, then --correct) and refuses a service without a report call (exit 2)', async () => {
    const solved = await rc2(
      ['solve', 'bus3.jpg', '-q', 'bus', '-p', '2captcha', '--json'],
      envFor('2captcha'),
    )
    const { taskId } = JSON.parse(solved.stdout) as { taskId: string }
    const wrong = await rc2(['report', taskId, '-p', '2captcha'], envFor('2captcha'))
    expect(wrong.code, wrong.stderr).toBe(0)
    expect(wrong.stdout).toContain(`2captcha ${taskId}: reported wrong`)
    const right = await rc2(
      ['report', taskId, '-p', '2Captcha', '--correct', '--json'],
      envFor('2captcha'),
    )
    expect(JSON.parse(right.stdout)).toMatchObject({
      provider: '2captcha',
      taskId,
      correct: true,
      ok: true,
    })
    expect(server.reports).toEqual([
      { provider: '2captcha', path: '/reportIncorrect', taskId, correct: false },
      { provider: '2captcha', path: '/reportCorrect', taskId, correct: true },
    ])
    for (const name of ['yescaptcha', 'acedata', 'nopecha']) {
      const refused = await rc2(['report', '123', '-p', name], envFor(name))
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain(`${name} has no call to report answers`)
    }
    const onlyWrong = await rc2(
      ['report', '123', '-p', 'capmonster', '--correct'],
      envFor('capmonster'),
    )
    expect(onlyWrong.code).toBe(2)
    expect(onlyWrong.stderr).toContain('only takes reports of wrong answers')
    const unknown = await rc2(['report', '424242', '-p', '2captcha'], envFor('2captcha'))
    expect(unknown.code).toBe(5)
    expect(unknown.stderr).toContain('ERROR_NO_SUCH_CAPCHA_ID')
    expect(server.reports).toHaveLength(2)
  }, 60_000)

  it('--from a results file reports each answer to the service that gave it; --input picks some', async () => {
    const results = join(dir, 'results.ndjson')
    await rm(results, { force: true })
    // Three answers from two services, and a failure (no task id) that must be left alone.
    const first = await rc2(
      [
        'solve',
        'bus3.jpg',
        'lights4.jpg',
        '-q',
        'traffic lights',
        '-p',
        'capsolver',
        '--force',
        '--output',
        results,
      ],
      envFor('capsolver'),
    )
    expect(first.code, first.stderr).toBe(0)
    await rc2(
      ['solve', 'bus3.jpg', '-q', 'bus', '-p', 'capmonster', '--output', results],
      envFor('capmonster'),
    )
    server.setKeys(['another-key-1234'])
    await rc2(
      [
        'solve',
        'lights4.jpg',
        '-q',
        'traffic lights',
        '-p',
        'capmonster',
        '--force',
        '--output',
        results,
      ],
      envFor('capmonster'),
    )
    server.setKeys([KEY])
    const picked = await rc2(
      ['report', '--from', 'results.ndjson', '--input', 'lights4.jpg', '--json'],
      envFor('capsolver', 'capmonster'),
    )
    expect(picked.code, picked.stderr).toBe(0)
    expect(
      picked.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      expect.objectContaining({
        provider: 'capsolver',
        input: 'lights4.jpg',
        ok: true,
        correct: false,
      }),
    ])
    const all = await rc2(['report', '--from', 'results.ndjson'], envFor('capsolver', 'capmonster'))
    expect(all.code, all.stderr).toBe(0)
    const sent = server.reports.map((r) => `${r.provider} ${r.path}`)
    expect(sent).toEqual([
      'capsolver /feedbackTask',
      'capsolver /feedbackTask',
      'capsolver /feedbackTask',
      'capmonster /reportIncorrectImageCaptcha',
    ])
    expect(new Set(server.reports.map((r) => r.taskId)).size).toBe(3)
  }, 60_000)
})

describe('rc2 --help', () => {
  it('lists every provider with what it accepts', async () => {
    const help = await rc2(['--help'])
    expect(help.code).toBe(0)
    const section = help.stdout.slice(help.stdout.indexOf('Providers'))
    for (const name of [
      'yescaptcha',
      'acedata',
      'capsolver',
      '2captcha',
      'nopecha',
      'capmonster',
    ]) {
      const line = section.split('\n').find((l) => l.trimStart().startsWith(`${name} `))
      expect(line, name).toMatch(/--confidence/)
      expect(line, name).toMatch(/report/)
    }
    expect(help.stdout).toContain('RC2_<NAME>_API_KEY')
  })
})
