/**
 * What the engine reads from a target besides its own workload: cumulative counters and gauges
 * scraped from the target's `/metrics`. The engine turns them into per-phase deltas.
 *
 * A counter the target does not export at all is `null`, never 0: "not measured" must not read as
 * "measured nothing" (a check on it is then not evaluated, and the run is INCONCLUSIVE).
 */
import type { BreakerState } from '../record.js'

/** Metric names behind the probe's counters, for messages that name what a target does not export. */
export const PROBE_METRICS = {
  breaker_trips: 'circuit_breaker_trips_total',
  faults_injected: 'chaos_agent_faults_injected_total',
  http_requests: 'http_requests_total',
} as const

/** One reading of a target instance's metrics (cumulative counters). */
export interface ProbeSample {
  /** Sum of circuit_breaker_trips_total over every dependency; null when the family is not exported. */
  breaker_trips: number | null
  /** Sum of chaos_agent_faults_injected_total for the experiment (all services); null when not exported. */
  faults_injected: number | null
  /** Worst circuit breaker state of the target service (OPEN > HALF_OPEN > CLOSED), null if not exported. */
  breaker_state: BreakerState | null
  /** True when a counter went down since the last sample: the target restarted. */
  restarted: boolean
  /**
   * Requests the target served, from http_requests_total (every series but its `/metrics` route's);
   * null (or absent) when not exported.
   */
  http_requests?: number | null
  /** Of those, the ones answered with a status ≥ 400 (`status` or `code` label); null when unknown. */
  http_errors?: number | null
}

/** Reads one target instance's metrics; resolves null when they cannot be read. */
export interface MetricsProbe {
  sample(experimentId: string, targetService: string, signal?: AbortSignal): Promise<ProbeSample | null>
  /**
   * For a probe whose readings lag (Prometheus sees a counter only at its next scrape): waits
   * until a reading taken now includes everything counted before `afterMs` (epoch ms). Resolves
   * false when that cannot be established (timeout, abort, source unreachable). Absent: readings
   * are always current (a direct scrape).
   */
  settle?(afterMs: number, signal?: AbortSignal): Promise<boolean>
  /**
   * For a probe that reads a whole fleet through a selector (Prometheus): the targets it selects
   * (`instance` labels) and how many are up. Preflight refuses a selector that selects none: every
   * counter would read "not measured". Throws when the source cannot be asked.
   */
  check?(signal?: AbortSignal): Promise<{ instances: string[]; up: number }>
  /** The fleet's selector, for messages (Prometheus probe only). */
  readonly selector?: string
}

/**
 * Adds up samples of several instances (a cluster). Null if any instance could not be read; a
 * counter is null if any instance does not export it (a sum over part of the cluster is no total).
 */
export function combineSamples(samples: ReadonlyArray<ProbeSample | null>): ProbeSample | null {
  if (samples.some((s) => s === null)) return null
  const rank: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 }
  const add = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b)
  let state: BreakerState | null = null
  let trips: number | null = 0
  let faults: number | null = 0
  let restarted = false
  let requests: number | null = 0
  let errors: number | null = 0
  for (const s of samples as ProbeSample[]) {
    trips = add(trips, s.breaker_trips)
    faults = add(faults, s.faults_injected)
    requests = add(requests, s.http_requests ?? null)
    errors = add(errors, s.http_errors ?? null)
    restarted ||= s.restarted
    if (s.breaker_state && (state === null || rank[s.breaker_state] > rank[state])) state = s.breaker_state
  }
  return {
    breaker_trips: trips,
    faults_injected: faults,
    breaker_state: state,
    restarted,
    http_requests: requests,
    http_errors: errors,
  }
}

/** A counter's increase between two readings; null when either reading is missing or lacks it. */
export function counterDelta(
  from: ProbeSample | null | undefined,
  to: ProbeSample | null | undefined,
  pick: (s: ProbeSample) => number | null,
): number | null {
  const a = from ? pick(from) : null
  const b = to ? pick(to) : null
  return a === null || b === null ? null : Math.max(0, b - a)
}
