/** The grid check: what the services will take for a question, before anything is sent. Pure. */
import { UsageError } from '../errors.js'
import type { Grid } from '../types.js'
import type { QuestionEntry, QuestionMatch } from './types.js'

const SERVICE_NAMES = 'YesCaptcha, Ace Data Cloud and CapSolver'

/** What checkQuestion found acceptable but worth saying. */
export interface CheckResult {
  warnings: string[]
}

const STATUS_WHY: Record<Exclude<QuestionEntry['status'], 'service'>, string> = {
  recaptcha: 'it is seen in reCAPTCHA challenges but no service accepts it',
  legacy: 'it is a legacy prompt, last seen in 2019 reCAPTCHA bundles',
}

/**
 * Refuse what the services will not take, before anything is sent: an id none of them lists,
 * or a grid they do not accept for the id (both allowed with `force`, as warnings). Warn when
 * 4x4 support is unknown or the grid contradicts the sentence.
 */
export function checkQuestion(
  match: QuestionMatch,
  grid: Grid,
  options: { force?: boolean } = {},
): CheckResult {
  const { entry } = match
  const force = options.force === true
  const warnings: string[] = []
  const label = `"${entry.en}" (${entry.id})`
  if (entry.status !== 'service') {
    const message = `${label} is not listed by any service (${SERVICE_NAMES}): ${STATUS_WHY[entry.status]}`
    if (!force)
      throw new UsageError(message, {
        hint: `choose an id from \`rc2 questions\`, or pass --force to send it anyway`,
      })
    warnings.push(`${message}; sending it anyway (--force)`)
  } else if (entry.grids[grid] === false) {
    const accepted = (Object.keys(entry.grids) as Grid[])
      .filter((g) => entry.grids[g] !== false)
      .join(', ')
    const message = `the services do not accept ${label} as a ${grid} challenge (accepted: ${accepted})`
    if (!force)
      throw new UsageError(message, {
        hint: `check --grid (Google shows this object only in 3x3 challenges), or pass --force to send it anyway`,
      })
    warnings.push(`${message}; sending it anyway (--force)`)
  } else if (entry.grids[grid] === null) {
    warnings.push(
      `no service documents ${grid} support for ${label}; the answer may be an error or poor`,
    )
  }
  if (match.grid !== null && match.grid !== grid && !(match.dynamic && grid === '1x1')) {
    warnings.push(`the sentence implies a ${match.grid} grid but the image is ${grid}`)
  }
  return { warnings }
}
