/**
 * A limit on decoded pixels in preparation at once, across every input of the process: memory
 * follows the pixels (3 bytes each decoded, about as much again while the grid is searched), so a
 * batch of huge captures waits its turn instead of growing. Turns are first come, first served; an
 * input larger than the whole limit runs alone.
 */

/** 48 megapixels: one input at the largest accepted size (40), or a dozen full-page captures. */
const DEFAULT_PIXEL_BUDGET = 48_000_000

export class PixelBudget {
  /** Pixels held now. */
  inUse = 0
  /** The most ever held at once. */
  peak = 0
  /** How many inputs had to wait for their turn. */
  waited = 0
  private readonly queue: { pixels: number; start: () => void }[] = []

  constructor(readonly limit: number = DEFAULT_PIXEL_BUDGET) {}

  /** Hold `pixels` (waiting until they fit); the returned function gives them back, once. */
  async hold(pixels: number): Promise<() => void> {
    const held = Math.min(pixels, this.limit)
    if (this.queue.length > 0 || this.inUse + held > this.limit) {
      this.waited++
      await new Promise<void>((start) => this.queue.push({ pixels: held, start }))
    } else {
      this.take(held)
    }
    let given = false
    return () => {
      if (given) return
      given = true
      this.inUse -= held
      this.admit()
    }
  }

  private take(pixels: number): void {
    this.inUse += pixels
    if (this.inUse > this.peak) this.peak = this.inUse
  }

  /** Start the waiting inputs, in order, while the first of them fits. */
  private admit(): void {
    let next = this.queue[0]
    while (next !== undefined && this.inUse + next.pixels <= this.limit) {
      this.queue.shift()
      this.take(next.pixels)
      next.start()
      next = this.queue[0]
    }
  }
}

/** The process's budget, shared by every preparation that is not given its own. */
export const preparationBudget = new PixelBudget()
