import { z } from 'zod'
import { ConfigError } from '../errors.js'
import { DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS } from '../limits.js'
import { PROVIDER_NAMES } from '../providers/types.js'
import { editDistance } from '../questions/normalize.js'

/**
 * The one config schema. Defaults live here and only here (not in commander), so that a flag's
 * absence never hides a value from the config file. `.recaptcharc.example` documents every key.
 */

const providerSettings = z.strictObject({
  /** API key (YesCaptcha/CapSolver clientKey, Ace Data Cloud bearer token). */
  apiKey: z.string().min(1).optional(),
  /** Base URL of the service (China node, a compatible self-hosted service, a test server). */
  endpoint: z.url().optional(),
  /** YesCaptcha only: "cn" uses https://cn.yescaptcha.com. */
  region: z.enum(['intl', 'cn']).optional(),
  /** A proxy for this service only (http://[user:password@]host:port), over the top-level one. */
  proxy: z.string().min(1).optional(),
})

/**
 * `yescaptcha`, `2CAPTCHA`, "yescaptcha,capsolver" or a list: names in any case, a comma list or an
 * array being a failover order.
 */
const ProviderListSchema = z.preprocess(
  (value) => {
    const lower = (item: unknown): unknown =>
      typeof item === 'string' ? item.trim().toLowerCase() : item
    if (typeof value === 'string')
      return value
        .split(',')
        .map(lower)
        .filter((item) => item !== '')
    return Array.isArray(value) ? value.map(lower) : value
  },
  z
    .array(z.enum(PROVIDER_NAMES))
    .min(1)
    .refine((names) => new Set(names).size === names.length, {
      message: 'a provider is named twice',
    }),
)

/** One client of `rc2 serve`: a key of the gateway's own (never a service's) and its budget. */
const serveClient = z.strictObject({
  /** What the client sends as clientKey / key. */
  key: z.string().min(8),
  /** Shown in logs and metrics instead of the key (default client1, client2, ... in list order). */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/)
    .optional(),
  /** Points this client may spend over the gateway's life (across every gateway sharing serve.redis). */
  maxPoints: z.number().min(0).optional(),
  /** Points this client may spend in any 60 minutes. */
  maxPointsPerHour: z.number().min(0).optional(),
})

const serveSettings = z.strictObject({
  clients: z
    .array(serveClient)
    .default([])
    .refine((clients) => new Set(clients.map((c) => c.key)).size === clients.length, {
      message: 'a client key is listed twice',
    }),
  /** redis://host:port/db: the task table and budgets shared by several gateways. */
  redis: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// or rediss:// address')
    .optional(),
  /** Tasks one client may have in flight at once. */
  maxTasksPerClient: z.number().int().min(1).max(10_000).default(50),
  /** Largest request body accepted, in bytes. */
  maxBodyBytes: z
    .number()
    .int()
    .min(1024)
    .default(8 * 1024 * 1024),
  /** Seconds an answer stays available to getTaskResult / res.php. */
  resultTtl: z.number().int().min(10).max(86_400).default(300),
  /** After SIGTERM or Ctrl-C: seconds to finish tasks in flight and let clients fetch answers (under the 15 s hard stop). */
  drainGrace: z.number().min(0).max(14).default(10),
  /** Failures in a row that set a service aside, and for how many seconds. */
  breakerFailures: z.number().int().min(1).max(100).default(3),
  breakerCooldown: z.number().min(1).max(3600).default(30),
})

const ConfigSchema = z.strictObject({
  /** The service, or a failover order of services (first answer wins). */
  provider: ProviderListSchema.default(['yescaptcha']),
  providers: z
    .strictObject({
      // nullish: an empty YAML block (`acedata:` with only comments under it) reads as null.
      yescaptcha: providerSettings.nullish(),
      acedata: providerSettings.nullish(),
      capsolver: providerSettings.nullish(),
      '2captcha': providerSettings.nullish(),
      nopecha: providerSettings.nullish(),
      capmonster: providerSettings.nullish(),
    })
    .default({}),
  /** 3x3 threshold 0..1 (YesCaptcha): without it the service returns its top three tiles. */
  confidence: z.number().min(0).max(1).optional(),
  /** Overall deadline per image in seconds, polling and retries included. */
  timeout: z.number().positive().max(3600).default(120),
  /** Deadline of one attempt in seconds (default: a third of `timeout`, at most 30, Ace 130; never above `timeout`). */
  requestTimeout: z.number().positive().max(3600).optional(),
  /** Retries of transient failures (429, 5xx, network errors). */
  retries: z.number().int().min(0).max(20).default(3),
  /** Images in flight at once in a batch. */
  concurrency: z.number().int().min(1).max(256).default(4),
  /** Stop submitting once a batch would spend more than this many points. */
  maxPoints: z.number().min(0).optional(),
  /** Output format when no --json/--ndjson/--format is given. */
  format: z.enum(['table', 'json', 'ndjson', 'csv']).default('table'),
  /** Proxy for every request (http://[user:password@]host:port); default: HTTPS_PROXY, HTTP_PROXY, NO_PROXY. */
  proxy: z.string().min(1).optional(),
  /** Permit http:// endpoints on hosts other than loopback. */
  allowInsecure: z.boolean().default(false),
  image: z
    .strictObject({
      /** Encoding of the image sent: jpeg (small requests) or png. */
      format: z.enum(['jpeg', 'png']).default('jpeg'),
      /** JPEG quality 1..100. */
      quality: z.number().int().min(1).max(100).optional(),
      /** Largest input file accepted, in bytes. */
      maxBytes: z.number().int().positive().default(DEFAULT_MAX_BYTES),
      /** Largest decoded image accepted, in pixels (decompression-bomb guard). */
      maxPixels: z.number().int().positive().default(DEFAULT_MAX_PIXELS),
    })
    .default({ format: 'jpeg', maxBytes: DEFAULT_MAX_BYTES, maxPixels: DEFAULT_MAX_PIXELS }),
  /** rc2 serve: the gateway's clients, limits and shared store. */
  serve: serveSettings.optional(),
})

export type Config = z.infer<typeof ConfigSchema>
export type ServeSettings = z.infer<typeof serveSettings>

/** The serve section with its defaults, whether or not the file has one. */
export function serveSettingsOf(config: { serve?: ServeSettings | undefined }): ServeSettings {
  return config.serve ?? serveSettings.parse({})
}

/** Validate a merged config once; every problem is reported with its dotted key path. */
export function validateConfig(raw: unknown, origin: string): Config {
  const result = ConfigSchema.safeParse(raw)
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
