/** 2Captcha `GridTask`: human workers, the English instruction; 120-180 s at worst, polled every 5 s; no published price. */
import { GRID_SIDE } from '../../types.js'
import { defineFacts } from './define.js'
import { createTaskCall } from './task-api.js'

export const twocaptchaFacts = defineFacts({
  label: '2Captcha',
  endpoint: 'https://api.2captcha.com',
  // "Wait at least 5 seconds" between polls.
  pollIntervalMs: 5000,
  imageTimeoutSec: 180,
  takesInstruction: true,
  recognition: (parts, apiKey) => {
    const side = GRID_SIDE[parts.grid]
    const task = {
      type: 'GridTask',
      body: parts.image,
      comment: parts.instruction,
      rows: side,
      columns: side,
      // CV-assisted workers for reCAPTCHA grids; they expect the original English instruction.
      imgType: 'recaptcha',
      // A 1x1 refresh tile may show nothing to click; a grid may too after a dynamic round.
      canNoAnswer: 1,
    }
    return createTaskCall(task, apiKey)
  },
})
