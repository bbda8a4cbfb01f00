/**
 * What the engine reads from a target besides its own workload: cumulative counters and gauges
 * scraped from the target's `/metrics`. The engine turns them into per-phase deltas.
 */
import type { BreakerState } from '../record.js'

/** One reading of a target instance's metrics (cumulative counters). */
export interface ProbeSample {
  /** Sum of circuit_breaker_trips_total over every dependency. */
  breaker_trips: number
  /** Sum of chaos_agent_faults_injected_total for the experiment (all services). */
  faults_injected: number
  /** Worst circuit breaker state of the target service (OPEN > HALF_OPEN > CLOSED), null if not exported. */
  breaker_state: BreakerState | null
  /** True when a counter went down since the last sample: the target restarted. */
  restarted: boolean
}

/** Reads one target instance's metrics; resolves null when they cannot be read. */
export interface MetricsProbe {
  sample(experimentId: string, targetService: string, signal?: AbortSignal): Promise<ProbeSample | null>
}

/** Adds up samples of several instances (a cluster). Null if any instance could not be read. */
export function combineSamples(samples: ReadonlyArray<ProbeSample | null>): ProbeSample | null {
  if (samples.some((s) => s === null)) return null
  const rank: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 }
  let state: BreakerState | null = null
  let trips = 0
  let faults = 0
  let restarted = false
  for (const s of samples as ProbeSample[]) {
    trips += s.breaker_trips
    faults += s.faults_injected
    restarted ||= s.restarted
    if (s.breaker_state && (state === null || rank[s.breaker_state] > rank[state])) state = s.breaker_state
  }
  return { breaker_trips: trips, faults_injected: faults, breaker_state: state, restarted }
}
