/**
 * The question table as `rc2 questions` lists it without a query. Its own module so that listing
 * (`rc2 questions --json`) loads neither the name index nor the sentence parser (start-up time).
 */
import { QUESTIONS } from './table.js'
import type { QuestionEntry } from './types.js'

/** Every entry a service accepts, or every entry with `all`, in table order. */
export function listQuestions(options: { all?: boolean } = {}): QuestionEntry[] {
  return QUESTIONS.filter((e) => options.all === true || e.status === 'service')
}
