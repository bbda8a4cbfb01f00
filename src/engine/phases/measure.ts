/**
 * Pure arithmetic of a run's numbers: a phase's metrics from the timeline and the probe's counter
 * deltas, the time series, the default recovery rule. No I/O, no clock: unit-testable as is.
 */
import type { PhaseCollateral, PhaseMetrics, TimeseriesPhase, TimeseriesPoint } from '../../record.js'
import { counterDelta, type ProbeSample } from '../probe.js'
import type { SeriesPoint, WorkloadSummary } from '../timeline.js'
import type { PhaseMarks, PollSample } from './context.js'

/**
 * A phase's metrics: traffic from the timeline, breaker trips and faults from counter deltas.
 * `tagging`: whether the target tags its responses with `x-chaos-faults` (seen on any response of
 * the experiment); without it the requests that met a fault are not measured (null).
 * Breaker trips are null when either reading lacks them (not exported or unreadable): not 0.
 */
export function phaseMetrics(
  summary: WorkloadSummary,
  from: ProbeSample | null,
  to: ProbeSample | null,
  tagging = summary.tagged_responses > 0,
): PhaseMetrics {
  return {
    total_requests: summary.total_requests,
    affected_requests: tagging ? summary.requests_with_faults : null,
    faults_injected: counterDelta(from, to, (s) => s.faults_injected),
    successful_requests: summary.successful_requests,
    failed_requests: summary.failed_requests,
    dropped_requests: summary.dropped,
    error_rate: round(summary.error_rate, 6),
    availability: round(summary.availability, 6),
    latency_ms: {
      p50: round(summary.latency_ms.p50 ?? 0, 3),
      p95: round(summary.latency_ms.p95 ?? 0, 3),
      p99: round(summary.latency_ms.p99 ?? 0, 3),
      max: round(summary.latency_ms.max ?? 0, 3),
    },
    throughput_rps: round(summary.throughput_rps, 3),
    circuit_breaker_trips: counterDelta(from, to, (s) => s.breaker_trips),
    failures_by_class: summary.failures_by_class,
    collateral: collateral(summary, from, to),
    ...(summary.routes && { routes: summary.routes }),
  }
}

/**
 * The other traffic of a phase: the target's request and error counts over the phase minus the
 * runner's own (each clamped at 0). Approximate at the edges: the target counts a request when it
 * answers it, the runner by intended send time, and the boundary scrapes take a moment. Null when
 * the target does not export http_requests_total with a status label.
 */
export function collateral(
  summary: WorkloadSummary,
  from: ProbeSample | null,
  to: ProbeSample | null,
): PhaseCollateral | null {
  const served = counterDelta(from, to, (s) => s.http_requests ?? null)
  const failed = counterDelta(from, to, (s) => s.http_errors ?? null)
  if (served === null || failed === null) return null
  const requests = Math.max(0, served - summary.total_requests)
  const errors = Math.min(requests, Math.max(0, failed - summary.failed_requests))
  return { requests, errors, error_rate: requests === 0 ? null : round(errors / requests, 6) }
}

/** Without explicit after-checks: recovered when errors are back to the baseline level (or under 1 %). */
export function defaultRecovered(window: PhaseMetrics, baseline: PhaseMetrics | null): boolean {
  const limit = Math.max(0.01, (baseline?.error_rate ?? 0) * 2)
  return window.error_rate <= limit
}

/**
 * The record's series (one point a second, cut at the phase boundaries): traffic by intended send
 * time from the timeline. Faults come
 * from the tagged responses when the target tags them (each fault in the second its request was
 * sent: exact), else from the metric polls (each poll's new faults in the second it was read). A
 * second belongs to the phase its middle falls in.
 */
export function buildTimeseries(
  points: readonly SeriesPoint[],
  samples: readonly PollSample[],
  marks: PhaseMarks,
  startedMono: number,
): TimeseriesPoint[] {
  const t0 = marks.start ?? startedMono
  // Seconds of the series are counted from the workload's t0; polls from the experiment's start.
  const offset = (t0 - startedMono) / 1000
  const injectAt = marks.inject !== undefined ? (marks.inject - t0) / 1000 : Infinity
  const rollbackAt = marks.rollback !== undefined ? (marks.rollback - t0) / 1000 : Infinity
  // Buckets are cut at the phase boundaries, so each lies in one phase (1 µs of rounding slack).
  const phaseOf = (t: number): TimeseriesPhase =>
    t + 1e-6 < injectAt ? 'BASELINE' : t + 1e-6 < rollbackAt ? 'DURING' : 'RECOVERY'
  const tagged = points.some((p) => p.tagged > 0)
  return points.map((point, k) => {
    const t = point.second
    const from = (t + offset) * 1000
    const to = ((points[k + 1]?.second ?? t + 1) + offset) * 1000
    let faults: number | null = 0
    let last: PollSample | undefined
    for (const s of samples) {
      // A poll that could not count faults makes its second's count unknown, not smaller.
      if (s.t >= from && s.t < to)
        faults = faults === null || s.faultsDelta === null ? null : faults + s.faultsDelta
      if (s.t < to) last = s
    }
    return {
      t: round(t, 3),
      phase: phaseOf(t),
      requests: point.requests,
      errors: point.errors,
      latency_p95_ms: point.p95_ms,
      faults_injected: tagged ? point.faults : faults,
      breaker_state: last?.sample.breaker_state ?? null,
    }
  })
}

/** A ratio as a percentage with one decimal, e.g. `12.5%`. */
export function pct(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}
