/** CapSolver: the YesCaptcha task without `confidence`; the price per call is not documented. */
import { defineFacts } from './define.js'
import { classificationTask, createTaskCall } from './task-api.js'

export const capsolverFacts = defineFacts({
  label: 'CapSolver',
  endpoint: 'https://api.capsolver.com',
  pollIntervalMs: 2000,
  recognition: (parts, apiKey) => createTaskCall(classificationTask(parts, false), apiKey),
})
