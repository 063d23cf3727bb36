/**
 * A limit on decoded pixels in preparation at once, across every input of the process: memory
 * follows the pixels (3 bytes each decoded, about as much again while the grid is searched), so a
 * batch of huge captures waits its turn instead of growing. And a limit on inputs in preparation
 * at once, two per core: started together, two dozen captures share the cores and are all ready
 * late and at the same moment, while the requests they feed wait; taking turns, the first are
 * ready at once and sent while the next are decoded. Turns are first come, first served; an input
 * larger than the whole pixel limit runs alone.
 */
import { availableParallelism } from 'node:os'

/** 48 megapixels: one input at the largest accepted size (40), or a dozen full-page captures. */
const DEFAULT_PIXEL_BUDGET = 48_000_000

/** Two per core: each decode also waits on its file and on libvips's own threads. */
const DEFAULT_TURNS = Math.max(2, 2 * availableParallelism())

export class PixelBudget {
  /** Pixels held now. */
  inUse = 0
  /** The most ever held at once. */
  peak = 0
  /** How many inputs had to wait for their turn. */
  waited = 0
  /** Inputs holding pixels now, and the most ever at once. */
  holders = 0
  mostHolders = 0
  private readonly queue: { pixels: number; start: () => void }[] = []

  constructor(
    readonly limit: number = DEFAULT_PIXEL_BUDGET,
    readonly turns: number = DEFAULT_TURNS,
  ) {
    // Either at zero (or not a number) and every hold would wait for ever.
    if (!(limit > 0) || !(turns >= 1))
      throw new RangeError(
        `a pixel budget needs a positive limit and turns, got ${limit} and ${turns}`,
      )
  }

  /** Hold `pixels` (waiting until they fit and a turn is free); the returned function gives them back, once. */
  async hold(pixels: number): Promise<() => void> {
    const held = Math.min(pixels, this.limit)
    if (this.queue.length > 0 || !this.fits(held)) {
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
      this.holders--
      this.admit()
    }
  }

  private fits(pixels: number): boolean {
    return this.inUse + pixels <= this.limit && this.holders < this.turns
  }

  private take(pixels: number): void {
    this.inUse += pixels
    if (this.inUse > this.peak) this.peak = this.inUse
    this.holders++
    if (this.holders > this.mostHolders) this.mostHolders = this.holders
  }

  /** Start the waiting inputs, in order, while the first of them fits. */
  private admit(): void {
    let next = this.queue[0]
    while (next !== undefined && this.fits(next.pixels)) {
      this.queue.shift()
      this.take(next.pixels)
      next.start()
      next = this.queue[0]
    }
  }
}

/** The process's budget, shared by every preparation that is not given its own. */
export const preparationBudget = new PixelBudget()
