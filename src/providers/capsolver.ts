/**
 * CapSolver `ReCaptchaV2Classification`: the YesCaptcha request shape, answered synchronously,
 * with errors as HTTP 400/401 + `errorId: 1`. `confidence` is not part of CapSolver's task, so
 * it is not sent. The price per call is not documented (points: null). Feedback on an answer goes
 * to POST /feedbackTask with `result.invalid`.
 */
import { createTaskApiProvider } from './task-api.js'
import type { Provider, ProviderOptions } from './types.js'

export function createCapSolverProvider(options: ProviderOptions): Provider {
  return createTaskApiProvider(
    {
      name: 'capsolver',
      // CapSolver answers "idle" for freshly created tasks since 2025.
      pendingStatuses: ['idle', 'processing'],
      balanceUnit: 'USD',
      report: {
        path: () => '/feedbackTask',
        body: (taskId, correct) => ({ taskId, result: { invalid: !correct } }),
      },
    },
    options,
  )
}
