/**
 * The services' own wire shapes: reading a createTask body or an in.php form into a TaskSpec, and
 * writing an answer or a refusal as that protocol's clients expect it. Pure: no I/O.
 */
import type { Grid } from '../types.js'
import {
  Refusal,
  type Protocol,
  type RefusalKind,
  type TaskAnswer,
  type TaskSpec,
} from './types.js'

const GRIDS: readonly Grid[] = ['1x1', '3x3', '4x4']

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

/** Base64 (with or without a data: prefix) to bytes; anything else is refused as an image error. */
function decodeImage(value: unknown): Buffer {
  const raw = text(value)
  if (raw === undefined) throw new Refusal('absent', 'no image in the task')
  const body = raw.replace(/^data:[^,]*;base64,/i, '').replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(body)) throw new Refusal('image', 'the image is not base64')
  const bytes = Buffer.from(body, 'base64')
  if (bytes.length < 100) throw new Refusal('image', 'the image is smaller than 100 bytes')
  return bytes
}

/** A grid from rows and columns (3 and 3, 4 and 4, 1 and 1), or undefined when not given. */
export function gridOf(rows: unknown, columns: unknown): Grid | undefined {
  if (rows === undefined && columns === undefined) return undefined
  const r = Number(rows ?? columns)
  const c = Number(columns ?? rows)
  const grid = `${r}x${c}` as Grid
  if (r !== c || !GRIDS.includes(grid))
    throw new Refusal('unsupported', `a ${String(rows)}x${String(columns)} grid is not reCAPTCHA's`)
  return grid
}

/** The task of a createTask body, as one of the three reCAPTCHA task types. */
export function parseCreateTask(body: unknown): TaskSpec {
  const task = isRecord(body) ? body.task : undefined
  if (!isRecord(task)) throw new Refusal('absent', 'the body has no task')
  switch (task.type) {
    case 'ReCaptchaV2Classification':
      return classificationTask(task)
    case 'ComplexImageTask':
      return complexTask(task)
    case 'GridTask':
      return gridTask(task)
    default:
      throw new Refusal('unsupported', `task type ${String(task.type)} is not served here`)
  }
}

function classificationTask(task: Record<string, unknown>): TaskSpec {
  const question = text(task.question)
  if (question === undefined) throw new Refusal('absent', 'the task has no question')
  const confidence = task.confidence
  if (
    confidence !== undefined &&
    (typeof confidence !== 'number' || confidence < 0 || confidence > 1)
  )
    throw new Refusal('absent', 'confidence is a number from 0 to 1')
  return {
    protocol: 'classification',
    image: decodeImage(task.image),
    question,
    confidence: confidence as number | undefined,
  }
}

function complexTask(task: Record<string, unknown>): TaskSpec {
  if (task.class !== 'recaptcha')
    throw new Refusal(
      'unsupported',
      `ComplexImageTask class ${String(task.class)} is not served here`,
    )
  const metadata = isRecord(task.metadata) ? task.metadata : {}
  const question = text(metadata.TaskDefinition) ?? text(metadata.Task)
  if (question === undefined)
    throw new Refusal('absent', 'metadata has neither Task nor TaskDefinition')
  const grid = text(metadata.Grid)
  if (grid !== undefined && !GRIDS.includes(grid as Grid))
    throw new Refusal('unsupported', `metadata.Grid ${grid} is not 1x1, 3x3 or 4x4`)
  const images = Array.isArray(task.imagesBase64) ? task.imagesBase64 : []
  const urls = Array.isArray(task.imageUrls) ? task.imageUrls : []
  if (images.length > 1 || urls.length > 1)
    throw new Refusal('unsupported', 'one grid image per task (the 1x1 refresh is its own task)')
  const spec: TaskSpec = { protocol: 'complex', question, grid: grid as Grid | undefined }
  if (images.length === 1) return { ...spec, image: decodeImage(images[0]) }
  const url = text(urls[0])
  if (url === undefined || !/^https?:\/\//i.test(url))
    throw new Refusal('absent', 'the task has neither imagesBase64 nor an http(s) imageUrls entry')
  return { ...spec, imageUrl: url }
}

function gridTask(task: Record<string, unknown>): TaskSpec {
  const question = text(task.comment)
  if (question === undefined)
    throw new Refusal('absent', 'the task has no comment (the instruction as text)')
  return {
    protocol: 'grid',
    image: decodeImage(task.body),
    question,
    grid: gridOf(task.rows, task.columns),
  }
}

/** The fields of an in.php submission (form, multipart or JSON, file bytes already read). */
export interface ClassicSubmission {
  fields: Record<string, string>
  file?: Buffer | undefined
}

export function parseClassic({ fields, file }: ClassicSubmission): TaskSpec {
  const method = fields.method ?? 'post'
  if (fields.recaptcha !== '1')
    throw new Refusal('unsupported', 'only recaptcha=1 grid tasks are served here')
  const question = text(fields.textinstructions)
  if (question === undefined) throw new Refusal('absent', 'textinstructions is missing')
  let image: Buffer
  if (method === 'base64') image = decodeImage(fields.body)
  else if (method === 'post') {
    if (file === undefined) throw new Refusal('absent', 'method=post needs a file part')
    if (file.length < 100) throw new Refusal('image', 'the image is smaller than 100 bytes')
    image = file
  } else throw new Refusal('unsupported', `method=${method} is not served here`)
  return {
    protocol: 'classic',
    image,
    question,
    grid: gridOf(fields.recaptcharows, fields.recaptchacols),
  }
}

/** The solution object of a createTask-family answer, in the task type's own shape. */
export function solutionFor(protocol: Protocol, answer: TaskAnswer): Record<string, unknown> {
  const tiles = answer.grid === '4x4' ? 16 : answer.grid === '3x3' ? 9 : 1
  const chosen =
    answer.grid === '1x1' ? (answer.hasObject === true ? [0] : []) : answer.objects.slice()
  if (protocol === 'complex')
    return { answer: Array.from({ length: tiles }, (_, i) => chosen.includes(i)) }
  if (protocol === 'grid') return { click: chosen.map((i) => i + 1) }
  return answer.type === 'single'
    ? { hasObject: answer.hasObject === true, type: 'single' }
    : { objects: answer.objects, type: 'multi', size: answer.grid === '4x4' ? 450 : 300 }
}

/** 2Captcha's classic answer text: click:1/5/9 (1-based), or No_matching_images. */
export function classicAnswer(answer: TaskAnswer): string {
  const chosen =
    answer.grid === '1x1' ? (answer.hasObject === true ? [0] : []) : answer.objects.slice()
  return chosen.length === 0 ? 'No_matching_images' : `click:${chosen.map((i) => i + 1).join('/')}`
}

/** Error codes per refusal, as the createTask family and 2Captcha's classic API spell them. */
const CODES: Record<RefusalKind, string> = {
  key: 'ERROR_KEY_DOES_NOT_EXIST',
  budget: 'ERROR_ZERO_BALANCE',
  no_task: 'ERROR_NO_SUCH_CAPCHA_ID',
  absent: 'ERROR_TASK_ABSENT',
  unsupported: 'ERROR_TASK_NOT_SUPPORTED',
  image: 'ERROR_IMAGE_TYPE_NOT_SUPPORTED',
  too_big: 'ERROR_TOO_BIG_CAPTCHA_FILESIZE',
  question: 'ERROR_CAPTCHA_UNSOLVABLE',
  unsolvable: 'ERROR_CAPTCHA_UNSOLVABLE',
  busy: 'ERROR_NO_SLOT_AVAILABLE',
  closing: 'ERROR_NO_SLOT_AVAILABLE',
  bad_action: 'ERROR_EMPTY_ACTION',
  report_failed: 'ERROR_REPORT_NOT_RECORDED',
}

/** 2Captcha's numeric errorId per code (its API v2 puts the code number there, not 0/1). */
const TWOCAPTCHA_IDS: Record<string, number> = {
  ERROR_KEY_DOES_NOT_EXIST: 1,
  ERROR_NO_SLOT_AVAILABLE: 2,
  ERROR_TOO_BIG_CAPTCHA_FILESIZE: 4,
  ERROR_ZERO_BALANCE: 10,
  ERROR_CAPTCHA_UNSOLVABLE: 12,
  ERROR_IMAGE_TYPE_NOT_SUPPORTED: 15,
  ERROR_NO_SUCH_CAPCHA_ID: 16,
  ERROR_TASK_ABSENT: 22,
  ERROR_TASK_NOT_SUPPORTED: 23,
}

/** The error code a refusal is given in every protocol (ERROR_...). */
export function errorCode(kind: RefusalKind): string {
  return CODES[kind]
}

/** A createTask-family error body: errorId 1 (2Captcha's GridTask: the code's number). */
export function taskApiError(
  protocol: Protocol | undefined,
  refusal: Refusal,
): Record<string, unknown> {
  const code = CODES[refusal.kind]
  const errorId = protocol === 'grid' ? (TWOCAPTCHA_IDS[code] ?? 1) : 1
  return { errorId, errorCode: code, errorDescription: refusal.message }
}

/**
 * A classic reply: with json=1 `{status, request}`, else the text (`plain`, by default
 * `OK|<request>` for a success and the bare code for a refusal or CAPCHA_NOT_READY).
 */
export function classicReply(
  json: boolean,
  ok: boolean,
  request: string,
  plain?: string,
): { body: string; type: string } {
  if (json)
    return { body: JSON.stringify({ status: ok ? 1 : 0, request }), type: 'application/json' }
  return { body: plain ?? (ok ? `OK|${request}` : request), type: 'text/plain' }
}
