/** What follows a charged create call: polling the task for its answer. */
import { ProviderError } from '../errors.js'
import type { AdapterContext } from './adapter-context.js'
import { deadlineError } from './http.js'
import { withRetries } from './retry.js'
import type { RetryOptions } from './retry.js'

/**
 * Poll until `check` returns a value: wait `pollIntervalMs` before each call, stop after
 * `maxPolls` calls or `maxPollMs`, or when the signal aborts. Each poll is retried with `retry`
 * (a poll costs nothing to ask again). The task exists by then, so giving up may have cost a charge.
 */
export async function pollTask<T>(
  context: AdapterContext,
  taskId: string,
  retry: RetryOptions,
  check: () => Promise<T | undefined>,
): Promise<T> {
  const { signal } = retry
  const started = Date.now()
  const what = `${context.name}: task ${taskId}`
  let polls = 0
  for (let poll = 1; poll <= context.maxPolls; poll++) {
    try {
      await context.sleep(context.pollIntervalMs, signal)
    } catch (error) {
      if (signal?.aborted === true) throw deadlineError(signal, `${what} was still running`, true)
      throw error
    }
    if (Date.now() - started > context.maxPollMs) break
    polls = poll
    let value: T | undefined
    try {
      value = await withRetries(check, retry)
    } catch (error) {
      // The task exists whether or not this poll went out: the deadline may have cost a charge.
      if (signal?.aborted === true) throw deadlineError(signal, `${what} was still running`, true)
      throw error
    }
    if (value !== undefined) return value
  }
  const seconds = Math.round((Date.now() - started) / 1000)
  throw new ProviderError('timeout', `${what} had no answer after ${polls} polls in ${seconds} s`, {
    hint: 'the service is slow or the task is stuck; try again later',
    mayHaveCharged: true,
  })
}
