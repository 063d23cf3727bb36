/**
 * YesCaptcha `ReCaptchaV2Classification`. The answer normally comes in the createTask reply;
 * getTaskResult is the fallback (at most 120 polls within 5 minutes). Costs 6 points for a
 * 300/450 image and 2 for a 100x100 tile (1000 points = 1 CNY).
 */
import { providerPoints } from './prices.js'
import { createTaskApiProvider } from './task-api.js'
import type { Provider, ProviderOptions } from './types.js'

const YESCAPTCHA_ENDPOINTS = {
  intl: 'https://api.yescaptcha.com',
  cn: 'https://cn.yescaptcha.com',
} as const

export function createYesCaptchaProvider(options: ProviderOptions): Provider {
  return createTaskApiProvider(
    {
      name: 'yescaptcha',
      defaults: {
        endpoint: YESCAPTCHA_ENDPOINTS[options.region ?? 'intl'],
        requestTimeoutMs: 30_000,
        pollIntervalMs: 2000,
      },
      sendsConfidence: true,
      pendingStatuses: ['processing', 'idle'],
      points: (grid) => providerPoints('yescaptcha', grid),
      balanceUnit: 'points',
    },
    options,
  )
}
