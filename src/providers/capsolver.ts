/**
 * CapSolver `ReCaptchaV2Classification`: the YesCaptcha request shape, answered synchronously,
 * with errors as HTTP 400/401 + `errorId: 1`. `confidence` is not part of CapSolver's task, so
 * it is not sent. The price per call is not documented (points: null). Feedback on an answer goes
 * to POST /feedbackTask with `result.invalid`.
 */
import { providerPoints } from './prices.js'
import { createTaskApiProvider } from './task-api.js'
import type { Provider, ProviderOptions } from './types.js'

const CAPSOLVER_ENDPOINT = 'https://api.capsolver.com'

export function createCapSolverProvider(options: ProviderOptions): Provider {
  return createTaskApiProvider(
    {
      name: 'capsolver',
      defaults: { endpoint: CAPSOLVER_ENDPOINT, requestTimeoutMs: 30_000, pollIntervalMs: 2000 },
      sendsConfidence: false,
      // CapSolver answers "idle" for freshly created tasks since 2025.
      pendingStatuses: ['idle', 'processing'],
      points: (grid) => providerPoints('capsolver', grid),
      balanceUnit: 'USD',
      report: {
        path: () => '/feedbackTask',
        body: (taskId, correct) => ({ taskId, result: { invalid: !correct } }),
      },
    },
    options,
  )
}
