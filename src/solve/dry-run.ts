import type { ProviderName } from '../providers/types.js'

export interface DescribeOptions {
  endpoint?: string | undefined
  region?: 'intl' | 'cn' | undefined
  question: string
  confidence?: number | undefined
  /** Stands in for the base64 image, which is never printed in full. */
  imageSummary: string
}

const REDACTED = '***'

/** The request a provider would receive, with the key redacted and the image summarised (for --dry-run). */

export function describeRequest(
  name: ProviderName,
  options: DescribeOptions,
): { method: 'POST'; url: string; headers: Record<string, string>; body: unknown } {
  const base = (options.endpoint ?? defaultEndpoint(name, options.region)).replace(/\/+$/, '')
  if (name === 'acedata') {
    return {
      method: 'POST',
      url: `${base}/captcha/recognition/recaptcha2`,
      headers: { 'content-type': 'application/json', accept: 'application/json', authorization: `Bearer ${REDACTED}` },
      body: { image: options.imageSummary, question: options.question },
    }
  }
  const task: Record<string, unknown> = { type: 'ReCaptchaV2Classification', image: options.imageSummary, question: options.question }
  if (options.confidence !== undefined && name === 'yescaptcha') task.confidence = options.confidence
  return {
    method: 'POST',
    url: `${base}/createTask`,
    headers: { 'content-type': 'application/json' },
    body: { clientKey: REDACTED, task },
  }
}

function defaultEndpoint(name: ProviderName, region: 'intl' | 'cn' | undefined): string {
  if (name === 'acedata') return 'https://api.acedata.cloud'
  if (name === 'capsolver') return 'https://api.capsolver.com'
  return region === 'cn' ? 'https://cn.yescaptcha.com' : 'https://api.yescaptcha.com'
}
