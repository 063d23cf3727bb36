import { InvalidArgumentError, Option } from 'commander'
import { PROVIDER_NAMES } from '../providers/types.js'
import { GRIDS, type Grid } from '../types.js'
import { providerNames } from '../engine/provider-names.js'

/** Argument parsers shared by the commands; they reject bad values as usage errors (exit 2). */

export function parseIntInRange(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(
        `expected a whole number from ${min} to ${max}, got "${value}"`,
      )
    return n
  }
}

export function parseNumberInRange(
  min: number,
  max: number,
  what: string,
): (value: string) => number {
  return (value) => {
    const n = Number(value)
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected ${what} from ${min} to ${max}, got "${value}"`)
    return n
  }
}

export function parsePositiveSeconds(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 3600)
    throw new InvalidArgumentError(`expected seconds above 0 and at most 3600, got "${value}"`)
  return n
}

/** `--shard k/n`: whole numbers with 1 <= k <= n. */
export function parseShard(value: string): { index: number; count: number } {
  const match = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value)
  const index = Number(match?.[1])
  const count = Number(match?.[2])
  if (
    match === null ||
    !Number.isSafeInteger(index) ||
    !Number.isSafeInteger(count) ||
    index < 1 ||
    count < 1 ||
    index > count
  ) {
    throw new InvalidArgumentError(`expected k/n with 1 <= k <= n (e.g. 2/5), got "${value}"`)
  }
  return { index, count }
}

/** -g; `fromSentence` where the command also takes the question (solve reads a grid from it). */
export function gridOption(fromSentence = false): Option {
  return new Option(
    '-g, --grid <grid>',
    `challenge grid: auto, 3x3, 4x4 or 1x1 (default: auto, from the image${fromSentence ? ' or the sentence' : ''})`,
  ).choices(['auto', ...GRIDS])
}

export function toGrid(value: string | undefined): Grid | undefined {
  return value === undefined || value === 'auto' ? undefined : (value as Grid)
}

/** -p: one name or a comma list (a failover order), in any case; returned lower-case. */
function parseProviderList(value: string): string {
  try {
    return providerNames(value).join(',')
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message)
  }
}

/** What -p means for a command: a failover order (solve), each one asked (balance), or one service (report). */
const PROVIDER_HELP = {
  failover: `recognition service, any case: ${PROVIDER_NAMES.join(', ')} (default: yescaptcha); a comma list is a failover order, e.g. yescaptcha,capsolver`,
  each: `recognition service, any case: ${PROVIDER_NAMES.join(', ')} (default: yescaptcha); a comma list asks each, e.g. yescaptcha,capsolver`,
  report: `the service that gave the task ids: 2captcha, capsolver or capmonster, any case (one name; with --from, each answer goes to the service recorded with it)`,
} as const

export function providerOptions(use: keyof typeof PROVIDER_HELP = 'failover'): Option[] {
  return [
    new Option('-p, --provider <name>', PROVIDER_HELP[use]).argParser(parseProviderList),
    new Option(
      '-k, --key <key>',
      'API key (prefer RC2_API_KEY or the config file: a flag shows in `ps`)',
    ),
    new Option(
      '--endpoint <url>',
      'base URL of the service (China node, a compatible service, a test server)',
    ),
    new Option('--allow-insecure', 'allow an http:// endpoint that is not on this machine'),
    new Option(
      '--proxy <url>',
      'send every request through this proxy, http://[user:password@]host:port (default: HTTPS_PROXY, HTTP_PROXY; NO_PROXY still applies)',
    ),
  ]
}

export interface ProviderFlags {
  /** One name or a comma list, lower-case. */
  provider?: string
  key?: string
  endpoint?: string
  allowInsecure?: boolean
  proxy?: string
}
