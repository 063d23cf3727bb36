/** The checks every adapter makes before anything is sent (and so before anything is paid). */
import { InputError } from '../errors.js'
import { GRID_SIZE } from '../types.js'
import { PROVIDER_FACTS } from './facts/index.js'
import type { ProviderName, RecognitionRequest } from './types.js'

/** Check a request before anything is sent; returns the bare base64 image. */
export function checkRequest(name: ProviderName, request: RecognitionRequest): string {
  const expected = GRID_SIZE[request.grid]
  if (request.size !== expected) {
    throw new InputError(
      `${name}: the image is ${request.size} px but a ${request.grid} grid needs ${expected}x${expected}`,
      {
        hint: 'run `rc2 resize` or pass the right --grid',
      },
    )
  }
  if (!request.question.startsWith('/m/')) {
    throw new InputError(`${name}: question "${request.question}" is not a /m/ id`, {
      hint: 'run `rc2 questions` to find the id',
    })
  }
  if (request.confidence !== undefined && !(request.confidence >= 0 && request.confidence <= 1)) {
    throw new InputError(`${name}: confidence ${request.confidence} is outside 0..1`, {
      hint: 'pass --confidence between 0 and 1',
    })
  }
  // The services want bare base64; a data: prefix is harmless to drop here.
  const image = request.image.replace(/^data:[^,]*;base64,/, '')
  if (image === '')
    throw new InputError(`${name}: the image is empty`, { hint: 'check the input file' })
  if (
    PROVIDER_FACTS[name].takesInstruction &&
    (request.instruction === undefined || request.instruction === '')
  ) {
    throw new InputError(`${name}: the request has no instruction text`, {
      hint: 'pass the question as an id or a name rc2 knows',
    })
  }
  return image
}
