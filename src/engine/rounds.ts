/**
 * The dynamic round of a 3x3 challenge (docs/commands.md): some tiles of a capture (`--tiles`, or those
 * that changed `--since` the previous capture) are cut out, scaled to 100x100 and classified one
 * by one as 1x1 tasks, concurrently; the answer says which of them to click.
 */
import { InputError, Rc2Error, UsageError } from '../errors.js'
import { withDeadline } from '../providers/deadline.js'
import type { LocatedImage, LocateOptions } from '../image/prepare.js'
import type { Layout } from '../image/types.js'
import type { RecognitionResult } from '../providers/types.js'
import { cellStates, clicksFor, dryRunResult, imageSummary } from './dry-run.js'
import { prepareModule } from './lazy-modules.js'
import type { DryRunResult, SolveSuccess } from './result.js'
import {
  annotate,
  askedFor,
  type AskedQuestion,
  type ImageOptions,
  locateOptions,
  type SolveOneOptions,
} from './solve-one.js'

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
  spec: RoundSpec,
  options: Pick<SolveOneOptions, 'input' | 'question' | 'grid' | 'image'>,
): Promise<PreparedRound> {
  const { locateImage } = await prepareModule()
  const locate = locateOptions(options)
  const { name } = locate
  const { image, layout } = await locateImage(source, locate)
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
  let checked =
    spec.since !== undefined
      ? await changedTiles({ image, layout }, locate, spec.since, warnings)
      : givenTiles(spec.tiles, layout)
  // A tile still fading in would be classified on a pale picture: the caller captures again.
  const loading = new Set(layout.loading ?? [])
  const held = checked.filter((t) => loading.has(t))
  if (held.length > 0) {
    checked = checked.filter((t) => !loading.has(t))
    warnings.push(
      `${name}: ${held.length === 1 ? 'tile' : 'tiles'} ${held.join(', ')} still loading (pale or blank), not sent: capture again once faded in`,
    )
  }
  const images = await cutTiles(image.pixels, layout, checked, options.image)
  return { layout, checked, images, inputWidth: image.width, inputHeight: image.height, warnings }
}

/** --tiles: the tiles named, once each, ascending; a tile outside the 3x3 grid is a usage error. */
function givenTiles(tiles: readonly number[] | undefined, layout: Layout): number[] {
  const checked = [...new Set(tiles ?? [])].sort((a, b) => a - b)
  const outside = checked.filter((t) => t >= layout.tiles.length)
  if (outside.length > 0) {
    throw new UsageError(`--tiles ${outside.join(', ')}: a 3x3 grid has tiles 0 to 8`, {
      hint: 'tiles are numbered from 0, row by row',
    })
  }
  return checked
}

/** --since: the tiles that changed since the previous capture of the same challenge. */
async function changedTiles(
  current: LocatedImage,
  locate: LocateOptions & { name: string },
  since: NonNullable<RoundSpec['since']>,
  warnings: string[],
): Promise<number[]> {
  const { locateImage } = await prepareModule()
  const previous = await locateImage(since.bytes, { ...locate, name: since.input })
  const { findChangedTiles } = await import('../image/changes.js')
  const { name } = locate
  const { layout } = current
  const checked = findChangedTiles(
    previous.image.pixels,
    previous.layout,
    current.image.pixels,
    layout,
    { previous: since.input, current: name },
  )
  if (checked.length === 0) warnings.push(`no tile changed since ${since.input}: nothing was sent`)
  // A click replaces a few tiles; most of them changed means another challenge, and a round of
  // that many tile calls would cost more than solving the whole image.
  if (checked.length > layout.tiles.length / 2)
    throw new InputError(
      `${name} is not the same challenge as ${since.input}: ${checked.length} of ${layout.tiles.length} tiles differ`,
      { hint: `drop --since to solve ${name} as a whole challenge` },
    )
  return checked
}

/** Each checked tile cut out (a selected tile's shrunk picture scaled back to full size) as a 100x100 image. */
async function cutTiles(
  pixels: LocatedImage['image']['pixels'],
  layout: Layout,
  checked: readonly number[],
  options: ImageOptions | undefined,
): Promise<PreparedRound['images']> {
  const [{ cutAndScale }, { encodeImage, toBase64, mimeOf }] = await Promise.all([
    import('../image/tiles.js'),
    import('../image/encode.js'),
  ])
  const format = options?.format ?? 'jpeg'
  return Promise.all(
    checked.map(async (tile) => {
      const rect = layout.pictures?.[tile] ?? layout.tiles[tile]!
      const scaled = await cutAndScale(pixels, rect, TILE_SIZE, TILE_SIZE)
      const { buffer } = await encodeImage(scaled, { format, quality: options?.quality })
      return { tile, base64: toBase64(buffer), bytes: buffer.length, mime: mimeOf(format) }
    }),
  )
}

type SolveRoundOptions = Omit<SolveOneOptions, 'prepared' | 'grid'> & {
  round: PreparedRound
}

/** Classify each checked tile as a 1x1 task, all at once; a tile that fails is reported, the others kept. */
export async function solveRound(
  options: SolveRoundOptions,
): Promise<(SolveSuccess | DryRunResult) & { checked: number[] }> {
  const started = Date.now()
  const { round } = options
  // Each tile goes out as a 1x1 image; the sentence's own grid (3x3) is no contradiction here.
  // The services that take text get the 3x3 wording: a refreshed tile belongs to a 3x3 challenge.
  const asked = await askedFor({ ...options, question: { ...options.question, grid: null } }, '1x1')
  const { question, instruction, warnings } = asked
  warnings.push(...round.warnings)

  if (options.dryRun === true) return roundDryRun(options, asked)

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
  const result = roundResult(options, answered, question)
  result.elapsedMs = Math.max(0, Math.round(Date.now() - started))
  const services = [...new Set(answered.map((a) => a.answer.provider ?? options.providerName))]
  if (services.length > 1)
    warnings.push(`the tiles were answered by ${services.join(' and ')} (failover)`)
  if (warnings.length > 0) result.warnings = warnings
  await annotate(result, options, round.layout, result.objects, result.checked)
  return result
}

/** The answered tiles as one result (its time and warnings are set by the caller). */
function roundResult(
  options: SolveRoundOptions,
  answered: { tile: number; answer: RecognitionResult }[],
  question: AskedQuestion,
): SolveSuccess & { checked: number[]; taskIds: (string | null)[] } {
  const { layout } = options.round
  const objects = answered.filter((a) => a.answer.hasObject === true).map((a) => a.tile)
  const scores = answered.map((a) => a.answer.confidences?.[0])
  const points = answered.every((a) => a.answer.points !== null)
    ? answered.reduce((sum, a) => sum + (a.answer.points ?? 0), 0)
    : null
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
    clicks: clicksFor(layout, objects),
    // With failover each tile may have been answered by another service: name the first one's.
    provider: answered[0]?.answer.provider ?? options.providerName,
    // The first checked tile's task (taskIds has every one): a string wherever a call was made.
    taskId: answered[0]?.answer.taskId ?? null,
    points: answered.length === 0 ? 0 : points,
    elapsedMs: 0,
    checked: answered.map((a) => a.tile),
    taskIds: answered.map((a) => a.answer.taskId),
    ...cellStates(layout),
  }
  const attempts = answered.flatMap((a) => a.answer.attempts ?? [])
  if (attempts.length > 0) result.attempts = attempts
  return result
}

/** The tiles that were answered and those whose call failed, in the order they were sent. */
function splitByOutcome(
  round: PreparedRound,
  settled: PromiseSettledResult<RecognitionResult>[],
): {
  answered: { tile: number; answer: RecognitionResult }[]
  failed: { tile: number; error: unknown }[]
} {
  const split = { answered: [], failed: [] } as ReturnType<typeof splitByOutcome>
  settled.forEach((o, k) => {
    const tile = round.images[k]!.tile
    if (o.status === 'fulfilled') split.answered.push({ tile, answer: o.value })
    else split.failed.push({ tile, error: o.reason })
  })
  return split
}

/** What --dry-run shows for a round: one 1x1 request per checked tile, and where the clicks would go. */
function roundDryRun(
  options: SolveRoundOptions,
  asked: Awaited<ReturnType<typeof askedFor>>,
): DryRunResult & { checked: number[] } {
  const { question, instruction, warnings } = asked
  const { layout, checked, images } = options.round
  const first = images[0]
  const result = dryRunResult(
    { ...options, question },
    { grid: layout.grid, size: TILE_SIZE, layout, checked },
    {
      instruction,
      grid: '1x1',
      imageSummary:
        first === undefined
          ? '<no tile to send>'
          : imageSummary(first.bytes, first.mime, '100x100, one request per checked tile'),
    },
    {
      image: {
        format: first?.mime.slice(6) ?? 'jpeg',
        bytes: images.reduce((sum, i) => sum + i.bytes, 0),
        width: options.round.inputWidth,
        height: options.round.inputHeight,
        inputKind: layout.kind,
      },
      clicksIfChosen: clicksFor(layout, checked),
      warnings,
    },
  )
  return { ...result, checked }
}
