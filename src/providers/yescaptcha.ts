/**
 * YesCaptcha `ReCaptchaV2Classification`. The answer normally comes in the createTask reply;
 * getTaskResult is the fallback (at most 120 polls within 5 minutes). Costs 6 points for a
 * 300/450 image and 2 for a 100x100 tile (1000 points = 1 CNY): see facts/yescaptcha.ts.
 */
import { createTaskApiProvider } from './task-api.js'
import type { Provider, ProviderOptions } from './types.js'

export function createYesCaptchaProvider(options: ProviderOptions): Provider {
  return createTaskApiProvider(
    { name: 'yescaptcha', pendingStatuses: ['processing', 'idle'], balanceUnit: 'points' },
    options,
  )
}
