/**
 * Phase 6, recovery: after the rollback the workload keeps running until the `after` checks hold
 * again (MTTR, measured from the end of the rollback) or the recovery timeout runs out.
 */
import { sleep } from '../../clock.js'
import type { CheckResult } from '../../record.js'
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

export async function recovery(ctx: ExperimentContext): Promise<void> {
  const { clock, signal, options, record } = ctx
  const rolledBack = ctx.marks.rolledBack!
  const afterChecks = checksIn(ctx, 'after').filter((c) => !isMttr(c))
  const queries = promqlQueries(afterChecks)
  const deadline = rolledBack + options.recoveryTimeoutMs
  let probePrev = ctx.probe.atRollback ?? EMPTY_SAMPLE
  let lastResults: CheckResult[] = []
  while (!signal.aborted && clock.monotonic() < deadline) {
    await sleep(Math.min(options.intervalMs, deadline - clock.monotonic()), signal, clock).catch(
      () => undefined,
    )
    if (signal.aborted) break
    const sinceRollback = clock.monotonic() - rolledBack
    const window = recentWindow(ctx, Math.min(options.intervalMs, sinceRollback))
    const sample = await sampleAll(ctx, signal)
    const metrics = phaseMetrics(window, probePrev, sample)
    probePrev = sample ?? probePrev
    if (sample) ctx.samples.push({ t: elapsed(ctx), sample, faultsDelta: 0 })
    progress(ctx, 'recovery', deadline - clock.monotonic(), window, sample?.breaker_state ?? null)
    const values = await fetchPromql(ctx, queries, signal)
    lastResults = evaluateChecks(ctx, afterChecks, metrics, 'after', values)
    const held =
      afterChecks.length > 0 ? allHeld(lastResults) : defaultRecovered(metrics, record.metrics.baseline)
    if (held && window.total_requests > 0) {
      record.metrics.recovered = true
      record.metrics.mttr_seconds = round(sinceRollback / 1000, 3)
      break
    }
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
