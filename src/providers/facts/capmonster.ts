/** CapMonster Cloud `ComplexImageTask`, class recaptcha: the English instruction and the grid in `metadata`; no published price. */
import { defineFacts } from './define.js'
import { createTaskCall } from './task-api.js'

export const capmonsterFacts = defineFacts({
  label: 'CapMonster',
  endpoint: 'https://api.capmonster.cloud',
  pollIntervalMs: 1000,
  takesInstruction: true,
  recognition: (parts, apiKey) =>
    createTaskCall(
      {
        type: 'ComplexImageTask',
        class: 'recaptcha',
        imagesBase64: [parts.image],
        metadata: { Grid: parts.grid, Task: parts.instruction },
      },
      apiKey,
    ),
})
