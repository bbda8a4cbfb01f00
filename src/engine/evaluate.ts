/**
 * Check evaluation: turns parsed checks plus measured phase metrics into check results.
 * Pure functions, so the verdict logic is unit-testable without a target.
 */
import type { CheckResult, PhaseMetrics } from '../record.js'
import { compare, type MeasureName } from '../scenario/checks.js'
import type { ScenarioCheck } from '../scenario/schema.js'
import { PROBE_METRICS } from './probe.js'

/** Everything a check may read: the phase's metrics, the baseline's, and MTTR. */
export interface MeasureSource {
  phase: PhaseMetrics | null
  baseline: PhaseMetrics | null
  mttrSeconds?: number | null
  /** Values of PromQL checks, by query, already fetched for this phase (null = no data). */
  promql?: ReadonlyMap<string, number | null>
  /** Values of the same queries at the end of the baseline, for `<n>x baseline` bounds. */
  promqlBaseline?: ReadonlyMap<string, number | null>
  /**
   * Built-in measures known not to be measured in this run, with the reason (e.g. "the target
   * exports no circuit_breaker_trips_total"): a check on them is not evaluated, never read as 0.
   */
  unmeasured?: ReadonlyMap<MeasureName, string>
}

/** The target metric a built-in measure is read from, where one is (others come from the workload). */
const TARGET_METRIC: Partial<Record<MeasureName, string>> = {
  circuit_breaker_trips: PROBE_METRICS.breaker_trips,
  collateral_error_rate: `${PROBE_METRICS.http_requests} (with a status label)`,
}

/** Reads a built-in measure from phase metrics. */
export function measureValue(
  name: MeasureName,
  metrics: PhaseMetrics | null,
  mttrSeconds?: number | null,
): number | null {
  if (name === 'mttr_seconds') return mttrSeconds ?? null
  if (!metrics) return null
  // The other traffic's, which the runner's own request count says nothing about.
  if (name === 'collateral_error_rate') return metrics.collateral?.error_rate ?? null
  // With no finished request there is no rate and no latency to speak of: say so rather than 0.
  if (metrics.total_requests === 0 && name !== 'circuit_breaker_trips' && name !== 'faults_injected')
    return null
  switch (name) {
    case 'availability':
      return metrics.availability
    case 'error_rate':
      return metrics.error_rate
    case 'latency_p50_ms':
      return metrics.latency_ms.p50
    case 'latency_p95_ms':
      return metrics.latency_ms.p95
    case 'latency_p99_ms':
      return metrics.latency_ms.p99
    case 'throughput_rps':
      return metrics.throughput_rps
    case 'circuit_breaker_trips':
      return metrics.circuit_breaker_trips
    case 'faults_injected':
      return metrics.faults_injected
  }
}

/** Evaluates one check against a source; `passed: null` when a value is missing. */
export function evaluateCheck(check: ScenarioCheck, source: MeasureSource): CheckResult {
  const base = { name: check.name, expression: check.expression, phase: check.phase }
  let actual: number | null
  let baselineValue: number | null = null
  if (check.measure.kind === 'promql') {
    actual = source.promql?.get(check.measure.query) ?? null
    baselineValue = null
    if (check.bound.kind === 'baseline') {
      baselineValue = source.promqlBaseline?.get(check.measure.query) ?? null
    }
  } else {
    const name = check.measure.name
    const unmeasured = source.unmeasured?.get(name)
    if (unmeasured !== undefined)
      return { ...base, expected: null, actual: null, passed: null, detail: `not evaluated: ${unmeasured}` }
    actual = measureValue(name, source.phase, source.mttrSeconds)
    // A counter of the target that is null in a measured phase was not read: say which one.
    const metric = TARGET_METRIC[name]
    if (actual === null && name === 'collateral_error_rate' && source.phase?.collateral) {
      const detail = `not evaluated: the target served no other traffic in the ${check.phase} phase`
      return { ...base, expected: null, actual: null, passed: null, detail }
    }
    if (actual === null && source.phase && metric !== undefined) {
      const detail = `not evaluated: ${metric} could not be read from the target's /metrics`
      return { ...base, expected: null, actual: null, passed: null, detail }
    }
    if (check.bound.kind === 'baseline') baselineValue = measureValue(name, source.baseline)
  }
  const expected =
    check.bound.kind === 'absolute'
      ? check.bound.value
      : baselineValue === null
        ? null
        : check.bound.factor * baselineValue
  if (actual === null || expected === null) {
    const missing = actual === null ? 'no measurement' : 'no baseline measurement'
    return { ...base, expected, actual, passed: null, detail: `${missing} for ${check.phase} phase` }
  }
  return {
    ...base,
    expected: round(expected),
    actual: round(actual),
    passed: compare(actual, check.op, expected),
  }
}

/** True when no check failed and every check could be evaluated. */
export function allHeld(results: readonly CheckResult[]): boolean {
  return results.every((r) => r.passed === true)
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6
}
