/**
 * Time as a dependency: services take a Clock so that time-dependent logic (leases, schedules,
 * business hours) is testable with fake timers and never reads the wall clock behind our back.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch. */
  now(): number
  /** Monotonic milliseconds, for measuring durations. */
  monotonic(): number
  setTimeout(fn: () => void, ms: number): { unref?(): unknown }
  clearTimeout(handle: unknown): void
}

/** The real clock. Reads globals at call time so vitest fake timers apply to it too. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** Resolves after `ms`, or rejects with the signal's reason when aborted first. */
export function sleep(ms: number, signal?: AbortSignal, clock: Clock = systemClock): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error)
    const onAbort = () => {
      clock.clearTimeout(handle)
      reject(signal!.reason as Error)
    }
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
