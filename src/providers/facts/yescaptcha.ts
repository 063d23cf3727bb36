/** YesCaptcha: 6 points a grid, 2 a 100x100 tile (1000 points = 1 CNY); an international and a China node. */
import { defineFacts } from './define.js'
import { classificationTask, createTaskCall } from './task-api.js'

export const yescaptchaFacts = defineFacts({
  label: 'YesCaptcha',
  confidence: 'sent3x3',
  endpoint: (region) =>
    region === 'cn' ? 'https://cn.yescaptcha.com' : 'https://api.yescaptcha.com',
  pollIntervalMs: 2000,
  price: (grid) => (grid === '1x1' ? 2 : 6),
  recognition: (parts, apiKey) => createTaskCall(classificationTask(parts, true), apiKey),
})
