/**
 * A virtual clock for in-process engine tests: time moves only when everything else is waiting
 * for a timer, so a 60-second experiment runs in milliseconds and deterministically.
 */
import type { Clock } from '../../src/clock.js'

interface Timer {
  due: number
  seq: number
  fn: () => void
}

export interface VirtualClock {
  clock: Clock
  /** Monotonic ms now. */
  now(): number
  /**
   * Runs `work` to completion: drains pending promise callbacks, then jumps to the next timer,
   * again and again. Fails when nothing is scheduled and the work is still waiting (a deadlock),
   * or after `maxTimers` timers (a runaway loop).
   */
  run<T>(work: Promise<T>, maxTimers?: number): Promise<T>
  /** Timers still scheduled (e.g. to check that a lease renewal stopped). */
  pending(): number
}

const WALL_EPOCH = Date.UTC(2026, 10, 30, 12, 0, 0)

export function createVirtualClock(): VirtualClock {
  let now = 0
  let seq = 0
  const timers: Timer[] = []
  const clock: Clock = {
    now: () => WALL_EPOCH + now,
    monotonic: () => now,
    setTimeout(fn, ms) {
      const timer = { due: now + Math.max(0, ms || 0), seq: seq++, fn }
      timers.push(timer)
      return timer as unknown as { unref?(): unknown }
    },
    clearTimeout(handle) {
      const i = timers.indexOf(handle as Timer)
      if (i >= 0) timers.splice(i, 1)
    },
  }
  const drain = () => new Promise<void>((resolve) => setImmediate(resolve))
  return {
    clock,
    now: () => now,
    pending: () => timers.length,
    async run(work, maxTimers = 1_000_000) {
      let settled = false
      const watched = work.finally(() => {
        settled = true
      })
      watched.catch(() => undefined)
      for (let fired = 0; ; fired++) {
        await drain()
        if (settled) return work
        if (timers.length === 0) throw new Error(`virtual clock deadlock at ${now} ms: nothing scheduled`)
        if (fired >= maxTimers) throw new Error(`virtual clock: more than ${maxTimers} timers fired`)
        timers.sort((a, b) => a.due - b.due || a.seq - b.seq)
        const next = timers.shift()!
        now = Math.max(now, next.due)
        next.fn()
      }
    },
  }
}
