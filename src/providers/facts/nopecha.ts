/** NopeCHA recognition API: the key in the body and as a Bearer header, the English instruction; polled every second; no published price. */
import { defineFacts } from './define.js'

export const nopechaFacts = defineFacts({
  label: 'NopeCHA',
  endpoint: 'https://api.nopecha.com',
  pollIntervalMs: 1000,
  takesInstruction: true,
  headers: (apiKey) => ({ authorization: `Bearer ${apiKey}` }),
  recognition: (parts, apiKey) => ({
    path: '/',
    body: {
      key: apiKey,
      type: 'recaptcha',
      task: parts.instruction,
      grid: parts.grid,
      image_data: [parts.image],
    },
  }),
})
