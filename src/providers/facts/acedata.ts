/** Ace Data Cloud: a Bearer token, the image and the `/m/` id; synchronous calls can take 120 s; no published price. */
import { defineFacts } from './define.js'

export const acedataFacts = defineFacts({
  label: 'Ace Data Cloud',
  // Ace scores every tile; rc2 applies --confidence to the scores.
  confidence: 'applied',
  endpoint: 'https://api.acedata.cloud',
  // Sync recognition can take up to 120 s server-side.
  requestTimeoutMs: 130_000,
  pollIntervalMs: 3000,
  headers: (apiKey) => ({ accept: 'application/json', authorization: `Bearer ${apiKey}` }),
  recognition: (parts) => ({
    path: '/captcha/recognition/recaptcha2',
    body: { image: parts.image, question: parts.question },
  }),
})
