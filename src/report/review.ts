/**
 * `rc2 view`: the cards of the review page from results files. The last record of an input in a
 * file stands (a --resume run appends the retry after the failure); dry runs are left out. Each
 * picture is read from the record's `input`, relative to here or else to the results file.
 */
import { stat } from 'node:fs/promises'
import { dirname, isAbsolute, resolve } from 'node:path'
import { PROVIDER_REPORTS } from '../providers/index.js'
import type { ProviderName } from '../providers/types.js'
import type { ReviewCard, ReviewPage } from '../output/review-page.js'
import type { Grid } from '../types.js'
import { readResultsFile } from './results-file.js'

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined)
const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined
const nums = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.every((n) => Number.isInteger(n)) ? (v as number[]) : undefined

/** A results record as a card, without its picture; undefined for what is not a result. */
function toCard(file: string, r: Record<string, unknown>): ReviewCard | undefined {
  const input = str(r.input)
  if (input === undefined || typeof r.ok !== 'boolean' || r.dryRun === true) return undefined
  const q = r.question as { id?: unknown; name?: unknown } | undefined
  const question =
    typeof q?.id === 'string' && typeof q.name === 'string' ? { id: q.id, name: q.name } : undefined
  const e = r.error as Record<string, unknown> | undefined
  const provider = str(r.provider)
  const taskId = str(r.taskId) ?? null
  const reports = PROVIDER_REPORTS[provider as ProviderName] as
    (typeof PROVIDER_REPORTS)[ProviderName] | undefined
  return {
    file,
    input,
    ok: r.ok,
    question,
    grid: str(r.grid),
    objects: nums(r.objects),
    checked: nums(r.checked),
    provider,
    points: r.points === null ? null : num(r.points),
    elapsedMs: num(r.elapsedMs),
    taskId,
    notReportable:
      reports === undefined || !reports.wrong
        ? `${provider ?? 'this service'} takes no report of a wrong answer`
        : taskId === null && nums(r.taskIds) === undefined
          ? 'no task id to report'
          : undefined,
    error:
      r.ok || e === undefined
        ? undefined
        : {
            kind: str(e.kind) ?? 'unknown',
            code: str(e.code) ?? null,
            message: str(e.message) ?? '',
            hint: str(e.hint) ?? null,
          },
  }
}

/** Where the picture of an input is: the path as recorded, here, or beside the results file. */
async function findPicture(
  input: string,
  cwd: string,
  resultsPath: string,
): Promise<string | undefined> {
  if (input === '-' || /^https?:\/\//i.test(input)) return undefined
  const candidates = isAbsolute(input)
    ? [input]
    : [resolve(cwd, input), resolve(dirname(resultsPath), input)]
  for (const path of candidates) {
    const info = await stat(path).catch(() => undefined)
    if (info?.isFile() === true) return path
  }
  return undefined
}

async function addPicture(card: ReviewCard, cwd: string, resultsPath: string): Promise<void> {
  const path = await findPicture(card.input, cwd, resultsPath)
  if (path === undefined) {
    card.noPicture = /^https?:\/\//i.test(card.input)
      ? 'picture not kept (an address)'
      : 'picture not found'
    return
  }
  const { renderThumbnail } = await import('../image/thumbnail.js')
  try {
    card.picture = await renderThumbnail(path, {
      name: card.input,
      grid: card.ok ? (card.grid as Grid | undefined) : undefined,
      chosen: card.objects,
      checked: card.checked,
    })
  } catch (error) {
    card.noPicture = `no picture: ${error instanceof Error ? error.message : String(error)}`
  }
}

/** The review page's data from results files (`files` as named, resolved against `cwd`). */
export async function collectReview(files: readonly string[], cwd: string): Promise<ReviewPage> {
  const cards: { card: ReviewCard; path: string }[] = []
  const warnings: string[] = []
  for (const file of files) {
    const path = resolve(cwd, file)
    const read = await readResultsFile(path, file)
    if (read.unreadable > 0)
      warnings.push(`${file}: ${read.unreadable} line(s) are not JSON results and were skipped`)
    const byInput = new Map<string, ReviewCard>()
    for (const record of read.records) {
      const card = toCard(file, record)
      if (card !== undefined) byInput.set(card.input, card)
    }
    if (byInput.size === 0) warnings.push(`${file} holds no result`)
    for (const card of byInput.values()) cards.push({ card, path })
  }
  // Two pictures at a time: sharp uses the cores itself.
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < cards.length) {
      const item = cards[next++] as { card: ReviewCard; path: string }
      await addPicture(item.card, cwd, item.path)
    }
  }
  await Promise.all([worker(), worker()])
  return { files, cards: cards.map((c) => c.card), warnings }
}
