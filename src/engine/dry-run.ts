import { Rc2Error } from '../errors.js'
import type { Layout } from '../image/types.js'
import { describeRequest } from '../providers/facts/index.js'
import type { RequestParts } from '../providers/types.js'
import type { Click, Grid } from '../types.js'
import type { DryRunResult } from './result.js'
import type { SolveSettings } from './solve-one.js'

/**
 * A --dry-run result, in its JSON order: the input, what is asked, the request that would be sent
 * (from the provider's facts, so no HTTP code is loaded), the image, and where the clicks would go.
 * The request's image stands in as a summary, never printed in full.
 */
export function dryRunResult(
  asked: Pick<SolveSettings, 'providerName' | 'endpoint' | 'region'> &
    Pick<DryRunResult, 'input' | 'question'>,
  shape: { grid: Grid; size: number; layout: Layout; checked?: number[] },
  request: Omit<RequestParts, 'image' | 'question'> & { imageSummary: string },
  rest: Pick<DryRunResult, 'image' | 'clicksIfChosen' | 'warnings'>,
): DryRunResult {
  const { question } = asked
  const { imageSummary, ...parts } = request
  const { warnings = [] } = rest
  return {
    schemaVersion: 1,
    input: asked.input,
    ok: true,
    dryRun: true,
    question,
    grid: shape.grid,
    size: shape.size,
    provider: asked.providerName,
    request: describeRequest(
      asked.providerName,
      { ...parts, image: imageSummary, question: question.id },
      { endpoint: asked.endpoint, region: asked.region },
    ),
    image: rest.image,
    clicksIfChosen: rest.clicksIfChosen,
    ...(shape.checked !== undefined ? { checked: shape.checked } : {}),
    ...cellStates(shape.layout),
    ...(warnings.length > 0 ? { warnings } : {}),
  }
}

/**
 * How a dry run shows the image it would send: the picture's size and the length of the base64
 * text that stands for it in the request (4 characters for every 3 bytes), never the bytes.
 */
export function imageSummary(bytes: number, mime: string, shape: string): string {
  return `<${mime.slice(6)} ${shape}: ${bytes} bytes, ${4 * Math.ceil(bytes / 3)} characters of base64>`
}

/** The capture's selected and loading tiles, as the result carries them. */
export function cellStates(layout: Layout): { selected?: number[]; loading?: number[] } {
  // A capture says both, empty when no tile is selected or loading; a payload has no such state.
  if (layout.kind === 'payload') return {}
  return { selected: layout.selected ?? [], loading: layout.loading ?? [] }
}

/** Tile centres in the input's own pixels, so a script can click them on the captured screen. */
export function clicksFor(layout: Layout, chosen: readonly number[]): Click[] {
  return chosen.map((tile) => {
    const rect = layout.tiles[tile]
    if (rect === undefined)
      throw new Rc2Error('provider', `tile ${tile} is outside the ${layout.grid} grid`)
    return { tile, x: rect.cx, y: rect.cy }
  })
}
