/**
 * Shared parts of the monkey and schedule unit tests: a virtual-time clock (sleeps complete at
 * once and move time forward, so hours of checks run in milliseconds and deterministically) and
 * real scenarios built through the scenario schema.
 */
import type { Clock } from '../src/clock.js'
import type { BlastRadius } from '../src/protocol/schemas.js'
import { Scenario, type Category } from '../src/scenario/schema.js'

/** A clock whose timers fire immediately, advancing `now` by their delay. */
export interface VirtualClock extends Clock {
  advance(ms: number): void
}

export function virtualClock(startMs: number): VirtualClock {
  let now = startMs
  return {
    now: () => now,
    monotonic: () => now,
    setTimeout(fn, ms) {
      let cancelled = false
      const handle = {
        cancel: () => {
          cancelled = true
        },
        unref: () => handle,
      }
      now += Math.max(0, ms)
      queueMicrotask(() => {
        if (!cancelled) fn()
      })
      return handle
    },
    clearTimeout(handle) {
      ;(handle as { cancel(): void }).cancel()
    },
    advance(ms) {
      now += ms
    },
  }
}

/** A valid scenario with the given id, category, blast radius and enabled flag. */
export function scenario(
  id: string,
  options: { category?: Category; blastRadius?: BlastRadius; enabled?: boolean } = {},
): Scenario {
  return Scenario.parse({
    id,
    name: id,
    category: options.category ?? 'network',
    target_service: 'pms_adapter',
    duration_seconds: 30,
    steady_state_hypothesis: 'errors stay low',
    fault_config: {
      fault_type: 'LATENCY',
      probability: 0.1,
      latency_ms: 100,
      blast_radius: options.blastRadius ?? 'SINGLE_REQUEST',
      enabled: options.enabled ?? true,
    },
    checks: ['error_rate < 5% during'],
  })
}

/** Monday 2 March 2026, 10:00 in Madrid (CET, UTC+1). */
export const MONDAY_10_MADRID = Date.parse('2026-03-02T09:00:00Z')
