/**
 * The task table and budgets in Redis (serve.redis), shared by every gateway pointed at it: a
 * task created on one is fetched on another, and a client's budget holds across all of them.
 * A reservation is one Lua script, so two gateways cannot both take the last points.
 */
import { Redis } from 'ioredis'
import { ConfigError } from '../errors.js'
import type { Spent, TaskStore } from './store.js'
import type { GatewayClient, TaskRecord } from './types.js'

const PREFIX = 'rc2:serve:'
const MINUTE_MS = 60_000

/** KEYS: total, then the 60 minute buckets (current first). ARGV: points, maxTotal, maxHour ('' = none). */
const RESERVE = `
local total = tonumber(redis.call('GET', KEYS[1]) or '0')
local hour = 0
for i = 2, #KEYS do hour = hour + tonumber(redis.call('GET', KEYS[i]) or '0') end
local p = tonumber(ARGV[1])
if ARGV[2] ~= '' and total + p > tonumber(ARGV[2]) + 1e-9 then return 0 end
if ARGV[3] ~= '' and hour + p > tonumber(ARGV[3]) + 1e-9 then return 0 end
redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
redis.call('INCRBYFLOAT', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], 3900)
return 1
`

type ReservingRedis = Redis & {
  rc2Reserve(...args: (string | number)[]): Promise<number>
}

function totalKey(client: GatewayClient): string {
  return `${PREFIX}spent:${client.name}`
}

function minuteKeys(client: GatewayClient): string[] {
  const now = Math.floor(Date.now() / MINUTE_MS)
  return Array.from({ length: 60 }, (_, i) => `${PREFIX}spent:${client.name}:${now - i}`)
}

/** The address as shown in messages: no password. */
function shownRedisUrl(url: string): string {
  try {
    const parsed = new URL(url)
    parsed.password = ''
    parsed.username = ''
    return parsed.href
  } catch {
    return 'the serve.redis address'
  }
}

export class RedisStore implements TaskStore {
  private constructor(private readonly redis: ReservingRedis) {}

  /** Connect (and check the connection) before the gateway starts listening. */
  static async connect(url: string): Promise<RedisStore> {
    const redis = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 2,
      enableOfflineQueue: true,
    }) as ReservingRedis
    redis.on('error', () => {
      // Reported by the command that fails; without a listener ioredis prints each retry.
    })
    redis.defineCommand('rc2Reserve', { numberOfKeys: 61, lua: RESERVE })
    try {
      await redis.connect()
      await redis.ping()
    } catch (error) {
      redis.disconnect()
      throw new ConfigError(
        `serve.redis: cannot reach ${shownRedisUrl(url)}: ${(error as Error).message}`,
        { hint: 'start redis-server there, or remove serve.redis to keep tasks in this process' },
      )
    }
    return new RedisStore(redis)
  }

  async put(record: TaskRecord, ttlSec: number): Promise<void> {
    await this.redis.set(`${PREFIX}task:${record.id}`, JSON.stringify(record), 'EX', ttlSec)
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    const text = await this.redis.get(`${PREFIX}task:${id}`)
    return text === null ? undefined : (JSON.parse(text) as TaskRecord)
  }

  async reserve(client: GatewayClient, points: number): Promise<boolean> {
    const reserved = await this.redis.rc2Reserve(
      totalKey(client),
      ...minuteKeys(client),
      String(points),
      client.maxPoints === undefined ? '' : String(client.maxPoints),
      client.maxPointsPerHour === undefined ? '' : String(client.maxPointsPerHour),
    )
    return reserved === 1
  }

  async settle(client: GatewayClient, delta: number): Promise<void> {
    if (delta === 0) return
    const minute = minuteKeys(client)[0] as string
    await this.redis
      .multi()
      .incrbyfloat(totalKey(client), delta)
      .incrbyfloat(minute, delta)
      .expire(minute, 3900)
      .exec()
  }

  async spent(client: GatewayClient): Promise<Spent> {
    const [total, ...minutes] = await this.redis.mget(totalKey(client), ...minuteKeys(client))
    return {
      total: Number(total ?? 0),
      lastHour: minutes.reduce((sum, value) => sum + Number(value ?? 0), 0),
    }
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect())
  }
}
