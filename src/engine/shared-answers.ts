import { createHash } from 'node:crypto'
import type { Provider, RecognitionRequest, RecognitionResult } from '../providers/types.js'

/** Said with an answer given to an input whose request an earlier input of the run already paid for. */
export const SHARED_ANSWER_WARNING =
  'the same image and question as another input of this run: its answer, not paid again'

/**
 * `provider`, asking each distinct request (the same image sent for the same question, grid and
 * threshold) once per run: an input whose request was asked already gets that answer, at no
 * cost. An answer in flight is shared as it comes; a failure is not remembered, so a later
 * input asks again. What is kept per request is its digest and the (small) answer, for the `keep`
 * requests last asked or answered: a run of a million distinct images stays a few MB (a repeat
 * further back than that is asked again).
 */
export function answerOncePerRun(provider: Provider, keep = KEPT_REQUESTS): Provider {
  const answers = new Map<string, Kept | Promise<RecognitionResult>>()
  const remember = (key: string, value: Kept | Promise<RecognitionResult>): void => {
    // A Map iterates in insertion order: the first key is the one least recently used.
    answers.delete(key)
    answers.set(key, value)
    if (answers.size > keep) answers.delete(answers.keys().next().value as string)
  }
  return {
    ...provider,
    recognize: async (request) => {
      const key = requestKey(request)
      const known = answers.get(key)
      if (known instanceof Kept) {
        remember(key, known)
        return shared(known.answer())
      }
      // Waiting for another input's answer costs nothing: the slot is lent meanwhile, since the input
      // asking may itself be waiting for a slot to resume a retry (holding it would deadlock).
      if (known !== undefined) {
        const wait = (): Promise<RecognitionResult> => known
        return shared(await (request.account?.whileWaiting(wait) ?? wait()))
      }
      const asked = provider.recognize(request)
      remember(key, asked)
      try {
        const answer = await asked
        remember(key, new Kept(answer))
        return answer
      } catch (error) {
        answers.delete(key)
        throw error
      }
    },
  }
}

/** Distinct requests remembered in a run (a few hundred bytes each). */
const KEPT_REQUESTS = 50_000

/**
 * An answer as kept for the rest of the run, in one fixed shape: the tiles as a bit mask (a grid
 * has at most 16), the rest as given.
 */
class Kept {
  readonly tiles: number
  readonly rest: Omit<RecognitionResult, 'objects' | 'paidCalls'>

  constructor(answer: RecognitionResult) {
    const { type, objects, hasObject, confidences, taskId, points, provider, attempts, warnings } =
      answer
    this.tiles = objects.reduce((mask, tile) => mask | (1 << tile), 0)
    this.rest = { type, hasObject, confidences, taskId, points, provider, attempts, warnings }
  }

  answer(): RecognitionResult {
    const objects: number[] = []
    for (let tile = 0; this.tiles >> tile !== 0; tile++)
      if ((this.tiles >> tile) & 1) objects.push(tile)
    return { ...this.rest, objects, paidCalls: 0 }
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

/** A 128-bit digest of what the service is asked (16 one-byte characters: small to keep per request). */
function requestKey(request: RecognitionRequest): string {
  const { image, grid, size, question, instruction, confidence } = request
  return createHash('sha256')
    .update(JSON.stringify([grid, size, question, instruction ?? null, confidence ?? null]))
    .update(image)
    .digest()
    .toString('latin1', 0, 16)
}
