/**
 * Validation of the `solution` object every provider returns, and its normalisation into
 * RecognitionResult fields. A reply that does not fit is a `provider` error naming the field,
 * never a crash and never a wrong click.
 */
import * as z from 'zod/mini'
import { ENGLISH } from '../schema-messages.js'
import { ProviderError } from '../errors.js'
import { mapProviderError } from './error-map.js'
import type { JsonReply } from './http.js'
import { GRID_SIDE } from '../types.js'
import type { Grid } from '../types.js'
import type { ProviderName, RecognitionResult } from './types.js'

const SolutionSchema = z.object({
  type: z.optional(z.string()),
  objects: z.optional(z.array(z.number().check(z.int()))),
  hasObject: z.optional(z.boolean()),
  confidences: z.optional(z.nullable(z.array(z.number()))),
  size: z.optional(z.number()),
  label: z.optional(z.nullable(z.string())),
})

export type SolutionFields = Pick<
  RecognitionResult,
  'type' | 'objects' | 'hasObject' | 'confidences'
>

export interface SolutionContext {
  provider: ProviderName
  grid: Grid
  /** Side of the image sent, in pixels. */
  size: number
  /** Ace echoes the pixel size in `solution.size`; CapSolver's meaning of `size` is unknown. */
  checkSize?: boolean | undefined
}

/** "solution.objects[2]" from a zod path. */
function renderFieldPath(root: string, path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : `${out}.${String(part)}`),
    root,
  )
}

/** Parse `value` with `schema`, or throw a provider error naming the first field that is wrong. */
export function parseReply<T>(
  schema: z.ZodMiniType<T>,
  value: unknown,
  provider: ProviderName,
  root: string,
): T {
  const parsed = schema.safeParse(value, ENGLISH)
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const field = renderFieldPath(root, issue?.path ?? [])
  throw protocolError(provider, `${field}: ${issue?.message ?? 'does not fit the protocol'}`)
}

/** A reply's body read by `schema`; a body that is not an object is its status's error, or broken. */
export function readReplyObject<T>(
  provider: ProviderName,
  reply: JsonReply,
  schema: z.ZodMiniType<T>,
): T {
  const { status, body, retryAfterSec } = reply
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    if (status >= 400) throw mapProviderError({ provider, status, retryAfterSec })
    throw protocolError(provider, 'the body is not a JSON object')
  }
  return parseReply(schema, body, provider, 'reply')
}

/** Errors made by protocolError, so a caller can tell a broken reply from a refusal. */
const protocolErrors = new WeakSet<ProviderError>()

export function protocolError(provider: ProviderName, detail: string): ProviderError {
  const error = new ProviderError('provider', `${provider} reply: ${detail}`, {
    hint: 'the service answered in an unexpected shape; rerun with --verbose and report it if it persists',
    retryable: false,
  })
  protocolErrors.add(error)
  return error
}

/**
 * Read a reply to a paid call with `read`. A reply that breaks the protocol (a missing or
 * out-of-range answer, a wrong shape) carries no usable answer yet may have been charged: it is a
 * lost reply, resent like one (within --retries and the budget) and counted as possibly paid.
 */
export function readOrLost<T>(read: () => T): T {
  try {
    return read()
  } catch (error) {
    if (!(error instanceof ProviderError) || !protocolErrors.has(error)) throw error
    throw new ProviderError('provider', error.message, {
      hint: 'the service answered in an unexpected shape, so the answer counts as lost (the request may have been charged); rerun with --verbose and report it if it persists',
      retryable: true,
      mayHaveCharged: true,
      cause: error,
    })
  }
}

/**
 * Check a solution against the grid that was sent and normalise it: objects deduplicated and
 * sorted. A 1x1 request answered in the multi shape is accepted: objects [0] means the tile shows
 * the object, [] means it does not; anything else is out of range.
 */
export function normalizeSolution(raw: unknown, context: SolutionContext): SolutionFields {
  const { provider, grid, size } = context
  const solution = parseReply(SolutionSchema, raw, provider, 'solution')
  const tiles = GRID_SIDE[grid] ** 2

  if (solution.type !== undefined && solution.type !== 'multi' && solution.type !== 'single') {
    throw protocolError(
      provider,
      `solution.type = "${solution.type}" is neither "multi" nor "single"`,
    )
  }
  if (context.checkSize === true && solution.size !== undefined && solution.size !== size) {
    throw protocolError(
      provider,
      `solution.size = ${solution.size} does not match the ${size}x${size} image sent`,
    )
  }
  const confidences = solution.confidences ?? null
  if (confidences !== null && confidences.length !== tiles) {
    throw protocolError(
      provider,
      `solution.confidences has ${confidences.length} entries, expected ${tiles} for the ${grid} grid`,
    )
  }
  const objects = solution.objects
  if (objects !== undefined) {
    objects.forEach((tile, index) => {
      if (tile < 0 || tile >= tiles) {
        throw protocolError(
          provider,
          `solution.objects[${index}] = ${tile} is outside the ${grid} grid (0-${tiles - 1})`,
        )
      }
    })
  }

  if (grid === '1x1') {
    if (solution.hasObject !== undefined) {
      return { type: 'single', objects: [], hasObject: solution.hasObject, confidences }
    }
    if (objects !== undefined && solution.type !== 'single') {
      return { type: 'single', objects: [], hasObject: objects.length > 0, confidences }
    }
    throw protocolError(
      provider,
      'solution.hasObject is missing from the answer for a single 100x100 tile',
    )
  }

  if (solution.type === 'single') {
    throw protocolError(
      provider,
      `solution.type is "single" but a ${grid} grid (${size}x${size}) was sent`,
    )
  }
  if (objects === undefined) throw protocolError(provider, 'solution.objects is missing')
  const unique = [...new Set(objects)].sort((a, b) => a - b)
  return { type: 'multi', objects: unique, hasObject: null, confidences }
}
