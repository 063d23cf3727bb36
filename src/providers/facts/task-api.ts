/** The createTask request shared by YesCaptcha, CapSolver, 2Captcha and CapMonster: the key and a task object. */
import type { RecognitionCall, RequestParts } from '../types.js'

export function createTaskCall(task: Record<string, unknown>, apiKey: string): RecognitionCall {
  return { path: '/createTask', body: { clientKey: apiKey, task } }
}

/**
 * `ReCaptchaV2Classification` (YesCaptcha, CapSolver): the image and the `/m/` id. `confidence` goes
 * only where the service takes it, and only for 3x3 (it changes nothing else: top three vs all above).
 */
export function classificationTask(
  parts: RequestParts,
  takesConfidence: boolean,
): Record<string, unknown> {
  const task: Record<string, unknown> = {
    type: 'ReCaptchaV2Classification',
    image: parts.image,
    question: parts.question,
  }
  if (takesConfidence && parts.grid === '3x3' && parts.confidence !== undefined)
    task.confidence = parts.confidence
  return task
}
