/**
 * The dynamic round of a 3x3 challenge (docs/commands.md): some tiles of a capture (`--tiles`, or those
 * that changed `--since` the previous capture) are cut out, scaled to 100x100 and classified one
 * by one as 1x1 tasks, concurrently; the answer says which of them to click.
 */
import { InputError, Rc2Error, UsageError, writeFailureReason } from '../errors.js'
import { withDeadline } from '../providers/deadline.js'
import type { Layout } from '../image/types.js'
import type { Click } from '../types.js'
import { dryRunHead, imageSummary } from './dry-run.js'
import { instructionModule, lookupModule, prepareModule } from './lazy-modules.js'
import type { DryRunResult, SolveSuccess } from './result.js'
import type { ImageOptions, SolveOneOptions } from './solve-one.js'
import { cellStates } from './solve-one.js'

/** Which tiles to classify: given, or found by comparing with the previous capture. */
export interface RoundSpec {
  tiles?: readonly number[] | undefined
  /** The previous capture of the same widget (its bytes) and its name for messages. */
  since?: { bytes: Buffer; input: string } | undefined
}

export interface PreparedRound {
  layout: Layout
  /** The tiles to classify, ascending. */
  checked: number[]
  /** One 100x100 image per checked tile, in the order of `checked`. */
  images: { tile: number; base64: string; bytes: number; mime: string }[]
  inputWidth: number
  inputHeight: number
  /** Set with --since: the warning when nothing changed. */
  warnings: string[]
}

const TILE_SIZE = 100

/** Load the capture, find its 3x3 grid, choose the tiles and cut each to a 100x100 image. */
export async function prepareRound(
  source: Buffer,
  input: string,
  spec: RoundSpec,
  options: {
    grid?: SolveOneOptions['grid']
    sentenceGrid?: SolveOneOptions['grid']
    image?: ImageOptions | undefined
  },
): Promise<PreparedRound> {
  const [{ locateImage }, { cutAndScale }, { encodeImage, toBase64, mimeOf }] = await Promise.all([
    prepareModule(),
    import('../image/tiles.js'),
    import('../image/encode.js'),
  ])
  const name = input === '-' ? 'stdin' : input
  const grid = options.grid ?? options.sentenceGrid
  const locate = {
    ...(grid !== undefined
      ? { grid, gridSource: options.grid !== undefined ? ('flag' as const) : ('sentence' as const) }
      : {}),
    ...(options.image?.maxBytes !== undefined ? { maxBytes: options.image.maxBytes } : {}),
    ...(options.image?.maxPixels !== undefined ? { maxPixels: options.image.maxPixels } : {}),
  }
  const { image, layout } = await locateImage(source, { name, ...locate })
  const flag = spec.since !== undefined ? '--since' : '--tiles'
  if (layout.grid !== '3x3') {
    throw new InputError(
      `${name} shows a ${layout.grid} grid; ${flag} classifies tiles of a 3x3 challenge one by one`,
      {
        hint: `drop ${flag} to solve the whole ${layout.grid} image`,
      },
    )
  }
  const warnings: string[] = []
  let checked: number[]
  if (spec.since !== undefined) {
    const previous = await locateImage(spec.since.bytes, { name: spec.since.input, ...locate })
    const { findChangedTiles } = await import('../image/changes.js')
    checked = findChangedTiles(previous.image.pixels, previous.layout, image.pixels, layout, {
      previous: spec.since.input,
      current: name,
    })
    if (checked.length === 0)
      warnings.push(`no tile changed since ${spec.since.input}: nothing was sent`)
    // A click replaces a few tiles; most of them changed means another challenge, and a round of
    // that many tile calls would cost more than solving the whole image.
    if (checked.length > layout.tiles.length / 2)
      throw new InputError(
        `${name} is not the same challenge as ${spec.since.input}: ${checked.length} of ${layout.tiles.length} tiles differ`,
        { hint: `drop --since to solve ${name} as a whole challenge` },
      )
  } else {
    checked = [...new Set(spec.tiles ?? [])].sort((a, b) => a - b)
    const outside = checked.filter((t) => t >= layout.tiles.length)
    if (outside.length > 0) {
      throw new UsageError(`--tiles ${outside.join(', ')}: a 3x3 grid has tiles 0 to 8`, {
        hint: 'tiles are numbered from 0, row by row',
      })
    }
  }
  // A tile still fading in would be classified on a pale picture: the caller captures again.
  const loading = new Set(layout.loading ?? [])
  const held = checked.filter((t) => loading.has(t))
  if (held.length > 0) {
    checked = checked.filter((t) => !loading.has(t))
    warnings.push(
      `${name}: ${held.length === 1 ? 'tile' : 'tiles'} ${held.join(', ')} still loading (pale or blank), not sent: capture again once faded in`,
    )
  }
  const format = options.image?.format ?? 'jpeg'
  const images = await Promise.all(
    checked.map(async (tile) => {
      // A selected tile's shrunk picture, scaled back to full size.
      const rect = layout.pictures?.[tile] ?? layout.tiles[tile]!
      const pixels = await cutAndScale(image.pixels, rect, TILE_SIZE, TILE_SIZE)
      const { buffer } = await encodeImage(pixels, { format, quality: options.image?.quality })
      return { tile, base64: toBase64(buffer), bytes: buffer.length, mime: mimeOf(format) }
    }),
  )
  return { layout, checked, images, inputWidth: image.width, inputHeight: image.height, warnings }
}

function clicksOf(layout: Layout, tiles: readonly number[]): Click[] {
  return tiles.map((tile) => ({ tile, x: layout.tiles[tile]!.cx, y: layout.tiles[tile]!.cy }))
}

export type SolveRoundOptions = Omit<SolveOneOptions, 'prepared' | 'grid'> & {
  round: PreparedRound
}

/** Classify each checked tile as a 1x1 task, all at once; a tile that fails is reported, the others kept. */
export async function solveRound(
  options: SolveRoundOptions,
): Promise<(SolveSuccess & { checked: number[] }) | (DryRunResult & { checked: number[] })> {
  const now = options.now ?? Date.now
  const started = now()
  const { round } = options
  const { checkQuestion } = await lookupModule()
  // Each tile goes out as a 1x1 image; the sentence's own grid (3x3) is no contradiction here.
  const { warnings } = checkQuestion({ ...options.question, grid: null }, '1x1', {
    force: options.force === true,
  })
  warnings.push(...round.warnings)
  const question = { id: options.question.entry.id, name: options.question.entry.en }
  const { layout } = round
  // The services that take text get the 3x3 wording: a refreshed tile belongs to a 3x3 challenge.
  const { instructionText } = await instructionModule()
  const instruction = instructionText(options.question.entry, '1x1')

  if (options.dryRun === true) return roundDryRun(options, { question, instruction, warnings })

  if (options.provider === undefined && round.images.length > 0)
    throw new Rc2Error('usage', 'no provider to send to')
  const settled = await withDeadline(options.timeoutMs, options.signal, (signal) =>
    Promise.allSettled(
      round.images.map((tile) =>
        options.provider!.recognize({
          image: tile.base64,
          grid: '1x1',
          size: TILE_SIZE,
          question: question.id,
          confidence: options.confidence,
          instruction,
          signal,
          account: options.account,
        }),
      ),
    ),
  )

  const { answered, failed } = splitByOutcome(round, settled)
  // Nothing answered: the first failure is the input's failure (its kind drives the exit code).
  if (answered.length === 0 && failed.length > 0) throw failed[0]!.error
  for (const { tile, error } of failed) {
    warnings.push(
      `tile ${tile} was not classified (${(error as Error).message}): check it again with --tiles ${tile}`,
    )
  }

  const checked = answered.map((a) => a.tile)
  const objects = answered.filter((a) => a.answer.hasObject === true).map((a) => a.tile)
  const scores = answered.map((a) => a.answer.confidences?.[0])
  const points = answered.every((a) => a.answer.points !== null)
    ? answered.reduce((sum, a) => sum + (a.answer.points ?? 0), 0)
    : null
  const paidCalls = answered.reduce((sum, a) => sum + a.answer.paidCalls, 0)
  const result: SolveSuccess & { checked: number[]; taskIds: (string | null)[] } = {
    schemaVersion: 1,
    input: options.input,
    ok: true,
    question,
    grid: layout.grid,
    size: TILE_SIZE,
    type: 'multi',
    objects,
    hasObject: null,
    // One score per checked tile, in the order of `checked`, when the service gives them all.
    confidences:
      scores.length > 0 && scores.every((s) => s !== undefined) ? (scores as number[]) : null,
    clicks: clicksOf(layout, objects),
    // With failover each tile may have been answered by another service: name the first one's.
    provider: answered[0]?.answer.provider ?? options.providerName,
    taskId: answered.length === 1 ? answered[0]!.answer.taskId : null,
    points: answered.length === 0 ? 0 : points,
    elapsedMs: Math.max(0, Math.round(now() - started)),
    checked,
    taskIds: answered.map((a) => a.answer.taskId),
    ...cellStates(layout),
  }
  if (paidCalls > answered.length) result.paidCalls = paidCalls
  const attempts = answered.flatMap((a) => a.answer.attempts ?? [])
  if (attempts.length > 0) result.attempts = attempts
  const services = [...new Set(answered.map((a) => a.answer.provider ?? options.providerName))]
  if (services.length > 1)
    warnings.push(`the tiles were answered by ${services.join(' and ')} (failover)`)
  if (warnings.length > 0) result.warnings = warnings
  if (options.annotatePath !== undefined)
    await annotateRound(options.source, options.annotatePath, layout, result)
  return result
}

type TileAnswer = Awaited<ReturnType<NonNullable<SolveOneOptions['provider']>['recognize']>>

/** The tiles that were answered and those whose call failed, in the order they were sent. */
function splitByOutcome(
  round: PreparedRound,
  settled: PromiseSettledResult<TileAnswer>[],
): {
  answered: { tile: number; answer: TileAnswer }[]
  failed: { tile: number; error: unknown }[]
} {
  const answered: { tile: number; answer: TileAnswer }[] = []
  const failed: { tile: number; error: unknown }[] = []
  settled.forEach((outcome, k) => {
    const tile = round.images[k]!.tile
    if (outcome.status === 'fulfilled') answered.push({ tile, answer: outcome.value })
    else failed.push({ tile, error: outcome.reason })
  })
  return { answered, failed }
}

/** Mark the checked tiles and the chosen ones on the input; a failure only adds a warning (the answers are paid for). */
async function annotateRound(
  source: SolveRoundOptions['source'],
  path: string,
  layout: PreparedRound['layout'],
  result: SolveSuccess & { checked: number[] },
): Promise<void> {
  const [{ renderAnnotated }, { writeFileNoFollow }] = await Promise.all([
    import('../image/annotate.js'),
    import('../image/write.js'),
  ])
  try {
    await writeFileNoFollow(
      path,
      await renderAnnotated(source, layout, result.objects, { checked: result.checked }),
    )
    result.annotated = path
  } catch (error) {
    result.warnings = [
      ...(result.warnings ?? []),
      `cannot write the annotated picture to ${path}: ${writeFailureReason(error)}`,
    ]
  }
}

/** What --dry-run shows for a round: one 1x1 request per checked tile, and where the clicks would go. */
function roundDryRun(
  options: SolveRoundOptions,
  asked: {
    question: { id: string; name: string }
    instruction: string | undefined
    warnings: string[]
  },
): DryRunResult & { checked: number[] } {
  const { question, instruction, warnings } = asked
  const { round } = options
  const { layout } = round
  const first = round.images[0]
  return {
    ...dryRunHead(
      { ...options, question },
      { grid: layout.grid, size: TILE_SIZE },
      {
        instruction,
        grid: '1x1',
        imageSummary:
          first === undefined
            ? '<no tile to send>'
            : imageSummary(first.bytes, first.mime, '100x100, one request per checked tile'),
      },
    ),
    image: {
      format: first?.mime.slice(6) ?? 'jpeg',
      bytes: round.images.reduce((sum, i) => sum + i.bytes, 0),
      width: round.inputWidth,
      height: round.inputHeight,
      inputKind: layout.kind,
    },
    clicksIfChosen: clicksOf(layout, round.checked),
    checked: round.checked,
    ...cellStates(layout),
    ...(warnings.length > 0 ? { warnings } : {}),
  }
}
