/**
 * Evaluating a phase's checks: built-in measures from the phase's metrics, PromQL checks from
 * values fetched at the right moment (the `during` ones before the rollback, the baseline ones at
 * the end of the baseline so that `<n>x baseline` bounds have something to compare with).
 */
import type { CheckResult, PhaseMetrics } from '../../record.js'
import type { ScenarioCheck } from '../../scenario/schema.js'
import { evaluateCheck } from '../evaluate.js'
import type { ExperimentContext } from './context.js'

/** The PromQL queries among `checks` (deduplicated). */
export function promqlQueries(checks: readonly ScenarioCheck[]): string[] {
  const queries = new Set<string>()
  for (const check of checks) if (check.measure.kind === 'promql') queries.add(check.measure.query)
  return [...queries]
}

/**
 * Fetches each query once (null when Prometheus is not configured or has no answer). Passes the
 * abort signal, so Ctrl-C does not wait for a slow Prometheus.
 */
export async function fetchPromql(
  ctx: ExperimentContext,
  queries: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, number | null>> {
  const values = new Map<string, number | null>()
  const promql = ctx.deps.promql
  await Promise.all(
    queries.map(async (query) => {
      values.set(query, promql ? await promql(query, signal).catch(() => null) : null)
    }),
  )
  return values
}

/** Evaluates the checks of one phase against its metrics and PromQL values. */
export function evaluateChecks(
  ctx: ExperimentContext,
  checks: readonly ScenarioCheck[],
  metrics: PhaseMetrics | null,
  phase: 'before' | 'during' | 'after',
  promql: ReadonlyMap<string, number | null> | null,
  missingPromql = 'PromQL check needs --prometheus URL',
): CheckResult[] {
  return checks.map((check) => {
    const result = evaluateCheck(check, {
      phase: metrics,
      baseline: ctx.record.metrics.baseline,
      promql: promql ?? undefined,
      promqlBaseline: ctx.promql.baseline,
      unmeasured: ctx.unmeasured,
    })
    if (check.measure.kind === 'promql' && (!ctx.deps.promql || promql === null))
      result.detail = missingPromql
    return { ...result, phase }
  })
}
