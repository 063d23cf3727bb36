/**
 * The answers a run shares between inputs that ask the same thing: remembered for the requests
 * last used only, so a run of a million distinct images does not keep a million answers.
 */
import { describe, expect, it } from 'vitest'
import type { Provider, RecognitionRequest } from '../../src/providers/types.js'
import { answerOncePerRun, SHARED_ANSWER_WARNING } from '../../src/engine/shared-answers.js'

/** A provider that answers every request with tile 1 and counts what it was asked. */
function countingProvider(): { provider: Provider; asked: string[] } {
  const asked: string[] = []
  const provider = {
    name: 'yescaptcha',
    recognize: async (request: RecognitionRequest) => {
      asked.push(request.image)
      return {
        type: 'multi' as const,
        objects: [1],
        hasObject: null,
        confidences: null,
        taskId: `task-${asked.length}`,
        points: 1,
        paidCalls: 1,
      }
    },
  } as unknown as Provider
  return { provider, asked }
}

function request(image: string): RecognitionRequest {
  return { image, grid: '3x3', size: 300, question: '/m/0k4j' }
}

describe('answers shared within a run', () => {
  it('keeps the requests last used: an older one is asked again, a recent one is shared', async () => {
    const { provider, asked } = countingProvider()
    const once = answerOncePerRun(provider, 3)
    for (const image of ['A', 'B', 'C']) await once.recognize(request(image))
    // A used again: shared, and now the most recent.
    const again = await once.recognize(request('A'))
    expect(again.warnings).toContain(SHARED_ANSWER_WARNING)
    expect(again.objects).toEqual([1])
    expect(again.points).toBe(0)
    // D makes four: B, the least recently used, is forgotten and asked again.
    await once.recognize(request('D'))
    const b = await once.recognize(request('B'))
    expect(b.warnings ?? []).not.toContain(SHARED_ANSWER_WARNING)
    expect(asked).toEqual(['A', 'B', 'C', 'D', 'B'])
    // B pushed C out; A, D and B are still shared.
    for (const image of ['A', 'D', 'B']) {
      const answer = await once.recognize(request(image))
      expect(answer.warnings).toContain(SHARED_ANSWER_WARNING)
    }
    await once.recognize(request('C'))
    expect(asked).toEqual(['A', 'B', 'C', 'D', 'B', 'C'])
  })

  it('by default a run shares across tens of thousands of distinct requests', async () => {
    const { provider, asked } = countingProvider()
    const once = answerOncePerRun(provider)
    for (let k = 0; k < 20_000; k++) await once.recognize(request(`image-${k}`))
    const first = await once.recognize(request('image-0'))
    expect(first.warnings).toContain(SHARED_ANSWER_WARNING)
    expect(asked).toHaveLength(20_000)
  })
})
