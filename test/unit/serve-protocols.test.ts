/** rc2 serve's pure parts: reading each protocol's task, shaping answers, and the circuit breaker. */
import { describe, expect, it } from 'vitest'
import { CircuitBreaker, solveWithFailover, type SolveFn } from '../../src/serve/failover.js'
import { Rc2Error, type SolveSuccess } from '../../src/index.js'
import { lookupQuestion } from '../../src/questions/lookup.js'
import {
  classicAnswer,
  classicReply,
  gridOf,
  parseClassic,
  parseCreateTask,
  solutionFor,
  taskApiError,
} from '../../src/serve/protocols.js'
import { Refusal, type TaskAnswer } from '../../src/serve/types.js'

const IMAGE = Buffer.alloc(300, 1).toString('base64')

function refusalOf(run: () => unknown): string {
  try {
    run()
  } catch (error) {
    if (error instanceof Refusal) return error.kind
    throw error
  }
  throw new Error('no refusal')
}

describe('reading tasks', () => {
  it('each createTask type, a data: prefix stripped, Grid and rows/columns read', () => {
    expect(
      parseCreateTask({
        task: {
          type: 'ReCaptchaV2Classification',
          image: `data:image/png;base64,${IMAGE}`,
          question: '/m/0k4j',
          confidence: 0.4,
        },
      }),
    ).toMatchObject({
      protocol: 'classification',
      question: '/m/0k4j',
      confidence: 0.4,
      image: Buffer.alloc(300, 1),
    })
    expect(
      parseCreateTask({
        task: {
          type: 'ComplexImageTask',
          class: 'recaptcha',
          imageUrls: ['https://example.com/a.png'],
          metadata: { Grid: '4x4', TaskDefinition: '/m/015qff', Task: 'ignored' },
        },
      }),
    ).toEqual({
      protocol: 'complex',
      question: '/m/015qff',
      grid: '4x4',
      imageUrl: 'https://example.com/a.png',
    })
    expect(
      parseCreateTask({
        task: { type: 'GridTask', body: IMAGE, comment: 'bus', rows: 4, columns: 4 },
      }),
    ).toMatchObject({
      protocol: 'grid',
      grid: '4x4',
    })
  })

  it('refusals: no task, unknown type or class, no image, no question, odd grids, a file:// imageUrl', () => {
    expect(refusalOf(() => parseCreateTask({}))).toBe('absent')
    expect(refusalOf(() => parseCreateTask({ task: { type: 'TurnstileTask' } }))).toBe(
      'unsupported',
    )
    expect(
      refusalOf(() => parseCreateTask({ task: { type: 'ComplexImageTask', class: 'hcaptcha' } })),
    ).toBe('unsupported')
    expect(
      refusalOf(() =>
        parseCreateTask({ task: { type: 'ReCaptchaV2Classification', question: 'cars' } }),
      ),
    ).toBe('absent')
    expect(
      refusalOf(() =>
        parseCreateTask({
          task: { type: 'ReCaptchaV2Classification', image: 'not base64!', question: 'cars' },
        }),
      ),
    ).toBe('image')
    expect(refusalOf(() => parseCreateTask({ task: { type: 'GridTask', body: IMAGE } }))).toBe(
      'absent',
    )
    expect(refusalOf(() => gridOf(3, 4))).toBe('unsupported')
    expect(refusalOf(() => gridOf(5, 5))).toBe('unsupported')
    expect(gridOf(undefined, undefined)).toBeUndefined()
    expect(
      refusalOf(() =>
        parseCreateTask({
          task: {
            type: 'ComplexImageTask',
            class: 'recaptcha',
            imageUrls: ['file:///etc/passwd'],
            metadata: { Task: 'cars' },
          },
        }),
      ),
    ).toBe('absent')
  })

  it('classic: method=base64 and method=post, recaptcha=1 required', () => {
    expect(
      parseClassic({
        fields: {
          method: 'base64',
          recaptcha: '1',
          textinstructions: 'cars',
          body: IMAGE,
          recaptcharows: '3',
          recaptchacols: '3',
        },
      }),
    ).toMatchObject({
      protocol: 'classic',
      grid: '3x3',
    })
    expect(
      parseClassic({
        fields: { method: 'post', recaptcha: '1', textinstructions: 'cars' },
        file: Buffer.alloc(200),
      }).image,
    ).toHaveLength(200)
    expect(
      refusalOf(() =>
        parseClassic({ fields: { method: 'base64', textinstructions: 'cars', body: IMAGE } }),
      ),
    ).toBe('unsupported')
    expect(
      refusalOf(() =>
        parseClassic({ fields: { method: 'post', recaptcha: '1', textinstructions: 'cars' } }),
      ),
    ).toBe('absent')
  })
})

describe('shaping answers', () => {
  const multi: TaskAnswer = {
    grid: '3x3',
    type: 'multi',
    objects: [1, 4, 8],
    hasObject: null,
    provider: 'yescaptcha',
  }
  const none: TaskAnswer = { ...multi, objects: [] }
  const single: TaskAnswer = {
    grid: '1x1',
    type: 'single',
    objects: [],
    hasObject: true,
    provider: 'yescaptcha',
  }

  it('objects for the classification, booleans for CapMonster, 1-based clicks for 2Captcha', () => {
    expect(solutionFor('classification', multi)).toEqual({
      objects: [1, 4, 8],
      type: 'multi',
      size: 300,
    })
    expect(solutionFor('classification', single)).toEqual({ hasObject: true, type: 'single' })
    expect(solutionFor('complex', multi)).toEqual({
      answer: [false, true, false, false, true, false, false, false, true],
    })
    expect(solutionFor('complex', single)).toEqual({ answer: [true] })
    expect(solutionFor('grid', multi)).toEqual({ click: [2, 5, 9] })
    expect(classicAnswer(multi)).toBe('click:2/5/9')
    expect(classicAnswer(none)).toBe('No_matching_images')
    expect(classicAnswer(single)).toBe('click:1')
  })

  it('errors: errorId 1, or 2Captcha v2 numbers for GridTask; classic text or JSON', () => {
    const refusal = new Refusal('budget', 'spent')
    expect(taskApiError('complex', refusal)).toEqual({
      errorId: 1,
      errorCode: 'ERROR_ZERO_BALANCE',
      errorDescription: 'spent',
    })
    expect(taskApiError('grid', refusal)).toMatchObject({ errorId: 10 })
    expect(classicReply(false, true, '123')).toEqual({ body: 'OK|123', type: 'text/plain' })
    expect(classicReply(false, false, 'CAPCHA_NOT_READY').body).toBe('CAPCHA_NOT_READY')
    expect(classicReply(true, false, 'ERROR_ZERO_BALANCE').body).toBe(
      '{"status":0,"request":"ERROR_ZERO_BALANCE"}',
    )
  })
})

describe('circuit breaker', () => {
  it('opens after N failures in a row, lets one trial through after the cooldown, closes on success', () => {
    let now = 0
    const breaker = new CircuitBreaker(3, 1000, () => now)
    breaker.failure('a')
    breaker.failure('a')
    expect(breaker.allow('a')).toBe(true)
    breaker.failure('a')
    expect(breaker.allow('a')).toBe(false)
    expect(breaker.open()).toEqual(['a'])
    now = 1500
    expect(breaker.allow('a')).toBe(true)
    expect(breaker.allow('a')).toBe(false) // one trial at a time
    breaker.failure('a') // the trial failed: open again at once
    expect(breaker.allow('a')).toBe(false)
    now = 3000
    expect(breaker.allow('a')).toBe(true)
    breaker.success('a')
    expect(breaker.allow('a')).toBe(true)
    expect(breaker.open()).toEqual([])
  })

  it('a trial that ends for another reason (a bad image) is freed for the next task', () => {
    let now = 0
    const breaker = new CircuitBreaker(1, 1000, () => now)
    breaker.failure('a')
    now = 2000
    expect(breaker.allow('a')).toBe(true)
    breaker.release('a')
    expect(breaker.allow('a')).toBe(true)
  })

  it('a success between failures resets the count', () => {
    const breaker = new CircuitBreaker(2, 1000, () => 0)
    breaker.failure('a')
    breaker.success('a')
    breaker.failure('a')
    expect(breaker.allow('a')).toBe(true)
  })

  it("a service's Retry-After sets it aside for every client's tasks until then", async () => {
    let now = 0
    const breaker = new CircuitBreaker(5, 1000, () => now)
    const asked: string[] = []
    const solveImpl: SolveFn = async (_input, options) => {
      asked.push(String(options.provider))
      if (options.provider === 'yescaptcha')
        throw new Rc2Error('rate_limit', 'yescaptcha: HTTP 429', { retryAfterSec: 30 })
      return { ok: true, provider: options.provider } as unknown as SolveSuccess
    }
    const context = {
      routes: [
        { name: 'yescaptcha' as const, apiKey: 'a', timeoutMs: 1000 },
        { name: 'capsolver' as const, apiKey: 'b', timeoutMs: 1000 },
      ],
      breaker,
      dropped: new Set<never>(),
      retries: 0,
      allowInsecure: false,
      solveImpl,
    }
    const task = { image: Buffer.alloc(1), question: lookupQuestion('car') }
    await solveWithFailover(task, context)
    expect(asked).toEqual(['yescaptcha', 'capsolver'])
    now = 29_000 // another client's task within the pause: straight to the next service
    await solveWithFailover(task, context)
    expect(asked).toEqual(['yescaptcha', 'capsolver', 'capsolver'])
    now = 31_000
    await solveWithFailover(task, context)
    expect(asked.slice(3)).toEqual(['yescaptcha', 'capsolver'])
  })
})
