import * as z from 'zod/mini'
import { ConfigError } from '../errors.js'
import { ENGLISH } from '../schema-messages.js'
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS } from '../limits.js'
import { PROVIDER_NAMES } from '../providers/types.js'
import { editDistance } from '../questions/normalize.js'

/**
 * The one config schema. Defaults live here and only here (not in commander), so that a flag's
 * absence never hides a value from the config file. `.recaptcharc.example` documents every key.
 */

/** A string with something in it (a key, a proxy address). */
const text = z.string().check(z.minLength(1))
/** A whole number from `min` to `max`. */
const wholeNumber = (min: number, max: number) => z.number().check(z.int(), z.gte(min), z.lte(max))

const providerSettings = z.strictObject({
  /** API key (YesCaptcha/CapSolver clientKey, Ace Data Cloud bearer token). */
  apiKey: z.optional(text),
  /** Base URL of the service (China node, a compatible self-hosted service, a test server). */
  endpoint: z.optional(z.url()),
  /** YesCaptcha only: "cn" uses https://cn.yescaptcha.com. */
  region: z.optional(z.enum(['intl', 'cn'])),
  /** A proxy for this service only (http://[user:password@]host:port), over the top-level one. */
  proxy: z.optional(text),
})

/**
 * `yescaptcha`, `2CAPTCHA`, "yescaptcha,capsolver" or a list: names in any case, a comma list or an
 * array being a failover order.
 */
const ProviderListSchema = z.pipe(
  z.transform((value: unknown) => {
    const lower = (item: unknown): unknown =>
      typeof item === 'string' ? item.trim().toLowerCase() : item
    if (typeof value === 'string')
      return value
        .split(',')
        .map(lower)
        .filter((item) => item !== '')
    return Array.isArray(value) ? value.map(lower) : value
  }),
  z.array(z.enum(PROVIDER_NAMES)).check(
    z.minLength(1),
    z.refine((names) => new Set(names).size === names.length, {
      message: 'a provider is named twice',
    }),
  ),
)

/** One client of `rc2 serve`: a key of the gateway's own (never a service's) and its budget. */
const serveClient = z.strictObject({
  /** What the client sends as clientKey / key. */
  key: z.string().check(z.minLength(8)),
  /** Shown in logs and metrics instead of the key (default client1, client2, ... in list order). */
  name: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/))),
  /** Points this client may spend over the gateway's life (across every gateway sharing serve.redis). */
  maxPoints: z.optional(z.number().check(z.gte(0))),
  /** Points this client may spend in any 60 minutes. */
  maxPointsPerHour: z.optional(z.number().check(z.gte(0))),
})

const serveSettings = z.strictObject({
  clients: z._default(z.array(serveClient), []).check(
    z.refine((clients) => new Set(clients.map((c) => c.key)).size === clients.length, {
      message: 'a client key is listed twice',
    }),
  ),
  /** redis://host:port/db: the task table and budgets shared by several gateways. */
  redis: z.optional(z.string().check(z.regex(/^rediss?:\/\//, 'a redis:// or rediss:// address'))),
  /** Tasks one client may have in flight at once. */
  maxTasksPerClient: z._default(wholeNumber(1, 10_000), 50),
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: z._default(z.number().check(z.int(), z.gte(1024)), 8 * 1024 * 1024),
  /** Seconds an answer stays available to getTaskResult / res.php. */
  resultTtl: z._default(wholeNumber(10, 86_400), 300),
  /** After SIGTERM or Ctrl-C: seconds to finish tasks in flight and let clients fetch answers (under the 15 s hard stop). */
  drainGrace: z._default(z.number().check(z.gte(0), z.lte(14)), 10),
  /** Failures in a row that set a service aside, and for how many seconds. */
  breakerFailures: z._default(wholeNumber(1, 100), 3),
  breakerCooldown: z._default(z.number().check(z.gte(1), z.lte(3600)), 30),
})

const ConfigSchema = z.strictObject({
  /** The service, or a failover order of services (first answer wins). */
  provider: z._default(ProviderListSchema, ['yescaptcha']),
  providers: z._default(
    z.strictObject({
      // nullish: an empty YAML block (`acedata:` with only comments under it) reads as null.
      yescaptcha: z.nullish(providerSettings),
      acedata: z.nullish(providerSettings),
      capsolver: z.nullish(providerSettings),
      '2captcha': z.nullish(providerSettings),
      nopecha: z.nullish(providerSettings),
      capmonster: z.nullish(providerSettings),
    }),
    {},
  ),
  /** 3x3 threshold 0..1 (YesCaptcha): without it the service returns its top three tiles. */
  confidence: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Overall deadline per image in seconds, polling and retries included. */
  timeout: z._default(z.number().check(z.positive(), z.lte(3600)), 120),
  /** Deadline of one attempt in seconds (default: a third of `timeout`, at most 30, Ace 130; never above `timeout`). */
  requestTimeout: z.optional(z.number().check(z.positive(), z.lte(3600))),
  /** Retries of transient failures (429, 5xx, network errors). */
  retries: z._default(wholeNumber(0, 20), 3),
  /** Images in flight at once in a batch. */
  concurrency: z._default(wholeNumber(1, 256), 4),
  /** Stop submitting once a batch would spend more than this many points. */
  maxPoints: z.optional(z.number().check(z.gte(0))),
  /** Output format when no --json/--ndjson/--format is given. */
  format: z._default(z.enum(['table', 'json', 'ndjson', 'csv']), 'table'),
  /** Proxy for every request (http://[user:password@]host:port); default: HTTPS_PROXY, HTTP_PROXY, NO_PROXY. */
  proxy: z.optional(text),
  /** Permit http:// endpoints on hosts other than loopback. */
  allowInsecure: z._default(z.boolean(), false),
  image: z._default(
    z.strictObject({
      /** Encoding of the image sent: jpeg (small requests) or png. */
      format: z._default(z.enum(['jpeg', 'png']), 'jpeg'),
      /** JPEG quality 1..100. */
      quality: z.optional(wholeNumber(1, 100)),
      /** Largest input file accepted, in bytes. */
      maxBytes: z._default(z.number().check(z.int(), z.positive()), DEFAULT_MAX_BYTES),
      /** Largest decoded image accepted, in pixels (decompression-bomb guard). */
      maxPixels: z._default(z.number().check(z.int(), z.positive()), DEFAULT_MAX_PIXELS),
    }),
    { format: 'jpeg', maxBytes: DEFAULT_MAX_BYTES, maxPixels: DEFAULT_MAX_PIXELS },
  ),
  /** rc2 serve: the gateway's clients, limits and shared store. */
  serve: z.optional(serveSettings),
})

export type Config = z.infer<typeof ConfigSchema>
export type ServeSettings = z.infer<typeof serveSettings>

/** The serve section with its defaults, whether or not the file has one. */
export function serveSettingsOf(config: { serve?: ServeSettings | undefined }): ServeSettings {
  return config.serve ?? serveSettings.parse({}, ENGLISH)
}

/** Validate a merged config once; every problem is reported with its dotted key path. */
export function validateConfig(raw: unknown, origin: string): Config {
  const result = ConfigSchema.safeParse(raw, ENGLISH)
  if (result.success) return result.data
  const problems = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      // One line per unknown key, with the nearest key that exists there ("provder" -> "provider").
      const known = keysAt(issue.path)
      return issue.keys.map((key) => {
        const near = nearest(key, known)
        return `${[...issue.path, key].join('.')}: unknown key${near === undefined ? ` (known here: ${known.join(', ')})` : `; did you mean "${near}"?`}`
      })
    }
    const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)'
    return [`${path}: ${issue.message}`]
  })
  throw new ConfigError(`invalid configuration (${origin}): ${problems.join('; ')}`, {
    hint: 'see .recaptcharc.example for every key and its allowed values',
  })
}

/** The keys the schema allows at a dotted path (through defaults and optionals). */
function keysAt(path: readonly PropertyKey[]): string[] {
  const unwrap = (schema: unknown): unknown => {
    let current = schema as { _zod?: { def?: { innerType?: unknown } } } | undefined
    while (current?._zod?.def?.innerType !== undefined)
      current = current._zod.def.innerType as typeof current
    return current
  }
  type Node = { shape?: Record<string, unknown>; _zod?: { def?: { element?: unknown } } }
  let schema = unwrap(ConfigSchema) as Node | undefined
  for (const part of path) {
    // A list's index (serve.clients.0) leads into the list's element.
    const element = typeof part === 'number' ? schema?._zod?.def?.element : undefined
    schema = unwrap(element ?? schema?.shape?.[String(part)]) as Node | undefined
  }
  return Object.keys(schema?.shape ?? {})
}

/** The known key closest to a mistyped one, when it is close enough to be meant. */
function nearest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(2, Math.floor(key.length / 3))
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase(), bestDistance)
    if (
      distance <= bestDistance &&
      (best === undefined || distance < editDistance(key.toLowerCase(), best.toLowerCase()))
    ) {
      best = candidate
      bestDistance = distance
    }
  }
  return best
}
