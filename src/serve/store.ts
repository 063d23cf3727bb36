/**
 * The task table and the clients' spending: in this process, or in Redis (serve.redis) so that
 * several gateways share them. Spending is counted per client over the gateway's life and per
 * minute (the last 60 minutes make the hourly budget). A task reserves its likely price before it
 * is sent and settles the real spend afterwards, so that concurrent tasks cannot overspend.
 */
import type { GatewayClient, TaskRecord } from './types.js'

export interface Spent {
  total: number
  lastHour: number
}

export interface TaskStore {
  put(record: TaskRecord, ttlSec: number): Promise<void>
  get(id: string): Promise<TaskRecord | undefined>
  /** Add `points` to the client's spending if that keeps it within its limits; false otherwise. */
  reserve(client: GatewayClient, points: number): Promise<boolean>
  /** Add `delta` (negative to give back a reservation) without checking limits. */
  settle(client: GatewayClient, delta: number): Promise<void>
  spent(client: GatewayClient): Promise<Spent>
  close(): Promise<void>
}

const MINUTE_MS = 60_000

function minuteNow(): number {
  return Math.floor(Date.now() / MINUTE_MS)
}

/** Whether spending `points` more stays within the client's limits. */
function withinLimits(client: GatewayClient, spent: Spent, points: number): boolean {
  // A little slack for float sums (0.0008 a call adds up unevenly).
  const epsilon = 1e-9
  if (client.maxPoints !== undefined && spent.total + points > client.maxPoints + epsilon)
    return false
  if (
    client.maxPointsPerHour !== undefined &&
    spent.lastHour + points > client.maxPointsPerHour + epsilon
  )
    return false
  return true
}

export class MemoryStore implements TaskStore {
  private readonly tasks = new Map<string, { record: TaskRecord; expires: number }>()
  private readonly totals = new Map<string, number>()
  private readonly minutes = new Map<string, Map<number, number>>()
  private lastSweep = 0

  put(record: TaskRecord, ttlSec: number): Promise<void> {
    this.sweep()
    this.tasks.set(record.id, {
      record: structuredClone(record),
      expires: Date.now() + ttlSec * 1000,
    })
    return Promise.resolve()
  }

  get(id: string): Promise<TaskRecord | undefined> {
    const entry = this.tasks.get(id)
    if (entry === undefined || entry.expires < Date.now()) return Promise.resolve(undefined)
    return Promise.resolve(structuredClone(entry.record))
  }

  async reserve(client: GatewayClient, points: number): Promise<boolean> {
    if (!withinLimits(client, await this.spent(client), points)) return false
    await this.settle(client, points)
    return true
  }

  settle(client: GatewayClient, delta: number): Promise<void> {
    this.totals.set(client.name, (this.totals.get(client.name) ?? 0) + delta)
    const buckets = this.minutes.get(client.name) ?? new Map<number, number>()
    const now = minuteNow()
    buckets.set(now, (buckets.get(now) ?? 0) + delta)
    for (const minute of buckets.keys()) if (minute <= now - 60) buckets.delete(minute)
    this.minutes.set(client.name, buckets)
    return Promise.resolve()
  }

  spent(client: GatewayClient): Promise<Spent> {
    const now = minuteNow()
    let lastHour = 0
    for (const [minute, points] of this.minutes.get(client.name) ?? [])
      if (minute > now - 60) lastHour += points
    return Promise.resolve({ total: this.totals.get(client.name) ?? 0, lastHour })
  }

  close(): Promise<void> {
    this.tasks.clear()
    return Promise.resolve()
  }

  /** Drop expired tasks, at most once a second (a walk of the table, not one per task). */
  private sweep(): void {
    const now = Date.now()
    if (now - this.lastSweep < 1000) return
    this.lastSweep = now
    for (const [id, entry] of this.tasks) if (entry.expires < now) this.tasks.delete(id)
  }
}
