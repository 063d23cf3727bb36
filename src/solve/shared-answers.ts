import { createHash } from 'node:crypto'
import type { Provider, RecognitionRequest, RecognitionResult } from '../providers/types.js'

/** Said with an answer given to an input whose request an earlier input of the run already paid for. */
export const SHARED_ANSWER_WARNING =
  'the same image and question as another input of this run: its answer, not paid again'

/**
 * `provider`, asking each distinct request (the same image sent for the same question, grid and
 * threshold) once per run: an input whose request was asked already gets that answer, at no
 * cost. An answer in flight is shared as it comes; a failure is not remembered, so a later
 * input asks again. What is kept per request is its digest and the (small) answer.
 */
export function answerOncePerRun(provider: Provider): Provider {
  const answers = new Map<string, RecognitionResult | Promise<RecognitionResult>>()
  return {
    ...provider,
    recognize: async (request) => {
      const key = requestKey(request)
      const known = answers.get(key)
      if (known !== undefined) return shared(await known)
      const asked = provider.recognize(request)
      answers.set(key, asked)
      try {
        const answer = await asked
        answers.set(key, answer)
        return answer
      } catch (error) {
        answers.delete(key)
        throw error
      }
    },
  }
}

function shared(answer: RecognitionResult): RecognitionResult {
  return {
    ...answer,
    points: 0,
    paidCalls: 0,
    warnings: [...(answer.warnings ?? []), SHARED_ANSWER_WARNING],
  }
}

/** A 128-bit digest of what the service is asked: equal only for the same request. */
function requestKey(request: RecognitionRequest): string {
  const { image, grid, size, question, instruction, confidence } = request
  return createHash('sha256')
    .update(JSON.stringify([grid, size, question, instruction ?? null, confidence ?? null]))
    .update(image)
    .digest('base64url')
    .slice(0, 22)
}
