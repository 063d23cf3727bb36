import { Rc2Error, writeFailureReason } from '../errors.js'
import { withDeadline } from '../providers/deadline.js'
import type { LocateOptions, PrepareOptions } from '../image/prepare.js'
import type { Layout, PreparedImage } from '../image/types.js'
import type { CallAccount, Provider, ProviderName, RecognitionResult } from '../providers/types.js'
import type { QuestionMatch } from '../questions/types.js'
import type { Grid } from '../types.js'
import { cellStates, clicksFor, dryRunResult, imageSummary } from './dry-run.js'
import { instructionModule, lookupModule, prepareModule } from './lazy-modules.js'
import type { DryRunResult, SolveSuccess } from './result.js'

/** How the image is encoded and what inputs are accepted (config `image.*`). */
export type ImageOptions = Pick<PrepareOptions, 'format' | 'quality' | 'maxBytes' | 'maxPixels'>

/**
 * The settings a solve runs under, the same for every input of a batch. They flow unchanged from
 * the command (or the library) through the batch to each request: a new setting is added here.
 */
export interface SolveSettings {
  question: QuestionMatch
  /** --grid (auto = undefined). */
  grid?: Grid | undefined
  /** Allow a grid the services are not known to accept for the question. */
  force?: boolean | undefined
  providerName: ProviderName
  /** The provider to ask; undefined with dryRun. */
  provider?: Provider | undefined
  endpoint?: string | undefined
  region?: 'intl' | 'cn' | undefined
  confidence?: number | undefined
  /** Overall deadline for this image, polling and retries included. */
  timeoutMs: number
  dryRun?: boolean | undefined
  image?: ImageOptions | undefined
}

/** The question as a result names it. */
export type AskedQuestion = SolveSuccess['question']

/** One input: the settings, the image, and its account. */
export interface SolveOneOptions extends SolveSettings {
  /** File path, or the bytes (stdin). */
  source: string | Buffer
  /** What to call the input in results and messages ("-" for stdin). */
  input: string
  /** Write the input with the chosen tiles marked here (PNG). */
  annotatePath?: string | undefined
  signal?: AbortSignal | undefined
  /** The input's account with the run (a batch): every paid call reserves and charges through it. */
  account?: CallAccount | undefined
  /** Prepared image when the caller already has it (batch pipelines prepare ahead). */
  prepared?: PreparedImage | undefined
}

type ImageOf = Pick<SolveOneOptions, 'input' | 'question' | 'grid' | 'image'>

/** How the image layer finds the input's grid: its name, --grid else the sentence's grid, the limits. */
export function locateOptions(options: ImageOf): LocateOptions & { name: string } {
  const sentenceGrid = options.question.dynamic ? undefined : (options.question.grid ?? undefined)
  const grid = options.grid ?? sentenceGrid
  return {
    name: options.input === '-' ? 'stdin' : options.input,
    ...(grid !== undefined
      ? { grid, gridSource: options.grid !== undefined ? 'flag' : 'sentence' }
      : {}),
    ...(options.image?.maxBytes !== undefined ? { maxBytes: options.image.maxBytes } : {}),
    ...(options.image?.maxPixels !== undefined ? { maxPixels: options.image.maxPixels } : {}),
  }
}

export async function prepareFor(
  options: ImageOf & Pick<SolveOneOptions, 'source'>,
): Promise<PreparedImage> {
  const { prepareImage } = await prepareModule()
  return prepareImage(options.source, {
    ...locateOptions(options),
    ...(options.image?.format !== undefined ? { format: options.image.format } : {}),
    ...(options.image?.quality !== undefined ? { quality: options.image.quality } : {}),
  })
}

/** What a request asks and what the result says it asked, for one grid. */
export async function askedFor(
  options: Pick<SolveOneOptions, 'question' | 'force'>,
  grid: Grid,
): Promise<{ question: AskedQuestion; instruction: string | undefined; warnings: string[] }> {
  const [{ checkQuestion }, { instructionText }] = await Promise.all([
    lookupModule(),
    instructionModule(),
  ])
  const { warnings } = checkQuestion(options.question, grid, { force: options.force === true })
  return {
    question: { id: options.question.entry.id, name: options.question.entry.en },
    instruction: instructionText(options.question.entry, grid),
    warnings,
  }
}

/** One image end to end: prepare, check the question against the grid, ask, map tiles to clicks. */
export async function solveOne(options: SolveOneOptions): Promise<SolveSuccess | DryRunResult> {
  const started = Date.now()
  const prepared = options.prepared ?? (await prepareFor(options))
  const asked = await askedFor(options, prepared.grid)
  const warnings = [...(prepared.warnings ?? []), ...asked.warnings]
  const { question, instruction } = asked
  if (options.dryRun === true) return dryRunOf(options, prepared, { ...asked, warnings })

  if (options.provider === undefined) throw new Rc2Error('usage', 'no provider to send to')
  const provider = options.provider
  const answer = await withDeadline(options.timeoutMs, options.signal, (signal) =>
    provider.recognize({
      image: prepared.base64,
      grid: prepared.grid,
      size: prepared.size,
      question: question.id,
      // The adapter knows what its service does with it (YesCaptcha: 3x3 only; Ace: applied by rc2).
      confidence: options.confidence,
      instruction,
      signal,
      account: options.account,
      // The payload re-encoded to at most `maxBytes` (for a provider with a size limit).
      fitImage: async (maxBytes) => {
        const { fitJpeg } = await import('../image/fit.js')
        const image = Buffer.from(prepared.base64, 'base64')
        const { buffer, quality } = await fitJpeg(image, maxBytes, options.input)
        return { image: buffer.toString('base64'), bytes: buffer.length, quality }
      },
    }),
  )
  const chosen = answer.type === 'single' ? (answer.hasObject === true ? [0] : []) : answer.objects
  const result = successOf(options, prepared, answer, chosen, question)
  result.elapsedMs = Math.max(0, Math.round(Date.now() - started))
  const allWarnings = [...warnings, ...(answer.warnings ?? [])]
  if (allWarnings.length > 0) result.warnings = allWarnings
  await annotate(result, options, prepared.layout, chosen)
  return result
}

/** The result of one answered input (its time and warnings are set by the caller). */
function successOf(
  options: SolveOneOptions,
  prepared: PreparedImage,
  answer: RecognitionResult,
  chosen: readonly number[],
  question: AskedQuestion,
): SolveSuccess {
  const result: SolveSuccess = {
    schemaVersion: 1,
    input: options.input,
    ok: true,
    question,
    grid: prepared.grid,
    size: prepared.size,
    type: answer.type,
    objects: answer.objects,
    hasObject: answer.hasObject,
    confidences: answer.confidences,
    clicks: clicksFor(prepared.layout, chosen),
    provider: answer.provider ?? options.providerName,
    taskId: answer.taskId,
    points: answer.points,
    elapsedMs: 0,
    ...cellStates(prepared.layout),
  }
  if (answer.attempts !== undefined && answer.attempts.length > 0) result.attempts = answer.attempts
  return result
}

/**
 * With an annotatePath, write the input with the chosen tiles marked there; a failure only adds a
 * warning (the answer is paid for). Through a temporary file and a rename: a link planted at the
 * name is never written through.
 */
export async function annotate(
  result: SolveSuccess,
  { source, annotatePath: path }: Pick<SolveOneOptions, 'source' | 'annotatePath'>,
  layout: Layout,
  chosen: readonly number[],
  checked?: readonly number[],
): Promise<void> {
  if (path === undefined) return
  const { writeFileNoFollow } = await import('../image/write.js')
  try {
    const { renderAnnotated } = await import('../image/annotate.js')
    await writeFileNoFollow(path, await renderAnnotated(source, layout, chosen, { checked }))
    result.annotated = path
  } catch (error) {
    result.warnings = [
      ...(result.warnings ?? []),
      `cannot write the annotated picture to ${path}: ${writeFailureReason(error)}`,
    ]
  }
}

/** What --dry-run shows for one input: the request that would be sent, the image, and where the clicks would go. */
function dryRunOf(
  options: SolveOneOptions,
  prepared: PreparedImage,
  asked: Awaited<ReturnType<typeof askedFor>>,
): DryRunResult {
  const { question, instruction, warnings } = asked
  const { layout, size } = prepared
  const confidence = prepared.grid === '3x3' ? options.confidence : undefined
  return dryRunResult(
    { ...options, question },
    { grid: prepared.grid, size, layout },
    {
      instruction,
      grid: prepared.grid,
      confidence,
      imageSummary: imageSummary(prepared.bytes, prepared.mime, `${size}x${size}`),
    },
    {
      image: {
        format: prepared.mime.slice(6),
        bytes: prepared.bytes,
        width: prepared.inputWidth,
        height: prepared.inputHeight,
        inputKind: layout.kind,
      },
      clicksIfChosen: clicksFor(
        layout,
        layout.tiles.map((t) => t.index),
      ),
      warnings,
    },
  )
}
