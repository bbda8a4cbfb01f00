/**
 * Phase 6, recovery: after the rollback the workload keeps running until the `after` checks hold
 * again or the recovery timeout runs out. MTTR runs from the end of the rollback to the start of
 * the first window in which the `after` checks hold, found on the request timeline at
 * {@link MTTR_RESOLUTION_MS} once a poll saw them hold (so it is not rounded to the poll interval).
 */
import { sleep } from '../../clock.js'
import type { CheckResult, PhaseMetrics } from '../../record.js'
import type { ScenarioCheck } from '../../scenario/schema.js'
import { allHeld, evaluateCheck } from '../evaluate.js'
import {
  checksIn,
  elapsed,
  EMPTY_SAMPLE,
  log,
  progress,
  recentWindow,
  sampleAll,
  type ExperimentContext,
} from './context.js'
import { evaluateChecks, fetchPromql, promqlQueries } from './checks.js'
import { defaultRecovered, phaseMetrics, round } from './measure.js'

const isMttr = (c: ScenarioCheck) => c.measure.kind === 'builtin' && c.measure.name === 'mttr_seconds'

/** Resolution of MTTR: candidate windows start every 100 ms. */
export const MTTR_RESOLUTION_MS = 100

export async function recovery(ctx: ExperimentContext): Promise<void> {
  const { clock, signal, options, record } = ctx
  const rolledBack = ctx.marks.rolledBack!
  const afterChecks = checksIn(ctx, 'after').filter((c) => !isMttr(c))
  const queries = promqlQueries(afterChecks)
  const deadline = rolledBack + options.recoveryTimeoutMs
  let probePrev = ctx.probe.atRollback ?? EMPTY_SAMPLE
  let lastResults: CheckResult[] = []
  // Windows starting before this were seen not to hold (at the previous poll).
  let searchFrom = rolledBack
  while (!signal.aborted && clock.monotonic() < deadline) {
    await sleep(Math.min(options.intervalMs, deadline - clock.monotonic()), signal, clock).catch(
      () => undefined,
    )
    if (signal.aborted) break
    const sinceRollback = clock.monotonic() - rolledBack
    const window = recentWindow(ctx, Math.min(options.intervalMs, sinceRollback))
    const sample = await sampleAll(ctx, signal)
    const pollStart = probePrev
    const metrics = phaseMetrics(window, pollStart, sample)
    probePrev = sample ?? probePrev
    if (sample) ctx.samples.push({ t: elapsed(ctx), sample, faultsDelta: 0 })
    progress(ctx, 'recovery', deadline - clock.monotonic(), window, sample?.breaker_state ?? null)
    const values = await fetchPromql(ctx, queries, signal)
    lastResults = evaluateChecks(ctx, afterChecks, metrics, 'after', values)
    const holds = (m: PhaseMetrics) =>
      afterChecks.length > 0
        ? allHeld(evaluateChecks(ctx, afterChecks, m, 'after', values))
        : defaultRecovered(m, record.metrics.baseline)
    const held =
      afterChecks.length > 0 ? allHeld(lastResults) : defaultRecovered(metrics, record.metrics.baseline)
    const now = clock.monotonic()
    const span = Math.min(options.intervalMs, sinceRollback)
    if (held && window.total_requests > 0) {
      // The first window of the same length, on a 100 ms grid, in which the checks hold. Counter
      // measures (breaker trips) keep the poll's values: they are only known per poll.
      let start = now - span
      for (let s = searchFrom; s + span <= now; s += MTTR_RESOLUTION_MS) {
        const candidate = ctx.workload!.timeline.recent(s + span, span)
        if (candidate.total_requests > 0 && holds(phaseMetrics(candidate, pollStart, sample))) {
          start = s
          break
        }
      }
      record.metrics.recovered = true
      record.metrics.mttr_seconds = round(Math.max(0, start - rolledBack) / 1000, 3)
      break
    }
    searchFrom = Math.max(rolledBack, now - span)
  }
  ctx.probe.atRecoveryEnd = probePrev
  if (!record.metrics.recovered && signal.aborted) {
    record.state = 'INTERRUPTED'
    record.abort_reason = 'interrupted during recovery'
  }
  record.checks.push(...lastResults)
  for (const check of checksIn(ctx, 'after').filter(isMttr)) {
    const result = evaluateCheck(check, {
      phase: null,
      baseline: null,
      mttrSeconds: record.metrics.mttr_seconds,
    })
    if (!record.metrics.recovered) {
      result.passed = false
      result.detail = `never recovered within the recovery timeout (${options.recoveryTimeoutMs / 1000}s)`
    }
    record.checks.push(result)
  }
  if (afterChecks.length > 0 && lastResults.length === 0) {
    for (const check of afterChecks) {
      record.checks.push({
        ...evaluateCheck(check, { phase: null, baseline: null }),
        passed: false,
        detail: 'no recovery window was measured',
      })
    }
  }
  log(ctx, record.metrics.recovered ? 'chaos_recovered' : 'chaos_recovery_timeout', {
    mttr_seconds: record.metrics.mttr_seconds,
    recovery_timeout_seconds: options.recoveryTimeoutMs / 1000,
  })
}
