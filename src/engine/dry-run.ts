import { describeRequest } from '../providers/facts/index.js'
import type { ProviderName, RequestParts } from '../providers/types.js'
import type { Grid } from '../types.js'
import type { DryRunResult } from './result.js'

/** What a dry run says about the request, besides the question id: the image stands in as a summary, never printed in full. */
interface DescribeOptions extends Omit<RequestParts, 'image' | 'question'> {
  imageSummary: string
}

/**
 * What every --dry-run result starts with, in its JSON order: the input, what is asked, and the
 * request that would be sent (from the provider's facts, so no HTTP code is loaded).
 */
export function dryRunHead(
  asked: {
    input: string
    providerName: ProviderName
    endpoint?: string | undefined
    region?: 'intl' | 'cn' | undefined
    question: { id: string; name: string }
  },
  shape: { grid: Grid; size: number },
  request: DescribeOptions,
): Pick<
  DryRunResult,
  | 'schemaVersion'
  | 'input'
  | 'ok'
  | 'dryRun'
  | 'question'
  | 'grid'
  | 'size'
  | 'provider'
  | 'request'
> {
  const { question } = asked
  const { imageSummary, ...parts } = request
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
  }
}

/**
 * How a dry run shows the image it would send: the picture's size and the length of the base64
 * text that stands for it in the request (4 characters for every 3 bytes), never the bytes.
 */
export function imageSummary(bytes: number, mime: string, shape: string): string {
  return `<${mime.slice(6)} ${shape}: ${bytes} bytes, ${4 * Math.ceil(bytes / 3)} characters of base64>`
}
