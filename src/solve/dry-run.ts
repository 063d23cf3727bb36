import type { ProviderName } from '../providers/types.js'
import type { Grid } from '../types.js'
import type { DryRunResult } from './result.js'
import { GRID_SIDE } from '../types.js'

export interface DescribeOptions {
  endpoint?: string | undefined
  region?: 'intl' | 'cn' | undefined
  question: string
  /** The English instruction, for the services that take text (2captcha, nopecha, capmonster). */
  instruction?: string | undefined
  grid?: Grid | undefined
  confidence?: number | undefined
  /** Stands in for the base64 image, which is never printed in full. */
  imageSummary: string
}

const REDACTED = '***'

/** The request a provider would receive, with the key redacted and the image summarised (for --dry-run). */

function describeRequest(
  name: ProviderName,
  options: DescribeOptions,
): { method: 'POST'; url: string; headers: Record<string, string>; body: unknown } {
  const base = (options.endpoint ?? defaultEndpoint(name, options.region)).replace(/\/+$/, '')
  const json = { 'content-type': 'application/json' }
  if (name === 'acedata') {
    return {
      method: 'POST',
      url: `${base}/captcha/recognition/recaptcha2`,
      headers: { ...json, accept: 'application/json', authorization: `Bearer ${REDACTED}` },
      body: { image: options.imageSummary, question: options.question },
    }
  }
  const grid = options.grid ?? '3x3'
  const side = GRID_SIDE[grid]
  if (name === 'nopecha') {
    return {
      method: 'POST',
      url: `${base}/`,
      headers: { ...json, authorization: `Bearer ${REDACTED}` },
      body: { key: REDACTED, type: 'recaptcha', task: options.instruction, grid, image_data: [options.imageSummary] },
    }
  }
  let task: Record<string, unknown>
  if (name === '2captcha') {
    task = { type: 'GridTask', body: options.imageSummary, comment: options.instruction, rows: side, columns: side, imgType: 'recaptcha', canNoAnswer: 1 }
  } else if (name === 'capmonster') {
    task = { type: 'ComplexImageTask', class: 'recaptcha', imagesBase64: [options.imageSummary], metadata: { Grid: grid, Task: options.instruction } }
  } else {
    task = { type: 'ReCaptchaV2Classification', image: options.imageSummary, question: options.question }
    if (options.confidence !== undefined && name === 'yescaptcha') task.confidence = options.confidence
  }
  return { method: 'POST', url: `${base}/createTask`, headers: json, body: { clientKey: REDACTED, task } }
}

/** Kept here rather than imported from the adapters, so a dry run loads no HTTP code. */
const DEFAULT_ENDPOINTS: Record<ProviderName, string> = {
  yescaptcha: 'https://api.yescaptcha.com',
  acedata: 'https://api.acedata.cloud',
  capsolver: 'https://api.capsolver.com',
  '2captcha': 'https://api.2captcha.com',
  nopecha: 'https://api.nopecha.com',
  capmonster: 'https://api.capmonster.cloud',
}

function defaultEndpoint(name: ProviderName, region: 'intl' | 'cn' | undefined): string {
  if (name === 'yescaptcha' && region === 'cn') return 'https://cn.yescaptcha.com'
  return DEFAULT_ENDPOINTS[name]
}

/** What every --dry-run result starts with, in its JSON order: the input, what is asked, and the request that would be sent. */
export function dryRunHead(
  asked: { input: string; providerName: ProviderName; endpoint?: string | undefined; region?: 'intl' | 'cn' | undefined; question: { id: string; name: string } },
  shape: { grid: Grid; size: number },
  request: Omit<DescribeOptions, 'endpoint' | 'region' | 'question'>,
): Pick<DryRunResult, 'schemaVersion' | 'input' | 'ok' | 'dryRun' | 'question' | 'grid' | 'size' | 'provider' | 'request'> {
  const { question } = asked
  return {
    schemaVersion: 1,
    input: asked.input,
    ok: true,
    dryRun: true,
    question,
    grid: shape.grid,
    size: shape.size,
    provider: asked.providerName,
    request: describeRequest(asked.providerName, { endpoint: asked.endpoint, region: asked.region, question: question.id, ...request }),
  }
}
