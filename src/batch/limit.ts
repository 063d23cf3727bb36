/**
 * Rate push-backs (429) among the recent events (push-backs and answers) that count as sustained:
 * a third of a window of twice the concurrency (at least 3). A sporadic 429 (a few percent of
 * calls) stays far below it; a service refusing most calls reaches it within a round.
 */
const SUSTAINED_SHARE = 1 / 3
const MIN_SUSTAINED = 3

/**
 * How many inputs may hold a slot: --concurrency at first, halved under sustained push-back,
 * raised by one again after a full window of answers without any.
 */
export class AdaptiveLimit {
  readonly max: number
  current: number
  private successStreak = 0
  // Recent outcomes for telling sustained push-back from sporadic: true = a 429, false = an answer.
  private readonly recent: boolean[] = []
  private readonly windowSize: number
  private readonly sustained: number

  constructor(concurrency: number) {
    this.max = Math.max(1, Math.floor(concurrency))
    this.current = this.max
    this.windowSize = Math.max(8, 2 * this.max)
    this.sustained = Math.max(MIN_SUSTAINED, Math.ceil(this.windowSize * SUSTAINED_SHARE))
  }

  /**
   * Too many in flight (`overLimit`) is about concurrency itself: halve at once. A 429 halves only
   * when sustained; its Retry-After delays the input that got it, not the batch.
   */
  pushedBack(overLimit: boolean): void {
    if (overLimit || this.note(true) >= this.sustained) this.slowDown()
  }

  answered(): void {
    this.note(false)
    this.successStreak++
    // Speed up again once a full window of answers came back without push-back.
    if (this.current < this.max && this.successStreak >= this.current) {
      this.current++
      this.successStreak = 0
    }
  }

  private note(pushBack: boolean): number {
    this.recent.push(pushBack)
    if (this.recent.length > this.windowSize) this.recent.shift()
    return this.recent.reduce((n, x) => n + (x ? 1 : 0), 0)
  }

  private slowDown(): void {
    this.current = Math.max(1, Math.floor(this.current / 2))
    this.successStreak = 0
    this.recent.length = 0
  }
}
