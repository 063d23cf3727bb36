/**
 * 2Captcha API v2 `GridTask`: human workers (optionally CV-assisted with `imgType: "recaptcha"`)
 * click the matching cells of the grid image, given the English instruction in `comment` and the
 * grid in `rows`/`columns`. Always asynchronous: createTask, then getTaskResult, first after 5 s
 * and every 5 s ("wait at least 5 seconds"), for up to 3 minutes. The answer `solution.click` is
 * 1-BASED and is turned into 0-based tiles here; a 0 in it means the service switched to 0-based
 * numbering, which is refused rather than guessed at. The price per task is not published
 * (points: null); feedback goes to /reportIncorrect and /reportCorrect.
 */
import * as z from 'zod/mini'
import { TWOCAPTCHA_ERROR_IDS } from './error-map.js'
import { parseReply, protocolError } from './solution.js'
import type { SolutionFields } from './solution.js'
import { createTaskApiProvider } from './task-api.js'
import type { Provider, ProviderOptions, RecognitionRequest } from './types.js'
import { GRID_SIDE } from '../types.js'

const GridSolutionSchema = z.looseObject({
  click: z.optional(z.nullable(z.union([z.array(z.number().check(z.int())), z.string()]))),
})

/** `click` (1-based) -> 0-based tiles; "No_matching_images" or an empty list -> none. */
export function normalizeGridSolution(
  raw: unknown,
  request: Pick<RecognitionRequest, 'grid'>,
): SolutionFields {
  const solution = parseReply(GridSolutionSchema, raw, '2captcha', 'solution')
  const click = solution.click
  const tiles = GRID_SIDE[request.grid] ** 2
  let clicked: number[]
  if (
    click === undefined ||
    click === null ||
    (typeof click === 'string' && /no_matching_images/i.test(click))
  ) {
    // How v2 says "nothing matches" is undocumented: a missing click or the v1 text both mean none.
    if (click === undefined && !/no_matching_images/i.test(JSON.stringify(raw))) {
      throw protocolError('2captcha', 'solution.click is missing')
    }
    clicked = []
  } else if (typeof click === 'string') {
    throw protocolError(
      '2captcha',
      `solution.click = ${JSON.stringify(click.slice(0, 40))} is not a list of cells`,
    )
  } else {
    click.forEach((cell, index) => {
      if (cell === 0) {
        throw protocolError(
          '2captcha',
          `solution.click[${index}] = 0: the cells should be numbered from 1; refusing to guess the numbering`,
        )
      }
      if (cell < 1 || cell > tiles) {
        throw protocolError(
          '2captcha',
          `solution.click[${index}] = ${cell} is outside the ${request.grid} grid (1-${tiles})`,
        )
      }
    })
    clicked = [...new Set(click.map((cell) => cell - 1))].sort((a, b) => a - b)
  }
  if (request.grid === '1x1')
    return { type: 'single', objects: [], hasObject: clicked.length > 0, confidences: null }
  return { type: 'multi', objects: clicked, hasObject: null, confidences: null }
}

export function createTwoCaptchaProvider(options: ProviderOptions): Provider {
  return createTaskApiProvider(
    {
      name: '2captcha',
      pendingStatuses: ['processing'],
      balanceUnit: 'USD',
      errorIdCodes: TWOCAPTCHA_ERROR_IDS,
      normalize: normalizeGridSolution,
      report: {
        path: (correct) => (correct ? '/reportCorrect' : '/reportIncorrect'),
        body: (taskId) => ({ taskId: /^\d+$/.test(taskId) ? Number(taskId) : taskId }),
      },
    },
    options,
  )
}
