/**
 * Last good PMS availability per night. Every successful PMS read refreshes the nights it covered;
 * when the PMS fails, a request whose nights are all cached is answered from here (stale).
 * The sandbox warms it at start-up with the coming months.
 */
import type { NightAvailability } from './systems.js'

export class AvailabilityCache {
  private readonly nights = new Map<number, NightAvailability>()

  constructor(private readonly capacity = 5000) {}

  /** Stores fresh per-night availability from the PMS. */
  put(calendar: Map<number, NightAvailability>): void {
    for (const [day, free] of calendar) {
      this.nights.delete(day)
      this.nights.set(day, { ...free })
    }
    while (this.nights.size > this.capacity) {
      const oldest = this.nights.keys().next().value
      if (oldest === undefined) break
      this.nights.delete(oldest)
    }
  }

  /** The cached nights of `[firstNight, firstNight + nights)`, or undefined when any is missing. */
  get(firstNight: number, nights: number): Map<number, NightAvailability> | undefined {
    const out = new Map<number, NightAvailability>()
    for (let day = firstNight; day < firstNight + nights; day++) {
      const free = this.nights.get(day)
      if (!free) return undefined
      out.set(day, free)
    }
    return out
  }

  get size(): number {
    return this.nights.size
  }
}
